//! Syscall handling for the PRoot extensions: stat results rewritten
//! (fake ids, `-L`), ports moved (`-p`), hidden entries (`-H`).
//!
//! Stats are emulated: the tracer makes the same call on the translated
//! host path (or on `/proc/<pid>/fd/<n>` for a file descriptor), fixes the
//! result and writes it into the guest's buffer, so a stat costs one stop
//! with or without these extensions.

use super::{Ctx, Outcome};
use crate::arch::sys;
use crate::ptrace;
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

/// Work to do at a syscall's exit stop.
#[derive(Debug)]
pub enum ExitHook {
    /// Socket addresses (see [`super::net`]).
    Sockets(super::net::SockExit),
    /// Close the tracer's descriptor of a rewritten `/proc` file.
    CloseFd(i32),
    /// An open of a host path with several guest names: remember the name
    /// used for the descriptor it returns (see `fs::aliases`).
    NameFd {
        tgid: i32,
        guest: Vec<u8>,
        host: Vec<u8>,
    },
    /// An extension's own exit work, of a type its module defines (see
    /// [`ExitHook::extension`]); every extension's exit hook sees it and
    /// takes what is its own ([`ExitHook::of`]).
    Extension(Box<dyn std::any::Any>),
}

impl ExitHook {
    /// Exit work of an extension.
    pub fn extension<T: std::any::Any>(work: T) -> ExitHook {
        ExitHook::Extension(Box::new(work))
    }

