//! Stat results rewritten for the PRoot extensions: fake owners (`-0`,
//! `-i`), link counts (`-l`), symlink sizes (`-L`).
//!
//! Stats are emulated: the tracer makes the same call on the translated
//! host path (or on `/proc/<pid>/fd/<n>` for a file descriptor), fixes the
//! result and writes it into the guest's buffer, so a stat costs one stop
//! with or without these extensions.

use super::ctx::fd_errno;
use super::{Ctx, Outcome};
use nix::errno::Errno;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

/// `-0`/`-i`: files owned by the real user (group) are shown as owned by
/// the fake ids.
#[derive(Clone, Copy, Debug)]
pub struct OwnerMap {
    pub real_uid: u32,
    pub real_gid: u32,
    pub fake_uid: u32,
    pub fake_gid: u32,
}

impl OwnerMap {
    pub fn map_owner(&self, uid: u32, gid: u32) -> (u32, u32) {
        (
            if uid == self.real_uid {
                self.fake_uid
            } else {
                uid
            },
            if gid == self.real_gid {
                self.fake_gid
            } else {
                gid
            },
        )
    }
}

/// Stat results rewritten (`-0`/`-i` owners, `-l` link counts, `-L`
/// symlink sizes): every stat-family call is emulated.
pub struct StatRewrite;

impl super::extension::Extension for StatRewrite {
    fn name(&self) -> &'static str {
        "stat rewrite"
    }

    fn enter(&self, ctx: &mut Ctx) -> Result<Option<Outcome>, Errno> {
        stat(ctx)
    }
}

/// How a stat-family call names its file.
enum Target {
    /// A translated host path, and whether to follow a final symlink.
    Path(CString, bool),
    /// The file an fd of the tracee refers to.
    Fd(i32),
}

/// What was asked, in the kernel's terms.
struct StatCall {
    target: Target,
    buf: u64,
    /// `statx`: (flags, mask).
    statx: Option<(i32, u32)>,
}

fn cstring(bytes: &[u8]) -> Result<CString, Errno> {
    CString::new(bytes).map_err(|_| Errno::EINVAL)
}

/// Decode a stat-family call; `None` if `nr` is not one.
fn stat_call(ctx: &Ctx) -> Result<Option<StatCall>, Errno> {
    // The stat family is what has a buffer the kernel fills (the table's
    // `out` role).
    let call = ctx.call();
    let Some(buf) = call.out() else {
        return Ok(None);
    };
    let statx = call.mask().map(|mask| (call.flags() as i32, mask));
    if let Some(fd) = call.fd() {
        return Ok(Some(StatCall {
            target: Target::Fd(fd),
            buf,
            statx,
        }));
    }
    let Some(arg) = call.entry.paths().first() else {
        return Ok(None);
    };
    let empty_path = call.empty_path(arg);
    let follow = call.follows(arg);
    let dirfd = arg.dirfd;
    let ptr = ctx.arg(arg.path);
    // The kernel reads the path first; with AT_EMPTY_PATH an empty (or
    // NULL) one names the fd, whose stat ignores the other flags.
    let path = if ptr == 0 && empty_path {
        Ok(Vec::new())
    } else {
        ctx.read_cstring(ptr, super::PATH_MAX)
    };
    let fd = dirfd.map(|d| ctx.arg(d) as i32).unwrap_or(libc::AT_FDCWD);
    if empty_path && fd >= 0 && path.as_ref().is_ok_and(Vec::is_empty) {
        return Ok(Some(StatCall {
            target: Target::Fd(fd),
            buf,
            statx,
        }));
    }
    if ctx.invalid_flags() {
        return Err(Errno::EINVAL);
    }
    let path = path?;
    if path.is_empty() {
        if !empty_path {
            return Err(Errno::ENOENT);
        }
        if fd != libc::AT_FDCWD {
            return Err(Errno::EBADF);
        }
        let named = ctx.named_fd(fd)?;
        return Ok(Some(StatCall {
            target: Target::Path(cstring(named.host.as_os_str().as_bytes())?, true),
            buf,
            statx,
        }));
    }
    let host = ctx.resolve(dirfd, &path, follow)?;
    // -l: a name of an emulated hard link is its final file, even for
    // lstat. (A followed name already led the canonicaliser there.)
    if ctx.env.ext.link2symlink
        && !follow
        && let Some(fin) = crate::ext::link2symlink::resolve(&host)
    {
        return Ok(Some(StatCall {
            target: Target::Path(cstring(fin.as_os_str().as_bytes())?, true),
            buf,
            statx,
        }));
    }
    Ok(Some(StatCall {
        target: Target::Path(cstring(host.as_os_str().as_bytes())?, follow),
        buf,
        statx,
    }))
}

