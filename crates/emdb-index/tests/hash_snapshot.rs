//! Snapshots: a round trip keeps every entry and the seed; every truncation and every
//! flipped byte of the bytes is an error, never a panic.

use emdb_index::{Error, HashIndex, Location};

fn keys(n: u64) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("key-{i}").into_bytes()).collect()
}

fn build(n: u64, shards: usize) -> (HashIndex, Vec<Vec<u8>>) {
    let keys = keys(n);
    let index = HashIndex::with_seed(0xABCD, shards);
    for (i, k) in keys.iter().enumerate() {
        let loc = Location::new(i as u64 * 100, i as u32).expiring_at(if i % 5 == 0 { 1_000 + i as u64 } else { 0 });
        index
            .insert(k, loc, |l| keys[(l.offset / 100) as usize] == *k)
            .expect("fits");
    }
    (index, keys)
}

#[test]
fn a_snapshot_round_trips_every_entry() -> Result<(), Error> {
    let (index, keys) = build(5_000, 8);
    let bytes = index.snapshot();
    let loaded = HashIndex::from_snapshot(&bytes)?;
    assert_eq!(loaded.len(), index.len());
    assert_eq!(loaded.total_len(), index.total_len(), "the live bytes, counted at load");
    assert_eq!(loaded.shard_count(), 8);
    for (i, k) in keys.iter().enumerate() {
        let want = index.get(k, |l| keys[(l.offset / 100) as usize] == *k);
        assert!(want.is_some());
        assert_eq!(
            loaded.get(k, |l| keys[(l.offset / 100) as usize] == *k),
            want,
            "key {i}"
        );
    }
    // The loaded index keeps working: the same seed finds new keys where they belong.
    loaded.insert(b"new", Location::new(1, 1), |l| l.offset == 1)?;
    assert_eq!(loaded.get(b"new", |l| l.offset == 1), Some(Location::new(1, 1)));
    assert_eq!(HashIndex::from_snapshot(&loaded.snapshot())?.len(), index.len() + 1);
    let empty = HashIndex::with_seed(3, 2);
    assert!(HashIndex::from_snapshot(&empty.snapshot())?.is_empty());
    Ok(())
}

#[test]
fn every_truncation_and_flipped_byte_is_an_error() {
    let (index, _) = build(300, 2);
    let bytes = index.snapshot();
    for cut in 0..bytes.len() {
        assert!(
            HashIndex::from_snapshot(&bytes[..cut]).is_err(),
            "truncation at {cut} accepted"
        );
    }
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x04;
        assert!(HashIndex::from_snapshot(&damaged).is_err(), "flip at {at} accepted");
    }
}

/// The load for a caller that checked the bytes' checksum itself: the same index, the
/// snapshot's own CRC not read (a wrong one is taken), and damaged or truncated bytes an
/// error or an index, never a panic.
#[test]
fn a_verified_snapshot_skips_only_the_checksum() -> Result<(), Error> {
    let (index, keys) = build(300, 2);
    let bytes = index.snapshot();
    let mut wrong_crc = bytes.clone();
    let last = wrong_crc.len() - 1;
    wrong_crc[last] ^= 0xFF;
    assert!(HashIndex::from_snapshot(&wrong_crc).is_err());
    let loaded = HashIndex::from_verified_snapshot(&wrong_crc)?;
    assert_eq!(loaded.len(), index.len());
    for k in &keys {
        let is_key = |l: Location| keys[(l.offset / 100) as usize] == *k;
        assert_eq!(loaded.get(k, is_key), index.get(k, is_key));
    }
    for cut in 0..bytes.len() {
        assert!(
            HashIndex::from_verified_snapshot(&bytes[..cut]).is_err(),
            "truncation at {cut} accepted"
        );
    }
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x04;
        // A flip in a slot may give an index that still loads; it must not panic.
        let _ = HashIndex::from_verified_snapshot(&damaged);
    }
    Ok(())
}

