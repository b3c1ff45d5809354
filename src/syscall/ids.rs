//! Fake ids (`-0`, `-i`) and the fake `uname` (`-k`) at syscall entry.
//!
//! The credential calls are emulated against the tracee's [`Creds`]; calls
//! that need root succeed while the fake euid is 0: `chown` is recorded
//! (and shown by later stats) instead of run, `EPERM` from `chmod`, `mknod`,
//! `capset`, `sethostname` becomes success, `trusted.*`/`security.*`
//! extended attributes are kept by sproot (see [`super::xattr`]), and
//! permission bits that would stop root are lifted for the duration of an
//! `open`. Every error root would get is the kernel's own: the emulations
//! check flags as the kernel does ([`super::flags`]) and take path and fd
//! errors from the host kernel's lookup of the same file.

use super::ext::{ExitHook, fd_errno, fd_path, to_guest};
use super::{Env, Outcome};
use crate::arch::{Regs, sys};
use crate::ext::fake_id::Creds;
use crate::fs::ProcContext;
use crate::ptrace;
use nix::errno::Errno;
use nix::unistd::Pid;
use std::collections::HashMap;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// Owners set by `chown` while fake root, by (device, inode).
pub type Owners = HashMap<(u64, u64), (u32, u32)>;

/// The extended attribute `--persist-ownership` keeps owners in.
pub const OWNER_XATTR: &str = "user.sproot.owner";

/// The owner stored in a file's `user.sproot.owner`, if any.
pub fn stored_owner(host: &std::path::Path) -> Option<(u32, u32)> {
    let v = crate::ptrace::host::getxattr(host, OWNER_XATTR)?;
    let s = std::str::from_utf8(&v).ok()?;
    let (u, g) = s.trim().split_once(':')?;
    Some((u.parse().ok()?, g.parse().ok()?))
}

fn emulated(r: Result<i64, Errno>) -> Outcome {
    Outcome::Emulated(match r {
        Ok(v) => v,
        Err(e) => -(e as i64),
    })
}

fn write_u32s(pid: Pid, addr: u64, v: &[u32]) -> Result<(), Errno> {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
    to_guest(pid, addr, &bytes)
}

/// What a path argument names, as the tracer reaches it: a host path, or
/// (`AT_EMPTY_PATH` with an empty path) the fd itself through /proc.
struct Named {
    host: PathBuf,
    /// Errors on `host` are about an fd (`ENOENT` there means `EBADF`).
    fd: bool,
}

impl Named {
    fn err(&self, e: Errno) -> Errno {
        if self.fd { fd_errno(e) } else { e }
    }
}

/// A path argument resolved to what it names. An empty path names the
/// directory fd itself when `empty_ok` (`AT_EMPTY_PATH`), else `ENOENT`.
#[allow(clippy::too_many_arguments)]
fn host_of(
    env: &Env,
    proc: &dyn ProcContext,
    pid: Pid,
    regs: &Regs,
    dirfd: Option<usize>,
    path: usize,
    follow: bool,
    empty_ok: bool,
) -> Result<Named, Errno> {
    let guest = ptrace::read_cstring(pid, regs.arg(path), super::PATH_MAX)?;
    if guest.is_empty() {
        if !empty_ok {
            return Err(Errno::ENOENT);
        }
        let fd = dirfd.map(|i| regs.arg(i) as i32).unwrap_or(libc::AT_FDCWD);
        return named_fd(env, pid, fd);
    }
    let mut host = super::resolve(env, proc, pid, regs, dirfd, &guest, follow)?;
    if env.ext.link2symlink
        && !follow
        && let Some(fin) = crate::ext::link2symlink::resolve(&host)
    {
        host = fin;
    }
    Ok(Named { host, fd: false })
}

/// The file fd `fd` (or the cwd, for `AT_FDCWD`) of `pid` refers to.
fn named_fd(env: &Env, pid: Pid, fd: i32) -> Result<Named, Errno> {
    if fd == libc::AT_FDCWD {
        let cwd = env.view.dir_of(pid.as_raw(), None)?;
        return Ok(Named {
            host: env.view.to_host(&cwd),
            fd: false,
        });
    }
    let p = fd_path(pid, fd)?;
    Ok(Named {
        host: PathBuf::from(std::ffi::OsString::from_vec(p.into_bytes())),
        fd: true,
    })
}

