//! Fake root (`-0`/`-i`) where it meets the host's files: `chown` recorded
//! instead of run (and shown by later stats), `access` answered as root,
//! and the owner's mode bits lifted on the real user's files for the
//! duration of a call their modes would stop and root's would not.
//!
//! Every look at a file and every mode change goes through [`Host`]
//! ([`Host::meta`], [`Host::chmod`]); the backend keeps the lifted modes
//! ([`Lifted`]) until the call's exit and gives them to [`put_back`].

use super::{Ctx, Host};
use crate::Errno;
use crate::backend::SyscallRegs;
use crate::decision::Decision;
use crate::ext::fake_id::Creds;
use crate::prelude::*;
use crate::sysno as sys;
use crate::table::{Kind, O_CREAT};
use core::ops::DerefMut;

const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;
const X_OK: u32 = 1;
const O_ACCMODE: u64 = 3;
const O_RDONLY: u64 = 0;
const O_WRONLY: u64 = 1;
const O_RDWR: u64 = 2;

/// Host paths whose mode was changed for a call, each with the mode to
/// put back, in the order they were changed.
pub type Lifted = Vec<(Vec<u8>, u32)>;

/// The errno the guest's own call would get for `e` on a file it named
/// by a descriptor (`fd`: its `/proc` name, where `ENOENT` means `EBADF`).
fn named_err(fd: bool, e: Errno) -> Errno {
    if fd && e == Errno::ENOENT {
        Errno::EBADF
    } else {
        e
    }
}

/// `chown`, `lchown`, `fchownat`, `fchown` while root: the new owner is
/// recorded (`-1` keeps the current fake one) under the file's device and
/// inode, and kept in the file itself with `persist` (`--persist-ownership`).
/// `real` are the ids of the user running sproot, shown as the fake ones.
pub fn chown<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
    creds: &Creds,
    real: (u32, u32),
    persist: bool,
) -> Result<i64, Errno> {
    let call = ctx.call();
    if ctx.invalid_flags() {
        return Err(Errno::EINVAL);
    }
    let ((host, fd), follow) = match (call.fd(), call.entry.paths().first()) {
        (Some(fd), _) => {
            // fchown needs an fd opened for I/O: not O_PATH.
            if fd < 0 || ctx.host.fd_is_o_path(ctx.proc.tid(), fd)? {
                return Err(Errno::EBADF);
            }
            (ctx.named_fd(fd)?, true)
        }
        (None, Some(path)) => (ctx.named(&call, path)?, call.follows(path)),
        (None, None) => return Err(Errno::ENOSYS),
    };
    let (uid, gid) = call.owner().ok_or(Errno::ENOSYS)?;
    let st = ctx.host.meta(&host, follow).map_err(|e| named_err(fd, e))?;
    let key = (st.dev, st.ino);
    let (cur_uid, cur_gid) = ctx
        .shared
        .owner(key)
        .unwrap_or_else(|| creds.stat_owner(real.0, real.1, st.uid, st.gid));
    let uid = if uid == u32::MAX { cur_uid } else { uid };
    let gid = if gid == u32::MAX { cur_gid } else { gid };
    ctx.shared.set_owner(key, (uid, gid));
    // Symlinks cannot carry user xattrs: their owner lasts the run.
    if persist
        && let Err(e) = ctx.host.store_owner(&host, (uid, gid), follow)
        && e != Errno::EPERM
    {
        log::warn!(
            "--persist-ownership: {}: {}",
            String::from_utf8_lossy(&host),
            e.name().unwrap_or("?")
        );
    }
    Ok(0)
}

/// `access`, `faccessat`, `faccessat2` while root: root may read and write
/// what the real user owns regardless of its mode bits, so the check passes
/// for an existing file; executing needs an execute bit (or a directory).
pub fn access<R: SyscallRegs>(ctx: &mut Ctx<R>) -> Result<i64, Errno> {
    let call = ctx.call();
    let mode = call.access_mode().unwrap_or(0);
    if ctx.invalid_flags() {
        return Err(Errno::EINVAL);
    }
    let Some(path) = call.entry.paths().first() else {
        return Err(Errno::ENOSYS);
    };
    let follow = call.follows(path);
    let (host, fd) = ctx.named(&call, path)?;
    let st = ctx.host.meta(&host, follow).map_err(|e| named_err(fd, e))?;
    let is_dir = st.mode & S_IFMT == S_IFDIR;
    if mode & X_OK != 0 && !is_dir && st.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

/// `open` while root: if the real user owns the file but its mode bits
/// forbid the access, the owner's bits it needs are added; what to put
/// back when the call is over (`None`: nothing was changed).
pub fn open_as_root<R: SyscallRegs>(ctx: &Ctx<R>) -> Option<(Vec<u8>, u32)> {
    let call = ctx.call();
    let flags = call.flags();
    let (host, _) = ctx.named(&call, &call.entry.path_arg(0)?).ok()?;
    let st = ctx.host.meta(&host, true).ok()?;
    if st.uid != ctx.host.uid() {
        return None;
    }
    let acc = flags & O_ACCMODE;
    let mut need = 0;
    if acc == O_RDONLY || acc == O_RDWR {
        need |= 0o400;
    }
    if acc == O_WRONLY || acc == O_RDWR {
        need |= 0o200;
    }
    if st.mode & S_IFMT == S_IFDIR {
        need |= 0o100;
    }
    let mode = st.mode & 0o7777;
    if mode & need == need {
        return None;
    }
    ctx.host.chmod(&host, mode | need, true).ok()?;
    Some((host, mode))
}

/// Run `handle` with the modes that would stop root lifted: parents get
/// their write bit before a call that adds or removes a name; after an
/// `EACCES`, the directories on the way get their search bit and the call
/// is handled again (the parents, now within reach, getting their write
/// bit then). The decision, and the modes to put back at the call's exit
/// (put back already when the call does not run or never comes back).
pub fn with_lifted_modes<'a, R, C, H, X>(
    ctx: &mut C,
    mut handle: impl FnMut(&mut C) -> Decision<H, X>,
) -> (Decision<H, X>, Lifted)
where
    R: SyscallRegs + Copy + 'a,
    C: DerefMut<Target = Ctx<'a, R>>,
{
    let original = ctx.regs;
    let mut lifted = lift_parents(ctx);
    let mut out = handle(ctx);
    if matches!(out, Decision::Emulated(e) if e == Errno::EACCES.ret()) {
        ctx.regs = original;
        let more = lift_search(ctx);
        if !more.is_empty() {
            lifted.extend(more);
            // A parent that could not be looked at before can be now.
            lifted.extend(lift_parents(ctx));
            out = handle(ctx);
        }
    }
    if matches!(out, Decision::Emulated(_) | Decision::Exec(_)) {
        // Done without the kernel, or never back to this call.
        put_back(ctx.host, core::mem::take(&mut lifted));
    }
    (out, lifted)
}

