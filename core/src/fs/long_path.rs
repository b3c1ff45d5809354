//! Host paths of `PATH_MAX` bytes or more.
//!
//! A guest path shorter than `PATH_MAX` can translate to a longer host path
//! (the rootfs's own path comes in front). The kernel refuses such a path
//! whole, but a chroot would take the guest's, so sproot goes there in
//! pieces, the same way whichever process does the looking ([`PathOps`]:
//! the tracer, or the runtime inside a guest process):
//! - its own lookups (`lstat`, `readlink`) open the parent directory chunk
//!   by chunk (each chunk relative to the last, through
//!   `/proc/self/fd/<n>/`) and look at the last component from there;
//! - the path handed to the guest's kernel names the parent through an
//!   `O_PATH` descriptor that is held ([`Held`]; the last [`HELD_MAX`]
//!   directories, the oldest closed first: a guest's call would have to
//!   wait for that many other long-path translations between its
//!   translation and its lookup to see a number reused);
//! - a working directory or directory descriptor whose host path the
//!   kernel cannot print (`readlink` of `/proc/<pid>/cwd` fails with
//!   `ENAMETOOLONG`) is named by climbing `..` and finding each directory's
//!   name in its parent, until a prefix is short enough to be read.

use super::{NAME_MAX, PATH_MAX};
use crate::Errno;
use crate::prelude::*;
use alloc::collections::VecDeque;

/// Directories held open for the guest's kernel.
pub const HELD_MAX: usize = 64;

/// The longest piece opened at once: room for `/proc/self/fd/<n>/`.
const CHUNK: usize = PATH_MAX - 64;

/// What the looking process does with its own syscalls (paths shorter
/// than `PATH_MAX`).
pub trait PathOps {
    /// Open `path` with `O_PATH | O_CLOEXEC` (and `O_DIRECTORY`).
    fn open_path(&self, path: &[u8], directory: bool) -> Result<i32, Errno>;
    fn close(&self, fd: i32);
    fn readlink(&self, path: &[u8]) -> Result<Vec<u8>, Errno>;
    /// The (device, inode) of `path` (`follow`: as `stat`, else `lstat`).
    fn dev_ino(&self, path: &[u8], follow: bool) -> Result<(u64, u64), Errno>;
    /// The names in directory `path`, with their inode numbers.
    fn entries(&self, path: &[u8]) -> Result<Vec<(Vec<u8>, u64)>, Errno>;
    /// How the guest's kernel names this process's descriptor `fd`
    /// (`/proc/<pid>/fd/<fd>`).
    fn fd_for_kernel(&self, fd: i32) -> Vec<u8>;
    /// Whether `fd` is still the held descriptor of the directory whose
    /// device and inode were `id` (a guest sharing the descriptor table
    /// may have closed it and put another file, or its own descriptor of
    /// the same directory, at that number).
    fn is_held(&self, fd: i32, id: (u64, u64)) -> bool {
        self.dev_ino(&under(fd, b""), true)
            .is_ok_and(|now| now == id)
    }
}

/// An open descriptor of the looking process, closed when dropped.
struct Fd<'o, O: PathOps + ?Sized> {
    ops: &'o O,
    fd: i32,
}

impl<O: PathOps + ?Sized> Drop for Fd<'_, O> {
    fn drop(&mut self) {
        self.ops.close(self.fd);
    }
}

/// `/proc/self/fd/<fd>/` followed by `rest` (relative).
pub fn under(fd: i32, rest: &[u8]) -> Vec<u8> {
    let mut p = format!("/proc/self/fd/{fd}/").into_bytes();
    p.extend_from_slice(rest.strip_prefix(b"/").unwrap_or(rest));
    p
}

/// Open the directory at absolute host path `dir`, of any length.
fn open_dir<'o, O: PathOps + ?Sized>(ops: &'o O, dir: &[u8]) -> Result<Fd<'o, O>, Errno> {
    let mut file: Option<Fd<'o, O>> = None;
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
            Some(f) => under(f.fd, chunk),
        };
        file = Some(Fd {
            ops,
            fd: ops.open_path(&path, true)?,
        });
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

