//! Shared workload for the comparative benchmarks: the redb-style data set of 24-byte keys
//! and 150-byte values, generated from a fixed seed so every engine sees the same bytes;
//! and the pair of Tokio runtimes the layer crates' async benches compare.
//!
//! The comparison with the peers (emdb 1.0.3, redb, fjall, sled, LMDB through heed) is the
//! `peers` binary of this package, behind the `peers` feature (see `README.md` here); each
//! layer crate keeps its own bench.
#![deny(unsafe_code)]

/// Key length of the redb-style workload.
pub const KEY_LEN: usize = 24;
/// Value length of the redb-style workload.
pub const VALUE_LEN: usize = 150;

/// A deterministic generator (a seeded `fastrand::Rng`): the same seed gives the same records
/// in every engine's run, and on every machine of the same byte order (fastrand fills bytes
/// in native order).
#[derive(Clone, Debug)]
pub struct Workload {
    rng: fastrand::Rng,
}

impl Workload {
    /// A generator for `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Workload {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// Fills `out` with pseudo-random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        self.rng.fill(out);
    }

    /// The next key and value of the workload.
    pub fn record(&mut self) -> ([u8; KEY_LEN], [u8; VALUE_LEN]) {
        let mut key = [0u8; KEY_LEN];
        let mut value = [0u8; VALUE_LEN];
        self.fill(&mut key);
        self.fill(&mut value);
        (key, value)
    }
}

/// The runtimes an async bench compares, named: a current-thread one and a two-worker
/// multi-thread one.
///
/// # Panics
///
/// If a runtime cannot be built (the operating system refuses its threads).
#[must_use]
pub fn runtimes() -> [(&'static str, tokio::runtime::Runtime); 2] {
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("current-thread runtime");
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("multi-thread runtime");
    [("current_thread", current), ("multi_thread", multi)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_records_other_seed_other_records() {
        let (mut a, mut b, mut c) = (Workload::new(7), Workload::new(7), Workload::new(8));
        let first = a.record();
        assert_eq!(first, b.record());
        assert_ne!(first, c.record());
        assert_ne!(first.0, a.record().0);
    }
}