/// Record a fake `chown`; `-1` keeps the current (fake) owner.
fn chown(
    env: &Env,
    named: &Named,
    follow: bool,
    (uid, gid): (u32, u32),
    shown: &dyn Fn(u32, u32) -> (u32, u32),
) -> Result<i64, Errno> {
    let host = named.host.as_path();
    let st = if follow {
        nix::sys::stat::stat(host)
    } else {
        nix::sys::stat::lstat(host)
    }
    .map_err(|e| named.err(e))?;
    let key = (st.st_dev, st.st_ino);
    let mut owners = env.owners.borrow_mut();
    let (cur_uid, cur_gid) = owners
        .get(&key)
        .copied()
        .unwrap_or_else(|| shown(st.st_uid, st.st_gid));
    let uid = if uid == u32::MAX { cur_uid } else { uid };
    let gid = if gid == u32::MAX { cur_gid } else { gid };
    owners.insert(key, (uid, gid));
    if env.ext.persist_ownership {
        let value = format!("{uid}:{gid}");
        // Symlinks cannot carry user xattrs: their owner lasts the run.
        if let Err(e) = crate::ptrace::host::setxattr(host, OWNER_XATTR, value.as_bytes(), follow)
            && e != Errno::EPERM
        {
            log::warn!("--persist-ownership: {}: {e}", host.display());
        }
    }
    Ok(0)
}

