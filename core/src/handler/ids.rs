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
    if size > 0 {
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
