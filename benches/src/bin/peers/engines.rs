//! One adapter per engine. Each implements the workload's operations with that engine's
//! own idioms: one write transaction per commit, one read transaction per reader thread,
//! its own durability call.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use emdb_benches::{KEY_LEN, VALUE_LEN};
use redb::{ReadableDatabase, ReadableTableMetadata};

/// A key and a value of the workload.
pub type Record = ([u8; KEY_LEN], [u8; VALUE_LEN]);

/// Result of the adapters: any engine's error, boxed.
pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The operations the benchmark times.
pub trait Engine: Send + Sync {
    /// Loads `records` in one atomic, durable commit.
    fn bulk_load(&self, records: &mut dyn Iterator<Item = Record>) -> Result<()>;
    /// Writes one record, durable when this returns.
    fn write_durable(&self, record: &Record) -> Result<()>;
    /// Writes `records` as one atomic commit, durable when this returns.
    fn write_batch_durable(&self, records: &[Record]) -> Result<()>;
    /// Writes one record without waiting for the device.
    fn write_nosync(&self, record: &Record) -> Result<()>;
    /// Makes every earlier write durable.
    fn sync(&self) -> Result<()>;
    /// Number of live records.
    fn len(&self) -> Result<u64>;
    /// Looks every key of `records` up (one reader for all of them) and returns the sum of
    /// the first bytes of the values found, and how many were missing.
    fn read_all(&self, records: &mut dyn Iterator<Item = Record>) -> Result<(u64, u64)>;
    /// For every key of `records`, reads up to `n` records from that key on, and returns the
    /// sum of their values' first bytes; `None` when the engine has no ordered scans.
    fn range_all(&self, records: &mut dyn Iterator<Item = Record>, n: usize) -> Result<Option<u64>>;
    /// Removes every key of `records` in one durable commit.
    fn remove_all(&self, records: &mut dyn Iterator<Item = Record>) -> Result<()>;
    /// Reclaims the space of removed records; `false` when the engine cannot.
    fn compact(&mut self) -> Result<bool>;
}

/// The engines, by their command-line names.
pub const NAMES: [&str; 8] = [
    "emdb",
    "emdb-hashonly",
    "emdb-1.0.3",
    "redb",
    "lmdb",
    "fjall",
    "sled",
    "raw",
];

/// Opens (or creates) engine `name`'s database inside `dir`.
pub fn open(name: &str, dir: &Path) -> Result<Box<dyn Engine>> {
    Ok(match name {
        "emdb" => Box::new(Emdb::open(dir, true)?),
        "emdb-hashonly" => Box::new(Emdb::open(dir, false)?),
        "emdb-1.0.3" => Box::new(Emdb1::open(dir)?),
        "redb" => Box::new(Redb::open(dir)?),
        "lmdb" => Box::new(Lmdb::open(dir)?),
        "fjall" => Box::new(Fjall::open(dir)?),
        "sled" => Box::new(Sled::open(dir)?),
        "raw" => Box::new(Raw::open(dir)?),
        other => return Err(format!("unknown engine {other:?}; known: {NAMES:?}").into()),
    })
}

/// Looks every key of `records` up with `first_byte` (the first byte of the key's value,
/// `None` when the key is missing) and returns what `Engine::read_all` returns: the sum of
/// the first bytes, and how many keys were missing.
fn tally(
    records: &mut dyn Iterator<Item = Record>,
    mut first_byte: impl FnMut(&[u8]) -> Result<Option<u8>>,
) -> Result<(u64, u64)> {
    let (mut sum, mut missing) = (0, 0);
    for (k, _) in records {
        match first_byte(&k)? {
            Some(b) => sum += u64::from(b),
            None => missing += 1,
        }
    }
    Ok((sum, missing))
}

/// 4 GiB: the page cache / map size every peer gets, as in redb's own benchmark.
const CACHE_BYTES: usize = 4 << 30;

// ---------------------------------------------------------------------------------------------
// emdb (this project) and emdb 1.0.3 (the release it replaces): one API, so one adapter.

