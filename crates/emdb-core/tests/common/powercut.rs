//! Power-cut images from a trace of file operations (`emdb_journal::fileops::trace`).
//!
//! A [`Disk`] replays the recorded operations onto a model of a file system that knows,
//! for every file, what is durable and what is not:
//!
//! - a file's bytes and length are durable up to its last sync; the writes and length
//!   changes since are *pending*;
//! - a creation, removal or rename is durable once its directory is synced; until then it
//!   is pending too.
//!
//! At a cut ([`Disk::image`]) the image keeps what is durable plus some of what is
//! pending: of the directory's pending operations a prefix in program order (file systems
//! journal their metadata in order), of each file's pending writes any subset, applied in
//! any order (a length change is the one ordering point: the writes before it stay
//! before it), a kept write possibly torn after any 512-byte sector it reaches. Then
//! [`Image::materialise`] writes it into a directory. The image of a kill is the other
//! extreme: everything the process did, pending or not.
//!
//! What it does not model: the Direct I/O journal (not traced), memory maps (read-only
//! here), permission bits, a sync that fails, a device that lies about a sync, and damage
//! to durable bytes (the corruption suite's business).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use emdb_journal::fileops::trace::Op;

/// The sector a torn write keeps whole: a write survives up to a multiple of this.
pub const SECTOR: u64 = 512;

/// A file's content: `data`, then zeros up to `len` (a preallocated reserve costs
/// nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Content {
    data: Vec<u8>,
    len: u64,
}

