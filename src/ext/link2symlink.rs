//! `-l/--link2symlink`: hard links emulated with symbolic links, in the
//! on-disk layout of PRoot's link2symlink extension, so that a rootfs where
//! PRoot made "hard links" keeps working under sproot and the other way round.
//!
//! # Layout
//!
//! Three kinds of entries make one emulated file with N names:
//!
//! * the **final** file: the original inode, renamed.  Its name is the
//!   intermediate's name followed by `.` and the link count, written with at
//!   least four digits (`%04d`): `.l2s.data0001.0002` when it has two names.
//!   Every `link` or `unlink` of a name renames it to the new count, and the
//!   count is what `st_nlink` reports;
//! * the **intermediate** symlink, `.l2s.` + the original file name + a
//!   four-digit number picked so that the name is free (`0001`, `0002`, …):
//!   `.l2s.data0001`.  It points to the final file by absolute host path and
//!   is re-pointed whenever the final file is renamed;
//! * the **names**: the original name and every new "hard link" are symlinks
//!   pointing to the intermediate, by absolute host path.  Their contents
//!   never change, so renaming the final file never touches them.
//!
//! The intermediate and final live next to the original name, or in the
//! directory `PROOT_L2S_DIR` names when that variable is set and not empty
//! (proot-distro points it at `<rootfs>/.l2s`).  All symlink contents are
//! absolute *host* paths, as PRoot writes them; PRoot's canonicaliser turns
//! a host path read from a symlink back into a guest path, and so must
//! sproot's.
//!
//! A name is recognised as part of a group when it is a symlink whose
//! target's last component starts with `.l2s.` and that target is itself a
//! readable symlink (the intermediate).  Removing a name removes the
//! symlink and lowers the count; removing the last name removes the
//! intermediate and the final file too.  Renaming over a name lowers its
//! group's count the same way.  Other syscalls on a name act on the final
//! file (see [`resolve`]): `stat` and `lstat` both report the final file
//! with `st_nlink` from its name, so names look like regular files with
//! the same inode.  The intermediate and final file themselves are ordinary
//! files to every syscall (unlinking one of them directly is a plain unlink,
//! as under PRoot).
//!
//! # How this matches PRoot
//!
//! Read from termux/proot `src/extension/link2symlink/link2symlink.c`:
//! `move_and_symlink_path` (link), `decrement_link_count` (unlink, rename),
//! `handle_sysexit_end` and `link2symlink_handle_statx` (st_nlink),
//! `translated_path` (following a name to the final file), and `PREFIX`
//! (`.l2s.`; the `.proot.l2s.` variant is only built for a USERLAND
//! configuration that proot-distro does not use).  Deliberate differences,
//! none of which changes the layout:
//!
//! * PRoot gives up looking for a free intermediate number at 999 and
//!   reads the count as the last four characters; here there is no limit
//!   (a count of 10000 is written `10000` and read back as all the digits
//!   after the last dot; PRoot would misread counts above 9999 anyway);
//! * PRoot changes the count before the syscall runs and does not undo
//!   anything on failure; here every step that fails undoes the earlier ones,
//!   and an unlink/rename changes the count only once the name is gone;
//! * renaming one name of a group onto another name of the same group does
//!   nothing and succeeds, as rename(2) does for two hard links;
//! * linking the intermediate or the final file itself adds a name to the
//!   existing group (PRoot would fail or start a nested group);
//! * a "hard link" to a symlink that is not an l2s name copies the symlink
//!   (same target) instead of moving it under an `.l2s.` name, because a
//!   relative target would change meaning in `PROOT_L2S_DIR`.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::stat::{SFlag, lstat};

pub use sproot_core::ext::link2symlink::{PREFIX, is_l2s_name};

/// The environment variable naming the directory for intermediates and
/// final files.
pub const L2S_DIR_ENV: &str = "PROOT_L2S_DIR";

/// One emulated file: its intermediate symlink and final file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The intermediate symlink (absolute host path).
    pub intermediate: PathBuf,
    /// The final file, as the intermediate points to it (made absolute).
    pub final_path: PathBuf,
    /// The link count encoded in the final file's name; `None` when that
    /// name does not end in `.` and digits (a damaged group).
    pub count: Option<u64>,
}

use crate::host::errno_of;

