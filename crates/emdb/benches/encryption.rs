//! What encryption costs: bulk load (batches and single inserts), random reads and reopen,
//! plain against AES-256-GCM and ChaCha20-Poly1305, on the redb-style records (24-byte
//! keys, 150-byte values). A timing table, not a criterion run: `EMDB_BENCH_RECORDS`
//! records (default 200,000), release mode:
//!
//! ```text
//! cargo bench --manifest-path crates/emdb/Cargo.toml --features encrypt --bench encryption
//! ```

use std::time::{Duration, Instant};

use emdb::{Cipher, Emdb};
use emdb_benches::Workload;

fn open(path: &std::path::Path, cipher: Option<Cipher>) -> emdb::Result<Emdb> {
    let builder = Emdb::builder().path(path);
    match cipher {
        Some(c) => builder.encryption_key([0x42; 32]).cipher(c).build(),
        None => builder.build(),
    }
}

fn per_op(d: Duration, n: usize) -> String {
    format!("{:>8.0} ns", d.as_nanos() as f64 / n as f64)
}

fn main() -> emdb::Result<()> {
    let n: usize = std::env::var("EMDB_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let mut records = Vec::with_capacity(n);
    let mut workload = Workload::new(1);
    for _ in 0..n {
        records.push(workload.record());
    }
    let mut order: Vec<usize> = (0..n).collect();
    let mut shuffle = Workload::new(2);
    for i in (1..n).rev() {
        let mut b = [0u8; 8];
        shuffle.fill(&mut b);
        order.swap(i, (u64::from_le_bytes(b) % (i as u64 + 1)) as usize);
    }
    println!("{n} records of 24 + 150 bytes; per record:");
    println!(
        "{:<20} {:>11} {:>11} {:>11} {:>11}",
        "", "batch load", "insert", "random get", "reopen"
    );
    for (name, cipher) in [
        ("plain", None),
        ("AES-256-GCM", Some(Cipher::Aes256Gcm)),
        ("ChaCha20-Poly1305", Some(Cipher::ChaCha20Poly1305)),
    ] {
        let dir = tempfile::tempdir()?;
        let batch_path = dir.path().join("batch.emdb");
        let db = open(&batch_path, cipher)?;
        let started = Instant::now();
        for chunk in records.chunks(1000) {
            db.insert_many(chunk.iter().map(|(k, v)| (&k[..], &v[..])))?;
        }
        db.flush()?;
        let batch = started.elapsed();

        let started = Instant::now();
        let mut found = 0usize;
        for &i in &order {
            found += usize::from(db.get(records[i].0)?.is_some());
        }
        let get = started.elapsed();
        assert_eq!(found, n);
        drop(db);

        let started = Instant::now();
        let db = open(&batch_path, cipher)?;
        let reopen = started.elapsed();
        assert_eq!(db.len()?, n);
        drop(db);

        let single_path = dir.path().join("single.emdb");
        let db = open(&single_path, cipher)?;
        let started = Instant::now();
        for (k, v) in &records {
            db.insert(&k[..], &v[..])?;
        }
        db.flush()?;
        let single = started.elapsed();
        drop(db);

        println!(
            "{name:<20} {} {} {} {}",
            per_op(batch, n),
            per_op(single, n),
            per_op(get, n),
            per_op(reopen, n)
        );
        if let Some(c) = cipher {
            let (seal, open) = aead_alone(c, n);
            println!(
                "{:<20} {} (seal) {} (open)",
                "  the AEAD alone",
                per_op(seal, n),
                per_op(open, n)
            );
        }
    }
    Ok(())
}

/// The cipher's own cost on a record's body (24 + 150 bytes and the 20 bytes of lengths
/// and expiry), with associated data like the engine's.
fn aead_alone(cipher: Cipher, n: usize) -> (Duration, Duration) {
    let key = emdb_crypto::SealKey::new(&emdb_crypto::Key::from_bytes([0x42; 32]), cipher).expect("key");
    let body = [7u8; 194];
    let aad = [1u8; 33];
    let mut sealed = Vec::with_capacity(n);
    let started = Instant::now();
    for _ in 0..n {
        sealed.push(key.seal_to_vec(&body, &aad).expect("seal"));
    }
    let seal = started.elapsed();
    let started = Instant::now();
    let mut total = 0;
    for s in &sealed {
        total += key.open_to_vec(s, &aad).expect("open").len();
    }
    let open = started.elapsed();
    assert_eq!(total, n * body.len());
    (seal, open)
}