/// emdb, with or without its range index.
struct Emdb {
    db: emdb::Emdb,
    ranges: bool,
}

impl Emdb {
    /// `ranges`: keep the sorted index (`enable_range_scans`); without it the range row is
    /// n/a and every write skips the skiplist.
    fn open(dir: &Path, ranges: bool) -> Result<Self> {
        let db = emdb::Emdb::builder()
            .path(dir.join("bench.emdb"))
            .enable_range_scans(ranges)
            .build()?;
        Ok(Emdb { db, ranges })
    }
}

/// emdb 1.0.3, always with range scans.
struct Emdb1 {
    db: emdb_v1::Emdb,
    ranges: bool,
}

impl Emdb1 {
    fn open(dir: &Path) -> Result<Self> {
        let db = emdb_v1::Emdb::builder()
            .path(dir.join("bench.emdb"))
            .enable_range_scans(true)
            .build()?;
        Ok(Emdb1 { db, ranges: true })
    }
}

/// The adapter for a type with fields `db` (an emdb 1.x handle) and `ranges`.
macro_rules! emdb_engine {
    ($adapter:ty) => {
        impl Engine for $adapter {
            fn bulk_load(&self, records: &mut dyn Iterator<Item = Record>) -> Result<()> {
                self.db.insert_many(records)?;
                Ok(self.db.flush()?)
            }
            fn write_durable(&self, (k, v): &Record) -> Result<()> {
                self.db.insert(k.as_slice(), v.as_slice())?;
                Ok(self.db.flush()?)
            }
            fn write_batch_durable(&self, records: &[Record]) -> Result<()> {
                self.db.insert_many(records.iter().map(|(k, v)| (k, v)))?;
                Ok(self.db.flush()?)
            }
            fn write_nosync(&self, (k, v): &Record) -> Result<()> {
                Ok(self.db.insert(k.as_slice(), v.as_slice())?)
            }
            fn sync(&self) -> Result<()> {
                Ok(self.db.flush()?)
            }
            fn len(&self) -> Result<u64> {
                Ok(self.db.len()? as u64)
            }
            fn read_all(&self, records: &mut dyn Iterator<Item = Record>) -> Result<(u64, u64)> {
                tally(records, |k| Ok(self.db.get_zerocopy(k)?.map(|v| v.as_slice()[0])))
            }
            fn range_all(&self, records: &mut dyn Iterator<Item = Record>, n: usize) -> Result<Option<u64>> {
                if !self.ranges {
                    return Ok(None);
                }
                let mut sum = 0;
                for (k, _) in records {
                    for (_, value) in self.db.iter_from(k)?.take(n) {
                        sum += u64::from(value[0]);
                    }
                }
                Ok(Some(sum))
            }
            fn remove_all(&self, records: &mut dyn Iterator<Item = Record>) -> Result<()> {
                for (k, _) in records {
                    self.db.remove(k)?;
                }
                Ok(self.db.flush()?)
            }
            fn compact(&mut self) -> Result<bool> {
                self.db.compact()?;
                Ok(true)
            }
        }
    };
}

emdb_engine!(Emdb);
emdb_engine!(Emdb1);

// ---------------------------------------------------------------------------------------------
// redb

const REDB_TABLE: redb::TableDefinition<'static, &[u8], &[u8]> = redb::TableDefinition::new("t");

struct Redb {
    db: redb::Database,
}

impl Redb {
    fn open(dir: &Path) -> Result<Self> {
        let db = redb::Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(dir.join("bench.redb"))?;
        Ok(Redb { db })
    }

    fn write(
        &self,
        durability: redb::Durability,
        f: impl FnOnce(&mut redb::Table<'_, &'static [u8], &'static [u8]>) -> Result<()>,
    ) -> Result<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(durability)?;
        {
            let mut table = txn.open_table(REDB_TABLE)?;
            f(&mut table)?;
        }
        Ok(txn.commit()?)
    }

