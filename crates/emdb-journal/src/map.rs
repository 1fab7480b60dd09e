//! Read-only memory maps of the data file (and of files replaced only by rename): the only
//! unsafe code in the crate.
//!
//! A [`Map`] maps the whole file as it was when the map was made, but hands out only the
//! bytes below the journal's published frontier. That is what makes its safe API sound:
//!
//! * the journal writes only at or beyond its tail, and the tail never moves below the
//!   published frontier, so published bytes are never written again while the journal is
//!   open;
//! * the file is never shrunk below the published prefix of any live map: recovery cuts
//!   only bytes past the end of the valid log, which no map ever published (a map kept
//!   alive by a reader after its journal closed sees a later handle cut a torn tail or a
//!   reserve beyond its prefix, never inside it: the log only grows past what it
//!   published), a handle cuts its own reserve at close only when no map it made is alive
//!   ([`MapCell::release`]), and
//!   compaction in the layers above replaces the file by renaming, which leaves mapped
//!   inodes alone;
//! * the journal's lock keeps cooperating processes from writing the file at all.
//!
//! So every `&[u8]` handed out refers to memory that no one modifies for as long as it
//! lives. A process that ignores the lock and rewrites the file under us breaks the
//! contract, as with every memory-mapped store.
//!
//! When the file grows past a map, a new one replaces it in the [`MapCell`]; readers
//! that hold the old map (an `Arc`) keep it alive and valid.
#![allow(unsafe_code, reason = "memory-mapping the data file needs unsafe; invariants above")]

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use memmap2::{Advice, Mmap, MmapOptions};

/// A read-only map of the data file, exposing its published prefix.
#[derive(Debug)]
pub(crate) struct Map {
    mmap: Option<Mmap>,
    published: Arc<AtomicU64>,
}

impl Map {
    /// A map of nothing (the file is empty).
    pub(crate) fn empty(published: Arc<AtomicU64>) -> Self {
        Map { mmap: None, published }
    }

    /// Maps all of `file` as it is now. `published` is the frontier below which the file's
    /// bytes never change again (see the module docs).
    pub(crate) fn of(file: &File, published: Arc<AtomicU64>) -> std::io::Result<Self> {
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(Self::empty(published));
        }
        let len = usize::try_from(len).map_err(|_| std::io::Error::other("file larger than the address space"))?;
        // SAFETY: the journal upholds the module's invariants: bytes below `published` are
        // never written while the journal is open, the file is never truncated below the
        // published prefix of a live map (a handle cuts its reserve only when none of its
        // maps is alive; later handles cut only past the log, which only grows), and only
        // bytes below `published` are ever exposed as slices. The
        // map is read-only, so our own code cannot write through it.
        let mmap = unsafe { MmapOptions::new().len(len).map(file)? };
        Ok(Map {
            mmap: Some(mmap),
            published,
        })
    }

    /// Mapped length (may exceed the published prefix).
    pub(crate) fn mapped_len(&self) -> u64 {
        self.mmap.as_ref().map_or(0, |m| m.len() as u64)
    }

    /// The published bytes this map covers.
    pub(crate) fn bytes(&self) -> &[u8] {
        let Some(m) = &self.mmap else {
            return &[];
        };
        let published = self.published.load(Ordering::Acquire);
        let end = usize::try_from(published).unwrap_or(usize::MAX).min(m.len());
        &m[..end]
    }

    /// Hints that the map will be read front to back (recovery).
    pub(crate) fn advise_sequential(&self) {
        if let Some(m) = &self.mmap {
            // Advisory only; failure changes nothing but speed.
            let _ = m.advise(Advice::Sequential);
        }
    }
}

/// How many holders of one map are lent out to readers (see [`Leased`]).
const LEASES: usize = 16;

/// One holder of a map, lent to the readers of one thread slot: a value that must keep
/// the map alive after its read (a zero-copy value) clones a lease instead of the map's
/// own `Arc`, so readers on different threads increment different counters, each on its
/// own cache line (`align(128)`: the `Arc`'s counters sit in the same allocation, padded).
#[repr(align(128))]
#[derive(Debug)]
pub(crate) struct Lease(pub(crate) Arc<Map>);

/// A map and the leases lent out on it.
#[derive(Debug)]
pub(crate) struct Leased {
    pub(crate) map: Arc<Map>,
    leases: Box<[Arc<Lease>]>,
}

impl Leased {
    pub(crate) fn new(map: Arc<Map>) -> Leased {
        let leases = (0..LEASES).map(|_| Arc::new(Lease(Arc::clone(&map)))).collect();
        Leased { map, leases }
    }