#[test]
fn a_valid_checksum_over_bad_structure_is_still_refused() {
    let (index, _) = build(100, 2);
    let mut bytes = index.snapshot();
    // Claim an absurd capacity in the first shard and re-seal the checksum.
    bytes[40..48].copy_from_slice(&u64::MAX.to_le_bytes());
    reseal(&mut bytes);
    assert!(matches!(HashIndex::from_snapshot(&bytes), Err(Error::Snapshot { .. })));
    // A newer version is reported as such.
    let mut newer = index.snapshot();
    newer[8..12].copy_from_slice(&4u32.to_le_bytes());
    assert!(matches!(
        HashIndex::from_snapshot(&newer),
        Err(Error::SnapshotVersion { found: 4, supported: 3 })
    ));
}

/// The first shard of a version 3 snapshot: where its occupancy words and its stored
/// slots start, and its capacity.
fn first_shard(bytes: &[u8]) -> (usize, usize, u64) {
    let capacity = u64::from_le_bytes(bytes[40..48].try_into().unwrap());
    let words = 40 + 24;
    (words, words + 8 * capacity.div_ceil(64) as usize, capacity)
}

/// The same index as version 2 wrote it: every slot stored, empty ones too.
fn dense(v3: &[u8]) -> Vec<u8> {
    let u64_at = |at: usize| u64::from_le_bytes(v3[at..at + 8].try_into().unwrap());
    let shards = u32::from_le_bytes(v3[12..16].try_into().unwrap());
    let mut out = v3[..40].to_vec();
    out[8..12].copy_from_slice(&2u32.to_le_bytes());
    let mut at = 40;
    for _ in 0..shards {
        let (capacity, expiries, occupied) = (u64_at(at), u64_at(at + 8), u64_at(at + 16));
        out.extend_from_slice(&v3[at..at + 16]);
        let words = at + 24;
        let mut stored = words + 8 * capacity.div_ceil(64) as usize;
        for i in 0..capacity as usize {
            if u64_at(words + 8 * (i / 64)) >> (i % 64) & 1 == 1 {
                out.extend_from_slice(&v3[stored..stored + 16]);
                stored += 16;
            } else {
                out.extend_from_slice(&[0; 16]);
            }
        }
        let end = stored + 16 * expiries as usize;
        out.extend_from_slice(&v3[stored..end]);
        assert_eq!(
            stored,
            words + 8 * capacity.div_ceil(64) as usize + 16 * occupied as usize
        );
        at = end;
    }
    out.extend_from_slice(&[0; 4]);
    reseal(&mut out);
    out
}

/// Version 2 snapshots (every slot stored) still load, to the same index: a reopen after
/// an upgrade uses the checkpoint an earlier build wrote.
#[test]
fn a_version_2_snapshot_still_loads() -> Result<(), Error> {
    let (index, keys) = build(3_000, 4);
    let old = dense(&index.snapshot());
    assert!(old.len() > index.snapshot().len(), "version 3 stores less");
    let loaded = HashIndex::from_snapshot(&old)?;
    assert_eq!(loaded.len(), index.len());
    assert_eq!(loaded.total_len(), index.total_len());
    assert!(
        loaded.locations() == index.locations(),
        "the same slots, in the same places"
    );
    for (i, k) in keys.iter().enumerate() {
        assert!(loaded.get(k, |l| l.offset == i as u64 * 100).is_some(), "key {i}");
    }
    Ok(())
}

