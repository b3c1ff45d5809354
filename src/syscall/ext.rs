//! Syscall handling for the PRoot extensions: stat results rewritten
//! (fake ids, `-L`), ports moved (`-p`), hidden entries (`-H`).
//!
//! Stats are emulated: the tracer makes the same call on the translated
//! host path (or on `/proc/<pid>/fd/<n>` for a file descriptor), fixes the
//! result and writes it into the guest's buffer, so a stat costs one stop
//! with or without these extensions.

use super::{Env, Outcome, PATH_MAX};
use crate::arch::{Regs, sys};
use crate::fs::ProcContext;
use crate::ptrace;
use nix::errno::Errno;
use nix::unistd::Pid;
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
#[derive(Clone, Copy, Debug)]
pub enum ExitHook {
    /// `-H`: filter the entries `getdents64` wrote at `buf`.
    HideProot { buf: u64 },
    /// Fake root: `EPERM` becomes success.
    EpermIsSuccess,
    /// Fake root: put back the mode lifted for an `open` (the tracer's
    /// restore table, slot number).
    RestoreMode { slot: u64 },
}

/// Run an exit hook; returns whether the registers changed.
pub fn exit(hook: ExitHook, pid: Pid, regs: &mut Regs) -> bool {
    match hook {
        ExitHook::HideProot { buf } => {
            let n = regs.ret();
            if n <= 0 {
                return false;
            }
            let mut data = vec![0u8; n as usize];
            if ptrace::read_into(pid, buf, &mut data).is_err() {
                return false;
            }
            let kept = hide_proot_entries(&mut data);
            if kept == data.len() || ptrace::write(pid, buf, &data[..kept]).is_err() {
                return false;
            }
            regs.set_ret(kept as i64);
            true
        }
        ExitHook::EpermIsSuccess => {
            if regs.ret() == -(Errno::EPERM as i64) {
                regs.set_ret(0);
                true
            } else {
                false
            }
        }
        // Done by the tracer, which owns the restore table.
        ExitHook::RestoreMode { .. } => false,
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
fn stat_call(
    env: &Env,
    proc: &dyn ProcContext,
    pid: Pid,
    regs: &Regs,
) -> Option<Result<StatCall, Errno>> {
    let nr = regs.sysno();
    let (dirfd, path_arg, flags, buf, statx) = match nr {
        sys::SYS_stat => (None, Some(0), 0, regs.arg(1), None),
        sys::SYS_lstat => (None, Some(0), libc::AT_SYMLINK_NOFOLLOW, regs.arg(1), None),
        sys::SYS_fstat => {
            return Some(Ok(StatCall {
                target: Target::Fd(regs.arg(0) as i32),
                buf: regs.arg(1),
                statx: None,
            }));
        }
        sys::SYS_newfstatat => (Some(0), Some(1), regs.arg(3) as i32, regs.arg(2), None),
        sys::SYS_statx => {
            let flags = regs.arg(2) as i32;
            (
                Some(0),
                Some(1),
                flags,
                regs.arg(4),
                Some((flags, regs.arg(3) as u32)),
            )
        }
        _ => return None,
    };
    Some((|| {
        let ptr = path_arg.map(|i| regs.arg(i)).unwrap_or(0);
        let path = if ptr == 0 {
            Vec::new()
        } else {
            ptrace::read_cstring(pid, ptr, PATH_MAX)?
        };
        if path.is_empty() {
            if flags & libc::AT_EMPTY_PATH != 0
                && let Some(d) = dirfd
            {
                let fd = regs.arg(d) as i32;
                if fd == libc::AT_FDCWD {
                    let cwd = env.view.dir_of(pid.as_raw(), None)?;
                    let host = env.view.to_host(&cwd);
                    return Ok(StatCall {
                        target: Target::Path(cstring(host.as_os_str().as_bytes())?, true),
                        buf,
                        statx,
                    });
                }
                return Ok(StatCall {
                    target: Target::Fd(fd),
                    buf,
                    statx,
                });
            }
            return Err(if ptr == 0 {
                Errno::EFAULT
            } else {
                Errno::ENOENT
            });
        }
        let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
        let host = super::resolve(env, proc, pid, regs, dirfd, &path, follow)?;
        // -l: a name of an emulated hard link is its final file, even for
        // lstat. (A followed name already led the canonicaliser there.)
        if env.ext.link2symlink
            && !follow
            && let Some(fin) = crate::ext::link2symlink::resolve(&host)
        {
            return Ok(StatCall {
                target: Target::Path(cstring(fin.as_os_str().as_bytes())?, true),
                buf,
                statx,
            });
        }
        Ok(StatCall {
            target: Target::Path(cstring(host.as_os_str().as_bytes())?, follow),
            buf,
            statx,
        })
    })())
}

/// The host path and follow flag a call is made on by the tracer.
fn host_target(pid: Pid, t: &Target) -> Result<(CString, bool), Errno> {
    match t {
        Target::Path(p, follow) => Ok((p.clone(), *follow)),
        // The tracer sees the tracee's fd through /proc; stat follows the
        // magic link to the very file (pipes and sockets included).
        Target::Fd(fd) => {
            if *fd < 0 {
                return Err(Errno::EBADF);
            }
            Ok((
                cstring(format!("/proc/{}/fd/{fd}", pid.as_raw()).as_bytes())?,
                true,
            ))
        }
    }
}

/// Adjust ownership, link count and symlink size as the extensions say.
struct Fixes<'a> {
    env: &'a Env<'a>,
    proc: &'a dyn ProcContext,
    owner: Option<OwnerMap>,
}

impl Fixes<'_> {
    /// The owner to show: a recorded fake `chown` first, then the mapping of
    /// the real user to the fake ids.
    fn owner(&self, host: &CString, dev: u64, ino: u64, uid: u32, gid: u32) -> (u32, u32) {
        if let Some(o) = self.env.owners.borrow().get(&(dev, ino)) {
            return *o;
        }
        if self.env.ext.persist_ownership && self.owner.is_some() {
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
        if !self.env.ext.link2symlink {
            return None;
        }
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(host.as_bytes()));
        crate::ext::link2symlink::nlink_of(path)
    }

    /// `-L`: the size of a symlink is its guest target's length.
    fn symlink_size(&self, host: &CString, is_link: bool, size: u64) -> u64 {
        if !self.env.ext.symlink_sizes || !is_link {
            return size;
        }
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(host.as_bytes()));
        match self.env.view.readlink_guest(self.proc, path) {
            Ok(t) => t.len() as u64,
            Err(_) => size,
        }
    }
}

