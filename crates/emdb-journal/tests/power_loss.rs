//! Simulated power loss: a faulty file layer keeps the synced bytes, drops what was never
//! synced, and tears the write in flight. Every synced frame survives; anything else that
//! survives is a whole frame that was really written, in order.

mod common;

use common::payload;
use emdb_journal::{Journal, JournalOptions, Lsn, Tail};

#[test]
fn synced_frames_survive_losing_everything_else() {
    let dir = tempfile::tempdir().expect("dir");
    let mut rng = fastrand::Rng::with_seed(0x00C0_FFEE);
    for round in 0..150u64 {
        let path = dir.path().join(format!("r{round}.log"));
        let journal = JournalOptions::new()
            .preallocate(if round % 2 == 0 { 1 << 20 } else { 0 })
            .open(&path)
            .expect("open");
        let mut frames = Vec::new(); // (lsn, end, records)
        let mut durable = 0u64;
        for i in 0..(20 + rng.u64(..200)) {
            let start = journal.end().get();
            let records = if rng.u64(..4) == 0 {
                let rs: Vec<Vec<u8>> = (0..1 + rng.u64(..5))
                    .map(|j| payload(i * 100 + j, rng.u64(..300) as usize))
                    .collect();
                journal.append_batch(&rs).expect("batch");
                rs
            } else {
                let r = payload(i, rng.u64(..500) as usize);
                journal.append(&r).expect("append");
                vec![r]
            };
            frames.push((start, journal.end().get(), records));
            if rng.u64(..6) == 0 {
                journal.sync().expect("sync");
                durable = journal.durable_lsn().get();
            }
        }
        drop(journal);

        // The faulty layer: the synced prefix, then the unsynced bytes kept up to a tear
        // point (a prefix survived, in write order), then what was never written (zeros).
        let real = std::fs::read(&path).expect("read");
        let end = frames.last().map_or(0, |f| f.1);
        let tear = rng.u64(durable..=end);
        let mut image = real.clone();
        image[tear as usize..end as usize].fill(0);
        if rng.u64(..2) == 0 {
            image.truncate(tear as usize);
        }
        std::fs::write(&path, &image).expect("write image");

        let journal = Journal::open(&path).unwrap_or_else(|e| panic!("round {round}: open after power loss: {e}"));
        let report = journal.recovery();
        assert!(report.scan.end.get() >= durable, "round {round}: lost synced bytes");
        assert!(
            report.scan.end.get() <= tear,
            "round {round}: accepted bytes that were never written"
        );
        assert!(
            matches!(report.scan.tail, Tail::Clean | Tail::Torn { .. }),
            "round {round}: {:?}",
            report.scan.tail
        );
        let expected: Vec<Vec<u8>> = frames
            .iter()
            .filter(|f| f.1 <= report.scan.end.get())
            .flat_map(|f| f.2.clone())
            .collect();
        assert!(frames.iter().any(|f| f.1 == report.scan.end.get()) || report.scan.end == Lsn::ZERO);
        assert_eq!(
            common::all_records(&journal).expect("records"),
            expected,
            "round {round}"
        );
        let synced: usize = frames.iter().filter(|f| f.1 <= durable).map(|f| f.2.len()).sum();
        assert!(expected.len() >= synced, "round {round}");
    }
}