    /// The lease of the calling thread's slot.
    pub(crate) fn lease(&self) -> &Arc<Lease> {
        &self.leases[thread_slot() % LEASES]
    }
}

/// A small number fixed for each thread (threads numbered as they first ask).
fn thread_slot() -> usize {
    use std::cell::Cell;
    use std::sync::atomic::AtomicUsize;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local!(static SLOT: Cell<usize> = const { Cell::new(usize::MAX) });
    SLOT.with(|slot| match slot.get() {
        usize::MAX => {
            let n = NEXT.fetch_add(1, Ordering::Relaxed) % LEASES;
            slot.set(n);
            n
        }
        n => n,
    })
}

/// The current map, replaced (never mutated) when the file outgrows it.
#[derive(Debug)]
pub(crate) struct MapCell {
    current: ArcSwap<Leased>,
    regrow: Mutex<()>,
}

impl MapCell {
    pub(crate) fn new(map: Map) -> Self {
        MapCell {
            current: ArcSwap::from_pointee(Leased::new(Arc::new(map))),
            regrow: Mutex::new(()),
        }
    }

    /// Drops the current map (the next read maps the file again) and tells whether no
    /// other map of the file is alive: each map holds the journal's `published` counter,
    /// so with none left its only holders are the journal and the empty map put in place.
    /// The caller has the journal exclusively (no read is making a map meanwhile).
    pub(crate) fn release(&self) -> bool {
        let published = Arc::clone(&self.current.load().map.published);
        let empty = Arc::new(Map::empty(Arc::clone(&published)));
        self.current.store(Arc::new(Leased::new(empty)));
        // The journal, the empty map, and `published` here.
        Arc::strong_count(&published) == 3
    }

    /// Runs `f` on the current map's bytes below `end` if it covers them, borrowing the
    /// map (no reference count taken: `arc_swap`'s guard) with its leases; `f` back when
    /// the map is shorter.
    pub(crate) fn with_current<T, F: FnOnce(&[u8], &Leased) -> T>(&self, end: u64, f: F) -> Result<T, F> {
        let leased = self.current.load();
        let bytes = leased.map.bytes();
        match usize::try_from(end).ok().and_then(|end| bytes.get(..end)) {
            Some(bytes) => Ok(f(bytes, &leased)),
            None => Err(f),
        }
    }

    /// A map that covers at least `end` bytes, remapping `file` if the current one is
    /// shorter.
    pub(crate) fn covering(&self, file: &File, end: u64) -> std::io::Result<Arc<Map>> {
        let map = Arc::clone(&self.current.load().map);
        if map.mapped_len() >= end {
            return Ok(map);
        }
        let _one_at_a_time = self.regrow.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let map = Arc::clone(&self.current.load().map);
        if map.mapped_len() >= end {
            return Ok(map);
        }
        let fresh = Arc::new(Map::of(file, Arc::clone(&map.published))?);
        if fresh.mapped_len() < end {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "data file is shorter than the published log",
            ));
        }
        self.current.store(Arc::new(Leased::new(Arc::clone(&fresh))));
        Ok(fresh)
    }
}

/// A read-only map of a whole file that is replaced by rename and never written in place,
/// such as the files [`crate::replace_file`] writes (an engine's index snapshot beside the
/// log): reading it this way copies nothing.
#[derive(Debug)]
pub struct ReplacedFile(Option<Mmap>);

impl std::ops::Deref for ReplacedFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.0.as_deref().unwrap_or(&[])
    }
}

/// Maps all of the file at `path` (see [`ReplacedFile`]), its pages read ahead.
///
/// # Safety
///
/// Nobody may write or shrink the file in place while the map lives (a replace renames
/// another inode over the name, which leaves the mapped one alone): the bytes would change
/// under a `&[u8]`, or reading them would fault. A database's files are covered by its
/// lock, which the caller must hold; a process that ignores the lock and truncates the
/// file breaks this, as with every mapped store.
///
/// # Errors
///
/// The open, the file's length or the map failing.
pub unsafe fn map_replaced(path: &std::path::Path) -> std::io::Result<ReplacedFile> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(ReplacedFile(None));
    }
    let len = usize::try_from(len).map_err(|_| std::io::Error::other("file larger than the address space"))?;
    // SAFETY: the map is read-only, so this process cannot write through it, and the
    // caller guarantees (the function's contract) that the file is replaced only by
    // rename, never written or shrunk in place, so the mapped bytes stay as they are while
    // the map lives.
    let mmap = unsafe { MmapOptions::new().len(len).populate().map(&file)? };
    Ok(ReplacedFile(Some(mmap)))
}

