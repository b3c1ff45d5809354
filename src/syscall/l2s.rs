//! `-l/--link2symlink`: `link`, `unlink` and `rename` of emulated hard links,
//! and the redirection of every other syscall on a name to its final file
//! (the layout is in `ext::link2symlink`).

use super::{Ctx, Outcome};
use crate::arch::sys;
use crate::ext::link2symlink as l2s;
use nix::errno::Errno;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// An emulated call that succeeded.
fn done(r: Result<(), Errno>) -> Result<Option<Outcome>, Errno> {
    r.map(|()| Some(Outcome::Emulated(0)))
}

/// `-l/--link2symlink`.
pub struct Link2Symlink;

impl super::extension::Extension for Link2Symlink {
    fn name(&self) -> &'static str {
        "link2symlink"
    }

    fn enter(&self, ctx: &mut Ctx) -> Result<Option<Outcome>, Errno> {
        enter(ctx)
    }
}

/// Handle `link*`, `unlink*`, `rename*` under `-l`; `None`: not one of them,
/// or nothing l2s-specific to do.
pub fn enter(ctx: &mut Ctx) -> Result<Option<Outcome>, Errno> {
    let nr = ctx.sysno();
    let host = |dirfd, path, follow| ctx.host_of_arg(dirfd, path, follow);
    {
        if works_on_names(nr) && ctx.invalid_flags() {
            return Err(Errno::EINVAL);
        }
        match nr {
            sys::SYS_link | sys::SYS_linkat => {
                let (old, new) = if nr == sys::SYS_link {
                    (host(None, 0, false)?, host(None, 1, false)?)
                } else {
                    let flags = ctx.arg(4) as i32;
                    let follow = flags & libc::AT_SYMLINK_FOLLOW != 0;
                    let old = if flags & libc::AT_EMPTY_PATH != 0 && ctx.read_path(1)?.is_empty() {
                        // Root may link the file an fd refers to; one
                        // without a name (O_TMPFILE) gets a real first link.
                        let fd = ctx.fd_path(ctx.arg(0) as i32)?;
                        match proc_file(&fd).map_err(super::ctx::fd_errno)? {
                            Some(named) => named,
                            None => {
                                let new = host(Some(2), 3, false)?;
                                return done(link_unnamed(&fd, &new).map_err(super::ctx::fd_errno));
                            }
                        }
                    } else {
                        host(Some(0), 1, follow)?
                    };
                    let new = host(Some(2), 3, false)?;
                    // Followed to a /proc magic link (`/proc/self/fd/N`):
                    // the file it names, or a first link if it has none.
                    if follow && old.is_symlink() {
                        match proc_file(&old)? {
                            Some(file) => (file, new),
                            None => return done(link_unnamed(&old, &new)),
                        }
                    } else {
                        (old, new)
                    }
                };
                ctx.env.view.invalidate_cache();
                done(l2s::link(&old, &new, ctx.env.l2s_dir))
            }
            sys::SYS_unlink | sys::SYS_unlinkat => {
                if nr == sys::SYS_unlinkat && ctx.arg(2) & libc::AT_REMOVEDIR as u64 != 0 {
                    return Ok(None);
                }
                let name = if nr == sys::SYS_unlink {
                    host(None, 0, false)?
                } else {
                    host(Some(0), 1, false)?
                };
                if l2s::member_group(&name).is_none() {
                    return Ok(None);
                }
                done(l2s::unlink(&name))
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
                if l2s::member_group(&old).is_none() && l2s::member_group(&new).is_none() {
                    return Ok(None);
                }
                done(l2s::rename(&old, &new, flags))
            }
            _ => Ok(None),
        }
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

pub use sproot_core::ext::link2symlink::works_on_names;