    /// The extension exit work of type `T`, if that is what this is.
    pub fn of<T: std::any::Any>(&self) -> Option<&T> {
        match self {
            ExitHook::Extension(w) => w.downcast_ref(),
            _ => None,
        }
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

/// The error the guest's own call on an fd would give, from the error of
/// the tracer's call on [`fd_path`]: the fd is not open if it is missing.
pub fn fd_errno(e: Errno) -> Errno {
    match e {
        Errno::ENOENT => Errno::EBADF,
        e => e,
    }
}

/// Decode a stat-family call; `None` if `nr` is not one.
fn stat_call(ctx: &Ctx) -> Result<Option<StatCall>, Errno> {
    let nr = ctx.sysno();
    let (dirfd, path_arg, flags, buf, statx) = match nr {
        sys::SYS_stat => (None, Some(0), 0, ctx.arg(1), None),
        sys::SYS_lstat => (None, Some(0), libc::AT_SYMLINK_NOFOLLOW, ctx.arg(1), None),
        sys::SYS_fstat => {
            return Ok(Some(StatCall {
                target: Target::Fd(ctx.arg(0) as i32),
                buf: ctx.arg(1),
                statx: None,
            }));
        }
        sys::SYS_newfstatat => (Some(0), Some(1), ctx.arg(3) as i32, ctx.arg(2), None),
        sys::SYS_statx => {
            let flags = ctx.arg(2) as i32;
            (
                Some(0),
                Some(1),
                flags,
                ctx.arg(4),
                Some((flags, ctx.arg(3) as u32)),
            )
        }
        _ => return Ok(None),
    };
    let ptr = path_arg.map(|i| ctx.arg(i)).unwrap_or(0);
    let empty_path = flags & libc::AT_EMPTY_PATH != 0;
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
    if super::flags::invalid(&ctx.regs) {
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
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
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
        if let Some(o) = self.ctx.env.owners.borrow().get(&(dev, ino)) {
            return *o;
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
        match self.ctx.env.view.readlink_guest(self.ctx.proc, &path) {
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
                let mut st = ptrace::host::stat(&host, nofollow).map_err(on_fd)?;
                let (uid, gid) = fixes.owner(&host, st.st_dev, st.st_ino, st.st_uid, st.st_gid);
                if let Some(n) = fixes.nlink(&host) {
                    st.st_nlink = n as _;
                }
                st.st_uid = uid;
                st.st_gid = gid;
                let is_link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
                st.st_size = fixes.symlink_size(&host, fd, is_link, st.st_size as u64) as i64;
                ptrace::host::as_bytes(&st).to_vec()
            }
            Some((flags, mask)) => {
                let flags = (flags & !libc::AT_EMPTY_PATH & !libc::AT_SYMLINK_NOFOLLOW) | nofollow;
                let mut stx = ptrace::host::statx(&host, flags, mask).map_err(on_fd)?;
                let dev = libc::makedev(stx.stx_dev_major, stx.stx_dev_minor);
                let (uid, gid) = fixes.owner(&host, dev, stx.stx_ino, stx.stx_uid, stx.stx_gid);
                if let Some(n) = fixes.nlink(&host) {
                    stx.stx_nlink = n as u32;
                }
                stx.stx_uid = uid;
                stx.stx_gid = gid;
                let is_link = u32::from(stx.stx_mode) & libc::S_IFMT == libc::S_IFLNK;
                stx.stx_size = fixes.symlink_size(&host, fd, is_link, stx.stx_size);
                ptrace::host::as_bytes(&stx).to_vec()
            }
        }
    };
    ctx.to_guest(call.buf, &bytes)?;
    Ok(Some(Outcome::Emulated(0)))
}

/// What to do with one directory entry.
#[derive(Debug, PartialEq, Eq)]
pub enum Dirent {
    Keep,
    Hide,
    /// Show it with this inode number and type.
    As {
        ino: u64,
        d_type: u8,
    },
}

/// `-l`: a symlink entry `name` of host directory `dir` that is a name of
/// an emulated hard link is shown as its final file.
pub fn l2s_entry(dir: &std::path::Path, name: &[u8]) -> Dirent {
    let path = dir.join(std::ffi::OsStr::from_bytes(name));
    let Some(fin) = crate::ext::link2symlink::resolve(&path) else {
        return Dirent::Keep;
    };
    match nix::sys::stat::lstat(&fin) {
        Ok(st) => Dirent::As {
            ino: st.st_ino,
            d_type: crate::fs::dt_of_mode(st.st_mode),
        },
        Err(_) => Dirent::Keep,
    }
}

/// Apply `decide(name, d_type)` to every entry of a `getdents64` result in
/// place (`struct linux_dirent64`: u64 ino, i64 off, u16 reclen, u8 type,
/// name); returns the new length and whether anything changed.
pub fn rewrite_dirents(
    buf: &mut [u8],
    mut decide: impl FnMut(&[u8], u8) -> Dirent,
) -> (usize, bool) {
    let mut read = 0;
    let mut write = 0;
    let mut changed = false;
    while read + 19 <= buf.len() {
        let reclen = u16::from_ne_bytes([buf[read + 16], buf[read + 17]]) as usize;
        if reclen < 19 || read + reclen > buf.len() {
            break;
        }
        let raw = &buf[read + 19..read + reclen];
        let name = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
        match decide(name, buf[read + 18]) {
            Dirent::Hide => {
                changed = true;
                read += reclen;
                continue;
            }
            Dirent::Keep => {}
            Dirent::As { ino, d_type } => {
                buf[read..read + 8].copy_from_slice(&ino.to_ne_bytes());
                buf[read + 18] = d_type;
                changed = true;
            }
        }
        if write != read {
            buf.copy_within(read..read + reclen, write);
        }
        write += reclen;
        read += reclen;
    }
    (write, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirent(name: &str) -> Vec<u8> {
        let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
        let mut v = vec![0u8; reclen];
        v[16..18].copy_from_slice(&(reclen as u16).to_ne_bytes());
        v[19..19 + name.len()].copy_from_slice(name.as_bytes());
        v
    }

    #[test]
    fn hidden_entries_are_dropped_and_others_keep_their_bytes() {
        let mut buf: Vec<u8> = ["a", ".proot-meta", "b", ".l2s.b0001"]
            .iter()
            .flat_map(|n| dirent(n))
            .collect();
        let (n, changed) = rewrite_dirents(&mut buf, |name, _| {
            if name.starts_with(b".proot") || name.starts_with(b".l2s.") {
                Dirent::Hide
            } else {
                Dirent::Keep
            }
        });
        assert!(changed);
        let kept: Vec<u8> = ["a", "b"].iter().flat_map(|n| dirent(n)).collect();
        assert_eq!(&buf[..n], kept.as_slice());
        let (m, changed) = rewrite_dirents(&mut buf[..n], |_, _| Dirent::Keep);
        assert_eq!((m, changed), (n, false));
    }

    #[test]
    fn entries_can_take_another_inode_and_type() {
        let mut buf: Vec<u8> = ["a", "b"].iter().flat_map(|n| dirent(n)).collect();
        let (n, changed) = rewrite_dirents(&mut buf, |name, _| {
            if name == b"b" {
                Dirent::As {
                    ino: 77,
                    d_type: libc::DT_REG,
                }
            } else {
                Dirent::Keep
            }
        });
        assert!(changed);
        assert_eq!(n, buf.len());
        let second = dirent("a").len();
        assert_eq!(
            u64::from_ne_bytes(buf[second..second + 8].try_into().unwrap()),
            77
        );
        assert_eq!(buf[second + 18], libc::DT_REG);
        assert_eq!(u64::from_ne_bytes(buf[0..8].try_into().unwrap()), 0);
    }

    #[test]
    fn l2s_names_show_as_their_final_file_entry() {
        let dir = std::env::temp_dir().join(format!("sproot-dirent-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a"), "x").unwrap();
        crate::ext::link2symlink::link(&dir.join("a"), &dir.join("b"), None).unwrap();
        let fin = crate::ext::link2symlink::resolve(&dir.join("b")).unwrap();
        let ino = nix::sys::stat::stat(&fin).unwrap().st_ino;
        let want = Dirent::As {
            ino,
            d_type: libc::DT_REG,
        };
        assert_eq!(l2s_entry(&dir, b"a"), want);
        assert_eq!(l2s_entry(&dir, b"b"), want);
        std::os::unix::fs::symlink("a", dir.join("plain")).unwrap();
        assert_eq!(l2s_entry(&dir, b"plain"), Dirent::Keep);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
