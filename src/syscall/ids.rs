//! Fake ids (`-0`, `-i`) and the fake `uname` (`-k`) at syscall entry:
//! the core's decisions (`sproot_core::handler::ids::fake_ids`), with the
//! tracer's work at the exit stop: `EPERM` turned into success, the modes
//! lifted for a fake root's call put back.

use super::exit_hook::ExitHook;
use super::{Ctx, Outcome};
use nix::errno::Errno;
use sproot_core::handler::ids::{self as core_ids, FakeRoot};
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

/// Handle a call of the fake-id or uname family (the core's
/// `handler::ids::fake_ids`); `None` if the registers hold another
/// syscall.
pub fn enter(ctx: &mut Ctx) -> Result<Option<Outcome>, Errno> {
    let env = ctx.env;
    let run = core_ids::FakeIds {
        real: env.real_ids,
        persist: env.ext.persist_ownership,
    };
    let mut creds = ctx.creds.take();
    let r = core_ids::fake_ids(ctx.core(), creds.as_deref_mut(), run);
    ctx.creds = creds;
    Ok(match r? {
        None => None,
        Some(FakeRoot::Decided(o)) => Some(super::outcome_of(o)),
        Some(FakeRoot::EpermIsSuccess { rewritten }) => Some(Outcome::WithExit {
            rewritten,
            hook: ExitHook::extension(FakeRootExit::EpermIsSuccess),
        }),
        Some(FakeRoot::OpenAsRoot { lifted, rewritten }) => {
            ctx.env
                .restore
                .borrow_mut()
                .insert(ctx.pid.as_raw(), lifted);
            Some(Outcome::WithExit {
                rewritten,
                hook: ExitHook::extension(FakeRootExit::RestoreModes),
            })
        }
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
