//! Crash-safe file replacement.
//!
//! Breach streaks and run summaries must never be seen half-written: a reader (or soakd after a
//! crash) finds either the old file or the new one. The classic recipe: write a uniquely named
//! temp file beside the target, `fsync` it, `rename` it over the target (atomic within one
//! directory on POSIX), then `fsync` the directory so the rename itself survives power loss.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces `path` with `bytes` atomically; on error the target is untouched and the temp file
/// is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a file path", path.display()),
        )
    })?;
    let dir = parent_dir(path);
    // Leading dot and a `.tmp` suffix: listings of `*.json` never pick up a temp file, even one
    // left behind by a crash between create and rename.
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    ));

    let result = write_and_rename(&tmp, path, bytes);
    if result.is_err() {
        // Best effort: the temp file may not exist if creating it is what failed.
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(&dir)
}

fn write_and_rename(tmp: &Path, target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(tmp, target)
}

/// The directory holding `path`; a bare file name lives in the current directory.
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Directories cannot be opened for syncing on non-Unix platforms; the rename is still atomic.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
