//! `-l/--link2symlink`: `link`, `unlink` and `rename` of emulated hard links,
//! and the redirection of every other syscall on a name to its final file
//! (the layout is in `ext::link2symlink`).

use super::host_of_arg as host;
use super::{Env, Outcome};
use crate::arch::{Regs, sys};
use crate::ext::link2symlink as l2s;
use crate::fs::ProcContext;
use nix::errno::Errno;
use nix::unistd::Pid;

fn done(r: Result<(), Errno>) -> Option<Outcome> {
    Some(Outcome::Emulated(match r {
        Ok(()) => 0,
        Err(e) => -(e as i64),
    }))
}

/// Handle `link*`, `unlink*`, `rename*` under `-l`; `None`: not one of them,
/// or nothing l2s-specific to do.
pub fn enter(env: &Env, proc: &dyn ProcContext, pid: Pid, regs: &Regs) -> Option<Outcome> {
    let nr = regs.sysno();
    let r = (|| -> Result<Option<Outcome>, Errno> {
        match nr {
            sys::SYS_link | sys::SYS_linkat => {
                let (old, new) = if nr == sys::SYS_link {
                    (
                        host(env, proc, pid, regs, None, 0, false)?,
                        host(env, proc, pid, regs, None, 1, false)?,
                    )
                } else {
                    let follow = regs.arg(4) & libc::AT_SYMLINK_FOLLOW as u64 != 0;
                    (
                        host(env, proc, pid, regs, Some(0), 1, follow)?,
                        host(env, proc, pid, regs, Some(2), 3, false)?,
                    )
                };
                env.view.invalidate_cache();
                Ok(done(l2s::link(&old, &new, env.l2s_dir)))
            }
            sys::SYS_unlink | sys::SYS_unlinkat => {
                if nr == sys::SYS_unlinkat && regs.arg(2) & libc::AT_REMOVEDIR as u64 != 0 {
                    return Ok(None);
                }
                let name = if nr == sys::SYS_unlink {
                    host(env, proc, pid, regs, None, 0, false)?
                } else {
                    host(env, proc, pid, regs, Some(0), 1, false)?
                };
                if l2s::member_group(&name).is_none() {
                    return Ok(None);
                }
                Ok(done(l2s::unlink(&name)))
            }
            sys::SYS_rename | sys::SYS_renameat | sys::SYS_renameat2 => {
                let (old, new, flags) = if nr == sys::SYS_rename {
                    (
                        host(env, proc, pid, regs, None, 0, false)?,
                        host(env, proc, pid, regs, None, 1, false)?,
                        0,
                    )
                } else {
                    let flags = if nr == sys::SYS_renameat2 {
                        regs.arg(4) as u32
                    } else {
                        0
                    };
                    (
                        host(env, proc, pid, regs, Some(0), 1, false)?,
                        host(env, proc, pid, regs, Some(2), 3, false)?,
                        flags,
                    )
                };
                if l2s::member_group(&old).is_none() && l2s::member_group(&new).is_none() {
                    return Ok(None);
                }
                Ok(done(l2s::rename(&old, &new, flags)))
            }
            _ => Ok(None),
        }
    })();
    match r {
        Ok(o) => o,
        Err(e) => Some(Outcome::Emulated(-(e as i64))),
    }
}

/// Whether a syscall works on l2s names themselves (not their final file).
pub fn works_on_names(nr: i64) -> bool {
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