/// Handle a call of the fake-id or uname family; `None` if `regs` holds
/// another syscall.
pub fn enter(
    env: &Env,
    proc: &dyn ProcContext,
    pid: Pid,
    regs: &mut Regs,
    creds: Option<&mut Creds>,
) -> Option<Outcome> {
    let nr = regs.sysno();
    if nr == sys::SYS_uname {
        let names = env.uname.borrow();
        if *names == crate::ext::kernel_release::Uname::default() {
            return None;
        }
        return Some(emulated((|| {
            let mut buf = ptrace::host::uname_bytes()?;
            names.apply(&mut buf);
            to_guest(pid, regs.arg(0), &buf)?;
            Ok(0)
        })()));
    }
    let creds = creds?;
    let a = |i: usize| regs.arg(i) as u32;
    let out = match nr {
        sys::SYS_getuid => Ok(creds.ruid as i64),
        sys::SYS_geteuid => Ok(creds.euid as i64),
        sys::SYS_getgid => Ok(creds.rgid as i64),
        sys::SYS_getegid => Ok(creds.egid as i64),
        sys::SYS_getresuid => (|| {
            write_u32s(pid, regs.arg(0), &[creds.ruid])?;
            write_u32s(pid, regs.arg(1), &[creds.euid])?;
            write_u32s(pid, regs.arg(2), &[creds.suid])?;
            Ok(0)
        })(),
        sys::SYS_getresgid => (|| {
            write_u32s(pid, regs.arg(0), &[creds.rgid])?;
            write_u32s(pid, regs.arg(1), &[creds.egid])?;
            write_u32s(pid, regs.arg(2), &[creds.sgid])?;
            Ok(0)
        })(),
        sys::SYS_getgroups => (|| {
            let size = regs.arg(0) as i32;
            if size < 0 {
                return Err(Errno::EINVAL);
            }
            let groups = creds.getgroups(size as usize)?;
            if size > 0 {
                write_u32s(pid, regs.arg(1), groups)?;
            }
            Ok(groups.len() as i64)
        })(),
        sys::SYS_setuid => creds.setuid(a(0)),
        sys::SYS_setgid => creds.setgid(a(0)),
        sys::SYS_setreuid => creds.setreuid(a(0), a(1)),
        sys::SYS_setregid => creds.setregid(a(0), a(1)),
        sys::SYS_setresuid => creds.setresuid(a(0), a(1), a(2)),
        sys::SYS_setresgid => creds.setresgid(a(0), a(1), a(2)),
        sys::SYS_setfsuid => creds.setfsuid(a(0)),
        sys::SYS_setfsgid => creds.setfsgid(a(0)),
        sys::SYS_setgroups => (|| {
            let n = regs.arg(0) as i32;
            if !creds.may_setgroups() {
                return Err(Errno::EPERM);
            }
            if n < 0 || n as usize > crate::ext::fake_id::NGROUPS_MAX {
                return Err(Errno::EINVAL);
            }
            let mut bytes = vec![0u8; n as usize * 4];
            ptrace::read_into(pid, regs.arg(1), &mut bytes)?;
            let groups: Vec<u32> = bytes
                .chunks_exact(4)
                .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            creds.setgroups(&groups)
        })(),
        // Ownership changes while root: recorded, shown by later stats.
        sys::SYS_chown | sys::SYS_lchown | sys::SYS_fchownat | sys::SYS_fchown
            if creds.is_root() =>
        {
            (|| {
                let (host, follow, uid, gid) = match nr {
                    sys::SYS_chown => (
                        host_of(env, proc, pid, regs, None, 0, true, false)?,
                        true,
                        a(1),
                        a(2),
                    ),
                    sys::SYS_lchown => (
                        host_of(env, proc, pid, regs, None, 0, false, false)?,
                        false,
                        a(1),
                        a(2),
                    ),
                    sys::SYS_fchown => {
                        // fchown needs an fd opened for I/O: not O_PATH.
                        let fd = regs.arg(0) as i32;
                        if fd < 0 || super::xattr::fd_is_o_path(pid, fd)? {
                            return Err(Errno::EBADF);
                        }
                        (named_fd(env, pid, fd)?, true, a(1), a(2))
                    }
                    _ => {
                        let flags = regs.arg(4) as i32;
                        if super::flags::invalid(regs) {
                            return Err(Errno::EINVAL);
                        }
                        let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
                        let empty = flags & libc::AT_EMPTY_PATH != 0;
                        (
                            host_of(env, proc, pid, regs, Some(0), 1, follow, empty)?,
                            follow,
                            a(2),
                            a(3),
                        )
                    }
                };
                let real = env.real_ids;
                let shown = |u, g| creds.stat_owner(real.0, real.1, u, g);
                chown(env, &host, follow, (uid, gid), &shown)
            })()
        }
        // Root may read and write what the real user owns regardless of
        // its mode bits: access checks pass for existing files.
        sys::SYS_access | sys::SYS_faccessat | sys::SYS_faccessat2 if creds.is_fs_root() => {
            (|| {
                let (mode, flags) = match nr {
                    sys::SYS_access => (a(1), 0),
                    sys::SYS_faccessat => (a(2), 0),
                    _ => (a(2), regs.arg(3) as i32),
                };
                if super::flags::invalid(regs) {
                    return Err(Errno::EINVAL);
                }
                let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
                let empty = flags & libc::AT_EMPTY_PATH != 0;
                let host = match nr {
                    sys::SYS_access => host_of(env, proc, pid, regs, None, 0, true, false)?,
                    _ => host_of(env, proc, pid, regs, Some(0), 1, follow, empty)?,
                };
                let st = if follow {
                    nix::sys::stat::stat(&host.host)
                } else {
                    nix::sys::stat::lstat(&host.host)
                }
                .map_err(|e| host.err(e))?;
                let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
                if mode & libc::X_OK as u32 != 0 && !is_dir && st.st_mode & 0o111 == 0 {
                    return Err(Errno::EACCES);
                }
                Ok(0)
            })()
        }
        // EPERM becomes success for root-only operations.
        sys::SYS_chmod
        | sys::SYS_fchmod
        | sys::SYS_fchmodat
        | sys::SYS_fchmodat2
        | sys::SYS_mknod
        | sys::SYS_mknodat
        | sys::SYS_capset
            if creds.is_root() =>
        {
            return Some(eperm_is_success(env, proc, pid, regs));
        }
        // The names are the run's own (no UTS namespace is changed): later
        // `uname` calls of every guest report them.
        sys::SYS_sethostname | sys::SYS_setdomainname if creds.is_root() => (|| {
            let len = regs.arg(1) as i64;
            if !(0..=64).contains(&len) {
                return Err(Errno::EINVAL);
            }
            let mut name = vec![0u8; len as usize];
            ptrace::read_into(pid, regs.arg(0), &mut name).map_err(|_| Errno::EFAULT)?;
            let mut names = env.uname.borrow_mut();
            if nr == sys::SYS_sethostname {
                names.set_nodename(&name)?;
            } else {
                names.set_domainname(&name)?;
            }
            Ok(0)
        })(),
        sys::SYS_setxattr
        | sys::SYS_lsetxattr
        | sys::SYS_fsetxattr
        | sys::SYS_getxattr
        | sys::SYS_lgetxattr
        | sys::SYS_fgetxattr
        | sys::SYS_listxattr
        | sys::SYS_llistxattr
        | sys::SYS_flistxattr
        | sys::SYS_removexattr
        | sys::SYS_lremovexattr
        | sys::SYS_fremovexattr
            if creds.is_root() =>
        {
            return super::xattr::enter(env, proc, pid, regs);
        }
        sys::SYS_open | sys::SYS_openat if creds.is_fs_root() => {
            return open_as_root(env, proc, pid, regs);
        }
        _ => return None,
    };
    Some(emulated(out))
}

