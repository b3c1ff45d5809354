//! The credential calls under `-0`/`-i`: answered from the thread's fake
//! credentials ([`Creds`]), which `set*id` and `setgroups` change by the
//! kernel's rules; nothing reaches the host.

use super::{Ctx, Outcome};
use crate::Errno;
use crate::backend::SyscallRegs;
use crate::ext::fake_id::{Creds, NGROUPS_MAX};
use crate::prelude::*;
use crate::sysno as sys;

/// Answer a credential call from `creds`; `None` when the call is not one.
pub fn credentials<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
    creds: &mut Creds,
) -> Option<Result<Outcome, Errno>> {
    let nr = ctx.sysno();
    let a = |i: usize| ctx.arg(i) as u32;
    let v = match nr {
        sys::SYS_getuid => Ok(creds.ruid as i64),
        sys::SYS_geteuid => Ok(creds.euid as i64),
        sys::SYS_getgid => Ok(creds.rgid as i64),
        sys::SYS_getegid => Ok(creds.egid as i64),
        sys::SYS_getresuid => write_ids(ctx, [creds.ruid, creds.euid, creds.suid]),
        sys::SYS_getresgid => write_ids(ctx, [creds.rgid, creds.egid, creds.sgid]),
        sys::SYS_getgroups => getgroups(ctx, creds),
        sys::SYS_setuid => creds.setuid(a(0)),
        sys::SYS_setgid => creds.setgid(a(0)),
        sys::SYS_setreuid => creds.setreuid(a(0), a(1)),
        sys::SYS_setregid => creds.setregid(a(0), a(1)),
        sys::SYS_setresuid => creds.setresuid(a(0), a(1), a(2)),
        sys::SYS_setresgid => creds.setresgid(a(0), a(1), a(2)),
        sys::SYS_setfsuid => creds.setfsuid(a(0)),
        sys::SYS_setfsgid => creds.setfsgid(a(0)),
        sys::SYS_setgroups => setgroups(ctx, creds),
        _ => return None,
    };
    Some(v.map(Outcome::Emulated))
}

/// `getres[ug]id(r, e, s)`: each id to its pointer.
fn write_ids<R: SyscallRegs>(ctx: &mut Ctx<R>, ids: [u32; 3]) -> Result<i64, Errno> {
    for (i, id) in ids.into_iter().enumerate() {
        let addr = ctx.arg(i);
        ctx.to_guest(addr, &id.to_ne_bytes())?;
    }
    Ok(0)
}

fn getgroups<R: SyscallRegs>(ctx: &mut Ctx<R>, creds: &Creds) -> Result<i64, Errno> {
    let size = ctx.arg(0) as i32;
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let groups = creds.getgroups(size as usize)?;
    // Nothing to write: the buffer is not looked at (as by the kernel).
    if size > 0 && !groups.is_empty() {
        let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_ne_bytes()).collect();
        let addr = ctx.arg(1);
        ctx.to_guest(addr, &bytes)?;
    }
    Ok(groups.len() as i64)
}

fn setgroups<R: SyscallRegs>(ctx: &mut Ctx<R>, creds: &mut Creds) -> Result<i64, Errno> {
    let n = ctx.arg(0) as i32;
    if !creds.may_setgroups() {
        return Err(Errno::EPERM);
    }
    if n < 0 || n as usize > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    let mut bytes = vec![0u8; n as usize * 4];
    ctx.read(ctx.arg(1), &mut bytes)?;
    let groups: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    creds.setgroups(&groups)
}

/// What a backend does with a call of `-0`/`-i`'s or `-k`'s that the
/// kernel runs: the decision, and the fake root's work after the call.
#[derive(Debug)]
pub enum FakeRoot {
    /// A decision like any other handler's.
    Decided(Outcome),
    /// Run the call (its paths translated when `rewritten`); an `EPERM`
    /// from the kernel becomes success.
    EpermIsSuccess { rewritten: bool },
    /// Run the call (its paths translated when `rewritten`) with the
    /// owner's mode bits lifted on the file it opens; put the mode back
    /// when it returns ([`super::owners::put_back`]).
    OpenAsRoot {
        lifted: super::owners::Lifted,
        rewritten: bool,
    },
}