/// Recomputes the snapshot's trailing CRC-32C after a deliberate change.
fn reseal(bytes: &mut [u8]) {
    let body = bytes.len() - 4;
    let crc = crc32c::crc32c(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn each_structural_lie_under_a_valid_checksum_is_refused() {
    let (index, _) = build(100, 2);
    let good = index.snapshot();
    let refused = |change: &dyn Fn(&mut Vec<u8>), what: &str| {
        let mut bytes = good.clone();
        change(&mut bytes);
        reseal(&mut bytes);
        assert!(
            matches!(HashIndex::from_snapshot(&bytes), Err(Error::Snapshot { .. })),
            "{what} accepted"
        );
        assert!(
            matches!(HashIndex::from_verified_snapshot(&bytes), Err(Error::Snapshot { .. })),
            "{what} accepted when the caller checked the checksum"
        );
    };
    refused(
        &|b| b[12..16].copy_from_slice(&3u32.to_le_bytes()),
        "a shard count not a power of two",
    );
    // The most shards allowed, in a snapshot far too short to hold their headers: refused
    // before anything is allocated for them.
    refused(
        &|b| b[12..16].copy_from_slice(&(1u32 << 16).to_le_bytes()),
        "65,536 shards in a few bytes",
    );
    refused(
        &|b| {
            let total = u64::from_le_bytes(b[24..32].try_into().unwrap());
            b[24..32].copy_from_slice(&(total + 1).to_le_bytes());
        },
        "an entry count the tables do not hold",
    );
    refused(
        &|b| {
            let at = b.len() - 4;
            b.splice(at..at, [0u8; 16]);
        },
        "bytes after the last shard",
    );
    let (words, stored, capacity) = first_shard(&good);
    refused(
        &|b| {
            // The first clear occupancy bit set: one bit more than slots stored.
            let word = u64::from_le_bytes(b[words..words + 8].try_into().unwrap());
            b[words..words + 8].copy_from_slice(&(word | (word + 1)).to_le_bytes());
        },
        "an occupancy bit without its slot",
    );
    refused(
        &|b| {
            // The last occupied slot's bit moved past the capacity (as many bits as slots).
            assert!(capacity % 64 != 0, "the test needs a capacity with bits past it");
            let last = words + 8 * (capacity.div_ceil(64) as usize - 1);
            let word = u64::from_le_bytes(b[last..last + 8].try_into().unwrap());
            assert!(word != 0 && word >> 63 == 0);
            let moved = (word & !(1 << (63 - word.leading_zeros()))) | 1 << 63;
            b[last..last + 8].copy_from_slice(&moved.to_le_bytes());
        },
        "an occupancy bit past the capacity",
    );
    refused(&|b| b[stored] &= !1, "a stored slot without its occupied flag");
}

/// The tables are laid out by the hasher, whose output may change across foldhash
/// releases: a snapshot whose known answer differs from this build's hasher (as one written
/// by another hash function would) is refused, so the store rebuilds from its log instead
/// of probing slots placed by another function.
#[test]
fn a_snapshot_laid_out_by_another_hash_function_is_refused() -> Result<(), Error> {
    let (index, _) = build(100, 2);
    let good = index.snapshot();
    assert_eq!(HashIndex::from_snapshot(&good)?.len(), 100, "this build's own answer");

    let mut other_hasher = good.clone();
    let answer = u64::from_le_bytes(other_hasher[32..40].try_into().expect("8 bytes"));
    other_hasher[32..40].copy_from_slice(&(answer ^ 0x5A5A).to_le_bytes());
    reseal(&mut other_hasher);
    match HashIndex::from_snapshot(&other_hasher) {
        Err(Error::Snapshot { reason }) => assert!(reason.contains("hash function"), "{reason}"),
        other => panic!("a foreign layout was accepted: {:?}", other.map(|i| i.len())),
    }

    // The answer depends on the seed: a seed changed under a valid checksum is caught too.
    let mut other_seed = good.clone();
    other_seed[16..24].copy_from_slice(&0x1234u64.to_le_bytes());
    reseal(&mut other_seed);
    assert!(matches!(
        HashIndex::from_snapshot(&other_seed),
        Err(Error::Snapshot { .. })
    ));

    // A version-1 snapshot (no known answer) is refused, never trusted.
    let mut v1 = good;
    v1[8..12].copy_from_slice(&1u32.to_le_bytes());
    reseal(&mut v1);
    assert!(matches!(HashIndex::from_snapshot(&v1), Err(Error::Snapshot { .. })));
    Ok(())
}