fn absolute(p: &Path) -> Result<PathBuf, Errno> {
    if p.as_os_str().is_empty() {
        return Err(Errno::ENOENT);
    }
    let abs = std::path::absolute(p).map_err(|e| errno_of(&e))?;
    if !abs
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        return Ok(abs);
    }
    // `..` can only be resolved on disk (a component may be a symlink):
    // resolve the directory, keep the last component as it is.
    match (abs.parent(), abs.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = std::fs::canonicalize(dir).map_err(|e| errno_of(&e))?;
            Ok(dir.join(name))
        }
        _ => std::fs::canonicalize(&abs).map_err(|e| errno_of(&e)),
    }
}

fn file_name_bytes(p: &Path) -> &[u8] {
    p.file_name().map(OsStrExt::as_bytes).unwrap_or(b"")
}

/// `readlink`, with a relative target resolved against the link's
/// directory, as the kernel would follow it.
fn read_link_abs(link: &Path) -> Option<PathBuf> {
    let target = std::fs::read_link(link).ok()?;
    if target.is_absolute() {
        Some(target)
    } else {
        Some(link.parent().unwrap_or(Path::new("/")).join(target))
    }
}

fn is_symlink(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

/// Split a final file path into (everything before the last `.`, count).
fn split_count(final_path: &Path) -> Option<(&[u8], u64)> {
    let bytes = final_path.as_os_str().as_bytes();
    let dot = bytes.iter().rposition(|&b| b == b'.')?;
    let digits = &bytes[dot + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Overlong digit strings saturate rather than fail.
    let count = digits.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some((&bytes[..dot], count))
}

fn with_count(final_path: &Path, count: u64) -> Option<PathBuf> {
    let (stem, _) = split_count(final_path)?;
    let mut v = stem.to_vec();
    v.extend_from_slice(format!(".{count:04}").as_bytes());
    Some(PathBuf::from(OsString::from_vec(v)))
}

fn group_from_intermediate(intermediate: PathBuf) -> Option<Group> {
    let final_path = read_link_abs(&intermediate)?;
    let count = split_count(&final_path).map(|(_, n)| n);
    Some(Group {
        intermediate,
        final_path,
        count,
    })
}

/// The group `path` is a *name* of: `path` is a symlink to an `.l2s.`
/// intermediate that is itself a readable symlink.  This is PRoot's test.
pub fn member_group(path: &Path) -> Option<Group> {
    let intermediate = read_link_abs(path)?;
    if !is_l2s_name(file_name_bytes(&intermediate)) {
        return None;
    }
    group_from_intermediate(intermediate)
}

/// The group `path` belongs to, whether it is a name, the intermediate
/// symlink or the final file.
pub fn group_of(path: &Path) -> Option<Group> {
    let path = absolute(path).ok()?;
    if let Some(g) = member_group(&path) {
        return Some(g);
    }
    if !is_l2s_name(file_name_bytes(&path)) {
        return None;
    }
    if is_symlink(&path) {
        // An intermediate: it points to a final whose name extends its own.
        let g = group_from_intermediate(path.clone())?;
        let (stem, _) = split_count(&g.final_path)?;
        return (stem == path.as_os_str().as_bytes()).then_some(g);
    }
    // A final file: its intermediate is its name without ".count".
    let (stem, count) = split_count(&path)?;
    let intermediate = PathBuf::from(OsStr::from_bytes(stem));
    let target = read_link_abs(&intermediate)?;
    (target == path).then_some(Group {
        intermediate,
        final_path: path,
        count: Some(count),
    })
}

/// The link count to report in `st_nlink`/`stx_nlink` for `path` (a host
/// path, not followed): `Some` when it is a name, the intermediate or the
/// final file of a group, as PRoot's stat handling reports it.
pub fn nlink_of(path: &Path) -> Option<u64> {
    group_of(path)?.count
}

/// The file a syscall on the name `path` must act on instead: the final
/// file, when `path` is a name of a group (PRoot's `translated_path`).
/// Not for `link*`, `unlink*`, `rename*`, which work on the names.
pub fn resolve(path: &Path) -> Option<PathBuf> {
    member_group(path).map(|g| g.final_path)
}

fn symlink(target: &Path, link: &Path) -> Result<(), Errno> {
    std::os::unix::fs::symlink(target, link).map_err(|e| errno_of(&e))
}

fn remove(p: &Path) -> Result<(), Errno> {
    std::fs::remove_file(p).map_err(|e| errno_of(&e))
}

/// rename that never replaces an existing `to`.
fn rename_noreplace(from: &Path, to: &Path) -> Result<(), Errno> {
    match crate::host::renameat2(from, to, libc::RENAME_NOREPLACE) {
        Err(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {
            // The filesystem cannot do it atomically; check then rename.
            if std::fs::symlink_metadata(to).is_ok() {
                return Err(Errno::EEXIST);
            }
            std::fs::rename(from, to).map_err(|e| errno_of(&e))
        }
        other => other,
    }
}

/// Make the intermediate point to `target`, replacing it atomically
/// (through a temporary symlink next to it; an existing file is never
/// removed to make room for it).
fn repoint(intermediate: &Path, target: &Path) -> Result<(), Errno> {
    let mut attempt: u64 = 0;
    let tmp = loop {
        let mut tmp = intermediate.as_os_str().to_os_string();
        tmp.push(format!(".new{attempt}"));
        let tmp = PathBuf::from(tmp);
        match symlink(target, &tmp) {
            Ok(()) => break tmp,
            Err(Errno::EEXIST) => attempt = attempt.checked_add(1).ok_or(Errno::ENOSPC)?,
            Err(e) => return Err(e),
        }
    };
    if let Err(e) = std::fs::rename(&tmp, intermediate) {
        let _ = std::fs::remove_file(&tmp);
        return Err(errno_of(&e));
    }
    Ok(())
}

/// Emulate `link(old, new)`: both are host paths, `old` not followed if it
/// is a symlink (`linkat` without `AT_SYMLINK_FOLLOW`; with it, pass the
/// followed path).  `l2s_dir` is `PROOT_L2S_DIR` (read by `config`).
/// On error nothing has changed on disk.
pub fn link(old: &Path, new: &Path, l2s_dir: Option<&Path>) -> Result<(), Errno> {
    let old = absolute(old)?;
    let new = absolute(new)?;
    let st = lstat(&old)?;
    let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
    if std::fs::symlink_metadata(&new).is_ok() {
        return Err(Errno::EEXIST);
    }
    if kind == SFlag::S_IFDIR {
        return Err(Errno::EPERM);
    }
    if let Some(group) = group_of(&old) {
        return add_name(&group, &new);
    }
    if kind == SFlag::S_IFLNK {
        // A hard link to a plain symlink: an identical symlink.
        let target = std::fs::read_link(&old).map_err(|e| errno_of(&e))?;
        return symlink(&target, &new);
    }
    first_link(&old, &new, l2s_dir)
}

fn first_link(old: &Path, new: &Path, l2s_dir: Option<&Path>) -> Result<(), Errno> {
    let name = old.file_name().ok_or(Errno::EPERM)?;
    let dir = match l2s_dir.filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => {
            let d = absolute(d)?;
            std::fs::create_dir_all(&d).map_err(|e| errno_of(&e))?;
            d
        }
        None => old.parent().ok_or(Errno::EPERM)?.to_path_buf(),
    };

    // Claim a free intermediate name by creating it (symlink creation
    // fails on an existing name, so two tracers cannot pick the same one).
    let mut base = PREFIX.to_vec();
    base.extend_from_slice(name.as_bytes());
    let mut number: u64 = 1;
    let (intermediate, final_path) = loop {
        let mut n = base.clone();
        n.extend_from_slice(format!("{number:04}").as_bytes());
        let intermediate = dir.join(OsStr::from_bytes(&n));
        n.extend_from_slice(b".0002");
        let final_path = dir.join(OsStr::from_bytes(&n));
        number = number.checked_add(1).ok_or(Errno::ENOSPC)?;
        if std::fs::symlink_metadata(&final_path).is_ok() {
            continue;
        }
        match symlink(&final_path, &intermediate) {
            Ok(()) => break (intermediate, final_path),
            Err(Errno::EEXIST) => continue,
            Err(e) => return Err(e),
        }
    };

    let undo_intermediate = || {
        let _ = std::fs::remove_file(&intermediate);
    };
    if let Err(e) = symlink(&intermediate, new) {
        undo_intermediate();
        return Err(e);
    }
    if let Err(e) = rename_noreplace(old, &final_path) {
        let _ = std::fs::remove_file(new);
        undo_intermediate();
        return Err(e);
    }
    if let Err(e) = symlink(&intermediate, old) {
        let _ = std::fs::rename(&final_path, old);
        let _ = std::fs::remove_file(new);
        undo_intermediate();
        return Err(e);
    }
    Ok(())
}

fn add_name(group: &Group, new: &Path) -> Result<(), Errno> {
    // A damaged group (no count in the final name) cannot be extended
    // without guessing; refuse rather than corrupt it.
    let count = group.count.ok_or(Errno::EIO)?;
    let next = with_count(&group.final_path, count.saturating_add(1)).ok_or(Errno::EIO)?;
    if std::fs::symlink_metadata(&group.final_path).is_err() {
        return Err(Errno::ENOENT);
    }
    symlink(&group.intermediate, new)?;
    if let Err(e) = rename_noreplace(&group.final_path, &next) {
        let _ = std::fs::remove_file(new);
        return Err(e);
    }
    if let Err(e) = repoint(&group.intermediate, &next) {
        let _ = std::fs::rename(&next, &group.final_path);
        let _ = std::fs::remove_file(new);
        return Err(e);
    }
    Ok(())
}

/// Lower a group's count after one of its names is gone; remove the
/// intermediate and final file with the last name.
fn release_name(group: &Group) -> Result<(), Errno> {
    let Some(count) = group.count else {
        // Damaged group: leave the rest alone.
        return Ok(());
    };
    if count > 1 {
        let next = with_count(&group.final_path, count - 1).ok_or(Errno::EIO)?;
        rename_noreplace(&group.final_path, &next)?;
        if let Err(e) = repoint(&group.intermediate, &next) {
            let _ = std::fs::rename(&next, &group.final_path);
            return Err(e);
        }
    } else {
        remove(&group.intermediate)?;
        remove(&group.final_path)?;
    }
    Ok(())
}

/// Emulate `unlink(path)` (or `unlinkat` without `AT_REMOVEDIR`), `path` a
/// host path, not followed.  A name of a group is removed and the group's
/// count lowered; the last name takes the intermediate and final file with
/// it.  Anything else is a plain unlink.  The result is the unlink's: when
/// the name was removed but the bookkeeping failed, that is logged and the
/// unlink still reports success, since it did happen.
pub fn unlink(path: &Path) -> Result<(), Errno> {
    let path = absolute(path)?;
    let group = member_group(&path);
    nix::unistd::unlink(&path)?;
    if let Some(group) = group
        && let Err(e) = release_name(&group)
    {
        log::warn!(
            "link2symlink: {} removed but its group {} was not updated: {e}",
            path.display(),
            group.intermediate.display()
        );
    }
    Ok(())
}

/// Emulate `rename(old, new)` / `renameat2(.., flags)` on host paths (not
/// followed).  When `new` was a name of a group and is replaced, that
/// group's count is lowered (after the rename succeeded).  Renaming onto
/// another name of the same group does nothing and succeeds, as for two
/// hard links of one file.  `RENAME_EXCHANGE` and `RENAME_NOREPLACE` never
/// drop a name, so they need no bookkeeping.
pub fn rename(old: &Path, new: &Path, flags: u32) -> Result<(), Errno> {
    let old = absolute(old)?;
    let new = absolute(new)?;
    let replaced = if flags & (libc::RENAME_EXCHANGE | libc::RENAME_NOREPLACE) == 0 {
        member_group(&new)
    } else {
        None
    };
    if let Some(g) = &replaced
        && member_group(&old).is_some_and(|o| o.intermediate == g.intermediate)
    {
        return Ok(());
    }
    if flags == 0 {
        std::fs::rename(&old, &new).map_err(|e| errno_of(&e))?;
    } else {
        crate::host::renameat2(&old, &new, flags)?;
    }
    if let Some(group) = replaced
        && let Err(e) = release_name(&group)
    {
        log::warn!(
            "link2symlink: {} replaced but its group {} was not updated: {e}",
            new.display(),
            group.intermediate.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!(
                "sproot-l2s-{}-{}-{}",
                std::process::id(),
                tag,
                n
            ));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn path(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn read(p: &Path) -> String {
        fs::read_to_string(p).unwrap()
    }

    #[test]
    fn is_l2s_name_checks_the_prefix() {
        assert!(is_l2s_name(b".l2s.foo0001"));
        assert!(is_l2s_name(b".l2s."));
        assert!(!is_l2s_name(b"l2s.foo"));
        assert!(!is_l2s_name(b".proot.l2s.foo"));
        assert!(!is_l2s_name(b""));
    }

    #[test]
    fn link_makes_the_proot_layout() {
        let t = TempDir::new("layout");
        let (a, b) = (t.path("a"), t.path("b"));
        fs::write(&a, "hello").unwrap();
        link(&a, &b, None).unwrap();
        assert_eq!(names(&t.0), [".l2s.a0001", ".l2s.a0001.0002", "a", "b"]);
        // Contents exactly as PRoot writes them: absolute host paths.
        assert_eq!(fs::read_link(&a).unwrap(), t.path(".l2s.a0001"));
        assert_eq!(fs::read_link(&b).unwrap(), t.path(".l2s.a0001"));
        assert_eq!(
            fs::read_link(t.path(".l2s.a0001")).unwrap(),
            t.path(".l2s.a0001.0002")
        );
        assert!(
            fs::symlink_metadata(t.path(".l2s.a0001.0002"))
                .unwrap()
                .is_file()
        );
    }

    #[test]
    fn both_names_share_content_both_ways() {
        let t = TempDir::new("share");
        let (a, b) = (t.path("a"), t.path("b"));
        fs::write(&a, "one").unwrap();
        link(&a, &b, None).unwrap();
        assert_eq!(read(&b), "one");
        fs::OpenOptions::new()
            .append(true)
            .open(&b)
            .unwrap()
            .write_all(b"+two")
            .unwrap();
        assert_eq!(read(&a), "one+two");
        assert_eq!(
            fs::metadata(&a).unwrap().ino(),
            fs::metadata(&b).unwrap().ino()
        );
        assert_eq!(resolve(&a), Some(t.path(".l2s.a0001.0002")));
        assert_eq!(resolve(&b), resolve(&a));
        assert_eq!(resolve(&t.path(".l2s.a0001")), None);
    }

    #[test]
    fn nlink_counts_names() {
        let t = TempDir::new("nlink");
        let a = t.path("a");
        fs::write(&a, "x").unwrap();
        assert_eq!(nlink_of(&a), None);
        link(&a, &t.path("b"), None).unwrap();
        assert_eq!(nlink_of(&a), Some(2));
        link(&t.path("b"), &t.path("c"), None).unwrap();
        link(&a, &t.path("d"), None).unwrap();
        for n in ["a", "b", "c", "d", ".l2s.a0001", ".l2s.a0001.0004"] {
            assert_eq!(nlink_of(&t.path(n)), Some(4), "{n}");
        }
        assert_eq!(
            names(&t.0),
            [".l2s.a0001", ".l2s.a0001.0004", "a", "b", "c", "d"]
        );
        unlink(&t.path("c")).unwrap();
        assert_eq!(nlink_of(&a), Some(3));
        assert!(t.path(".l2s.a0001.0003").is_file());
    }

    #[test]
    fn unlink_one_name_keeps_the_other_and_last_removes_hidden_files() {
        let t = TempDir::new("unlink");
        let (a, b) = (t.path("a"), t.path("b"));
        fs::write(&a, "data").unwrap();
        link(&a, &b, None).unwrap();
        unlink(&a).unwrap();
        assert_eq!(read(&b), "data");
        assert_eq!(nlink_of(&b), Some(1));
        assert_eq!(names(&t.0), [".l2s.a0001", ".l2s.a0001.0001", "b"]);
        unlink(&b).unwrap();
        assert!(names(&t.0).is_empty());
    }

    #[test]
    fn unlink_of_missing_or_plain_files() {
        let t = TempDir::new("plain");
        assert_eq!(unlink(&t.path("nope")), Err(Errno::ENOENT));
        fs::write(t.path("f"), "").unwrap();
        unlink(&t.path("f")).unwrap();
        fs::create_dir(t.path("d")).unwrap();
        assert!(unlink(&t.path("d")).is_err());
        assert!(t.path("d").is_dir());
    }

    #[test]
    fn link_of_a_link_and_relinking_after_unlink() {
        let t = TempDir::new("chain");
        let a = t.path("a");
        fs::write(&a, "z").unwrap();
        link(&a, &t.path("b"), None).unwrap();
        link(&t.path("b"), &t.path("c"), None).unwrap();
        assert_eq!(fs::read_link(t.path("c")).unwrap(), t.path(".l2s.a0001"));
        unlink(&a).unwrap();
        unlink(&t.path("b")).unwrap();
        assert_eq!(read(&t.path("c")), "z");
        // A new file named a gets its own group, with the next free number.
        fs::write(&a, "new").unwrap();
        link(&a, &t.path("e"), None).unwrap();
        assert_eq!(fs::read_link(&a).unwrap(), t.path(".l2s.a0002"));
        assert_eq!(read(&t.path("e")), "new");
        assert_eq!(read(&t.path("c")), "z");
    }

    #[test]
    fn link_errors_change_nothing() {
        let t = TempDir::new("errors");
        let a = t.path("a");
        fs::write(&a, "q").unwrap();
        fs::write(t.path("exists"), "").unwrap();
        assert_eq!(link(&a, &t.path("exists"), None), Err(Errno::EEXIST));
        assert_eq!(
            link(&t.path("missing"), &t.path("x"), None),
            Err(Errno::ENOENT)
        );
        fs::create_dir(t.path("dir")).unwrap();
        assert_eq!(link(&t.path("dir"), &t.path("x"), None), Err(Errno::EPERM));
        assert_eq!(link(&a, &t.path("no/such/dir/x"), None), Err(Errno::ENOENT));
        assert_eq!(names(&t.0), ["a", "dir", "exists"]);
        assert!(fs::symlink_metadata(&a).unwrap().is_file());
        // Same failure on an existing group leaves its count alone.
        link(&a, &t.path("b"), None).unwrap();
        assert_eq!(link(&a, &t.path("no/such/dir/x"), None), Err(Errno::ENOENT));
        assert_eq!(link(&a, &t.path("b"), None), Err(Errno::EEXIST));
        assert_eq!(nlink_of(&a), Some(2));
    }

    #[test]
    fn l2s_dir_holds_the_hidden_files() {
        let t = TempDir::new("dir");
        let store = t.path("store");
        fs::create_dir(t.path("w")).unwrap();
        let a = t.path("w/a");
        fs::write(&a, "v").unwrap();
        link(&a, &t.path("b"), Some(&store)).unwrap();
        assert_eq!(names(&t.path("w")), ["a"]);
        assert_eq!(names(&store), [".l2s.a0001", ".l2s.a0001.0002"]);
        assert_eq!(fs::read_link(&a).unwrap(), store.join(".l2s.a0001"));
        assert_eq!(read(&t.path("b")), "v");
        // Another "a" elsewhere does not collide in the shared directory.
        fs::create_dir(t.path("w2")).unwrap();
        fs::write(t.path("w2/a"), "w").unwrap();
        link(&t.path("w2/a"), &t.path("w2/b"), Some(&store)).unwrap();
        assert_eq!(
            names(&store),
            [
                ".l2s.a0001",
                ".l2s.a0001.0002",
                ".l2s.a0002",
                ".l2s.a0002.0002"
            ]
        );
        unlink(&a).unwrap();
        unlink(&t.path("b")).unwrap();
        assert_eq!(names(&store), [".l2s.a0002", ".l2s.a0002.0002"]);
        // An empty directory setting means "next to the file".
        fs::write(t.path("c"), "").unwrap();
        link(&t.path("c"), &t.path("d"), Some(Path::new(""))).unwrap();
        assert!(t.path(".l2s.c0001").is_symlink());
    }

    #[test]
    fn rename_of_a_name_keeps_the_group() {
        let t = TempDir::new("rename");
        let (a, b) = (t.path("a"), t.path("b"));
        fs::write(&a, "r").unwrap();
        link(&a, &b, None).unwrap();
        fs::create_dir(t.path("sub")).unwrap();
        rename(&a, &t.path("sub/moved"), 0).unwrap();
        assert_eq!(read(&t.path("sub/moved")), "r");
        assert_eq!(nlink_of(&t.path("sub/moved")), Some(2));
        unlink(&b).unwrap();
        assert_eq!(read(&t.path("sub/moved")), "r");
        assert_eq!(nlink_of(&t.path("sub/moved")), Some(1));
    }

    #[test]
    fn rename_over_a_name_drops_it_from_its_group() {
        let t = TempDir::new("over");
        let (a, b, f) = (t.path("a"), t.path("b"), t.path("f"));
        fs::write(&a, "old").unwrap();
        fs::write(&f, "new").unwrap();
        link(&a, &b, None).unwrap();
        rename(&f, &b, 0).unwrap();
        assert_eq!(read(&b), "new");
        assert_eq!(read(&a), "old");
        assert_eq!(nlink_of(&a), Some(1));
        fs::write(&f, "newer").unwrap();
        rename(&f, &a, 0).unwrap();
        assert_eq!(names(&t.0), ["a", "b"]);
        assert_eq!(read(&a), "newer");
    }

    #[test]
    fn rename_between_names_of_one_group_does_nothing() {
        let t = TempDir::new("same");
        let (a, b) = (t.path("a"), t.path("b"));
        fs::write(&a, "s").unwrap();
        link(&a, &b, None).unwrap();
        rename(&a, &b, 0).unwrap();
        assert!(a.is_symlink() && b.is_symlink());
        assert_eq!(nlink_of(&a), Some(2));
    }

    #[test]
    fn failed_rename_changes_no_count() {
        let t = TempDir::new("failren");
        let (a, b) = (t.path("a"), t.path("b"));
        fs::write(&a, "s").unwrap();
        link(&a, &b, None).unwrap();
        assert_eq!(rename(&t.path("missing"), &b, 0), Err(Errno::ENOENT));
        assert_eq!(nlink_of(&a), Some(2));
        fs::write(t.path("f"), "").unwrap();
        assert_eq!(
            rename(&t.path("f"), &b, libc::RENAME_NOREPLACE),
            Err(Errno::EEXIST)
        );
        assert_eq!(nlink_of(&a), Some(2));
    }

    #[test]
    fn linking_the_hidden_files_joins_the_group() {
        let t = TempDir::new("hidden");
        let a = t.path("a");
        fs::write(&a, "h").unwrap();
        link(&a, &t.path("b"), None).unwrap();
        link(&t.path(".l2s.a0001.0002"), &t.path("c"), None).unwrap();
        link(&t.path(".l2s.a0001"), &t.path("d"), None).unwrap();
        assert_eq!(nlink_of(&a), Some(4));
        assert_eq!(read(&t.path("c")), "h");
        assert_eq!(read(&t.path("d")), "h");
    }

    #[test]
    fn repointing_never_removes_an_unrelated_file() {
        let t = TempDir::new("tmpname");
        fs::write(t.path("a"), "a").unwrap();
        fs::write(t.path(".l2s.a0001.new0"), "mine").unwrap();
        link(&t.path("a"), &t.path("b"), None).unwrap();
        link(&t.path("a"), &t.path("c"), None).unwrap();
        assert_eq!(read(&t.path(".l2s.a0001.new0")), "mine");
        assert_eq!(
            names(&t.0),
            [
                ".l2s.a0001",
                ".l2s.a0001.0003",
                ".l2s.a0001.new0",
                "a",
                "b",
                "c"
            ]
        );
    }

    #[test]
    fn plain_symlinks_are_copied() {
        let t = TempDir::new("sym");
        fs::write(t.path("target"), "t").unwrap();
        std::os::unix::fs::symlink("target", t.path("s")).unwrap();
        link(&t.path("s"), &t.path("s2"), None).unwrap();
        assert_eq!(fs::read_link(t.path("s2")).unwrap(), Path::new("target"));
        assert_eq!(names(&t.0), ["s", "s2", "target"]);
    }

    #[test]
    fn counts_past_four_digits_keep_working() {
        let t = TempDir::new("big");
        let a = t.path("a");
        fs::write(&a, "b").unwrap();
        link(&a, &t.path("b"), None).unwrap();
        // Pretend 9998 more names exist.
        fs::rename(t.path(".l2s.a0001.0002"), t.path(".l2s.a0001.9999")).unwrap();
        repoint(&t.path(".l2s.a0001"), &t.path(".l2s.a0001.9999")).unwrap();
        link(&a, &t.path("c"), None).unwrap();
        assert!(t.path(".l2s.a0001.10000").is_file());
        assert_eq!(nlink_of(&a), Some(10000));
        unlink(&t.path("c")).unwrap();
        assert!(t.path(".l2s.a0001.9999").is_file());
        assert_eq!(nlink_of(&a), Some(9999));
    }

    #[test]
    fn many_groups_of_one_name_are_not_limited() {
        let t = TempDir::new("many");
        // Occupy numbers 0001..=1000 as PRoot would never go past 999.
        for i in 1..=1000 {
            std::os::unix::fs::symlink("x", t.path(&format!(".l2s.a{i:04}"))).unwrap();
        }
        fs::write(t.path("a"), "m").unwrap();
        link(&t.path("a"), &t.path("b"), None).unwrap();
        assert_eq!(fs::read_link(t.path("a")).unwrap(), t.path(".l2s.a1001"));
        assert_eq!(read(&t.path("b")), "m");
    }

    /// Build, by hand, exactly what PRoot's `move_and_symlink_path` leaves
    /// after `ln a b` then `ln b c` (rename a to the final name, symlink
    /// the intermediate to it, symlink a and the new names to the
    /// intermediate, bump the count by renaming and re-creating the
    /// intermediate), then check these functions read and update it.
    #[test]
    fn tree_made_by_proot_is_understood() {
        let t = TempDir::new("proot");
        let (a, b, c) = (t.path("a"), t.path("b"), t.path("c"));
        let (i, f2, f3) = (
            t.path(".l2s.a0001"),
            t.path(".l2s.a0001.0002"),
            t.path(".l2s.a0001.0003"),
        );
        fs::write(&a, "from proot").unwrap();
        fs::rename(&a, &f2).unwrap();
        std::os::unix::fs::symlink(&f2, &i).unwrap();
        std::os::unix::fs::symlink(&i, &a).unwrap();
        std::os::unix::fs::symlink(&i, &b).unwrap();
        fs::rename(&f2, &f3).unwrap();
        fs::remove_file(&i).unwrap();
        std::os::unix::fs::symlink(&f3, &i).unwrap();
        std::os::unix::fs::symlink(&i, &c).unwrap();

        assert_eq!(nlink_of(&b), Some(3));
        assert_eq!(resolve(&c), Some(f3.clone()));
        link(&c, &t.path("d"), None).unwrap();
        assert_eq!(fs::read_link(t.path("d")).unwrap(), i);
        assert!(t.path(".l2s.a0001.0004").is_file());
        for n in ["a", "b", "c"] {
            unlink(&t.path(n)).unwrap();
        }
        assert_eq!(read(&t.path("d")), "from proot");
        assert_eq!(names(&t.0), [".l2s.a0001", ".l2s.a0001.0001", "d"]);
        unlink(&t.path("d")).unwrap();
        assert!(names(&t.0).is_empty());
    }

    #[test]
    fn damaged_groups_do_not_lose_data() {
        let t = TempDir::new("broken");
        // Intermediate missing: the name is just a dangling symlink.
        std::os::unix::fs::symlink(t.path(".l2s.x0001"), t.path("x")).unwrap();
        assert_eq!(nlink_of(&t.path("x")), None);
        unlink(&t.path("x")).unwrap();
        // Final without a count: unlink leaves it, link refuses.
        fs::write(t.path(".l2s.y0001.abc"), "keep").unwrap();
        std::os::unix::fs::symlink(t.path(".l2s.y0001.abc"), t.path(".l2s.y0001")).unwrap();
        std::os::unix::fs::symlink(t.path(".l2s.y0001"), t.path("y")).unwrap();
        assert_eq!(nlink_of(&t.path("y")), None);
        assert_eq!(link(&t.path("y"), &t.path("z"), None), Err(Errno::EIO));
        unlink(&t.path("y")).unwrap();
        assert_eq!(read(&t.path(".l2s.y0001.abc")), "keep");
    }

    #[test]
    fn relative_host_paths_are_made_absolute() {
        let t = TempDir::new("rel");
        fs::write(t.path("a"), "r").unwrap();
        let cwd = std::env::current_dir().unwrap();
        let rel = |p: &Path| {
            // A relative path that reaches p from the current directory.
            let up: PathBuf = cwd.components().skip(1).map(|_| "..").collect();
            up.join(p.strip_prefix("/").unwrap())
        };
        link(&rel(&t.path("a")), &rel(&t.path("b")), None).unwrap();
        assert_eq!(fs::read_link(t.path("b")).unwrap(), t.path(".l2s.a0001"));
    }

    /// Debian's proot 5.1 has no `-l`; when a proot with it is installed,
    /// let it make links and check they read the same here.
    #[test]
    fn links_made_by_an_installed_proot_are_understood() {
        let Ok(out) = std::process::Command::new("proot").arg("--help").output() else {
            return;
        };
        if !String::from_utf8_lossy(&out.stdout).contains("link2symlink") {
            return;
        }
        let t = TempDir::new("realproot");
        fs::write(t.path("a"), "p").unwrap();
        let status = std::process::Command::new("proot")
            .args(["-l", "-r", "/", "ln"])
            .arg(t.path("a"))
            .arg(t.path("b"))
            .status();
        if !status.is_ok_and(|s| s.success()) {
            return;
        }
        assert_eq!(nlink_of(&t.path("a")), Some(2));
        assert_eq!(read(&t.path("b")), "p");
        unlink(&t.path("a")).unwrap();
        unlink(&t.path("b")).unwrap();
        assert!(names(&t.0).is_empty());
    }
}