/// Emulate a stat-family call if the extensions rewrite stat results.
pub fn stat(
    env: &Env,
    proc: &dyn ProcContext,
    pid: Pid,
    regs: &Regs,
    owner: Option<OwnerMap>,
) -> Option<Outcome> {
    let call = match stat_call(env, proc, pid, regs)? {
        Ok(c) => c,
        Err(e) => return Some(Outcome::Emulated(-(e as i64))),
    };
    let fixes = Fixes { env, proc, owner };
    let r = (|| -> Result<i64, Errno> {
        let (host, follow) = host_target(pid, &call.target)?;
        let nofollow = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
        match call.statx {
            None => {
                let mut st = ptrace::host::stat(&host, nofollow)?;
                let (uid, gid) = fixes.owner(&host, st.st_dev, st.st_ino, st.st_uid, st.st_gid);
                if let Some(n) = fixes.nlink(&host) {
                    st.st_nlink = n as _;
                }
                st.st_uid = uid;
                st.st_gid = gid;
                let is_link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
                st.st_size = fixes.symlink_size(&host, is_link, st.st_size as u64) as i64;
                ptrace::write(pid, call.buf, ptrace::host::as_bytes(&st))?;
            }
            Some((flags, mask)) => {
                let flags = (flags & !libc::AT_EMPTY_PATH & !libc::AT_SYMLINK_NOFOLLOW) | nofollow;
                let mut stx = ptrace::host::statx(&host, flags, mask)?;
                let dev = libc::makedev(stx.stx_dev_major, stx.stx_dev_minor);
                let (uid, gid) = fixes.owner(&host, dev, stx.stx_ino, stx.stx_uid, stx.stx_gid);
                if let Some(n) = fixes.nlink(&host) {
                    stx.stx_nlink = n as u32;
                }
                stx.stx_uid = uid;
                stx.stx_gid = gid;
                let is_link = u32::from(stx.stx_mode) & libc::S_IFMT == libc::S_IFLNK;
                stx.stx_size = fixes.symlink_size(&host, is_link, stx.stx_size);
                ptrace::write(pid, call.buf, ptrace::host::as_bytes(&stx))?;
            }
        }
        Ok(0)
    })();
    Some(Outcome::Emulated(match r {
        Ok(v) => v,
        Err(e) => -(e as i64),
    }))
}