/// The run's facts the fake ids' calls depend on.
#[derive(Clone, Copy, Debug)]
pub struct FakeIds {
    /// The ids of the user running sproot (their files show as root's).
    pub real: (u32, u32),
    /// `--persist-ownership`.
    pub persist: bool,
}

/// The calls of `-0`/`-i` (with `creds`) and of `-k` (`uname`, and the
/// names a fake root sets): the credential calls answered from `creds`;
/// while root, `chown` recorded (and shown by later stats) instead of run,
/// `access` answered as root, `EPERM` from `chmod`, `mknod`, `capset`
/// turned into success, `sethostname` kept for later `uname` calls, the
/// `trusted.*`/`security.*` attributes kept ([`super::xattr`]) and the
/// owner's mode bits lifted for an `open` they would stop. `None`: not one
/// of these calls, or nothing to do but the table's work.
pub fn fake_ids<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
    creds: Option<&mut Creds>,
    run: FakeIds,
) -> Result<Option<FakeRoot>, Errno> {
    let nr = ctx.sysno();
    let decided = |o| Ok(Some(FakeRoot::Decided(o)));
    if nr == sys::SYS_uname {
        let names = ctx.shared.uname();
        if names == crate::ext::kernel_release::Uname::default() {
            return Ok(None);
        }
        let mut buf = ctx.host.uname()?;
        names.apply(&mut buf);
        let addr = ctx.arg(0);
        ctx.to_guest(addr, &buf)?;
        return decided(Outcome::Emulated(0));
    }
    let Some(creds) = creds else {
        return Ok(None);
    };
    if let Some(r) = credentials(ctx, creds) {
        return decided(r?);
    }
    let (root, fs_root) = (creds.is_root(), creds.is_fs_root());
    let v = match nr {
        sys::SYS_chown | sys::SYS_lchown | sys::SYS_fchownat | sys::SYS_fchown if root => {
            super::owners::chown(ctx, creds, run.real, run.persist)?
        }
        sys::SYS_access | sys::SYS_faccessat | sys::SYS_faccessat2 if fs_root => {
            super::owners::access(ctx)?
        }
        sys::SYS_chmod
        | sys::SYS_fchmod
        | sys::SYS_fchmodat
        | sys::SYS_fchmodat2
        | sys::SYS_mknod
        | sys::SYS_mknodat
        | sys::SYS_capset
            if root =>
        {
            let rewritten = translate_as_usual(ctx)?;
            return Ok(Some(FakeRoot::EpermIsSuccess { rewritten }));
        }
        sys::SYS_sethostname | sys::SYS_setdomainname if root => {
            let len = ctx.arg(1) as i64;
            if !(0..=64).contains(&len) {
                return Err(Errno::EINVAL);
            }
            let mut name = vec![0u8; len as usize];
            ctx.read(ctx.arg(0), &mut name).map_err(|_| Errno::EFAULT)?;
            if nr == sys::SYS_sethostname {
                ctx.shared.set_nodename(&name)?;
            } else {
                ctx.shared.set_domainname(&name)?;
            }
            0
        }
        _ if root && ctx.entry().is_some_and(|e| e.xattr.is_some()) => {
            return Ok(super::xattr::enter(ctx)?.map(FakeRoot::Decided));
        }
        sys::SYS_open | sys::SYS_openat if fs_root => {
            let Some(lifted) = super::owners::open_as_root(ctx) else {
                return Ok(None);
            };
            // Translated as usual; a path that does not translate runs
            // as the guest gave it, and fails as it would.
            let rewritten = translate_as_usual(ctx).unwrap_or(false);
            return Ok(Some(FakeRoot::OpenAsRoot {
                lifted: vec![lifted],
                rewritten,
            }));
        }
        _ => return Ok(None),
    };
    decided(Outcome::Emulated(v))
}

/// Translate a path call's paths as the table says; whether the registers
/// changed.
fn translate_as_usual<R: SyscallRegs>(ctx: &mut Ctx<R>) -> Result<bool, Errno> {
    Ok(match ctx.entry().map(|e| e.kind) {
        Some(crate::table::Kind::Paths(args)) => super::paths::translate(ctx, args)?.rewrites(),
        _ => false,
    })
}
