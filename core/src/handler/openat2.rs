//! `openat2`: the `RESOLVE_*` flags of `struct open_how` hold in the
//! guest's view.
//!
//! When the directory the lookup starts from has no binding below it, the
//! kernel's walk of its host directory is the guest's walk: a scoped lookup
//! (`RESOLVE_BENEATH`, `RESOLVE_IN_ROOT`), or a relative one that follows no
//! symlink and does not climb, is left to the kernel unchanged, flags and
//! all. Otherwise the tracer resolves the path in the guest, applies the
//! flags' rules there (scope, `..`, symlinks, magic links, crossing a
//! binding or a mount), and gives the kernel the host path with the flags
//! that only make sense for the original path removed.

use super::{Ctx, Outcome, paths};
use crate::Errno;
use crate::backend::SyscallRegs;
use crate::fs::{self, GuestView, normalize_lexical, normalize_scoped, parse_magic_link};
use crate::prelude::*;
use crate::table::{self, Follow, PathArg, open_follows};

const RESOLVE_NO_XDEV: u64 = 0x01;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;
const RESOLVE_IN_ROOT: u64 = 0x10;
const OPEN_HOW: usize = 24;

/// `openat2(dirfd, path, how, size)`.
pub fn enter<R: SyscallRegs>(ctx: &mut Ctx<R>) -> Result<Outcome, Errno> {
    let how = ctx.arg(2);
    if how == 0 || (ctx.arg(3) as usize) < OPEN_HOW {
        return Ok(Outcome::Pass);
    }
    let mut how_bytes = vec![0u8; (ctx.arg(3) as usize).min(4096)];
    ctx.read(how, &mut how_bytes)?;
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&how_bytes[i * 8..i * 8 + 8]);
        u64::from_ne_bytes(w)
    };
    let (flags, rflags) = (word(0), word(2));
    let path = ctx.read_path(1)?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let base = ctx.base_dir(Some(0))?;
    let scoped = rflags & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0;
    let plain_walk = path[0] != b'/'
        && rflags & RESOLVE_NO_SYMLINKS != 0
        && !path.split(|&c| c == b'/').any(|c| c == b"..");
    if (scoped || plain_walk) && kernel_walk_is_the_guests(ctx.view, &base) {
        return Ok(Outcome::Pass);
    }
    if !scoped && rflags == 0 {
        // A `/proc` file the guest sees rewritten (maps, mountinfo...), by
        // any path: the same snapshot `open` gets.
        let r = ctx.resolve_full(Some(0), &path, open_follows(flags))?;
        if let Some(o) = proc_snapshot(ctx, &r.host, flags, &mut how_bytes)? {
            return Ok(o);
        }
        return plain(ctx, flags);
    }

    // The guest path as the flags scope it, without the file system.
    let lexical = match (rflags & RESOLVE_IN_ROOT != 0, rflags & RESOLVE_BENEATH != 0) {
        (true, _) => normalize_scoped(&base, &path, true).ok_or(Errno::EXDEV)?,
        (false, true) => normalize_scoped(&base, &path, false).ok_or(Errno::EXDEV)?,
        (false, false) if path[0] == b'/' => normalize_lexical(&path),
        (false, false) => normalize_lexical(&[&base[..], b"/", &path[..]].concat()),
    };
    let follow = open_follows(flags) && rflags & RESOLVE_NO_SYMLINKS == 0;
    let start: &[u8] = if rflags & RESOLVE_IN_ROOT != 0 {
        b"/"
    } else {
        &base
    };
    let walked: &[u8] = if rflags & RESOLVE_IN_ROOT != 0 {
        &lexical
    } else {
        &path
    };
    let r = ctx.view.resolve(ctx.proc, start, walked, follow)?;
    if rflags & RESOLVE_NO_SYMLINKS != 0 && r.guest != lexical {
        // A symlink was followed on the way.
        return Err(Errno::ELOOP);
    }
    if rflags & RESOLVE_NO_MAGICLINKS != 0 && through_magic_link(&lexical) {
        return Err(Errno::ELOOP);
    }
    if scoped && fs::strip_component_prefix(&r.guest, &base).is_none() {
        return Err(Errno::EXDEV);
    }
    if rflags & RESOLVE_NO_XDEV != 0
        && ctx.view.binding_index(&r.guest) != ctx.view.binding_index(&base)
    {
        return Err(Errno::EXDEV);
    }
    if let Some(o) = proc_snapshot(ctx, &r.host, flags, &mut how_bytes)? {
        return Ok(o);
    }
    ctx.view.remember_name(
        ctx.proc.pid(),
        ctx.proc.tid(),
        fs::NameUse::Fd(-1),
        &r.guest,
        &r.host,
    );
    // The host path is absolute and canonical: the scope and mount rules
    // were the guest's, checked above.
    let kept = rflags & !(RESOLVE_BENEATH | RESOLVE_IN_ROOT | RESOLVE_NO_XDEV);
    how_bytes[16..24].copy_from_slice(&kept.to_ne_bytes());
    let host = ctx.push_cstr(&r.host)?;
    let new_how = ctx.push(&how_bytes)?;
    ctx.regs.set_arg(1, host);
    ctx.regs.set_arg(2, new_how);
    Ok(Outcome::Rewritten)
}

