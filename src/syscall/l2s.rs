//! `-l/--link2symlink`: `link`, `unlink` and `rename` of emulated hard links,
//! and the redirection of every other syscall on a name to its final file
//! (the layout is in `ext::link2symlink`).

use super::host_of_arg as host;
use super::{Env, Outcome, PATH_MAX};
use crate::arch::{Regs, sys};
use crate::ext::link2symlink as l2s;
use crate::fs::ProcContext;
use crate::ptrace;
use nix::errno::Errno;
use nix::unistd::Pid;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

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
        if works_on_names(nr) && super::flags::invalid(regs) {
            return Err(Errno::EINVAL);
        }
        match nr {
            sys::SYS_link | sys::SYS_linkat => {
                let (old, new) = if nr == sys::SYS_link {
                    (
                        host(env, proc, pid, regs, None, 0, false)?,
                        host(env, proc, pid, regs, None, 1, false)?,
                    )
                } else {
                    let flags = regs.arg(4) as i32;
                    let follow = flags & libc::AT_SYMLINK_FOLLOW != 0;
                    let old = if flags & libc::AT_EMPTY_PATH != 0
                        && ptrace::read_cstring(pid, regs.arg(1), PATH_MAX)?.is_empty()
                    {
                        // Root may link the file an fd refers to; one
                        // without a name (O_TMPFILE) gets a real first link.
                        let fd = super::ext::fd_path(pid, regs.arg(0) as i32)?;
                        let fd = PathBuf::from(std::ffi::OsStr::from_bytes(fd.as_bytes()));
                        match proc_file(&fd).map_err(super::ext::fd_errno)? {
                            Some(named) => named,
                            None => {
                                let new = host(env, proc, pid, regs, Some(2), 3, false)?;
                                return Ok(done(
                                    link_unnamed(&fd, &new).map_err(super::ext::fd_errno),
                                ));
                            }
                        }
                    } else {
                        host(env, proc, pid, regs, Some(0), 1, follow)?
                    };
                    let new = host(env, proc, pid, regs, Some(2), 3, false)?;
                    // Followed to a /proc magic link (`/proc/self/fd/N`):
                    // the file it names, or a first link if it has none.
                    if follow && old.is_symlink() {
                        match proc_file(&old)? {
                            Some(file) => (file, new),
                            None => return Ok(done(link_unnamed(&old, &new))),
                        }
                    } else {
                        (old, new)
                    }
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

/// The host path of the file a /proc magic link (`/proc/<pid>/fd/<n>`)
/// refers to: `None` if that file has no name (`O_TMPFILE`, deleted).
fn proc_file(link: &std::path::Path) -> Result<Option<PathBuf>, Errno> {
    let st = nix::sys::stat::stat(link)?;
    if st.st_nlink == 0 {
        return Ok(None);
    }
    let target = std::fs::read_link(link).map_err(|_| Errno::ENOENT)?;
    if target.as_os_str().as_bytes().first() != Some(&b'/') {
        return Err(Errno::ENOENT);
    }
    Ok(Some(target))
}

/// Give an unnamed file (`O_TMPFILE`) its first name through its /proc
/// magic link: an ordinary link, as unprivileged users may make.
fn link_unnamed(link: &std::path::Path, new: &std::path::Path) -> Result<(), Errno> {
    nix::unistd::linkat(
        None,
        link,
        None,
        new,
        nix::fcntl::AtFlags::AT_SYMLINK_FOLLOW,
    )
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