    /// Inserts `records` in one transaction of `durability`.
    fn insert_all<R: Borrow<Record>>(
        &self,
        durability: redb::Durability,
        records: impl IntoIterator<Item = R>,
    ) -> Result<()> {
        self.write(durability, |t| {
            for record in records {
                let (k, v) = record.borrow();
                t.insert(k.as_slice(), v.as_slice())?;
            }
            Ok(())
        })
    }
}

impl Engine for Redb {
    fn bulk_load(&self, records: &mut dyn Iterator<Item = Record>) -> Result<()> {
        self.insert_all(redb::Durability::Immediate, records)
    }
    fn write_durable(&self, record: &Record) -> Result<()> {
        self.insert_all(redb::Durability::Immediate, [record])
    }
    fn write_batch_durable(&self, records: &[Record]) -> Result<()> {
        self.insert_all(redb::Durability::Immediate, records)
    }
    fn write_nosync(&self, record: &Record) -> Result<()> {
        self.insert_all(redb::Durability::None, [record])
    }
    fn sync(&self) -> Result<()> {
        // An empty durable commit persists the non-durable ones before it.
        self.write(redb::Durability::Immediate, |_| Ok(()))
    }
    fn len(&self) -> Result<u64> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(REDB_TABLE)?.len()?)
    }
    fn read_all(&self, records: &mut dyn Iterator<Item = Record>) -> Result<(u64, u64)> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(REDB_TABLE)?;
        tally(records, |k| Ok(table.get(k)?.map(|v| v.value()[0])))
    }
    fn range_all(&self, records: &mut dyn Iterator<Item = Record>, n: usize) -> Result<Option<u64>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(REDB_TABLE)?;
        let mut sum = 0;
        for (k, _) in records {
            for item in table.range(k.as_slice()..)?.take(n) {
                sum += u64::from(item?.1.value()[0]);
            }
        }
        Ok(Some(sum))
    }
    fn remove_all(&self, records: &mut dyn Iterator<Item = Record>) -> Result<()> {
        self.write(redb::Durability::Immediate, |t| {
            for (k, _) in records {
                t.remove(k.as_slice())?;
            }
            Ok(())
        })
    }
    fn compact(&mut self) -> Result<bool> {
        self.db.compact()?;
        Ok(true)
    }
}

// ---------------------------------------------------------------------------------------------
// LMDB through heed

struct Lmdb {
    env: heed::Env,
    table: heed::Database<heed::types::Bytes, heed::types::Bytes>,
    dir: PathBuf,
}

#[allow(unsafe_code, reason = "heed's environment open is an unsafe fn")]
impl Lmdb {
    /// Opens the environment in `dir`: the compacted copy if a compaction made one (it
    /// stays where it was written, see `compact`).
    fn open(dir: &Path) -> Result<Self> {
        let compacted = dir.join("lmdb.compacted");
        Lmdb::open_at(if compacted.exists() {
            compacted
        } else {
            dir.join("lmdb")
        })
    }

    fn open_at(dir: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&dir)?;
        // SAFETY: the environment is opened once per process and its files are not touched
        // by anything else while it is open (heed's conditions for `open`).
        let env = unsafe { heed::EnvOpenOptions::new().map_size(CACHE_BYTES).open(&dir)? };
        let mut txn = env.write_txn()?;
        let table = env.create_database(&mut txn, None)?;
        txn.commit()?;
        Ok(Lmdb { env, table, dir })
    }

    fn write(&self, f: impl FnOnce(&mut heed::RwTxn<'_>) -> Result<()>) -> Result<()> {
        let mut txn = self.env.write_txn()?;
        f(&mut txn)?;
        Ok(txn.commit()?)
    }
}