/// If `host` is a `/proc` file the guest sees rewritten, point the call at
/// its snapshot (see [`paths::open_proc_file`]): the guest's rules were
/// checked, and the snapshot is reached through a magic link, so no `RESOLVE_*` flag
/// and no `O_NOFOLLOW` may stay.
fn proc_snapshot<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
    host: &[u8],
    flags: u64,
    how_bytes: &mut [u8],
) -> Result<Option<Outcome>, Errno> {
    let Some((path, outcome)) = paths::open_proc_file(ctx, host, flags) else {
        return Ok(None);
    };
    let flags = flags & !table::O_NOFOLLOW;
    how_bytes[0..8].copy_from_slice(&flags.to_ne_bytes());
    how_bytes[16..24].copy_from_slice(&0u64.to_ne_bytes());
    let at = ctx.push_cstr(&path)?;
    let new_how = ctx.push(how_bytes)?;
    ctx.regs.set_arg(1, at);
    ctx.regs.set_arg(2, new_how);
    Ok(Some(outcome))
}

/// No `RESOLVE_*` flag: an `openat`.
fn plain<R: SyscallRegs>(ctx: &mut Ctx<R>, flags: u64) -> Result<Outcome, Errno> {
    let arg = PathArg {
        path: 1,
        dirfd: Some(0),
        follow: if open_follows(flags) {
            Follow::Yes
        } else {
            Follow::No
        },
        empty_path: false,
    };
    paths::translate(ctx, core::slice::from_ref(&arg))
}

/// Whether the kernel, walking from the host directory of guest `base`,
/// sees what the guest sees: no binding below it, and not /proc (whose
/// links the guest sees through the tracer).
fn kernel_walk_is_the_guests(view: &GuestView, base: &[u8]) -> bool {
    !view.is_binding_ancestor(base) && !base.starts_with(b"/proc")
}

/// Whether a lexical guest path goes through a `/proc` magic link before
/// its last component.
fn through_magic_link(path: &[u8]) -> bool {
    // /proc/self and /proc/thread-self name some process: any will do.
    let path = match path.strip_prefix(b"/proc/self/") {
        Some(rest) => [&b"/proc/1/"[..], rest].concat(),
        None => match path.strip_prefix(b"/proc/thread-self/") {
            Some(rest) => [&b"/proc/1/task/1/"[..], rest].concat(),
            None => path.to_vec(),
        },
    };
    path.iter()
        .enumerate()
        .filter(|&(_, &c)| c == b'/')
        .any(|(i, _)| i > 0 && parse_magic_link(&path[..i]).is_some())
}
