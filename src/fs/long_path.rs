//! Host paths of `PATH_MAX` bytes or more.
//!
//! A guest path shorter than `PATH_MAX` can translate to a longer host path
//! (the rootfs's own path comes in front). The kernel refuses such a path
//! whole, but a chroot would take the guest's, so sproot goes there in
//! pieces:
//! - the tracer's own lookups (`lstat`, `readlink`) open the parent
//!   directory chunk by chunk (each chunk relative to the last, through
//!   `/proc/self/fd/<n>/`) and look at the last component from there;
//! - the path handed to the guest's kernel is `/proc/<tracer>/fd/<n>/<name>`,
//!   `<n>` an `O_PATH` descriptor of the parent directory that the tracer
//!   holds; the last [`HELD_MAX`] such directories are held, the oldest
//!   closed first (a guest's call would have to wait for that many other
//!   long-path translations between its entry stop and its lookup to see a
//!   number reused);
//! - a working directory or directory descriptor whose host path the
//!   kernel cannot print (`readlink` of `/proc/<pid>/cwd` fails with
//!   `ENAMETOOLONG`) is named by climbing `..` and finding each directory's
//!   name in its parent, until a prefix is short enough to be read.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirEntryExt, MetadataExt, OpenOptionsExt};

use nix::errno::Errno;

use super::{NAME_MAX, PATH_MAX, bytes_to_path};

/// Directories held open for the guest's kernel.
pub const HELD_MAX: usize = 64;

/// The longest piece opened at once: room for `/proc/self/fd/<n>/`.
const CHUNK: usize = PATH_MAX - 64;

thread_local! {
    static HELD: RefCell<VecDeque<(Vec<u8>, File)>> = const { RefCell::new(VecDeque::new()) };
}

use crate::host::errno_of;

