//! `-l/--link2symlink`: hard links emulated with symbolic links, in the
//! on-disk layout of PRoot's link2symlink extension, so that a rootfs where
//! PRoot made "hard links" keeps working under sproot and the other way
//! round. The layout's operations act on host files through [`LayoutFs`]
//! (the tracer's `std` calls, or the runtime's own syscalls).
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

use crate::Errno;
use crate::prelude::*;

/// The prefix of intermediate and final names.
pub const PREFIX: &[u8] = b".l2s.";

/// Whether a file name (one path component) is an l2s internal name.
pub fn is_l2s_name(name: &[u8]) -> bool {
    name.starts_with(PREFIX)
}

/// Whether syscall `nr` works on the names of emulated hard links
/// themselves (links, removals, renames), not on their final file.
pub fn works_on_names(nr: i64) -> bool {
    use crate::sysno as sys;
    matches!(
        nr,
        sys::SYS_link
            | sys::SYS_linkat
            | sys::SYS_unlink
            | sys::SYS_unlinkat
            | sys::SYS_rename
            | sys::SYS_renameat
            | sys::SYS_renameat2
            | sys::SYS_symlink
            | sys::SYS_symlinkat
    )
}

const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;
/// `renameat2`'s flags.
pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;

/// The host operations the layout needs, on host paths.
pub trait LayoutFs {
    /// `lstat`'s `st_mode`.
    fn lstat_mode(&self, path: &[u8]) -> Result<u32, Errno>;
    /// A symlink's content.
    fn read_link(&self, path: &[u8]) -> Result<Vec<u8>, Errno>;
    fn symlink(&self, target: &[u8], link: &[u8]) -> Result<(), Errno>;
    fn unlink(&self, path: &[u8]) -> Result<(), Errno>;
    /// `renameat2(from, to, flags)` (`flags` 0: `rename`).
    fn rename(&self, from: &[u8], to: &[u8], flags: u32) -> Result<(), Errno>;
    /// `mkdir(path, 0777)`.
    fn mkdir(&self, path: &[u8]) -> Result<(), Errno>;
    /// The path of `path` with every symlink and `..` resolved.
    fn canonical(&self, path: &[u8]) -> Result<Vec<u8>, Errno>;
    /// The working directory (relative paths start there).
    fn cwd(&self) -> Result<Vec<u8>, Errno>;
}

/// One emulated file: its intermediate symlink and final file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The intermediate symlink (absolute host path).
    pub intermediate: Vec<u8>,
    /// The final file, as the intermediate points to it (made absolute).
    pub final_path: Vec<u8>,
    /// The link count encoded in the final file's name; `None` when that
    /// name does not end in `.` and digits (a damaged group).
    pub count: Option<u64>,
}

/// `path` with empty and `.` components dropped (`..` kept), absolute
/// paths keeping their `/`.
fn tidy(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    if path.first() == Some(&b'/') {
        out.push(b'/');
    }
    for c in path
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
    {
        if !matches!(out.last(), None | Some(b'/')) {
            out.push(b'/');
        }
        out.extend_from_slice(c);
    }
    out
}

/// `dir` + `/` + `name`.
fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut v = dir.to_vec();
    if v.last() != Some(&b'/') {
        v.push(b'/');
    }
    v.extend_from_slice(name);
    v
}

/// `path` without a trailing `/` (but `/` itself).
fn trim_slash(path: &[u8]) -> &[u8] {
    match path.strip_suffix(b"/") {
        Some(p) if !p.is_empty() => p,
        _ => path,
    }
}

/// The directory part of a tidy absolute path (`None` for `/`).
fn parent(path: &[u8]) -> Option<&[u8]> {
    let path = trim_slash(path);
    if path == b"/" {
        return None;
    }
    let slash = path.iter().rposition(|&b| b == b'/')?;
    Some(if slash == 0 { b"/" } else { &path[..slash] })
}

/// The last component of a tidy path (`None` for `/` and `..`).
fn file_name(path: &[u8]) -> Option<&[u8]> {
    let path = trim_slash(path);
    let name = &path[path.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1)..];
    (!name.is_empty() && name != b"..").then_some(name)
}

/// `p` made absolute, tidied; a trailing `/` is kept (the kernel's
/// calls on it then want a directory).
fn absolute(fs: &dyn LayoutFs, p: &[u8]) -> Result<Vec<u8>, Errno> {
    if p.is_empty() {
        return Err(Errno::ENOENT);
    }
    let mut abs = if p[0] == b'/' {
        tidy(p)
    } else {
        tidy(&join(&fs.cwd()?, p))
    };
    if p.ends_with(b"/") && abs != b"/" {
        abs.push(b'/');
    }
    if !abs.split(|&b| b == b'/').any(|c| c == b"..") {
        return Ok(abs);
    }
    // `..` can only be resolved on disk (a component may be a symlink):
    // resolve the directory, keep the last component as it is.
    match (parent(&abs), file_name(&abs)) {
        (Some(dir), Some(name)) => Ok(join(&fs.canonical(dir)?, name)),
        _ => fs.canonical(&abs),
    }
}