/// Translate paths as usual, and turn `EPERM` into success at the exit.
fn eperm_is_success(env: &Env, proc: &dyn ProcContext, pid: Pid, regs: &mut Regs) -> Outcome {
    let rewritten = match super::table::classify(regs.sysno()) {
        Some(super::table::Kind::Paths(args)) => {
            match super::translate_paths(env, proc, pid, regs, args) {
                Ok(Outcome::Rewritten) => true,
                Ok(_) => false,
                Err(e) => return Outcome::Emulated(-(e as i64)),
            }
        }
        _ => false,
    };
    Outcome::WithExit {
        rewritten,
        hook: ExitHook::EpermIsSuccess,
    }
}

/// `open` while root: if the real user owns the file but its mode bits
/// forbid the access, add the owner bits for the duration of the call.
fn open_as_root(env: &Env, proc: &dyn ProcContext, pid: Pid, regs: &mut Regs) -> Option<Outcome> {
    let (dirfd, path, flags) = if regs.sysno() == sys::SYS_open {
        (None, 0, regs.arg(1))
    } else {
        (Some(0), 1, regs.arg(2))
    };
    let follow = flags & libc::O_NOFOLLOW as u64 == 0;
    let host = host_of(env, proc, pid, regs, dirfd, path, follow, false)
        .ok()?
        .host;
    let st = nix::sys::stat::stat(&host).ok()?;
    if st.st_uid != nix::unistd::getuid().as_raw() {
        return None;
    }
    let acc = flags & libc::O_ACCMODE as u64;
    let mut need = 0;
    if acc == libc::O_RDONLY as u64 || acc == libc::O_RDWR as u64 {
        need |= 0o400;
    }
    if acc == libc::O_WRONLY as u64 || acc == libc::O_RDWR as u64 {
        need |= 0o200;
    }
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        need |= 0o100;
    }
    let mode = st.st_mode & 0o7777;
    if mode & need == need {
        return None;
    }
    let lifted = nix::sys::stat::Mode::from_bits_truncate(mode | need);
    if nix::sys::stat::fchmodat(
        None,
        &host,
        lifted,
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .is_err()
    {
        return None;
    }
    // Translate as usual; the mode is put back at the exit.
    let rewritten = match super::table::classify(regs.sysno()) {
        Some(super::table::Kind::Paths(args)) => {
            matches!(
                super::translate_paths(env, proc, pid, regs, args),
                Ok(Outcome::Rewritten)
            )
        }
        _ => false,
    };
    let slot = env
        .restore
        .borrow_mut()
        .insert(pid.as_raw(), vec![(host, mode)]);
    Some(Outcome::WithExit {
        rewritten,
        hook: ExitHook::RestoreMode { slot },
    })
}

/// Modes lifted for fake root, to put back when the call is over, by the
/// thread that made the call (a thread has one call in flight).
#[derive(Default)]
pub struct Restores {
    pending: HashMap<i32, Vec<(PathBuf, u32)>>,
}

impl Restores {
    /// Remember `lifted` (path, original mode) for thread `tid`; returns
    /// the slot to name in [`ExitHook::RestoreMode`].
    pub fn insert(&mut self, tid: i32, lifted: Vec<(PathBuf, u32)>) -> u64 {
        self.pending.entry(tid).or_default().extend(lifted);
        tid as u64
    }