impl Content {
    /// The file's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The byte at `at` (0 past the data, and past the end).
    pub fn byte(&self, at: u64) -> u8 {
        usize::try_from(at)
            .ok()
            .and_then(|i| self.data.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// The bytes `[from, to)` (zeros where the file holds none).
    pub fn bytes(&self, from: u64, to: u64) -> Vec<u8> {
        (from..to).map(|i| self.byte(i)).collect()
    }

    /// The whole file.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = self.data.clone();
        out.resize(self.len as usize, 0);
        out
    }

    fn write(&mut self, offset: u64, bytes: &[u8]) {
        let (at, end) = (offset as usize, offset as usize + bytes.len());
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        self.data[at..end].copy_from_slice(bytes);
        self.len = self.len.max(end as u64);
    }

    fn set_len(&mut self, len: u64) {
        if (len as usize) < self.data.len() {
            self.data.truncate(len as usize);
        }
        self.len = len;
    }

    /// The first offset where `self` and `other` differ, if any.
    pub fn first_difference(&self, other: &Content) -> Option<u64> {
        let common = self.data.len().min(other.data.len());
        if let Some(i) = (0..common).find(|&i| self.data[i] != other.data[i]) {
            return Some(i as u64);
        }
        let longer = if self.data.len() > other.data.len() {
            self
        } else {
            other
        };
        if let Some(i) = (common..longer.data.len()).find(|&i| longer.data[i] != 0) {
            return Some(i as u64);
        }
        (self.len != other.len).then(|| self.len.min(other.len))
    }

    /// Whether any byte from `from` on is not zero.
    pub fn has_data_from(&self, from: u64) -> bool {
        self.data.iter().skip(from as usize).any(|&b| b != 0)
    }
}

/// A pending change to a file, with the index of the operation that made it.
#[derive(Clone, Debug)]
enum Change {
    Write { offset: u64, bytes: Vec<u8>, op: usize },
    SetLen { len: u64, op: usize },
}

impl Change {
    fn apply(&self, to: &mut Content) {
        match self {
            Change::Write { offset, bytes, .. } => to.write(*offset, bytes),
            Change::SetLen { len, .. } => to.set_len(*len),
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Inode {
    durable: Content,
    pending: Vec<Change>,
    /// What the process sees: `durable` with every pending change applied (shared with
    /// the images that name it, copied on the next change).
    live: Rc<Content>,
}

/// A pending change to the directory, with the index of the operation that made it.
#[derive(Clone, Debug)]
enum Entry {
    Link { path: PathBuf, ino: usize },
    Unlink { path: PathBuf },
    Rename { from: PathBuf, to: PathBuf },
}

/// The model file system. Paths are relative to the traced root; files are model
/// inodes (indexes into `inodes`), real inode numbers map to the current one.
#[derive(Debug)]
pub struct Disk {
    roots: Vec<PathBuf>,
    inodes: Vec<Inode>,
    by_real: HashMap<u64, usize>,
    live: BTreeMap<PathBuf, usize>,
    durable: BTreeMap<PathBuf, usize>,
    pending: Vec<(Entry, usize)>,
    /// How many operations were replayed.
    replayed: usize,
}

/// How much of what is pending an image keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Everything: what a kill of the process leaves.
    All,
    /// Nothing: only what was synced.
    Synced,
    /// Of each file's pending writes a prefix in program order, the last one possibly
    /// torn: a power cut on a device that writes back in order.
    InOrder,
    /// Of each file's pending writes any subset, in any order, each possibly torn.
    Any,
}

/// One file of an image.
#[derive(Clone, Debug)]
pub struct ImageFile {
    /// What the image holds.
    pub content: Content,
    /// What the process saw in this file at the cut.
    pub live: Rc<Content>,
    /// Which pending changes were kept (operation indexes; `~n` torn).
    pub kept: String,
}

/// The files a power cut left.
#[derive(Clone, Debug)]
pub struct Image {
    /// By path relative to the root.
    pub files: BTreeMap<PathBuf, ImageFile>,
    /// How many of the directory's pending operations were kept, of how many.
    pub dir_kept: (usize, usize),
    pub keep: Keep,
}

impl Image {
    /// Writes the image's files into `dir` (which must be empty), zeros past the last
    /// written byte left sparse. Without `reserve`, a file ends at its last written byte
    /// instead: the zeros a length change added past it (the journal's preallocated
    /// reserve) are left out, as a cut that lost that change but kept the writes leaves
    /// them. (A debug build reads 4 MiB of reserve in about 20 ms an open.)
    pub fn materialise(&self, dir: &Path, reserve: bool) -> std::io::Result<()> {
        for (path, file) in &self.files {
            let out = std::fs::File::create(dir.join(path))?;
            std::io::Write::write_all(&mut &out, &file.content.data)?;
            if reserve {
                out.set_len(file.content.len)?;
            }
        }
        Ok(())
    }

    /// One line per file: its name, length and what was kept.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "{:?}; directory operations kept {} of {}",
            self.keep, self.dir_kept.0, self.dir_kept.1
        );
        for (path, f) in &self.files {
            let _ = write!(
                out,
                "\n      {}: {} bytes (live {}), kept [{}]",
                path.display(),
                f.content.len,
                f.live.len,
                f.kept
            );
        }
        out
    }
}

impl Disk {
    /// An empty file system whose paths live under `root`.
    pub fn new(root: &Path) -> Disk {
        let mut roots = vec![root.to_path_buf()];
        if let Ok(resolved) = std::fs::canonicalize(root) {
            roots.push(resolved);
        }
        Disk {
            roots,
            inodes: Vec::new(),
            by_real: HashMap::new(),
            live: BTreeMap::new(),
            durable: BTreeMap::new(),
            pending: Vec::new(),
            replayed: 0,
        }
    }

    /// How many operations were replayed.
    pub fn replayed(&self) -> usize {
        self.replayed
    }

    fn relative(&self, path: &Path) -> Result<PathBuf, String> {
        self.roots
            .iter()
            .find_map(|root| path.strip_prefix(root).ok())
            .map(Path::to_path_buf)
            .ok_or_else(|| format!("{} lies outside the traced directory", path.display()))
    }

    fn inode(&self, real: u64, path: &Path) -> Result<usize, String> {
        self.by_real
            .get(&real)
            .copied()
            .ok_or_else(|| format!("{} (inode {real}) was changed but never opened", path.display()))
    }