/// `-p`: an `AF_INET`/`AF_INET6` address with a port below 1024, moved up by
/// 2000. `addr` holds the bytes of the guest's sockaddr.
pub fn switch_port(addr: &mut [u8]) -> bool {
    if addr.len() < 4 {
        return false;
    }
    let family = u16::from_ne_bytes([addr[0], addr[1]]);
    if family != libc::AF_INET as u16 && family != libc::AF_INET6 as u16 {
        return false;
    }
    let port = u16::from_be_bytes([addr[2], addr[3]]);
    if port == 0 || port >= 1024 {
        return false;
    }
    addr[2..4].copy_from_slice(&(port + 2000).to_be_bytes());
    true
}

/// `-H`: drop `.proot*` entries from a `getdents64` result in place; returns
/// the new length.
pub fn hide_proot_entries(buf: &mut [u8]) -> usize {
    let mut read = 0;
    let mut write = 0;
    while read + 19 <= buf.len() {
        let reclen = u16::from_ne_bytes([buf[read + 16], buf[read + 17]]) as usize;
        if reclen < 19 || read + reclen > buf.len() {
            break;
        }
        let name = &buf[read + 19..read + reclen];
        let hidden = name.starts_with(b".proot");
        if !hidden {
            if write != read {
                buf.copy_within(read..read + reclen, write);
            }
            write += reclen;
        }
        read += reclen;
    }
    write
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_ports_move_up_by_2000_and_others_stay() {
        let mut a = [2u8, 0, 0, 80, 127, 0, 0, 1];
        assert!(switch_port(&mut a));
        assert_eq!(u16::from_be_bytes([a[2], a[3]]), 2080);
        let mut b = [2u8, 0, 0x1f, 0x90, 127, 0, 0, 1];
        assert!(!switch_port(&mut b), "8080 stays");
        let mut unix = [1u8, 0, b'/', b'x'];
        assert!(!switch_port(&mut unix));
    }

    fn dirent(name: &str) -> Vec<u8> {
        let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
        let mut v = vec![0u8; reclen];
        v[16..18].copy_from_slice(&(reclen as u16).to_ne_bytes());
        v[19..19 + name.len()].copy_from_slice(name.as_bytes());
        v
    }

    #[test]
    fn proot_entries_are_hidden_from_listings() {
        let mut buf: Vec<u8> = ["a", ".proot-meta", "b", ".prootx"]
            .iter()
            .flat_map(|n| dirent(n))
            .collect();
        let n = hide_proot_entries(&mut buf);
        let kept: Vec<u8> = ["a", "b"].iter().flat_map(|n| dirent(n)).collect();
        assert_eq!(&buf[..n], kept.as_slice());
    }
}
