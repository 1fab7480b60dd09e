//! Platform file operations the writer and recovery need, behind one small surface.

use std::fs::File;
use std::io;
use std::path::Path;

/// Opens the data file for reading and writing, creating it owner-only if missing.
pub(crate) fn open_data(path: &Path, create: bool) -> io::Result<File> {
    let file = crate::lock::private_options()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .open(path)?;
    if create {
        crate::fileops::opened(&file, path);
    }
    Ok(file)
}

/// A second descriptor of the data file whose writes are durable when they return
/// (`O_DSYNC`), for the write-through policy. `None` where the platform has no such flag
/// that also flushes the drive's cache; the writer then syncs after each write instead.
pub(crate) fn open_write_through(path: &Path) -> io::Result<Option<File>> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::DSYNC.bits();
        let file = std::fs::OpenOptions::new()
            .write(true)
            // `bits()` is a `c_uint`; the flag fits an `i32` on every Linux target.
            .custom_flags(i32::try_from(flags).map_err(io::Error::other)?)
            .open(path)?;
        Ok(Some(file))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        // macOS's O_DSYNC does not flush the drive cache (F_FULLFSYNC does), and Windows'
        // write-through flag needs the file opened differently; sync explicitly there.
        let _ = path;
        Ok(None)
    }
}

/// Writes all of `buf` at `offset` (through [`crate::fileops::write_at`], which records it).
pub(crate) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.write_all_at(buf, offset)
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileExt;
        transfer_all(buf.len(), offset, io::ErrorKind::WriteZero, |done, at| {
            file.seek_write(&buf[done..], at)
        })
    }
}

/// Reads exactly `buf.len()` bytes at `offset`.
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.read_exact_at(buf, offset)
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileExt;
        transfer_all(buf.len(), offset, io::ErrorKind::UnexpectedEof, |done, at| {
            file.seek_read(&mut buf[done..], at)
        })
    }
}

/// Moves `len` bytes from `offset` on by calls of `op(done, at)`, each moving bytes from
/// `done` on at file offset `at` and returning how many it moved, as Windows' positional
/// `seek_read` and `seek_write` do (they may move fewer bytes than asked). A call that moves
/// none fails with `on_zero`; an interrupted call is retried.
#[cfg(any(windows, test))]
fn transfer_all(
    len: usize,
    offset: u64,
    on_zero: io::ErrorKind,
    mut op: impl FnMut(usize, u64) -> io::Result<usize>,
) -> io::Result<()> {
    let mut done = 0;
    while done < len {
        match op(done, offset + done as u64) {
            Ok(0) => return Err(on_zero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Grows the file from `from` to `to` bytes, reserving real blocks where the platform can
/// (`fallocate` on Linux), so that later appends overwrite allocated space instead of
/// extending the file: an `fdatasync` then has no size change to commit. Called through
/// [`crate::fileops::allocate`], which records it.
pub(crate) fn allocate(file: &File, from: u64, to: u64) -> io::Result<()> {
    if to <= from {
        return Ok(());
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{FallocateFlags, fallocate};
        match fallocate(file, FallocateFlags::empty(), from, to - from) {
            Ok(()) => return Ok(()),
            Err(e) if e == rustix::io::Errno::OPNOTSUPP || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
    }
    file.set_len(to)
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::transfer_all;

    /// A file of `len` bytes that moves at most `chunk` bytes a call, and fails the first
    /// call with `Interrupted`; records the offsets it was asked for.
    struct Short {
        data: Vec<u8>,
        chunk: usize,
        interrupted: bool,
        asked: Vec<u64>,
    }

    impl Short {
        fn new(len: usize, chunk: usize) -> Short {
            Short {
                data: vec![0; len],
                chunk,
                interrupted: false,
                asked: Vec::new(),
            }
        }

        fn write(&mut self, src: &[u8], at: u64) -> io::Result<usize> {
            self.asked.push(at);
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::ErrorKind::Interrupted.into());
            }
            let at = usize::try_from(at).map_err(io::Error::other)?;
            let n = src.len().min(self.chunk).min(self.data.len().saturating_sub(at));
            self.data[at..at + n].copy_from_slice(&src[..n]);
            Ok(n)
        }
    }

    #[test]
    fn short_and_interrupted_calls_are_carried_on_to_the_end() -> io::Result<()> {
        let src: Vec<u8> = (0..10).collect();
        let mut file = Short::new(13, 3);
        transfer_all(src.len(), 3, io::ErrorKind::WriteZero, |done, at| {
            file.write(&src[done..], at)
        })?;
        assert_eq!(&file.data[3..], &src[..]);
        assert_eq!(file.asked, [3, 3, 6, 9, 12]);
        Ok(())
    }

    #[test]
    fn a_call_that_moves_nothing_fails_with_the_given_kind() {
        let src = [7u8; 8];
        let mut file = Short::new(5, 4);
        let err = transfer_all(src.len(), 0, io::ErrorKind::UnexpectedEof, |done, at| {
            file.write(&src[done..], at)
        });
        assert_eq!(err.map_err(|e| e.kind()), Err(io::ErrorKind::UnexpectedEof));
        assert_eq!(file.data, [7; 5], "what fitted was moved before the failure");
    }

    #[test]
    fn other_errors_are_returned_at_once() {
        let mut calls = 0;
        let err = transfer_all(4, 0, io::ErrorKind::WriteZero, |_, _| {
            calls += 1;
            Err(io::Error::from(io::ErrorKind::PermissionDenied))
        });
        assert_eq!(err.map_err(|e| e.kind()), Err(io::ErrorKind::PermissionDenied));
        assert_eq!(calls, 1);
    }

    #[test]
    fn nothing_to_move_makes_no_call() -> io::Result<()> {
        transfer_all(0, 9, io::ErrorKind::WriteZero, |_, _| Err(io::ErrorKind::Other.into()))
    }
}