/// Open `path` (shorter than `PATH_MAX`) with `O_PATH`.
fn open_path(path: &[u8], directory: bool) -> Result<File, Errno> {
    let mut flags = libc::O_PATH | libc::O_CLOEXEC;
    if directory {
        flags |= libc::O_DIRECTORY;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(bytes_to_path(path.to_vec()))
        .map_err(|e| errno_of(&e))
}

/// `/proc/self/fd/<fd>/` followed by `rest` (relative).
fn under(fd: &File, rest: &[u8]) -> Vec<u8> {
    let mut p = format!("/proc/self/fd/{}/", fd.as_raw_fd()).into_bytes();
    p.extend_from_slice(rest.strip_prefix(b"/").unwrap_or(rest));
    p
}

/// Open the directory at absolute host path `dir`, of any length.
fn open_dir(dir: &[u8]) -> Result<File, Errno> {
    let mut file: Option<File> = None;
    let mut rest = dir;
    while !rest.is_empty() {
        let len = if rest.len() <= CHUNK {
            rest.len()
        } else {
            match rest[..CHUNK].iter().rposition(|&c| c == b'/') {
                Some(i) if i > 0 => i,
                _ => return Err(Errno::ENAMETOOLONG),
            }
        };
        let (chunk, more) = rest.split_at(len);
        let path = match &file {
            None => chunk.to_vec(),
            Some(f) => under(f, chunk),
        };
        file = Some(open_path(&path, true)?);
        rest = more;
    }
    file.ok_or(Errno::ENOENT)
}

/// The parent directory and last component of a long host path.
fn split_last(host: &[u8]) -> Result<(&[u8], &[u8]), Errno> {
    let cut = host
        .iter()
        .rposition(|&c| c == b'/')
        .ok_or(Errno::ENAMETOOLONG)?;
    let name = &host[cut + 1..];
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok((&host[..cut.max(1)], name))
}

/// Run `f` on a name of host path `host` that the tracer's kernel accepts:
/// `host` itself when short enough.
pub(crate) fn with_short<T>(
    host: &[u8],
    f: impl FnOnce(&[u8]) -> Result<T, Errno>,
) -> Result<T, Errno> {
    if host.len() < PATH_MAX {
        return f(host);
    }
    let (dir, name) = split_last(host)?;
    let dir = open_dir(dir)?;
    f(&under(&dir, name))
}

/// A name of host path `host` for the guest's kernel: itself when shorter
/// than `PATH_MAX`, else through a directory the tracer holds.
pub fn for_kernel(host: Vec<u8>) -> Result<Vec<u8>, Errno> {
    if host.len() < PATH_MAX {
        return Ok(host);
    }
    let (dir, name) = split_last(&host)?;
    let fd = HELD.with(|held| -> Result<i32, Errno> {
        let mut held = held.borrow_mut();
        if let Some((_, f)) = held.iter().find(|(d, _)| d == dir) {
            return Ok(f.as_raw_fd());
        }
        let file = open_dir(dir)?;
        let fd = file.as_raw_fd();
        if held.len() >= HELD_MAX {
            held.pop_front();
        }
        held.push_back((dir.to_vec(), file));
        Ok(fd)
    })?;
    let mut out = format!("/proc/{}/fd/{fd}/", std::process::id()).into_bytes();
    out.extend_from_slice(name);
    Ok(out)
}

/// Read a `/proc/<pid>/{cwd,fd/<n>}` link (a short host path). When the
/// kernel cannot print its target for its length and it is a directory,
/// the path is found by climbing from it.
pub fn read_magic(link: &[u8]) -> Result<Vec<u8>, Errno> {
    use std::os::unix::ffi::OsStringExt;
    match nix::fcntl::readlink(link) {
        Err(Errno::ENAMETOOLONG) => {}
        r => return r.map(|t| t.into_vec()),
    }
    // A file has no `..` to climb from: the kernel's answer stands.
    let mut dir = open_path(link, true).map_err(|e| match e {
        Errno::ENOTDIR => Errno::ENAMETOOLONG,
        e => e,
    })?;
    // Names from the deepest up.
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut total = 0usize;
    loop {
        let here = under(&dir, b"");
        let here = &here[..here.len() - 1];
        match nix::fcntl::readlink(here) {
            Ok(top) => {
                let mut path = top.into_vec();
                for n in names.iter().rev() {
                    path.push(b'/');
                    path.extend_from_slice(n);
                }
                return Ok(path);
            }
            Err(Errno::ENAMETOOLONG) => {}
            Err(e) => return Err(e),
        }
        let md = std::fs::metadata(bytes_to_path(here.to_vec())).map_err(|e| errno_of(&e))?;
        let parent = open_path(&under(&dir, b".."), true)?;
        let parent_path = under(&parent, b"");
        let name = std::fs::read_dir(bytes_to_path(parent_path.clone()))
            .map_err(|e| errno_of(&e))?
            .filter_map(Result::ok)
            .find(|e| {
                e.ino() == md.ino()
                    && e.file_name() != ".."
                    && e.file_name() != "."
                    && std::fs::symlink_metadata(e.path()).is_ok_and(|m| m.dev() == md.dev())
            })
            .ok_or(Errno::ENOENT)?;
        let name = name.file_name().into_vec();
        total += name.len() + 1;
        if total > 2 * PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        names.push(name);
        dir = parent;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn long_paths_are_reached_and_named_in_pieces() {
        let base = std::env::temp_dir().join(format!("sproot-long-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let comp = "d".repeat(200);
        let mut deep = base.clone();
        std::fs::create_dir_all(&base).unwrap();
        let mut file = File::open(&base).unwrap();
        // Build past PATH_MAX relative to the last directory.
        while deep.as_os_str().len() < PATH_MAX + 300 {
            let p = under(&file, comp.as_bytes());
            std::fs::create_dir(bytes_to_path(p.clone())).unwrap();
            file = File::open(bytes_to_path(p)).unwrap();
            deep.push(&comp);
        }
        let deep_b = deep.as_os_str().as_bytes().to_vec();
        assert!(nix::sys::stat::lstat(deep_b.as_slice()).is_err());
        let st = with_short(&deep_b, nix::sys::stat::lstat).unwrap();
        assert_eq!(st.st_mode & libc::S_IFMT, libc::S_IFDIR);
        let k = for_kernel(deep_b.clone()).unwrap();
        assert!(k.len() < 300);
        assert!(nix::sys::stat::stat(k.as_slice()).is_ok());
        let link = format!("/proc/self/fd/{}", file.as_raw_fd()).into_bytes();
        assert_eq!(read_magic(&link).unwrap(), deep_b);
        // Clean up from the bottom.
        let mut dir = deep_b;
        while dir.len() > base.as_os_str().len() {
            with_short(&dir, |p| {
                nix::unistd::unlinkat(None, p, nix::unistd::UnlinkatFlags::RemoveDir)
            })
            .unwrap();
            let cut = dir.iter().rposition(|&c| c == b'/').unwrap();
            dir.truncate(cut);
        }
        std::fs::remove_dir_all(&base).unwrap();
    }
}