#[allow(unsafe_code, reason = "heed's flag switch is an unsafe fn")]
impl Engine for Lmdb {
    fn bulk_load(&self, records: &mut dyn Iterator<Item = Record>) -> Result<()> {
        self.write(|txn| {
            for (k, v) in records {
                self.table.put(txn, &k, &v)?;
            }
            Ok(())
        })
    }
    fn write_durable(&self, (k, v): &Record) -> Result<()> {
        self.write(|txn| Ok(self.table.put(txn, k, v)?))
    }
    fn write_batch_durable(&self, records: &[Record]) -> Result<()> {
        self.write(|txn| {
            for (k, v) in records {
                self.table.put(txn, k, v)?;
            }
            Ok(())
        })
    }
    fn write_nosync(&self, (k, v): &Record) -> Result<()> {
        // SAFETY: no other thread commits while the flag is switched (the benchmark writes
        // from one thread), which is what mdb_env_set_flags asks.
        unsafe {
            self.env.set_flags(heed::EnvFlags::NO_SYNC, heed::FlagSetMode::Enable)?;
        }
        let written = self.write(|txn| Ok(self.table.put(txn, k, v)?));
        // SAFETY: as above.
        unsafe {
            self.env
                .set_flags(heed::EnvFlags::NO_SYNC, heed::FlagSetMode::Disable)?;
        }
        written
    }
    fn sync(&self) -> Result<()> {
        Ok(self.env.force_sync()?)
    }
    fn len(&self) -> Result<u64> {
        let txn = self.env.read_txn()?;
        Ok(self.table.len(&txn)?)
    }
    fn read_all(&self, records: &mut dyn Iterator<Item = Record>) -> Result<(u64, u64)> {
        let txn = self.env.read_txn()?;
        tally(records, |k| Ok(self.table.get(&txn, k)?.map(|v| v[0])))
    }
    fn range_all(&self, records: &mut dyn Iterator<Item = Record>, n: usize) -> Result<Option<u64>> {
        let txn = self.env.read_txn()?;
        let mut sum = 0;
        for (k, _) in records {
            let from = k.as_slice();
            let bounds = (std::ops::Bound::Included(from), std::ops::Bound::Unbounded);
            for item in self.table.range(&txn, &bounds)?.take(n) {
                sum += u64::from(item?.1[0]);
            }
        }
        Ok(Some(sum))
    }
    fn remove_all(&self, records: &mut dyn Iterator<Item = Record>) -> Result<()> {
        self.write(|txn| {
            for (k, _) in records {
                self.table.delete(txn, &k)?;
            }
            Ok(())
        })
    }
    fn compact(&mut self) -> Result<bool> {
        // LMDB compacts by copying: write a compacted copy, open it, close and delete the
        // old environment. The copy keeps its name (`open` finds it), so the row times the
        // copy and one open, nothing else.
        let copy = self.dir.with_extension("compacted");
        std::fs::create_dir_all(&copy)?;
        self.env
            .copy_to_path(copy.join("data.mdb"), heed::CompactionOption::Enabled)?;
        let old = std::mem::replace(self, Lmdb::open_at(copy)?);
        old.env.prepare_for_closing().wait();
        std::fs::remove_dir_all(&old.dir)?;
        Ok(true)
    }
}

// ---------------------------------------------------------------------------------------------
// fjall

struct Fjall {
    db: fjall::Database,
    table: fjall::Keyspace,
}

impl Fjall {
    fn open(dir: &Path) -> Result<Self> {
        let db = fjall::Database::builder(dir.join("fjall"))
            .cache_size(CACHE_BYTES as u64)
            .open()?;
        let table = db.keyspace("t", fjall::KeyspaceCreateOptions::default)?;
        Ok(Fjall { db, table })
    }

    fn batch(&self, records: &mut dyn Iterator<Item = Record>, remove: bool) -> Result<()> {
        let mut batch = self.db.batch().durability(Some(fjall::PersistMode::SyncAll));
        for (k, v) in records {
            if remove {
                batch.remove(&self.table, k.to_vec());
            } else {
                batch.insert(&self.table, k.to_vec(), v.to_vec());
            }
        }
        Ok(batch.commit()?)
    }
}

