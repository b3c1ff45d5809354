//! `-l/--link2symlink`: `link`, `unlink` and `rename` of emulated hard
//! links. Which calls are the extension's, which host names they act on
//! (an fd's file with `AT_EMPTY_PATH`, the file a followed `/proc` magic
//! link names, or a first real link for a file with none) and which are
//! left to the kernel are decided here; the on-disk layout's operations
//! are the host's ([`Host::link_name`], [`Host::unlink_name`],
//! [`Host::rename_names`], [`Host::link_unnamed`]).

use super::{Ctx, Outcome};
use crate::Errno;
use crate::backend::SyscallRegs;
use crate::ext::link2symlink::works_on_names;
use crate::fs::Kind;
use crate::prelude::*;
use crate::sysno as sys;
use crate::table::{AT_EMPTY_PATH, AT_REMOVEDIR, AT_SYMLINK_FOLLOW};

/// An emulated call that succeeded.
fn done(r: Result<(), Errno>) -> Result<Option<Outcome>, Errno> {
    r.map(|()| Some(Outcome::Emulated(0)))
}

/// The error the guest's own call on an fd would give, from an error on
/// the fd's `/proc` name: the fd is not open if that is missing.
fn fd_errno(e: Errno) -> Errno {
    if e == Errno::ENOENT { Errno::EBADF } else { e }
}

/// Handle `link*`, `unlink*`, `rename*` under `-l`; `None`: not one of
/// them, or nothing l2s-specific to do. `l2s_dir` is where intermediates
/// and final files go (`PROOT_L2S_DIR`; `None`: next to the file).
pub fn enter<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
    l2s_dir: Option<&[u8]>,
) -> Result<Option<Outcome>, Errno> {
    let nr = ctx.sysno();
    let host = |dirfd, path, follow| -> Result<Vec<u8>, Errno> {
        let guest = ctx.read_path(path)?;
        Ok(ctx.resolve_full(dirfd, &guest, follow)?.host)
    };
    if works_on_names(nr) && ctx.invalid_flags() {
        return Err(Errno::EINVAL);
    }
    match nr {
        sys::SYS_link | sys::SYS_linkat => {
            let (old, new) = if nr == sys::SYS_link {
                (host(None, 0, false)?, host(None, 1, false)?)
            } else {
                let flags = ctx.arg(4);
                let follow = flags & AT_SYMLINK_FOLLOW != 0;
                let old = if flags & AT_EMPTY_PATH != 0 && ctx.read_path(1)?.is_empty() {
                    // Root may link the file an fd refers to; one without a
                    // name (O_TMPFILE) gets a real first link.
                    let fd = ctx.arg(0) as i32;
                    if fd < 0 {
                        return Err(Errno::EBADF);
                    }
                    let fd = ctx.fd_link(fd);
                    match proc_file(ctx, &fd).map_err(fd_errno)? {
                        Some(named) => named,
                        None => {
                            let new = host(Some(2), 3, false)?;
                            let r = ctx.host.link_unnamed(&fd, &new).map_err(fd_errno);
                            return done(r);
                        }
                    }
                } else {
                    host(Some(0), 1, follow)?
                };
                let new = host(Some(2), 3, false)?;
                // Followed to a /proc magic link (`/proc/self/fd/N`): the
                // file it names, or a first link if it has none.
                if follow && ctx.host.lstat_kind(&old) == Ok(Kind::Symlink) {
                    match proc_file(ctx, &old)? {
                        Some(file) => (file, new),
                        None => return done(ctx.host.link_unnamed(&old, &new)),
                    }
                } else {
                    (old, new)
                }
            };
            ctx.view.invalidate_cache();
            done(ctx.host.link_name(&old, &new, l2s_dir))
        }
        sys::SYS_unlink | sys::SYS_unlinkat => {
            if nr == sys::SYS_unlinkat && ctx.arg(2) & AT_REMOVEDIR != 0 {
                return Ok(None);
            }
            let name = if nr == sys::SYS_unlink {
                host(None, 0, false)?
            } else {
                host(Some(0), 1, false)?
            };
            if ctx.host.link_final_file(&name).is_none() {
                return Ok(None);
            }
            done(ctx.host.unlink_name(&name))
        }
        sys::SYS_rename | sys::SYS_renameat | sys::SYS_renameat2 => {
            let (old, new, flags) = if nr == sys::SYS_rename {
                (host(None, 0, false)?, host(None, 1, false)?, 0)
            } else {
                let flags = if nr == sys::SYS_renameat2 {
                    ctx.arg(4) as u32
                } else {
                    0
                };
                (host(Some(0), 1, false)?, host(Some(2), 3, false)?, flags)
            };
            if ctx.host.link_final_file(&old).is_none() && ctx.host.link_final_file(&new).is_none()
            {
                return Ok(None);
            }
            done(ctx.host.rename_names(&old, &new, flags))
        }
        _ => Ok(None),
    }
}

/// The host path of the file a /proc magic link (`/proc/<pid>/fd/<n>`)
/// refers to: `None` if that file has no name (`O_TMPFILE`, deleted).
fn proc_file<R: SyscallRegs>(ctx: &Ctx<R>, link: &[u8]) -> Result<Option<Vec<u8>>, Errno> {
    if ctx.host.nlink(link)? == 0 {
        return Ok(None);
    }
    let target = ctx.host.readlink(link).map_err(|_| Errno::ENOENT)?;
    if target.first() != Some(&b'/') {
        return Err(Errno::ENOENT);
    }
    Ok(Some(target))
}
