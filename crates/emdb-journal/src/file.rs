//! Platform file operations the writer and recovery need, behind one small surface.

use std::fs::File;
use std::io;
use std::path::Path;

/// Opens the data file for reading and writing, creating it owner-only if missing.
pub(crate) fn open_data(path: &Path, create: bool) -> io::Result<File> {
    crate::lock::private_options()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .open(path)
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

/// Writes all of `buf` at `offset`.
pub(crate) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.write_all_at(buf, offset)
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileExt;
        let (mut buf, mut offset) = (buf, offset);
        while !buf.is_empty() {
            match file.seek_write(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
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
        let (mut buf, mut offset) = (buf, offset);
        while !buf.is_empty() {
            match file.seek_read(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Grows the file from `from` to `to` bytes, reserving real blocks where the platform can
/// (`fallocate` on Linux), so that later appends overwrite allocated space instead of
/// extending the file: an `fdatasync` then has no size change to commit.
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
