//! The data directory: created private (0700), held by one server at a
//! time, with the SQLite database inside it private (0600): it holds
//! password hashes and every message.
//!
//! The hold is an exclusive lock on `palaver.lock`, which the operating
//! system releases when the server stops or dies (no stale lock to clean up
//! after a crash). The file names the holder's pid, for the message the
//! second server prints.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Read, Seek, Write};
use std::path::{Path, PathBuf};

const LOCK_FILE: &str = "palaver.lock";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("data directory {path}: {reason}")]
    Unusable { path: String, reason: String },
    #[error("database file {path}: {reason}")]
    Database { path: String, reason: String },
    #[error(
        "data directory {path} is in use by another palaver ({holder}); stop it, or give this \
         one its own --data-dir"
    )]
    InUse { path: String, holder: String },
}

/// The held data directory; the hold ends when this is dropped.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

/// An I/O failure in words an operator can act on.
pub fn describe(err: &std::io::Error) -> String {
    match err.kind() {
        ErrorKind::ReadOnlyFilesystem => "the file system is read-only".into(),
        ErrorKind::StorageFull => "the disk is full (no space left on the device)".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        _ => err.to_string(),
    }
}

impl DataDir {
    /// Creates (0700) and takes hold of `path`.
    pub fn open(path: &Path) -> Result<Self, DataDirError> {
        let unusable = |err: std::io::Error| DataDirError::Unusable {
            path: path.display().to_string(),
            reason: describe(&err),
        };
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(path).map_err(unusable)?;
        let mut lock = private_file()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path.join(LOCK_FILE))
            .map_err(unusable)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = lock.read_to_string(&mut pid);
                let holder = match pid.trim() {
                    "" => "a process that has not said its pid yet".to_owned(),
                    pid => format!("pid {pid}"),
                };
                return Err(DataDirError::InUse {
                    path: path.display().to_string(),
                    holder,
                });
            }
            Err(TryLockError::Error(err)) => return Err(unusable(err)),
        }
        lock.set_len(0)
            .and_then(|()| lock.rewind())
            .and_then(|()| write!(lock, "{}", std::process::id()))
            .and_then(|()| lock.flush())
            .map_err(unusable)?;
        Ok(Self {
            path: path.to_owned(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes a SQLite database file private before SQLite opens it: created
    /// 0600 when missing (SQLite gives its -wal and -shm files the
    /// database's mode), tightened to 0600 when an older start left it wider.
    pub fn protect_database(&self, database: &Path) -> Result<(), DataDirError> {
        let unusable = |err: std::io::Error| DataDirError::Database {
            path: database.display().to_string(),
            reason: describe(&err),
        };
        private_file()
            .write(true)
            .create(true)
            .truncate(false)
            .open(database)
            .map_err(unusable)?;
        #[cfg(unix)]
        for suffix in ["", "-wal", "-shm"] {
            use std::os::unix::fs::PermissionsExt;
            let mut name = database.as_os_str().to_owned();
            name.push(suffix);
            let file = Path::new(&name);
            if let Ok(meta) = std::fs::metadata(file)
                && meta.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
                    .map_err(unusable)?;
            }
        }
        Ok(())
    }
}

fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_hold_on_one_directory_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = DataDir::open(dir.path()).expect("first hold");
        match DataDir::open(dir.path()) {
            Err(DataDirError::InUse { holder, .. }) => {
                assert_eq!(holder, format!("pid {}", std::process::id()));
            }
            other => panic!("expected InUse, got {other:?}"),
        }
        drop(first);
        DataDir::open(dir.path()).expect("free again once the first is gone");
    }

    #[cfg(unix)]
    #[test]
    fn the_directory_and_the_database_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().expect("temp dir");
        let path = parent.path().join("data");
        let held = DataDir::open(&path).expect("hold");
        let db = path.join("palaver.db");
        std::fs::write(path.join("palaver.db-wal"), b"").expect("a wal file");
        std::fs::set_permissions(
            path.join("palaver.db-wal"),
            std::fs::Permissions::from_mode(0o644),
        )
        .expect("chmod");
        held.protect_database(&db).expect("protected");
        let mode = |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&path.join("palaver.db-wal")), 0o600);
    }
}