    /// Replays the next operation of the trace.
    pub fn apply(&mut self, op: &Op) -> Result<(), String> {
        let index = self.replayed;
        self.replayed += 1;
        match op {
            Op::Open { path, file } => {
                let rel = self.relative(path)?;
                match self.live.get(&rel) {
                    Some(&ino) if self.by_real.get(file) == Some(&ino) => {}
                    Some(_) => {
                        return Err(format!(
                            "op {index}: {} opened as another file than it names",
                            rel.display()
                        ));
                    }
                    None => {
                        let ino = self.inodes.len();
                        self.inodes.push(Inode::default());
                        self.by_real.insert(*file, ino);
                        self.live.insert(rel.clone(), ino);
                        self.pending.push((Entry::Link { path: rel, ino }, index));
                    }
                }
            }
            Op::Write {
                path,
                file,
                offset,
                bytes,
            } => {
                let ino = self.inode(*file, path)?;
                let change = Change::Write {
                    offset: *offset,
                    bytes: bytes.clone(),
                    op: index,
                };
                change.apply(Rc::make_mut(&mut self.inodes[ino].live));
                self.inodes[ino].pending.push(change);
            }
            Op::SetLen { path, file, len } => {
                let ino = self.inode(*file, path)?;
                let change = Change::SetLen { len: *len, op: index };
                change.apply(Rc::make_mut(&mut self.inodes[ino].live));
                self.inodes[ino].pending.push(change);
            }
            Op::Sync { path, file } => {
                let ino = self.inode(*file, path)?;
                let inode = &mut self.inodes[ino];
                inode.durable = Content::clone(&inode.live);
                inode.pending.clear();
            }
            Op::Remove { path } => {
                let rel = self.relative(path)?;
                if self.live.remove(&rel).is_none() {
                    return Err(format!("op {index}: {} removed but absent", rel.display()));
                }
                self.pending.push((Entry::Unlink { path: rel }, index));
            }
            Op::Rename { from, to } => {
                let (from, to) = (self.relative(from)?, self.relative(to)?);
                let ino = self
                    .live
                    .remove(&from)
                    .ok_or_else(|| format!("op {index}: {} renamed but absent", from.display()))?;
                self.live.insert(to.clone(), ino);
                self.pending.push((Entry::Rename { from, to }, index));
            }
            Op::SyncDir { dir } => {
                let dir = self.relative(dir)?;
                let (done, left): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
                    .into_iter()
                    .partition(|(e, _)| parent(e) == dir);
                for (entry, _) in &done {
                    apply_entry(&mut self.durable, entry);
                }
                self.pending = left;
            }
            other => return Err(format!("op {index}: unknown operation {other:?}")),
        }
        Ok(())
    }

    /// The files as the process sees them now (what a kill leaves).
    pub fn live_files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        self.live
            .iter()
            .map(|(p, &ino)| (p.clone(), self.inodes[ino].live.to_vec()))
            .collect()
    }

    /// The files a power cut now could leave, drawn with `rng`.
    pub fn image(&self, keep: Keep, rng: &mut fastrand::Rng) -> Image {
        let kept_entries = match keep {
            Keep::All => self.pending.len(),
            _ => rng.usize(..=self.pending.len()),
        };
        let mut names = self.durable.clone();
        for (entry, _) in &self.pending[..kept_entries] {
            apply_entry(&mut names, entry);
        }
        let mut files = BTreeMap::new();
        for (path, &ino) in &names {
            let inode = &self.inodes[ino];
            let (content, kept) = keep_changes(inode, keep, rng);
            files.insert(
                path.clone(),
                ImageFile {
                    content,
                    live: Rc::clone(&inode.live),
                    kept,
                },
            );
        }
        Image {
            files,
            dir_kept: (kept_entries, self.pending.len()),
            keep,
        }
    }
}

