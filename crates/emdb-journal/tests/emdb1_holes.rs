//! Zero-filled gaps in logs emdb 1.0 wrote: its appends reserved offsets without a lock, so
//! a process killed while several threads appended can leave a reservation never written
//! (zeros) before frames that were. With emdb 1.0's sidecar (version 1) the gap is skipped
//! and filled with a padding frame; with ours it is damage.

mod common;

use common::temp_log;
use emdb_journal::{Error, Journal, JournalOptions, Lsn, OnCorruption, Record};

/// A version-1 sidecar as emdb 1.0 writes it for a plaintext database.
fn v1_sidecar() -> Vec<u8> {
    let mut meta = b"EMDB-META\0\0\0\0\0\0\0".to_vec();
    meta.extend_from_slice(&1u32.to_le_bytes());
    meta.extend_from_slice(&0u32.to_le_bytes());
    meta.extend_from_slice(&1_700_000_000_000u64.to_le_bytes());
    meta.resize(108, 0);
    let crc = crc32fast::hash(&meta);
    meta.extend_from_slice(&crc.to_le_bytes());
    meta
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    emdb_journal::frame::encode(payload, &mut out);
    out
}

/// Records `r0`..`r5` one frame each, with the frames of `gaps` zeroed.
fn holed_log(gaps: &[usize]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let records: Vec<Vec<u8>> = (0..6)
        .map(|i| format!("record-{i}-{}", "x".repeat(i * 7)).into_bytes())
        .collect();
    let mut log = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let f = frame(r);
        if gaps.contains(&i) {
            log.extend(std::iter::repeat_n(0u8, f.len()));
        } else {
            log.extend_from_slice(&f);
        }
    }
    let kept = records
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !gaps.contains(i))
        .map(|(_, r)| r)
        .collect();
    (log, kept)
}

fn replayed(path: &std::path::Path) -> emdb_journal::Result<(Journal, Vec<Vec<u8>>)> {
    replayed_with(JournalOptions::new(), path)
}

fn replayed_with(options: JournalOptions, path: &std::path::Path) -> emdb_journal::Result<(Journal, Vec<Vec<u8>>)> {
    let mut seen = Vec::new();
    let journal = options.open_replaying(path, &mut |r: Record<'_>| {
        seen.push(r.bytes.to_vec());
        Ok(())
    })?;
    Ok((journal, seen))
}

#[test]
fn gaps_in_an_emdb_1_log_are_skipped_then_padded() -> emdb_journal::Result<()> {
    for gaps in [vec![0], vec![2], vec![2, 3], vec![1, 4]] {
        let (_dir, path) = temp_log();
        let (log, kept) = holed_log(&gaps);
        std::fs::write(&path, &log)?;
        std::fs::write(common::sibling(&path, ".meta"), v1_sidecar())?;
        let (journal, seen) = replayed(&path)?;
        assert_eq!(seen, kept, "gaps {gaps:?}");
        let holes = journal.recovery().scan.holes.clone();
        assert_eq!(holes.len(), if gaps == [2, 3] { 1 } else { gaps.len() });
        // The padding is the journal's own: no caller sees it as a frame.
        let snapshot = journal.snapshot()?;
        let frames = snapshot.frames(Lsn::ZERO).collect::<emdb_journal::Result<Vec<_>>>()?;
        assert_eq!(frames.len(), kept.len(), "gaps {gaps:?}");
        for &(from, _) in &holes {
            assert!(matches!(journal.read(from), Err(Error::NoFrame { .. })));
        }
        journal.append(b"after")?;
        // The sidecar becomes ours (as the engine's first open makes it), under which a gap
        // would be damage.
        journal.set_meta(0, b"")?;
        journal.close()?;
        // The gaps are padding frames now: the log reads end to end.
        let scan = emdb_journal::scan(&std::fs::read(&path)?, Lsn::ZERO);
        assert_eq!(scan.records as usize, kept.len() + 1, "gaps {gaps:?}");
        let (_journal, again) = replayed(&path)?;
        assert_eq!(again.len(), kept.len() + 1);
    }
    Ok(())
}

#[test]
fn gaps_are_padded_under_read_only_on_corruption_too() -> emdb_journal::Result<()> {
    // `OnCorruption::ReadOnly` is about damage; a gap in an emdb 1.0 log is not damage, and
    // left unpadded it would become damage once the sidecar is ours.
    let (_dir, path) = temp_log();
    let (log, kept) = holed_log(&[2]);
    std::fs::write(&path, &log)?;
    std::fs::write(common::sibling(&path, ".meta"), v1_sidecar())?;
    let options = JournalOptions::new().on_corruption(OnCorruption::ReadOnly);
    let (journal, seen) = replayed_with(options.clone(), &path)?;
    assert_eq!(seen, kept);
    journal.set_meta(0, b"")?;
    journal.close()?;
    let (journal, again) = replayed(&path)?;
    assert_eq!(again, kept);
    assert!(journal.recovery().scan.holes.is_empty());
    Ok(())
}

#[test]
fn the_same_gap_under_a_sidecar_of_ours_is_damage() -> emdb_journal::Result<()> {
    let (_dir, path) = temp_log();
    let (log, _) = holed_log(&[2]);
    drop(Journal::open(&path)?);
    std::fs::write(&path, &log)?;
    let before = std::fs::read(&path)?;
    assert!(matches!(replayed(&path), Err(Error::Corrupt { .. })));
    assert_eq!(std::fs::read(&path)?, before, "untouched");
    Ok(())
}

#[test]
fn a_gap_with_nothing_valid_after_it_is_a_torn_tail_as_before() -> emdb_journal::Result<()> {
    let (_dir, path) = temp_log();
    let (mut log, kept) = holed_log(&[4]);
    let len = log.len();
    log.truncate(len - 3); // the last frame torn too
    std::fs::write(&path, &log)?;
    std::fs::write(common::sibling(&path, ".meta"), v1_sidecar())?;
    let (_journal, seen) = replayed(&path)?;
    assert_eq!(seen, kept[..4].to_vec());
    Ok(())
}