impl Engine for Fjall {
    fn bulk_load(&self, records: &mut dyn Iterator<Item = Record>) -> Result<()> {
        self.batch(records, false)
    }
    fn write_durable(&self, (k, v): &Record) -> Result<()> {
        self.table.insert(k.to_vec(), v.to_vec())?;
        Ok(self.db.persist(fjall::PersistMode::SyncAll)?)
    }
    fn write_batch_durable(&self, records: &[Record]) -> Result<()> {
        self.batch(&mut records.iter().copied(), false)
    }
    fn write_nosync(&self, (k, v): &Record) -> Result<()> {
        Ok(self.table.insert(k.to_vec(), v.to_vec())?)
    }
    fn sync(&self) -> Result<()> {
        Ok(self.db.persist(fjall::PersistMode::SyncAll)?)
    }
    fn len(&self) -> Result<u64> {
        Ok(self.table.len()? as u64)
    }
    fn read_all(&self, records: &mut dyn Iterator<Item = Record>) -> Result<(u64, u64)> {
        tally(records, |k| Ok(self.table.get(k)?.map(|v| v[0])))
    }
    fn range_all(&self, records: &mut dyn Iterator<Item = Record>, n: usize) -> Result<Option<u64>> {
        let mut sum = 0;
        for (k, _) in records {
            for item in self.table.range(k.as_slice()..).take(n) {
                sum += u64::from(item.value()?[0]);
            }
        }
        Ok(Some(sum))
    }
    fn remove_all(&self, records: &mut dyn Iterator<Item = Record>) -> Result<()> {
        self.batch(records, true)
    }
    fn compact(&mut self) -> Result<bool> {
        self.table.major_compact()?;
        Ok(true)
    }
}

// ---------------------------------------------------------------------------------------------
// sled

struct Sled {
    db: sled::Db,
}

impl Sled {
    fn open(dir: &Path) -> Result<Self> {
        let db = sled::Config::new()
            .path(dir.join("sled"))
            .cache_capacity(CACHE_BYTES as u64)
            .open()?;
        Ok(Sled { db })
    }

    fn batch(&self, records: &mut dyn Iterator<Item = Record>, remove: bool) -> Result<()> {
        let mut batch = sled::Batch::default();
        for (k, v) in records {
            if remove {
                batch.remove(k.as_slice());
            } else {
                batch.insert(k.as_slice(), v.as_slice());
            }
        }
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }
}

impl Engine for Sled {
    fn bulk_load(&self, records: &mut dyn Iterator<Item = Record>) -> Result<()> {
        self.batch(records, false)
    }
    fn write_durable(&self, (k, v): &Record) -> Result<()> {
        self.db.insert(k, v.as_slice())?;
        self.db.flush()?;
        Ok(())
    }
    fn write_batch_durable(&self, records: &[Record]) -> Result<()> {
        self.batch(&mut records.iter().copied(), false)
    }
    fn write_nosync(&self, (k, v): &Record) -> Result<()> {
        self.db.insert(k, v.as_slice())?;
        Ok(())
    }
    fn sync(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }
    fn len(&self) -> Result<u64> {
        Ok(self.db.len() as u64)
    }
    fn read_all(&self, records: &mut dyn Iterator<Item = Record>) -> Result<(u64, u64)> {
        tally(records, |k| Ok(self.db.get(k)?.map(|v| v[0])))
    }
    fn range_all(&self, records: &mut dyn Iterator<Item = Record>, n: usize) -> Result<Option<u64>> {
        let mut sum = 0;
        for (k, _) in records {
            for item in self.db.range(k.as_slice()..).take(n) {
                sum += u64::from(item?.1[0]);
            }
        }
        Ok(Some(sum))
    }
    fn remove_all(&self, records: &mut dyn Iterator<Item = Record>) -> Result<()> {
        self.batch(records, true)
    }
    fn compact(&mut self) -> Result<bool> {
        // sled 0.34 has no compaction call; it reclaims space in the background.
        Ok(false)
    }
}

// ---------------------------------------------------------------------------------------------
// The raw limit: one append-only file and a hash map of key -> offset, nothing else (no
// checksums, no recovery, no ordered index, no compaction).

/// Hashes a random key by its first eight bytes: the cheapest hash that is fair here.
#[derive(Default)]
struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(word);
    }
}

type RawMap = HashMap<[u8; KEY_LEN], u64, BuildHasherDefault<PrefixHasher>>;

struct Raw {
    file: Mutex<(BufWriter<File>, u64)>,
    reader: File,
    map: RwLock<RawMap>,
}