/// The host path and follow flag a call is made on by the tracer.
fn host_target(ctx: &Ctx, t: &Target) -> Result<(CString, bool), Errno> {
    match t {
        Target::Path(p, follow) => Ok((p.clone(), *follow)),
        // The tracer sees the tracee's fd through /proc; stat follows the
        // magic link to the very file (pipes, sockets and O_PATH fds of
        // symlinks included).
        Target::Fd(fd) => Ok((cstring(ctx.fd_path(*fd)?.as_os_str().as_bytes())?, true)),
    }
}

/// Adjust ownership, link count and symlink size as the extensions say.
struct Fixes<'a, 'b> {
    ctx: &'b Ctx<'a>,
    owner: Option<OwnerMap>,
}

impl Fixes<'_, '_> {
    /// The owner to show: a recorded fake `chown` first, then the mapping of
    /// the real user to the fake ids.
    fn owner(&self, host: &CString, dev: u64, ino: u64, uid: u32, gid: u32) -> (u32, u32) {
        if let Some(o) = self.ctx.env.shared.owner((dev, ino)) {
            return o;
        }
        if self.ctx.env.ext.persist_ownership && self.owner.is_some() {
            let path = std::path::Path::new(std::ffi::OsStr::from_bytes(host.as_bytes()));
            if let Some(o) = super::ids::stored_owner(path) {
                return o;
            }
        }
        match self.owner {
            Some(f) => f.map_owner(uid, gid),
            None => (uid, gid),
        }
    }

    /// `-l`: the link count of a final file of an emulated hard link.
    fn nlink(&self, host: &CString) -> Option<u64> {
        if !self.ctx.env.ext.link2symlink {
            return None;
        }
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(host.as_bytes()));
        crate::ext::link2symlink::nlink_of(path)
    }

    /// `-L`: the size of a symlink is its guest target's length. (An fd
    /// of a symlink, `O_PATH|O_NOFOLLOW`, is read through the link's path.)
    fn symlink_size(&self, host: &CString, fd: bool, is_link: bool, size: u64) -> u64 {
        if !self.ctx.env.ext.symlink_sizes || !is_link {
            return size;
        }
        let mut path = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(host.as_bytes()));
        if fd {
            match std::fs::read_link(&path) {
                Ok(p) => path = p,
                Err(_) => return size,
            }
        }
        match self
            .ctx
            .env
            .view
            .readlink_guest(self.ctx.proc, path.as_os_str().as_bytes())
        {
            Ok(t) => t.len() as u64,
            Err(_) => size,
        }
    }
}

/// Emulate a stat-family call if the extensions rewrite stat results.
pub fn stat(ctx: &mut Ctx) -> Result<Option<Outcome>, Errno> {
    let Some(call) = stat_call(ctx)? else {
        return Ok(None);
    };
    let owner = ctx.creds.as_ref().map(|c| OwnerMap {
        real_uid: ctx.env.real_ids.0,
        real_gid: ctx.env.real_ids.1,
        fake_uid: c.suid,
        fake_gid: c.sgid,
    });
    let bytes = {
        let fixes = Fixes { ctx, owner };
        let (host, follow) = host_target(ctx, &call.target)?;
        let fd = matches!(call.target, Target::Fd(_));
        let on_fd = |e: Errno| if fd { fd_errno(e) } else { e };
        let nofollow = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
        match call.statx {
            None => {
                let mut st = crate::host::stat(&host, nofollow).map_err(on_fd)?;
                let (uid, gid) = fixes.owner(&host, st.st_dev, st.st_ino, st.st_uid, st.st_gid);
                if let Some(n) = fixes.nlink(&host) {
                    st.st_nlink = n as _;
                }
                st.st_uid = uid;
                st.st_gid = gid;
                let is_link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
                st.st_size = fixes.symlink_size(&host, fd, is_link, st.st_size as u64) as i64;
                crate::host::as_bytes(&st).to_vec()
            }
            Some((flags, mask)) => {
                let flags = (flags & !libc::AT_EMPTY_PATH & !libc::AT_SYMLINK_NOFOLLOW) | nofollow;
                let mut stx = crate::host::statx(&host, flags, mask).map_err(on_fd)?;
                let dev = libc::makedev(stx.stx_dev_major, stx.stx_dev_minor);
                let (uid, gid) = fixes.owner(&host, dev, stx.stx_ino, stx.stx_uid, stx.stx_gid);
                if let Some(n) = fixes.nlink(&host) {
                    stx.stx_nlink = n as u32;
                }
                stx.stx_uid = uid;
                stx.stx_gid = gid;
                let is_link = u32::from(stx.stx_mode) & libc::S_IFMT == libc::S_IFLNK;
                stx.stx_size = fixes.symlink_size(&host, fd, is_link, stx.stx_size);
                crate::host::as_bytes(&stx).to_vec()
            }
        }
    };
    ctx.to_guest(call.buf, &bytes)?;
    Ok(Some(Outcome::Emulated(0)))
}