#[cfg(test)]
mod tests {
    use super::map_replaced;
    use super::{LEASES, Lease, Map, MapCell, thread_slot};
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    /// A file of ten published bytes and a cell mapping it.
    struct Ten {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
        published: Arc<AtomicU64>,
        file: std::fs::File,
        cell: MapCell,
    }

    fn ten() -> crate::Result<Ten> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("log");
        std::fs::write(&path, b"0123456789")?;
        let published = Arc::new(AtomicU64::new(10));
        let file = std::fs::File::open(&path)?;
        let cell = MapCell::new(Map::of(&file, Arc::clone(&published))?);
        Ok(Ten {
            _dir: dir,
            path,
            published,
            file,
            cell,
        })
    }

    impl Ten {
        /// Appends three bytes to the file and publishes them.
        fn grow(&self) -> std::io::Result<()> {
            std::fs::OpenOptions::new()
                .append(true)
                .open(&self.path)?
                .write_all(b"abc")?;
            self.published.store(13, std::sync::atomic::Ordering::Release);
            Ok(())
        }
    }

    /// `with_current` lends the current map when it covers `end`, and hands `f` back
    /// unrun when it does not (the caller then maps the file again).
    #[test]
    fn the_current_map_is_lent_only_when_it_covers_the_end() -> crate::Result<()> {
        let t = ten()?;
        let cell = &t.cell;
        assert_eq!(cell.with_current(4, |b, _| b.to_vec()).ok(), Some(b"0123".to_vec()));
        assert_eq!(cell.with_current(10, |b, _| b.len()).ok(), Some(10));
        let mut ran = false;
        assert!(cell.with_current(11, |_, _| ran = true).is_err(), "the map ends at 10");
        assert!(!ran, "f is handed back, not run");
        // The file grows and is published further: the old map no longer covers the
        // end until `covering` maps it again.
        t.grow()?;
        assert!(cell.with_current(13, |_, _| ()).is_err());
        cell.covering(&t.file, 13)?;
        assert_eq!(
            cell.with_current(13, |b, _| b.to_vec()).ok(),
            Some(b"0123456789abc".to_vec())
        );
        Ok(())
    }

    /// A lease holds the map it was lent on: after the cell maps the file anew and after
    /// it releases its map, a lease taken before still reads the old map's bytes; each
    /// thread keeps its slot, and the leases of one map are distinct holders.
    #[test]
    fn a_lease_keeps_its_map_after_a_remap_and_a_release() -> crate::Result<()> {
        let t = ten()?;
        let cell = &t.cell;
        let lease = cell
            .with_current(10, |_, leased| Arc::clone(leased.lease()))
            .ok()
            .expect("covers");
        let again = cell
            .with_current(10, |_, leased| Arc::clone(leased.lease()))
            .ok()
            .expect("covers");
        assert!(Arc::ptr_eq(&lease, &again), "one thread, one slot");
        let other = std::thread::spawn(thread_slot).join().expect("thread");
        let mine = thread_slot();
        assert!(other < LEASES && mine < LEASES);
        cell.with_current(10, |_, leased| {
            let distinct: std::collections::HashSet<*const Lease> = leased.leases.iter().map(Arc::as_ptr).collect();
            assert_eq!(distinct.len(), LEASES, "each slot its own counter");
        })
        .ok()
        .expect("covers");
        t.grow()?;
        cell.covering(&t.file, 13)?;
        assert_eq!(lease.0.mapped_len(), 10, "the old map, still alive");
        assert!(!cell.release(), "a lease still holds a map of the file");
        assert_eq!(&lease.0.bytes()[..10], b"0123456789");
        drop((lease, again));
        assert!(cell.release(), "no map of the file is left once the leases are gone");
        Ok(())
    }

    /// The file of this test, written only by `replace_file` below.
    fn map(path: &std::path::Path) -> std::io::Result<super::ReplacedFile> {
        // SAFETY: the test's own file, which it changes only by `replace_file` (a rename
        // over the name), never in place.
        unsafe { map_replaced(path) }
    }

    #[test]
    fn a_replaced_file_maps_whole_and_an_old_map_keeps_its_bytes() -> crate::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("snapshot");
        assert!(map(&path).is_err(), "a missing file is an error");
        crate::replace_file(&path, b"")?;
        assert!(map(&path)?.is_empty());
        crate::replace_file(&path, b"first version")?;
        let first = map(&path)?;
        assert_eq!(&*first, b"first version");
        // A replace renames another file over the name: the map keeps the old bytes.
        crate::replace_file(&path, b"second, longer version")?;
        assert_eq!(&*first, b"first version");
        assert_eq!(&*map(&path)?, b"second, longer version");
        Ok(())
    }
}