/// Entry tags of the raw log: a put is tag, key, value; a removal is tag, key.
const RAW_PUT: u8 = 1;
const RAW_REMOVE: u8 = 0;

impl Raw {
    fn open(dir: &Path) -> Result<Self> {
        let path = dir.join("raw.log");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        // Rebuild the map from the log: the least any log-and-hash-map store does at open.
        let bytes = std::fs::read(&path)?;
        let mut map = RawMap::default();
        let mut at = 0;
        while at + 1 + KEY_LEN <= bytes.len() {
            let mut key = [0u8; KEY_LEN];
            key.copy_from_slice(&bytes[at + 1..at + 1 + KEY_LEN]);
            if bytes[at] == RAW_PUT {
                map.insert(key, (at + 1 + KEY_LEN) as u64);
                at += 1 + KEY_LEN + VALUE_LEN;
            } else {
                map.remove(&key);
                at += 1 + KEY_LEN;
            }
        }
        let reader = file.try_clone()?;
        Ok(Raw {
            file: Mutex::new((BufWriter::with_capacity(1 << 16, file), bytes.len() as u64)),
            reader,
            map: RwLock::new(map),
        })
    }

    fn append(&self, records: &mut dyn Iterator<Item = Record>, sync: bool) -> Result<()> {
        let mut file = self.file.lock().map_err(|_| "raw: poisoned")?;
        let mut map = self.map.write().map_err(|_| "raw: poisoned")?;
        for (k, v) in records {
            let (writer, end) = &mut *file;
            writer.write_all(&[RAW_PUT])?;
            writer.write_all(&k)?;
            writer.write_all(&v)?;
            map.insert(k, *end + 1 + KEY_LEN as u64);
            *end += (1 + KEY_LEN + VALUE_LEN) as u64;
        }
        if sync {
            file.0.flush()?;
            file.0.get_ref().sync_data()?;
        }
        Ok(())
    }
}

impl Engine for Raw {
    fn bulk_load(&self, records: &mut dyn Iterator<Item = Record>) -> Result<()> {
        self.append(records, true)
    }
    fn write_durable(&self, record: &Record) -> Result<()> {
        self.append(&mut std::iter::once(*record), true)
    }
    fn write_batch_durable(&self, records: &[Record]) -> Result<()> {
        self.append(&mut records.iter().copied(), true)
    }
    fn write_nosync(&self, record: &Record) -> Result<()> {
        self.append(&mut std::iter::once(*record), false)
    }
    fn sync(&self) -> Result<()> {
        self.append(&mut std::iter::empty(), true)
    }
    fn len(&self) -> Result<u64> {
        Ok(self.map.read().map_err(|_| "raw: poisoned")?.len() as u64)
    }
    fn read_all(&self, records: &mut dyn Iterator<Item = Record>) -> Result<(u64, u64)> {
        // Everything written is in the file before reads start (the writes flush).
        let mut value = [0u8; VALUE_LEN];
        tally(records, |k| {
            let offset = self.map.read().map_err(|_| "raw: poisoned")?.get(k).copied();
            match offset {
                Some(at) => {
                    self.reader.read_exact_at(&mut value, at)?;
                    Ok(Some(value[0]))
                }
                None => Ok(None),
            }
        })
    }
    fn range_all(&self, _records: &mut dyn Iterator<Item = Record>, _n: usize) -> Result<Option<u64>> {
        Ok(None)
    }
    fn remove_all(&self, records: &mut dyn Iterator<Item = Record>) -> Result<()> {
        let mut file = self.file.lock().map_err(|_| "raw: poisoned")?;
        let mut map = self.map.write().map_err(|_| "raw: poisoned")?;
        for (k, _) in records {
            file.0.write_all(&[RAW_REMOVE])?;
            file.0.write_all(&k)?;
            file.1 += 1 + KEY_LEN as u64;
            map.remove(&k);
        }
        file.0.flush()?;
        file.0.get_ref().sync_data()?;
        Ok(())
    }
    fn compact(&mut self) -> Result<bool> {
        Ok(false)
    }
}
