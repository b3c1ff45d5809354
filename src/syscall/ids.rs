//! Fake ids (`-0`, `-i`) and the fake `uname` (`-k`) at syscall entry.
//!
//! The credential calls are emulated against the tracee's [`Creds`]; calls
//! that need root succeed while the fake euid is 0: `chown` is recorded
//! (and shown by later stats) instead of run, `EPERM` from `chmod`, `mknod`,
//! `capset`, `sethostname` becomes success, `trusted.*`/`security.*`
//! extended attributes are kept by sproot (see [`super::xattr`]), and
//! permission bits that would stop root are lifted for the duration of an
//! `open`. Every error root would get is the kernel's own: the emulations
//! check flags as the kernel does ([`super::flags`]) and take path and fd
//! errors from the host kernel's lookup of the same file.

use super::exit_hook::ExitHook;
use super::{Ctx, Outcome};
use crate::arch::sys;
use nix::errno::Errno;
use sproot_core::handler::owners::{self, Lifted};
use std::collections::HashMap;

/// A fake root's work at a call's exit (besides putting back the modes
/// lifted for it, done at every exit stop of the thread).
#[derive(Debug, PartialEq, Eq)]
pub enum FakeRootExit {
    /// `EPERM` becomes success.
    EpermIsSuccess,
    /// Only the modes to put back.
    RestoreModes,
}

/// `-0`/`-i` (fake credentials, root's view of modes and extended
/// attributes) and `-k` (`uname`).
pub struct FakeIds;

impl super::extension::Extension for FakeIds {
    fn name(&self) -> &'static str {
        "fake ids"
    }

    fn enter(&self, ctx: &mut Ctx) -> Result<Option<Outcome>, Errno> {
        enter(ctx)
    }

    fn exit(&self, ctx: &mut Ctx, hook: &ExitHook) -> bool {
        // Modes lifted for this call (whatever the hook), put back.
        ctx.env
            .restore
            .borrow_mut()
            .restore(ctx.pid.as_raw(), ctx.env.host);
        if matches!(
            hook.of::<FakeRootExit>(),
            Some(FakeRootExit::EpermIsSuccess)
        ) && ctx.regs.ret() == -(Errno::EPERM as i64)
        {
            ctx.regs.set_ret(0);
            return true;
        }
        false
    }
}

/// Fake root: the real user's own modes must not stop it
/// (`owners::with_lifted_modes` lifts them around `handle`); the modes
/// lifted for a call that runs are put back at its exit stop.
pub fn with_lifted_modes(ctx: &mut Ctx, handle: fn(&mut Ctx) -> Outcome) -> Outcome {
    let (out, lifted) = owners::with_lifted_modes(ctx, handle);
    if lifted.is_empty() {
        return out;
    }
    ctx.env
        .restore
        .borrow_mut()
        .insert(ctx.pid.as_raw(), lifted);
    match out {
        Outcome::Pass | Outcome::Rewritten => Outcome::WithExit {
            rewritten: matches!(out, Outcome::Rewritten),
            hook: ExitHook::extension(FakeRootExit::RestoreModes),
        },
        // Its exit stop comes: the modes are put back there.
        out => out,
    }
}