    /// Put back the modes lifted for `slot`'s call, deepest first.
    pub fn restore(&mut self, slot: u64) {
        if let Some(lifted) = self.pending.remove(&(slot as i32)) {
            put_back(lifted);
        }
    }
}

fn put_back(lifted: Vec<(PathBuf, u32)>) {
    for (path, mode) in lifted.into_iter().rev() {
        let mode = nix::sys::stat::Mode::from_bits_truncate(mode);
        let _ = nix::sys::stat::fchmodat(
            None,
            &path,
            mode,
            nix::sys::stat::FchmodatFlags::NoFollowSymlink,
        );
    }
}

/// Add the owner bits `need` to `dir` for one call if the real user owns it
/// and they are missing; `lifted` records what to put back. `false` when
/// `dir` cannot be looked at (its parent is not searchable, or it is gone).
fn lift(dir: &Path, need: u32, lifted: &mut Vec<(PathBuf, u32)>) -> bool {
    let Ok(st) = nix::sys::stat::lstat(dir) else {
        return false;
    };
    let mode = st.st_mode & 0o7777;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR
        || st.st_uid != nix::unistd::getuid().as_raw()
        || mode & need == need
    {
        return true;
    }
    let to = nix::sys::stat::Mode::from_bits_truncate(mode | need);
    if nix::sys::stat::fchmodat(
        None,
        dir,
        to,
        nix::sys::stat::FchmodatFlags::NoFollowSymlink,
    )
    .is_ok()
    {
        lifted.push((dir.to_path_buf(), mode));
    }
    true
}

/// The host paths of a call's path arguments, taken lexically (as the
/// kernel would walk them, symlinks aside).
fn lexical_hosts(env: &Env, pid: Pid, regs: &Regs) -> Vec<PathBuf> {
    let Some(super::table::Kind::Paths(args)) = super::table::classify(regs.sysno()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for a in args {
        let Ok(guest) = ptrace::read_cstring(pid, regs.arg(a.path), super::PATH_MAX) else {
            continue;
        };
        if guest.is_empty() {
            continue;
        }
        let mut full = if guest[0] == b'/' {
            Vec::new()
        } else {
            match super::base_dir(env, pid, regs, a.dirfd) {
                Ok(b) => b,
                Err(_) => continue,
            }
        };
        full.push(b'/');
        full.extend_from_slice(&guest);
        out.push(env.view.to_host(&crate::fs::normalize_lexical(&full)));
    }
    out
}

/// Root is not stopped by modes: before a call that adds or removes a name,
/// the parent directories the real user owns get their owner's write and
/// search bits for the duration of the call.
pub fn lift_parents(env: &Env, pid: Pid, regs: &Regs) -> Vec<(PathBuf, u32)> {
    let nr = regs.sysno();
    let creates = super::namespace::op_of(nr, regs.arg(2)).is_some()
        || nr == sys::SYS_creat
        || (nr == sys::SYS_open && regs.arg(1) & libc::O_CREAT as u64 != 0)
        || (nr == sys::SYS_openat && regs.arg(2) & libc::O_CREAT as u64 != 0);
    let mut lifted = Vec::new();
    if creates {
        for host in lexical_hosts(env, pid, regs) {
            if let Some(parent) = host.parent() {
                lift(parent, 0o300, &mut lifted);
            }
        }
    }
    lifted
}

/// After a call failed with `EACCES`: every directory the real user owns on
/// the way to the call's paths gets its owner's search bit (from the top
/// down, so that each can be looked at), for the duration of the call.
pub fn lift_search(env: &Env, pid: Pid, regs: &Regs) -> Vec<(PathBuf, u32)> {
    let mut lifted = Vec::new();
    for host in lexical_hosts(env, pid, regs) {
        let Some(parent) = host.parent() else {
            continue;
        };
        let dirs: Vec<&Path> = parent.ancestors().collect();
        for dir in dirs.into_iter().rev() {
            if !lift(dir, 0o100, &mut lifted) {
                break;
            }
        }
    }
    lifted
}

/// Put lifted modes back now (the call was emulated by the tracer).
pub fn restore_now(lifted: Vec<(PathBuf, u32)>) {
    put_back(lifted);
}