/// `readlink`, with a relative target resolved against the link's
/// directory, as the kernel would follow it.
fn read_link_abs(fs: &dyn LayoutFs, link: &[u8]) -> Option<Vec<u8>> {
    let target = fs.read_link(link).ok()?;
    if target.first() == Some(&b'/') {
        Some(tidy(&target))
    } else {
        Some(tidy(&join(parent(link).unwrap_or(b"/"), &target)))
    }
}

fn is_symlink(fs: &dyn LayoutFs, p: &[u8]) -> bool {
    fs.lstat_mode(p).is_ok_and(|m| m & S_IFMT == S_IFLNK)
}

fn exists(fs: &dyn LayoutFs, p: &[u8]) -> bool {
    fs.lstat_mode(p).is_ok()
}

/// Split a final file path into (everything before the last `.`, count).
fn split_count(final_path: &[u8]) -> Option<(&[u8], u64)> {
    let dot = final_path.iter().rposition(|&b| b == b'.')?;
    let digits = &final_path[dot + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Overlong digit strings saturate rather than fail.
    let count = digits.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some((&final_path[..dot], count))
}

fn with_count(final_path: &[u8], count: u64) -> Option<Vec<u8>> {
    let (stem, _) = split_count(final_path)?;
    let mut v = stem.to_vec();
    v.extend_from_slice(format!(".{count:04}").as_bytes());
    Some(v)
}

fn group_from_intermediate(fs: &dyn LayoutFs, intermediate: Vec<u8>) -> Option<Group> {
    let final_path = read_link_abs(fs, &intermediate)?;
    let count = split_count(&final_path).map(|(_, n)| n);
    Some(Group {
        intermediate,
        final_path,
        count,
    })
}

/// The group `path` is a *name* of: `path` is a symlink to an `.l2s.`
/// intermediate that is itself a readable symlink.  This is PRoot's test.
pub fn member_group(fs: &dyn LayoutFs, path: &[u8]) -> Option<Group> {
    let intermediate = read_link_abs(fs, path)?;
    if !is_l2s_name(file_name(&intermediate).unwrap_or(b"")) {
        return None;
    }
    group_from_intermediate(fs, intermediate)
}

/// The group `path` belongs to, whether it is a name, the intermediate
/// symlink or the final file.
pub fn group_of(fs: &dyn LayoutFs, path: &[u8]) -> Option<Group> {
    let path = absolute(fs, path).ok()?;
    if let Some(g) = member_group(fs, &path) {
        return Some(g);
    }
    if !is_l2s_name(file_name(&path).unwrap_or(b"")) {
        return None;
    }
    if is_symlink(fs, &path) {
        // An intermediate: it points to a final whose name extends its own.
        let g = group_from_intermediate(fs, path.clone())?;
        let (stem, _) = split_count(&g.final_path)?;
        return (stem == path.as_slice()).then_some(g);
    }
    // A final file: its intermediate is its name without ".count".
    let (stem, count) = split_count(&path)?;
    let intermediate = stem.to_vec();
    let target = read_link_abs(fs, &intermediate)?;
    (target == path).then_some(Group {
        intermediate,
        final_path: path,
        count: Some(count),
    })
}

/// The link count to report in `st_nlink`/`stx_nlink` for `path` (a host
/// path, not followed): `Some` when it is a name, the intermediate or the
/// final file of a group, as PRoot's stat handling reports it.
pub fn nlink_of(fs: &dyn LayoutFs, path: &[u8]) -> Option<u64> {
    group_of(fs, path)?.count
}

/// The file a syscall on the name `path` must act on instead: the final
/// file, when `path` is a name of a group (PRoot's `translated_path`).
/// Not for `link*`, `unlink*`, `rename*`, which work on the names.
pub fn resolve(fs: &dyn LayoutFs, path: &[u8]) -> Option<Vec<u8>> {
    member_group(fs, path).map(|g| g.final_path)
}

/// rename that never replaces an existing `to`.
fn rename_noreplace(fs: &dyn LayoutFs, from: &[u8], to: &[u8]) -> Result<(), Errno> {
    match fs.rename(from, to, RENAME_NOREPLACE) {
        Err(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {
            // The filesystem cannot do it atomically; check then rename.
            if exists(fs, to) {
                return Err(Errno::EEXIST);
            }
            fs.rename(from, to, 0)
        }
        other => other,
    }
}

/// Make the intermediate point to `target`, replacing it atomically
/// (through a temporary symlink next to it; an existing file is never
/// removed to make room for it).
fn repoint(fs: &dyn LayoutFs, intermediate: &[u8], target: &[u8]) -> Result<(), Errno> {
    let mut attempt: u64 = 0;
    let tmp = loop {
        let mut tmp = intermediate.to_vec();
        tmp.extend_from_slice(format!(".new{attempt}").as_bytes());
        match fs.symlink(target, &tmp) {
            Ok(()) => break tmp,
            Err(Errno::EEXIST) => attempt = attempt.checked_add(1).ok_or(Errno::ENOSPC)?,
            Err(e) => return Err(e),
        }
    };
    if let Err(e) = fs.rename(&tmp, intermediate, 0) {
        let _ = fs.unlink(&tmp);
        return Err(e);
    }
    Ok(())
}

/// Emulate `link(old, new)`: both are host paths, `old` not followed if it
/// is a symlink (`linkat` without `AT_SYMLINK_FOLLOW`; with it, pass the
/// followed path).  `l2s_dir` is `PROOT_L2S_DIR`.  On error nothing has
/// changed on disk.
pub fn link(
    fs: &dyn LayoutFs,
    old: &[u8],
    new: &[u8],
    l2s_dir: Option<&[u8]>,
) -> Result<(), Errno> {
    let old = absolute(fs, old)?;
    let new = absolute(fs, new)?;
    let kind = fs.lstat_mode(&old)? & S_IFMT;
    if exists(fs, &new) {
        return Err(Errno::EEXIST);
    }
    if kind == S_IFDIR {
        return Err(Errno::EPERM);
    }
    if let Some(group) = group_of(fs, &old) {
        return add_name(fs, &group, &new);
    }
    if kind == S_IFLNK {
        // A hard link to a plain symlink: an identical symlink.
        let target = fs.read_link(&old)?;
        return fs.symlink(&target, &new);
    }
    first_link(fs, &old, &new, l2s_dir)
}

/// `mkdir -p`.
fn make_dirs(fs: &dyn LayoutFs, dir: &[u8]) -> Result<(), Errno> {
    let mut at = Vec::new();
    for c in dir.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        at.push(b'/');
        at.extend_from_slice(c);
        match fs.mkdir(&at) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn first_link(
    fs: &dyn LayoutFs,
    old: &[u8],
    new: &[u8],
    l2s_dir: Option<&[u8]>,
) -> Result<(), Errno> {
    let name = file_name(old).ok_or(Errno::EPERM)?;
    let dir = match l2s_dir.filter(|d| !d.is_empty()) {
        Some(d) => {
            let d = absolute(fs, d)?;
            make_dirs(fs, &d)?;
            d
        }
        None => parent(old).ok_or(Errno::EPERM)?.to_vec(),
    };

    // Claim a free intermediate name by creating it (symlink creation
    // fails on an existing name, so two processes cannot pick the same one).
    let mut base = PREFIX.to_vec();
    base.extend_from_slice(name);
    let mut number: u64 = 1;
    let (intermediate, final_path) = loop {
        let mut n = base.clone();
        n.extend_from_slice(format!("{number:04}").as_bytes());
        let intermediate = join(&dir, &n);
        n.extend_from_slice(b".0002");
        let final_path = join(&dir, &n);
        number = number.checked_add(1).ok_or(Errno::ENOSPC)?;
        if exists(fs, &final_path) {
            continue;
        }
        match fs.symlink(&final_path, &intermediate) {
            Ok(()) => break (intermediate, final_path),
            Err(Errno::EEXIST) => continue,
            Err(e) => return Err(e),
        }
    };

    let undo_intermediate = || {
        let _ = fs.unlink(&intermediate);
    };
    if let Err(e) = fs.symlink(&intermediate, new) {
        undo_intermediate();
        return Err(e);
    }
    if let Err(e) = rename_noreplace(fs, old, &final_path) {
        let _ = fs.unlink(new);
        undo_intermediate();
        return Err(e);
    }
    if let Err(e) = fs.symlink(&intermediate, old) {
        let _ = fs.rename(&final_path, old, 0);
        let _ = fs.unlink(new);
        undo_intermediate();
        return Err(e);
    }
    Ok(())
}

fn add_name(fs: &dyn LayoutFs, group: &Group, new: &[u8]) -> Result<(), Errno> {
    // A damaged group (no count in the final name) cannot be extended
    // without guessing; refuse rather than corrupt it.
    let count = group.count.ok_or(Errno::EIO)?;
    let next = with_count(&group.final_path, count.saturating_add(1)).ok_or(Errno::EIO)?;
    if !exists(fs, &group.final_path) {
        return Err(Errno::ENOENT);
    }
    fs.symlink(&group.intermediate, new)?;
    if let Err(e) = rename_noreplace(fs, &group.final_path, &next) {
        let _ = fs.unlink(new);
        return Err(e);
    }
    if let Err(e) = repoint(fs, &group.intermediate, &next) {
        let _ = fs.rename(&next, &group.final_path, 0);
        let _ = fs.unlink(new);
        return Err(e);
    }
    Ok(())
}

/// Lower a group's count after one of its names is gone; remove the
/// intermediate and final file with the last name.
fn release_name(fs: &dyn LayoutFs, group: &Group) -> Result<(), Errno> {
    let Some(count) = group.count else {
        // Damaged group: leave the rest alone.
        return Ok(());
    };
    if count > 1 {
        let next = with_count(&group.final_path, count - 1).ok_or(Errno::EIO)?;
        rename_noreplace(fs, &group.final_path, &next)?;
        if let Err(e) = repoint(fs, &group.intermediate, &next) {
            let _ = fs.rename(&next, &group.final_path, 0);
            return Err(e);
        }
    } else {
        fs.unlink(&group.intermediate)?;
        fs.unlink(&group.final_path)?;
    }
    Ok(())
}

/// Emulate `unlink(path)` (or `unlinkat` without `AT_REMOVEDIR`), `path` a
/// host path, not followed.  A name of a group is removed and the group's
/// count lowered; the last name takes the intermediate and final file with
/// it.  Anything else is a plain unlink.  The result is the unlink's: when
/// the name was removed but the bookkeeping failed, that is logged and the
/// unlink still reports success, since it did happen.
pub fn unlink(fs: &dyn LayoutFs, path: &[u8]) -> Result<(), Errno> {
    let path = absolute(fs, path)?;
    let group = member_group(fs, &path);
    fs.unlink(&path)?;
    if let Some(group) = group
        && let Err(e) = release_name(fs, &group)
    {
        log::warn!(
            "link2symlink: {} removed but its group {} was not updated: {}",
            String::from_utf8_lossy(&path),
            String::from_utf8_lossy(&group.intermediate),
            e.name().unwrap_or("?")
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
pub fn rename(fs: &dyn LayoutFs, old: &[u8], new: &[u8], flags: u32) -> Result<(), Errno> {
    let old = absolute(fs, old)?;
    let new = absolute(fs, new)?;
    let replaced = if flags & (RENAME_EXCHANGE | RENAME_NOREPLACE) == 0 {
        member_group(fs, &new)
    } else {
        None
    };
    if let Some(g) = &replaced
        && member_group(fs, &old).is_some_and(|o| o.intermediate == g.intermediate)
    {
        return Ok(());
    }
    fs.rename(&old, &new, flags)?;
    if let Some(group) = replaced
        && let Err(e) = release_name(fs, &group)
    {
        log::warn!(
            "link2symlink: {} replaced but its group {} was not updated: {}",
            String::from_utf8_lossy(&new),
            String::from_utf8_lossy(&group.intermediate),
            e.name().unwrap_or("?")
        );
    }
    Ok(())
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn paths_are_tidied_and_split_as_the_layout_needs() {
        assert_eq!(tidy(b"/a//b/./c/"), b"/a/b/c");
        assert_eq!(tidy(b"/"), b"/");
        assert_eq!(tidy(b"a/../b"), b"a/../b");
        assert_eq!(parent(b"/a/b"), Some(&b"/a"[..]));
        assert_eq!(parent(b"/a"), Some(&b"/"[..]));
        assert_eq!(parent(b"/"), None);
        assert_eq!(file_name(b"/a/b"), Some(&b"b"[..]));
        assert_eq!(file_name(b"/a/.."), None);
        assert_eq!(file_name(b"/a/b/"), Some(&b"b"[..]));
        assert_eq!(parent(b"/a/b/"), Some(&b"/a"[..]));
        assert_eq!(join(b"/", b"x"), b"/x");
        assert_eq!(
            split_count(b"/d/.l2s.f0001.0012"),
            Some((&b"/d/.l2s.f0001"[..], 12))
        );
        assert_eq!(split_count(b"/d/.l2s.f0001.x"), None);
        assert_eq!(
            with_count(b"/d/.l2s.f0001.0002", 3).unwrap(),
            b"/d/.l2s.f0001.0003"
        );
        assert_eq!(
            with_count(b"/d/.l2s.f0001.9999", 10000).unwrap(),
            b"/d/.l2s.f0001.10000"
        );
    }
}
