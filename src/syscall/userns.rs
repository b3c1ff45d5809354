//! New user namespaces: the kernel refuses them to a chrooted process
//! (`create_user_ns`: `EPERM` when the caller's root is not its mount
//! namespace's root), and a guest is chrooted. The filter sends `unshare`
//! and `clone` here only when `CLONE_NEWUSER` (or, for `clone`,
//! `CLONE_UNTRACED`, which is dropped) is set. `clone3` keeps its flags in
//! memory the filter cannot read: with seccomp it answers `ENOSYS` in the
//! filter (glibc falls back to `clone`; see `seccomp::unknown_filter`);
//! without, every call stops anyway, and `clone3`'s `struct clone_args` is
//! read here.
//!
//! The kernel's earlier answers come first, as it gives them: bad flag
//! combinations are `EINVAL` before the namespace is tried.

use super::{Ctx, Outcome};
use crate::arch::sys;
use nix::errno::Errno;

use sproot_core::userns::{
    CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER2, CLONE_NEWUSER, CLONE_UNTRACED, CloneArgs, clone,
    clone3, traced_clone, unshare,
};

/// The answer to `unshare`, `clone` or `clone3` (`clone`: one of the two
/// clones), or the call without `CLONE_UNTRACED`.
pub fn enter(ctx: &mut Ctx, clone: bool) -> Result<Outcome, Errno> {
    if ctx.sysno() == sys::SYS_clone3 {
        return enter_clone3(ctx);
    }
    let flags = ctx.arg(0);
    let refused = if clone {
        self::clone(flags)
    } else {
        unshare(flags, threads(ctx.pid.as_raw()))
    };
    if let Some(e) = refused {
        return Err(e.into());
    }
    match traced_clone(flags) {
        Some(flags) if clone => {
            ctx.regs.set_arg(0, flags);
            Ok(Outcome::Rewritten)
        }
        _ => Ok(Outcome::Pass),
    }
}

/// `clone3(args, size)`: its `struct clone_args` read; a structure the
/// kernel would not read (too small, too large, unreadable) is left to the
/// kernel's answer. Without `CLONE_UNTRACED`, the call points at a copy
/// below the stack pointer: the guest's own structure is not changed, and
/// the kernel has read the copy before the call returns.
fn enter_clone3(ctx: &mut Ctx) -> Result<Outcome, Errno> {
    let size = ctx.arg(1);
    if !(CLONE_ARGS_SIZE_VER0..=page_size()).contains(&size) {
        return Ok(Outcome::Pass);
    }
    let mut bytes = vec![0u8; size as usize];
    if ctx.read(ctx.arg(0), &mut bytes).is_err() {
        return Ok(Outcome::Pass);
    }
    let args = CloneArgs::of(&bytes);
    if bytes
        .iter()
        .skip(CLONE_ARGS_SIZE_VER2 as usize)
        .any(|&b| b != 0)
    {
        // Fields past the ones sproot knows: `E2BIG`, as from every kernel
        // so far, when the call is one sproot must answer or change (a
        // newer kernel might take them and make the call).
        let ours = args.flags & (CLONE_NEWUSER | CLONE_UNTRACED) != 0;
        return if ours {
            Err(Errno::E2BIG)
        } else {
            Ok(Outcome::Pass)
        };
    }
    if let Some(e) = clone3(&args) {
        return Err(e.into());
    }
    match traced_clone(args.flags) {
        Some(flags) => {
            bytes[..8].copy_from_slice(&flags.to_ne_bytes());
            let copy = ctx.push(&bytes)?;
            ctx.regs.set_arg(0, copy);
            Ok(Outcome::Rewritten)
        }
        None => Ok(Outcome::Pass),
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no memory effects.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as u64,
        _ => 4096,
    }
}

/// The number of threads of the thread group of `pid` (1 when unknown).
pub fn threads(pid: i32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(1)
}