fn parent(entry: &Entry) -> PathBuf {
    let path = match entry {
        Entry::Link { path, .. } | Entry::Unlink { path } => path,
        Entry::Rename { to, .. } => to,
    };
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn apply_entry(names: &mut BTreeMap<PathBuf, usize>, entry: &Entry) {
    match entry {
        Entry::Link { path, ino } => {
            names.insert(path.clone(), *ino);
        }
        Entry::Unlink { path } => {
            names.remove(path);
        }
        Entry::Rename { from, to } => {
            if let Some(ino) = names.remove(from) {
                names.insert(to.clone(), ino);
            }
        }
    }
}

/// A write cut after one of the sector boundaries it crosses (or before its first byte).
fn torn(offset: u64, bytes: &[u8], rng: &mut fastrand::Rng) -> (u64, Vec<u8>) {
    let end = offset + bytes.len() as u64;
    let first = (offset / SECTOR + 1) * SECTOR;
    let boundaries: Vec<u64> = std::iter::once(offset)
        .chain((first..end).step_by(SECTOR as usize))
        .collect();
    let cut = boundaries[rng.usize(..boundaries.len())];
    (offset, bytes[..(cut - offset) as usize].to_vec())
}

/// The content of `inode` with some of its pending changes kept, and which.
fn keep_changes(inode: &Inode, keep: Keep, rng: &mut fastrand::Rng) -> (Content, String) {
    let mut content = inode.durable.clone();
    let mut kept = Vec::new();
    let n = inode.pending.len();
    match keep {
        Keep::All => return (Content::clone(&inode.live), format!("all {n}")),
        Keep::Synced => return (content, "none".to_owned()),
        Keep::InOrder => {
            let upto = rng.usize(..=n);
            for (i, change) in inode.pending[..upto].iter().enumerate() {
                match change {
                    Change::Write { offset, bytes, op } if i + 1 == upto && rng.bool() => {
                        let (at, part) = torn(*offset, bytes, rng);
                        content.write(at, &part);
                        kept.push(format!("~{op}:{}", part.len()));
                    }
                    other => {
                        other.apply(&mut content);
                        kept.push(op_of(other).to_string());
                    }
                }
            }
        }
        Keep::Any => {
            // Stretches between length changes, each shuffled; every change kept or not.
            let mut stretch: Vec<&Change> = Vec::new();
            for change in &inode.pending {
                if !rng.bool() {
                    continue;
                }
                match change {
                    Change::SetLen { .. } => {
                        apply_shuffled(&mut stretch, &mut content, &mut kept, rng);
                        change.apply(&mut content);
                        kept.push(op_of(change).to_string());
                    }
                    Change::Write { .. } => stretch.push(change),
                }
            }
            apply_shuffled(&mut stretch, &mut content, &mut kept, rng);
        }
    }
    (content, format!("{} of {n}: {}", kept.len(), kept.join(" ")))
}

/// Applies the writes of `stretch` in a random order, a quarter of them torn.
fn apply_shuffled(stretch: &mut Vec<&Change>, content: &mut Content, kept: &mut Vec<String>, rng: &mut fastrand::Rng) {
    rng.shuffle(stretch);
    for change in stretch.drain(..) {
        if let Change::Write { offset, bytes, op } = change
            && rng.u8(..4) == 0
        {
            let (at, part) = torn(*offset, bytes, rng);
            content.write(at, &part);
            kept.push(format!("~{op}:{}", part.len()));
        } else {
            change.apply(content);
            kept.push(op_of(change).to_string());
        }
    }
}

fn op_of(change: &Change) -> usize {
    match change {
        Change::Write { op, .. } | Change::SetLen { op, .. } => *op,
    }
}

/// The operations `[from, to)` of `trace`, one a line, numbered.
pub fn slice(trace: &[Op], from: usize, to: usize) -> String {
    let mut out = String::new();
    for (i, op) in trace.iter().enumerate().take(to.min(trace.len())).skip(from) {
        let _ = write!(out, "\n      {i:5} {op:?}");
    }
    out
}