/// Put the modes of `lifted` back, the last changed first.
pub fn put_back(host: &dyn Host, lifted: Lifted) {
    for (path, mode) in lifted.into_iter().rev() {
        let _ = host.chmod(&path, mode, false);
    }
}

/// Add the owner bits `need` to `dir` if the real user owns it and they
/// are missing; `lifted` records what to put back. `false` when `dir`
/// cannot be looked at (its parent is not searchable, or it is gone).
fn lift(host: &dyn Host, dir: &[u8], need: u32, lifted: &mut Lifted) -> bool {
    let Ok(st) = host.meta(dir, false) else {
        return false;
    };
    let mode = st.mode & 0o7777;
    if st.mode & S_IFMT != S_IFDIR || st.uid != host.uid() || mode & need == need {
        return true;
    }
    if host.chmod(dir, mode | need, false).is_ok() {
        lifted.push((dir.to_vec(), mode));
    }
    true
}

/// The parent of an absolute host path (`None` for `/`).
fn parent(path: &[u8]) -> Option<&[u8]> {
    let end = path.iter().rposition(|&b| b != b'/')? + 1;
    let path = &path[..end];
    let slash = path.iter().rposition(|&b| b == b'/')?;
    let parent = &path[..slash];
    match parent.iter().rposition(|&b| b != b'/') {
        Some(last) => Some(&parent[..=last]),
        None => Some(&path[..1]),
    }
}

/// The host paths of a call's path arguments, taken lexically (as the
/// kernel would walk them, symlinks aside).
fn lexical_hosts<R: SyscallRegs>(ctx: &Ctx<R>) -> Vec<Vec<u8>> {
    let Some(Kind::Paths(args)) = ctx.entry().map(|e| e.kind) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for a in args {
        let Ok(guest) = ctx.read_path(a.path) else {
            continue;
        };
        if guest.is_empty() {
            continue;
        }
        let mut full = if guest[0] == b'/' {
            Vec::new()
        } else {
            match ctx.base_dir(a.dirfd) {
                Ok(b) => b,
                Err(_) => continue,
            }
        };
        full.push(b'/');
        full.extend_from_slice(&guest);
        out.push(ctx.view.to_host(&crate::fs::normalize_lexical(&full)));
    }
    out
}

/// Before a call that adds or removes a name, the parent directories the
/// real user owns get their owner's write and search bits.
pub fn lift_parents<R: SyscallRegs>(ctx: &Ctx<R>) -> Lifted {
    let nr = ctx.sysno();
    let creates = crate::namespace::op_of(&ctx.call()).is_some()
        || nr == sys::SYS_creat
        || (nr == sys::SYS_open && ctx.arg(1) & O_CREAT != 0)
        || (nr == sys::SYS_openat && ctx.arg(2) & O_CREAT != 0);
    let mut lifted = Vec::new();
    if creates {
        for host in lexical_hosts(ctx) {
            if let Some(dir) = parent(&host) {
                lift(ctx.host, dir, 0o300, &mut lifted);
            }
        }
    }
    lifted
}

/// After a call failed with `EACCES`: every directory the real user owns on
/// the way to the call's paths gets its owner's search bit (from the top
/// down, so that each can be looked at).
pub fn lift_search<R: SyscallRegs>(ctx: &Ctx<R>) -> Lifted {
    let mut lifted = Vec::new();
    for host in lexical_hosts(ctx) {
        let Some(dir) = parent(&host) else {
            continue;
        };
        let mut on_the_way = vec![dir];
        while let Some(up) = on_the_way.last().copied().and_then(parent) {
            on_the_way.push(up);
        }
        for dir in on_the_way.into_iter().rev() {
            if !lift(ctx.host, dir, 0o100, &mut lifted) {
                break;
            }
        }
    }
    lifted
}

#[cfg(test)]
mod tests {
    use super::parent;

    #[test]
    fn parents_are_taken_as_paths_are() {
        assert_eq!(parent(b"/a/b"), Some(&b"/a"[..]));
        assert_eq!(parent(b"/a/b/"), Some(&b"/a"[..]));
        assert_eq!(parent(b"/a//b"), Some(&b"/a"[..]));
        assert_eq!(parent(b"/a"), Some(&b"/"[..]));
        assert_eq!(parent(b"/"), None);
    }
}
