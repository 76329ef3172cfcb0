//! Bounded file IO on paths a pull request or a plan file may control.
//!
//! Every file roster reads or writes on a user's behalf goes through here, so one set of rules
//! holds everywhere:
//!
//! - **Only regular files.** Devices, FIFOs, sockets, directories and the kernel's pseudo-files
//!   (`/proc`, `/sys`, `/dev`) are refused before a byte is read: `/dev/zero` would never end, a
//!   FIFO would block forever, `/proc/self/environ` holds the token. The check is made on the
//!   open file handle (opened non-blocking, so a FIFO cannot hang the open), not only on the
//!   path, so swapping the file between check and read does not get around it.
//! - **A hard cap.** Reads stop at `limit + 1` bytes whatever the metadata says.
//! - **Atomic writes that replace only regular files.** A write goes to a temporary file in the
//!   same directory and is renamed over the target; an existing target that is not a regular
//!   file is refused, and the temporary file never outlives a failure.
//! - **Inside a root, when a root is given.** [`Root::contains`] says whether a path resolves
//!   (symlinks followed) inside a directory, for config directories; [`Root::walk`] lists a
//!   folder's files following symlinks only while they stay inside it.

// This crate is where files are written: the workspace's `disallowed-methods` (clippy.toml)
// send every other module here.
#![allow(clippy::disallowed_methods)]

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Why a file was not read (or not written). Never holds any of the file's bytes.
#[derive(Debug)]
pub enum FileError {
    /// The file system said no.
    Io(io::Error),
    /// Not a regular file; `what` says what it is ("a FIFO", "a device", …).
    NotRegular { what: &'static str },
    /// More than `limit` bytes; `size` when the file system gave it before anything was read.
    TooLarge { limit: u64, size: Option<u64> },
    /// A symlink (or a path through one) that resolves outside the directory it must stay in.
    Outside { resolved: PathBuf },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Io(e) => write!(f, "{e}"),
            FileError::NotRegular { what } => {
                write!(
                    f,
                    "it is {what}, not a regular file; roster reads only regular files"
                )
            }
            FileError::TooLarge { limit, size } => {
                match size {
                    Some(size) => write!(f, "it is {:.1} MB", *size as f64 / 1e6)?,
                    None => write!(f, "it is larger than {} MB", limit / 1024 / 1024)?,
                }
                write!(f, "; roster reads up to {} MB", limit / 1024 / 1024)
            }
            FileError::Outside { resolved } => write!(
                f,
                "it is a symlink to `{}`, outside the directory; roster does not follow it",
                resolved.display()
            ),
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FileError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for FileError {
    fn from(e: io::Error) -> Self {
        FileError::Io(e)
    }
}

impl From<FileError> for io::Error {
    fn from(e: FileError) -> Self {
        match e {
            FileError::Io(e) => e,
            e => io::Error::other(e.to_string()),
        }
    }
}

impl FileError {
    /// The path does not exist (so a caller may treat the file as absent).
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

/// Reads a regular file of at most `limit` bytes. A file whose size already says it is too
/// large is refused unread; the read itself stops after `limit + 1` bytes whatever the size
/// said, since a file can grow while it is read.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let file = open_regular(path)?;
    let size = file.metadata()?.len();
    if size > limit {
        return Err(FileError::TooLarge {
            limit,
            size: Some(size),
        });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge { limit, size: None });
    }
    Ok(bytes)
}

/// Reads a regular UTF-8 file of at most `limit` bytes. Invalid UTF-8 is an `InvalidData`
/// error that does not quote the bytes.
pub fn read_to_string(path: &Path, limit: u64) -> Result<String, FileError> {
    String::from_utf8(read(path, limit)?).map_err(|e| {
        FileError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it is not valid UTF-8 (at byte {})",
                e.utf8_error().valid_up_to()
            ),
        ))
    })
}