/// Run `f` on a name of host path `host` that the looking process's
/// kernel accepts: `host` itself when short enough.
pub fn with_short<O: PathOps + ?Sized, T>(
    ops: &O,
    host: &[u8],
    f: impl FnOnce(&[u8]) -> Result<T, Errno>,
) -> Result<T, Errno> {
    if host.len() < PATH_MAX {
        return f(host);
    }
    let (dir, name) = split_last(host)?;
    let dir = open_dir(ops, dir)?;
    f(&under(dir.fd, name))
}

/// The directories held for the guest's kernel: (host path, descriptor,
/// its device and inode when opened), the oldest first.
#[derive(Default)]
pub struct Held(VecDeque<(Vec<u8>, i32, (u64, u64))>);

impl Held {
    pub const fn new() -> Self {
        Held(VecDeque::new())
    }
}

/// A name of host path `host` for the guest's kernel: itself when shorter
/// than `PATH_MAX`, else through a directory held in `held`.
pub fn for_kernel<O: PathOps + ?Sized>(
    ops: &O,
    held: &mut Held,
    host: Vec<u8>,
) -> Result<Vec<u8>, Errno> {
    if host.len() < PATH_MAX {
        return Ok(host);
    }
    let (dir, name) = split_last(&host)?;
    // A held descriptor is checked before it is named: a guest that
    // closed it (every descriptor, say) may have its number for another
    // file now, which the name would then reach instead.
    let at = held
        .0
        .iter()
        .position(|(d, fd, id)| d == dir && ops.is_held(*fd, *id));
    let fd = match at {
        Some(i) => held.0[i].1,
        None => {
            // A stale entry's number is not this process's any more: it
            // goes, unclosed.
            held.0.retain(|(_, fd, id)| ops.is_held(*fd, *id));
            let file = open_dir(ops, dir)?;
            let id = ops.dev_ino(&under(file.fd, b""), true)?;
            let fd = file.fd;
            core::mem::forget(file);
            if held.0.len() >= HELD_MAX
                && let Some((_, old, id)) = held.0.pop_front()
                && ops.is_held(old, id)
            {
                ops.close(old);
            }
            held.0.push_back((dir.to_vec(), fd, id));
            fd
        }
    };
    let mut out = ops.fd_for_kernel(fd);
    out.push(b'/');
    out.extend_from_slice(name);
    Ok(out)
}

/// Read a `/proc/<pid>/{cwd,fd/<n>}` link (a short host path). When the
/// kernel cannot print its target for its length and it is a directory,
/// the path is found by climbing from it.
pub fn read_magic<O: PathOps + ?Sized>(ops: &O, link: &[u8]) -> Result<Vec<u8>, Errno> {
    match ops.readlink(link) {
        Err(Errno::ENAMETOOLONG) => {}
        r => return r,
    }
    // A file has no `..` to climb from: the kernel's answer stands.
    let fd = ops.open_path(link, true).map_err(|e| match e {
        Errno::ENOTDIR => Errno::ENAMETOOLONG,
        e => e,
    })?;
    let mut dir = Fd { ops, fd };
    // Names from the deepest up.
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut total = 0usize;
    loop {
        let here = under(dir.fd, b"");
        let here = &here[..here.len() - 1];
        match ops.readlink(here) {
            Ok(mut path) => {
                for n in names.iter().rev() {
                    path.push(b'/');
                    path.extend_from_slice(n);
                }
                return Ok(path);
            }
            Err(Errno::ENAMETOOLONG) => {}
            Err(e) => return Err(e),
        }
        let (dev, ino) = ops.dev_ino(here, true)?;
        let parent = Fd {
            ops,
            fd: ops.open_path(&under(dir.fd, b".."), true)?,
        };
        let name = ops
            .entries(&under(parent.fd, b""))?
            .into_iter()
            .find(|(name, i)| {
                *i == ino
                    && name != b".."
                    && name != b"."
                    && ops
                        .dev_ino(&under(parent.fd, name), false)
                        .is_ok_and(|(d, _)| d == dev)
            })
            .map(|(name, _)| name)
            .ok_or(Errno::ENOENT)?;
        total += name.len() + 1;
        if total > 2 * PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        names.push(name);
        dir = parent;
    }
}