/// Handle a call of the fake-id or uname family; `None` if the registers
/// hold another syscall.
pub fn enter(ctx: &mut Ctx) -> Result<Option<Outcome>, Errno> {
    let env = ctx.env;
    let nr = ctx.sysno();
    if nr == sys::SYS_uname {
        let names = env.shared.uname();
        if names == crate::ext::kernel_release::Uname::default() {
            return Ok(None);
        }
        let mut buf = crate::host::uname_bytes()?;
        names.apply(&mut buf);
        let addr = ctx.arg(0);
        ctx.to_guest(addr, &buf)?;
        return Ok(Some(Outcome::Emulated(0)));
    }
    let Some(creds) = ctx.creds.take() else {
        return Ok(None);
    };
    let answered = sproot_core::handler::ids::credentials(ctx, &mut *creds);
    ctx.creds = Some(creds);
    if let Some(r) = answered {
        return Ok(Some(super::outcome_of(r?)));
    }
    let Some(c) = ctx.creds.as_deref() else {
        return Ok(None);
    };
    let (root, fs_root) = (c.is_root(), c.is_fs_root());
    let v = match nr {
        // Ownership changes while root: recorded, shown by later stats.
        sys::SYS_chown | sys::SYS_lchown | sys::SYS_fchownat | sys::SYS_fchown if root => {
            let Some(creds) = ctx.creds.take() else {
                return Ok(None);
            };
            let (real, persist) = (env.real_ids, env.ext.persist_ownership);
            let r = owners::chown(ctx.core(), creds, real, persist);
            ctx.creds = Some(creds);
            r?
        }
        // Root may read and write what the real user owns regardless of
        // its mode bits: access checks pass for existing files.
        sys::SYS_access | sys::SYS_faccessat | sys::SYS_faccessat2 if fs_root => {
            owners::access(ctx.core())?
        }
        // EPERM becomes success for root-only operations.
        sys::SYS_chmod
        | sys::SYS_fchmod
        | sys::SYS_fchmodat
        | sys::SYS_fchmodat2
        | sys::SYS_mknod
        | sys::SYS_mknodat
        | sys::SYS_capset
            if root =>
        {
            return eperm_is_success(ctx).map(Some);
        }
        // The names are the run's own (no UTS namespace is changed): later
        // `uname` calls of every guest report them.
        sys::SYS_sethostname | sys::SYS_setdomainname if root => {
            let len = ctx.arg(1) as i64;
            if !(0..=64).contains(&len) {
                return Err(Errno::EINVAL);
            }
            let mut name = vec![0u8; len as usize];
            ctx.read(ctx.arg(0), &mut name).map_err(|_| Errno::EFAULT)?;
            if nr == sys::SYS_sethostname {
                env.shared.set_nodename(&name)?;
            } else {
                env.shared.set_domainname(&name)?;
            }
            0
        }
        // The extended-attribute calls (the table says which).
        _ if root && ctx.entry().is_some_and(|e| e.xattr.is_some()) => {
            return match sproot_core::handler::xattr::enter(ctx.core())? {
                Some(o) => Ok(Some(super::outcome_of(o))),
                None => Ok(None),
            };
        }
        sys::SYS_open | sys::SYS_openat if fs_root => {
            return Ok(open_as_root(ctx));
        }
        _ => return Ok(None),
    };
    Ok(Some(Outcome::Emulated(v)))
}

/// Translate paths as usual, and turn `EPERM` into success at the exit.
fn eperm_is_success(ctx: &mut Ctx) -> Result<Outcome, Errno> {
    Ok(Outcome::WithExit {
        rewritten: translate_as_usual(ctx)?,
        hook: ExitHook::extension(FakeRootExit::EpermIsSuccess),
    })
}

/// Translate a path call's paths as the table says; whether the registers
/// changed.
fn translate_as_usual(ctx: &mut Ctx) -> Result<bool, Errno> {
    Ok(match ctx.entry().map(|e| e.kind) {
        Some(super::table::Kind::Paths(args)) => super::translate_paths(ctx, args)?.rewrites(),
        _ => false,
    })
}

/// `open` while root: the owner's bits the access needs, lifted for the
/// duration of the call (`owners::open_as_root`) and put back at its exit.
fn open_as_root(ctx: &mut Ctx) -> Option<Outcome> {
    let lifted = owners::open_as_root(ctx)?;
    // Translate as usual; the mode is put back at the exit.
    let rewritten = translate_as_usual(ctx).unwrap_or(false);
    ctx.env
        .restore
        .borrow_mut()
        .insert(ctx.pid.as_raw(), vec![lifted]);
    Some(Outcome::WithExit {
        rewritten,
        hook: ExitHook::extension(FakeRootExit::RestoreModes),
    })
}

/// Modes lifted for fake root, to put back when the call is over, by the
/// thread that made the call (a thread has one call in flight).
#[derive(Default)]
pub struct Restores {
    pending: HashMap<i32, Lifted>,
}

impl Restores {
    /// Remember `lifted` (path, original mode) for thread `tid`, to put
    /// back at the exit of its call.
    pub fn insert(&mut self, tid: i32, lifted: Lifted) {
        self.pending.entry(tid).or_default().extend(lifted);
    }

    /// Put back the modes lifted for thread `tid`'s call, deepest first.
    pub fn restore(&mut self, tid: i32, host: &dyn sproot_core::handler::Host) {
        if let Some(lifted) = self.pending.remove(&tid) {
            owners::put_back(host, lifted);
        }
    }
}