/// Opens a regular file for reading, refusing anything else without blocking on it.
pub fn open_regular(path: &Path) -> Result<File, FileError> {
    refuse_pseudo(path)?;
    // The path's type first, so a FIFO is not even opened; then the handle's, in case the path
    // was swapped in between.
    check_regular(&fs::metadata(path)?)?;
    let file = open_nonblocking(path)?;
    check_regular(&file.metadata()?)?;
    Ok(file)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

fn check_regular(meta: &Metadata) -> Result<(), FileError> {
    if meta.is_file() {
        return Ok(());
    }
    Err(FileError::NotRegular {
        what: describe(meta),
    })
}

/// What kind of file `meta` describes, for messages.
fn describe(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    if t.is_symlink() {
        return "a symlink";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    "a special file"
}

/// The kernel's pseudo-file systems look like regular files (`/proc/self/environ` has size 0
/// and is "regular") but are not files anyone declares users in.
fn refuse_pseudo(path: &Path) -> Result<(), FileError> {
    let Ok(resolved) = fs::canonicalize(path) else {
        return Ok(()); // the open reports the real problem
    };
    let pseudo = ["/proc", "/sys", "/dev"]
        .iter()
        .any(|p| resolved.starts_with(p));
    if pseudo {
        return Err(FileError::NotRegular {
            what: "a kernel pseudo-file",
        });
    }
    Ok(())
}

/// Fails unless `path` is absent or a regular file (not a symlink): what may be replaced or
/// appended to.
pub fn check_writable_target(path: &Path) -> Result<(), FileError> {
    refuse_pseudo(path)?;
    match fs::symlink_metadata(path) {
        Ok(meta) => check_regular(&meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Replaces `path` with `bytes` so that a reader sees the old file or the new one, never half
/// of one, and a crash leaves no temporary file behind that a later run would trip on. An
/// existing `path` that is not a regular file is refused and left alone.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    check_writable_target(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        // The rename is durable only once the directory is synced (not possible everywhere).
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok::<_, io::Error>(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    Ok(result?)
}

/// Creates `dir` and its parents, as `std::fs::create_dir_all` does: the folders roster writes
/// into (schemas, imports, the Entra delta state).
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// Removes `path`: a regular file, or a symlink itself (never what it points at); a directory
/// is refused. For the declarations an import replaces and the emulator's state copy.
pub fn remove_file(path: &Path) -> io::Result<()> {
    fs::remove_file(path)
}

/// Opens `path` for appending (creating it), refusing anything but a regular file.
pub fn open_append(path: &Path) -> Result<File, FileError> {
    check_writable_target(path)?;
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    check_regular(&file.metadata()?)?;
    Ok(file)
}

/// What [`Root::walk`] found.
#[derive(Debug, Default)]
pub struct Walk {
    /// The files, sorted; paths under the folder walked (through a symlink if one led there).
    pub files: Vec<PathBuf>,
    /// Entries not followed because they leave the root (or cannot be resolved), sorted.
    pub refused: Vec<(PathBuf, FileError)>,
    /// Why the walk stopped early, if it did.
    pub error: Option<io::Error>,
}

/// A directory that paths must stay inside, symlinks followed.
#[derive(Debug, Clone)]
pub struct Root {
    canonical: PathBuf,
}

impl Root {
    pub fn new(dir: &Path) -> io::Result<Root> {
        Ok(Root {
            canonical: fs::canonicalize(dir)?,
        })
    }

    /// `Ok(())` when `path` resolves inside the root; a dangling path is an IO error.
    pub fn contains(&self, path: &Path) -> Result<(), FileError> {
        let resolved = fs::canonicalize(path)?;
        if resolved.starts_with(&self.canonical) {
            Ok(())
        } else {
            Err(FileError::Outside { resolved })
        }
    }

    /// [`read`], for a file that must resolve inside the root.
    pub fn read(&self, path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
        self.contains(path)?;
        read(path, limit)
    }

    /// Whether `path` may be written: the part of it that exists (the file, or the nearest
    /// folder above it) resolves inside the root, so a symlinked folder cannot send a write
    /// elsewhere. What does not exist yet is created inside it.
    pub fn check_write(&self, path: &Path) -> Result<(), FileError> {
        let mut existing = path;
        while fs::symlink_metadata(existing).is_err() {
            match existing.parent() {
                Some(p) if !p.as_os_str().is_empty() => existing = p,
                _ => return self.contains(Path::new(".")),
            }
        }
        self.contains(existing)
    }

    /// Every file below `dir` that `wanted` accepts, sorted, hidden entries (`.name`) left
    /// out. Symlinks are followed only while they resolve inside the root, each folder once
    /// (so a symlink loop inside the root ends); an entry that leaves the root is refused, named
    /// in [`Walk::refused`] and not read, unless it is a dangling link that `wanted` would not
    /// take anyway. A missing `dir` has no files. The first folder that cannot be listed stops
    /// the walk ([`Walk::error`]), keeping what was found before it.
    pub fn walk(&self, dir: &Path, wanted: impl Fn(&Path) -> bool) -> Walk {
        let mut walk = Walk::default();
        let mut seen = HashSet::new();
        if let Err(e) = self.walk_into(dir, &wanted, &mut seen, &mut walk) {
            walk.error = Some(e);
        }
        walk.files.sort();
        walk.refused.sort_by(|a, b| a.0.cmp(&b.0));
        walk
    }

    fn walk_into(
        &self,
        dir: &Path,
        wanted: &dyn Fn(&Path) -> bool,
        seen: &mut HashSet<PathBuf>,
        walk: &mut Walk,
    ) -> io::Result<()> {
        let Ok(meta) = fs::symlink_metadata(dir) else {
            return Ok(());
        };
        if meta.file_type().is_symlink()
            && let Err(e) = self.contains(dir)
        {
            walk.refused.push((dir.to_path_buf(), e));
            return Ok(());
        }
        if !dir.is_dir() || !seen.insert(fs::canonicalize(dir)?) {
            return Ok(());
        }
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if entry.file_type()?.is_symlink()
                && let Err(e) = self.contains(&path)
            {
                // A dangling link named like a folder is of no interest; one named like a
                // wanted file is a mistake worth reporting.
                if wanted(&path) || !e.is_not_found() {
                    walk.refused.push((path, e));
                }
                continue;
            }
            if path.is_dir() {
                self.walk_into(&path, wanted, seen, walk)?;
            } else if wanted(&path) {
                walk.files.push(path);
            }
        }
        Ok(())
    }

    /// [`write_atomic`] inside the root, creating the folders `path` needs.
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), FileError> {
        self.check_write(path)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        write_atomic(path, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_up_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.yaml");
        fs::write(&p, "12345").unwrap();
        assert_eq!(read(&p, 5).unwrap(), b"12345");
        assert!(matches!(
            read(&p, 4),
            Err(FileError::TooLarge {
                limit: 4,
                size: Some(5)
            })
        ));
    }

    #[test]
    fn refuses_devices_and_pseudo_files_and_directories() {
        for (path, what) in [
            ("/dev/zero", "a kernel pseudo-file"),
            ("/proc/self/environ", "a kernel pseudo-file"),
            ("/", "a directory"),
        ] {
            match read(Path::new(path), 1024) {
                Err(FileError::NotRegular { what: w }) => assert_eq!(w, what, "{path}"),
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo.yaml");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read(&p, 1024),
            Err(FileError::NotRegular { what: "a FIFO" })
        ));
        assert!(matches!(
            write_atomic(&p, b"x"),
            Err(FileError::NotRegular { what: "a FIFO" })
        ));
        assert!(matches!(open_append(&p), Err(FileError::NotRegular { .. })));
    }

    #[test]
    fn atomic_write_leaves_no_temporary_file_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub");
        fs::create_dir(&target).unwrap();
        // A directory at the path: refused, nothing left behind.
        assert!(write_atomic(&target, b"x").is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // A parent that does not exist: the temporary file cannot even be made.
        assert!(write_atomic(&dir.path().join("missing/plan.json"), b"x").is_err());
        let ok = dir.path().join("plan.json");
        write_atomic(&ok, b"one").unwrap();
        write_atomic(&ok, b"two").unwrap();
        assert_eq!(fs::read(&ok).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn root_refuses_symlinks_that_leave_it() {
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("users");
        fs::create_dir(&inside).unwrap();
        fs::write(inside.join("a.yaml"), "users: []").unwrap();
        std::os::unix::fs::symlink(inside.join("a.yaml"), inside.join("b.yaml")).unwrap();
        std::os::unix::fs::symlink("/etc", inside.join("etc")).unwrap();
        let root = Root::new(dir.path()).unwrap();
        root.contains(&inside.join("b.yaml")).unwrap();
        assert!(matches!(
            root.contains(&inside.join("etc")),
            Err(FileError::Outside { .. })
        ));
        // Writes: not through the symlinked folder, not through a dangling symlink; a new
        // folder inside is made.
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), inside.join("out")).unwrap();
        assert!(matches!(
            root.write(&inside.join("out/new/x.yaml"), b"x"),
            Err(FileError::Outside { .. })
        ));
        std::os::unix::fs::symlink(outside.path().join("made"), inside.join("dangling.yaml"))
            .unwrap();
        assert!(root.write(&inside.join("dangling.yaml"), b"x").is_err());
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
        root.write(&inside.join("new/deeper/x.yaml"), b"x").unwrap();
        assert_eq!(fs::read(inside.join("new/deeper/x.yaml")).unwrap(), b"x");
    }

    #[cfg(unix)]
    #[test]
    fn issue12_the_walk_follows_links_inside_the_root_only() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users");
        fs::create_dir_all(users.join("team/deeper")).unwrap();
        fs::create_dir_all(dir.path().join("shared")).unwrap();
        for f in [
            "users/b.yaml",
            "users/a.yml",
            "users/notes.txt",
            "users/.hidden.yaml",
            "users/team/deeper/c.yaml",
            "shared/s.yaml",
        ] {
            fs::write(dir.path().join(f), "users: []\n").unwrap();
        }
        // Inside the root: followed (a folder and a file); a loop ends.
        symlink(dir.path().join("shared"), users.join("linked")).unwrap();
        symlink(users.join("b.yaml"), users.join("same.yaml")).unwrap();
        symlink(&users, users.join("team/loop")).unwrap();
        // Outside, or dangling: refused by name, except a dangling folder-like link.
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("x.yaml"), "users: []\n").unwrap();
        symlink(outside.path(), users.join("out")).unwrap();
        symlink(outside.path().join("x.yaml"), users.join("out.yaml")).unwrap();
        symlink(dir.path().join("gone.yaml"), users.join("dangling.yaml")).unwrap();
        symlink(dir.path().join("gone"), users.join("dangling-folder")).unwrap();

        let root = Root::new(dir.path()).unwrap();
        let yaml = |p: &Path| p.extension().is_some_and(|e| e == "yaml" || e == "yml");
        let walk = root.walk(&users, yaml);
        assert!(walk.error.is_none(), "{:?}", walk.error);
        let rel = |p: &PathBuf| p.strip_prefix(dir.path()).unwrap().display().to_string();
        assert_eq!(
            walk.files.iter().map(rel).collect::<Vec<_>>(),
            [
                "users/a.yml",
                "users/b.yaml",
                "users/linked/s.yaml",
                "users/same.yaml",
                "users/team/deeper/c.yaml",
            ]
        );
        let refused: Vec<(String, bool)> = walk
            .refused
            .iter()
            .map(|(p, e)| (rel(p), matches!(e, FileError::Outside { .. })))
            .collect();
        assert_eq!(
            refused,
            [
                ("users/dangling.yaml".to_string(), false),
                ("users/out".to_string(), true),
                ("users/out.yaml".to_string(), true),
            ]
        );
        // A missing folder has no files and is no error; a symlinked root folder that leaves
        // the root is refused whole.
        let missing = root.walk(&dir.path().join("groups"), yaml);
        assert!(missing.files.is_empty() && missing.refused.is_empty() && missing.error.is_none());
        symlink(outside.path(), dir.path().join("groups")).unwrap();
        let away = root.walk(&dir.path().join("groups"), yaml);
        assert!(away.files.is_empty());
        assert_eq!(away.refused.len(), 1);
    }
}
