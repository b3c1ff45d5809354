//! Syscall handlers: what happens at a trapped syscall's entry.
//!
//! The table in [`table`] says what each syscall needs; [`enter`] reads the
//! tracee's arguments, translates guest paths to host paths (writing new
//! strings below the stack pointer), or emulates the syscall entirely.

pub mod ext;
pub mod ids;
pub mod l2s;
pub mod table;

use crate::arch::{Regs, sys};
use crate::exec::{ExecPlan, ExecResolver, plan_exec};
use crate::fs::{GuestView, ProcContext};
use crate::ptrace::{self, Scratch};
use nix::errno::Errno;
use nix::unistd::Pid;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use table::{Follow, Kind, PathArg};

const PATH_MAX: usize = 4096;
const AT_FDCWD: i32 = libc::AT_FDCWD;

/// What the tracer must do after a handler ran at a syscall's entry.
pub enum Outcome {
    /// Nothing changed: let the kernel run the syscall as is.
    Pass,
    /// Registers were changed: write them back, then run the syscall.
    Rewritten,
    /// Do not run the syscall: it returns this value (negative errno).
    Emulated(i64),
    /// An exec was rewritten to start the loader; the plan is kept until
    /// the exec event (or the exit stop, if the exec fails).
    Exec(Box<ExecPlan>),
    /// Run the syscall (registers rewritten if `rewritten`) and call
    /// [`ext::exit`] with this hook at its exit stop.
    WithExit {
        rewritten: bool,
        hook: ext::ExitHook,
    },
}

impl Outcome {
    fn err(e: Errno) -> Outcome {
        Outcome::Emulated(-(e as i64))
    }
}

/// What handlers need from the tracer.
pub struct Env<'a> {
    pub view: &'a GuestView,
    /// Host path of the extracted exec loader.
    pub loader: &'a Path,
    /// The PRoot extensions in use.
    pub ext: &'a crate::config::Ext,
    /// Fake `chown`s recorded while fake root.
    pub owners: &'a std::cell::RefCell<ids::Owners>,
    /// Modes lifted for an `open` by fake root, to put back at its exit.
    pub restore: &'a std::cell::RefCell<ids::Restores>,
    /// `-k`: the fake `uname`.
    pub kernel_release: Option<&'a crate::ext::kernel_release::KernelRelease>,
    /// The real ids of the user running sproot.
    pub real_ids: (u32, u32),
    /// `-l`: where intermediates and final files go (`PROOT_L2S_DIR`).
    pub l2s_dir: Option<&'a Path>,
}

/// Handle the entry of a trapped syscall of tracee `pid`.
pub fn enter(
    env: &Env,
    proc: &dyn ProcContext,
    pid: Pid,
    regs: &mut Regs,
    creds: Option<&mut crate::ext::fake_id::Creds>,
) -> Outcome {
    let nr = regs.sysno();
    if changes_namespace(nr) {
        // Cached directories and resolutions may stop being true.
        env.view.invalidate_cache();
    }
    let owner = creds.as_ref().map(|c| ext::OwnerMap {
        real_uid: env.real_ids.0,
        real_gid: env.real_ids.1,
        fake_uid: c.suid,
        fake_gid: c.sgid,
    });
    if (creds.is_some() || env.kernel_release.is_some())
        && let Some(o) = ids::enter(env, proc, pid, regs, creds)
    {
        return o;
    }
    if env.ext.link2symlink
        && let Some(o) = l2s::enter(env, proc, pid, regs)
    {
        return o;
    }
    if env.ext.rewrites_stat()
        && let Some(o) = ext::stat(env, proc, pid, regs, owner)
    {
        return o;
    }
    if nr == sys::SYS_getdents64 && env.ext.hide_proot {
        return Outcome::WithExit {
            rewritten: false,
            hook: ext::ExitHook::HideProot { buf: regs.arg(1) },
        };
    }
    let kind = match table::classify(nr) {
        Some(k) => k,
        // Not a syscall that needs the tracer (seen only without seccomp).
        None if (0..=crate::seccomp::LAST_KNOWN_SYSNO as i64).contains(&nr) => {
            return Outcome::Pass;
        }
        // Trapped by the filter for unknown numbers (a newer kernel's
        // syscalls, x32): refuse rather than run it on host paths.
        None => return Outcome::err(Errno::ENOSYS),
    };
    let result = match kind {
        Kind::Paths(args) => translate_paths(env, proc, pid, regs, args),
        Kind::Getcwd => getcwd(env, pid, regs),
        Kind::Readlink {
            dirfd,
            path,
            buf,
            size,
        } => readlink(env, proc, pid, regs, dirfd, path, buf, size),
        Kind::Exec { at } => exec(env, proc, pid, regs, at),
        Kind::SockAddr { addr, len, bind } => sockaddr(env, proc, pid, regs, addr, len, bind),
        Kind::SendMsg => sendmsg(env, proc, pid, regs),
        Kind::Chroot => chroot(env, proc, pid, regs),
        Kind::Openat2 => openat2(env, proc, pid, regs),
        Kind::Prctl => Ok(
            if regs.arg(0) == libc::PR_SET_DUMPABLE as u64 && regs.arg(1) == 0 {
                Outcome::Emulated(0)
            } else {
                Outcome::Pass
            },
        ),
        Kind::Refuse(e) => Err(e),
    };
    match result {
        Ok(o) => o,
        Err(e) => Outcome::err(e),
    }
}

/// Syscalls after which a cached directory may be gone or be something else.
fn changes_namespace(nr: i64) -> bool {
    matches!(
        nr,
        sys::SYS_rename
            | sys::SYS_renameat
            | sys::SYS_renameat2
            | sys::SYS_unlink
            | sys::SYS_unlinkat
            | sys::SYS_rmdir
            | sys::SYS_symlink
            | sys::SYS_symlinkat
            | sys::SYS_link
            | sys::SYS_linkat
            | sys::SYS_mount
            | sys::SYS_umount2
            | sys::SYS_chroot
    )
}

/// The guest directory a relative path starts from.
fn base_dir(env: &Env, pid: Pid, regs: &Regs, dirfd: Option<usize>) -> Result<Vec<u8>, Errno> {
    let fd = dirfd
        .map(|i| regs.arg(i) as i32)
        .filter(|&fd| fd != AT_FDCWD);
    env.view.dir_of(pid.as_raw(), fd)
}

fn follows(f: Follow, regs: &Regs) -> bool {
    match f {
        Follow::Yes => true,
        Follow::No => false,
        Follow::UnlessFlag { arg, flag } => regs.arg(arg) & flag == 0,
        Follow::IfFlag { arg, flag } => regs.arg(arg) & flag != 0,
        Follow::OpenFlags { arg } => open_follows(regs.arg(arg)),
    }
}

fn open_follows(flags: u64) -> bool {
    let excl = (libc::O_CREAT | libc::O_EXCL) as u64;
    flags & libc::O_NOFOLLOW as u64 == 0 && flags & excl != excl
}

/// Canonicalise one guest path (already read from the tracee): relative
/// paths start from `dirfd` (or the cwd).
fn resolve_full(
    env: &Env,
    proc: &dyn ProcContext,
    pid: Pid,
    regs: &Regs,
    dirfd: Option<usize>,
    path: &[u8],
    follow: bool,
) -> Result<crate::fs::Resolved, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let base = if path[0] == b'/' {
        b"/".to_vec()
    } else {
        base_dir(env, pid, regs, dirfd)?
    };
    env.view.resolve(proc, &base, path, follow)
}

/// Resolve one guest path (already read from the tracee) to its host path.
fn resolve(
    env: &Env,
    proc: &dyn ProcContext,
    pid: Pid,
    regs: &Regs,
    dirfd: Option<usize>,
    path: &[u8],
    follow: bool,
) -> Result<PathBuf, Errno> {
    Ok(resolve_full(env, proc, pid, regs, dirfd, path, follow)?.host)
}

/// Read the path in argument `path` of the tracee and resolve it.
fn host_of_arg(
    env: &Env,
    proc: &dyn ProcContext,
    pid: Pid,
    regs: &Regs,
    dirfd: Option<usize>,
    path: usize,
    follow: bool,
) -> Result<PathBuf, Errno> {
    let guest = ptrace::read_cstring(pid, regs.arg(path), PATH_MAX)?;
    resolve(env, proc, pid, regs, dirfd, &guest, follow)
}

fn translate_paths(
    env: &Env,
    proc: &dyn ProcContext,
    pid: Pid,
    regs: &mut Regs,
    args: &[PathArg],
) -> Result<Outcome, Errno> {
    let mut scratch = Scratch::below(regs.sp());
    let mut changed = false;
    for a in args {
        let ptr = regs.arg(a.path);
        if ptr == 0 {
            // NULL: the kernel answers EFAULT, or uses the fd alone.
            continue;
        }
        let guest = ptrace::read_cstring(pid, ptr, PATH_MAX)?;
        if guest.is_empty() {
            if let Some((flags, bit)) = a.empty_path
                && regs.arg(flags) & bit != 0
            {
                continue;
            }
            return Err(Errno::ENOENT);
        }
        let follow = follows(a.follow, regs);
        if guest[0] != b'/' && same_for_kernel(env, pid, regs, a.dirfd, &guest, follow) {
            continue;
        }
        let mut host = resolve(env, proc, pid, regs, a.dirfd, &guest, follow)?;
        if env.ext.link2symlink
            && !follow
            && !l2s::works_on_names(regs.sysno())
            && let Some(fin) = crate::ext::link2symlink::resolve(&host)
        {
            host = fin;
        }
        let host = host.as_os_str().as_bytes();
        if host != guest.as_slice() {
            let addr = scratch.push_cstr(pid, host)?;
            regs.set_arg(a.path, addr);
            changed = true;
        }
    }
    Ok(if changed {
        Outcome::Rewritten
    } else {
        Outcome::Pass
    })
}

/// The fast path for a relative path of one component (`name`, as `find`,
/// `ls` and `fts` use with a directory fd): the kernel's own lookup of it
/// in the directory, which the guest reached through translation, is
/// already the guest's — unless the directory holds a binding point, the
/// name is `.`/`..`, or it is a symlink to be followed (its target must
/// resolve inside the guest). Then nothing needs rewriting.
fn same_for_kernel(
    env: &Env,
    pid: Pid,
    regs: &Regs,
    dirfd: Option<usize>,
    name: &[u8],
    follow: bool,
) -> bool {
    if name.contains(&b'/') || name == b"." || name == b".." {
        return false;
    }
    let fd = dirfd
        .map(|i| regs.arg(i) as i32)
        .filter(|&fd| fd != AT_FDCWD);
    let link = match fd {
        Some(fd) => format!("/proc/{}/fd/{fd}", pid.as_raw()),
        None => format!("/proc/{}/cwd", pid.as_raw()),
    };
    let Ok(dir) = std::fs::read_link(&link) else {
        return false;
    };
    let dir = dir.as_os_str().as_bytes();
    if dir.first() != Some(&b'/') || env.view.is_binding_parent(dir) {
        return false;
    }
    // Under -l a name may be an emulated hard link (a symlink) even when
    // it is not followed: it must reach its final file.
    if follow || env.ext.link2symlink {
        let mut full = Vec::with_capacity(dir.len() + 1 + name.len());
        full.extend_from_slice(dir);
        full.push(b'/');
        full.extend_from_slice(name);
        if let Ok(st) = nix::sys::stat::lstat(full.as_slice())
            && st.st_mode & libc::S_IFMT == libc::S_IFLNK
        {
            return false;
        }
    }
    true
}

fn getcwd(env: &Env, pid: Pid, regs: &Regs) -> Result<Outcome, Errno> {
    let cwd = env.view.dir_of(pid.as_raw(), None)?;
    let size = regs.arg(1) as usize;
    if cwd.len() + 1 > size {
        return Err(Errno::ERANGE);
    }
    let mut out = cwd;
    out.push(0);
    ptrace::write(pid, regs.arg(0), &out)?;
    Ok(Outcome::Emulated(out.len() as i64))
}

#[allow(clippy::too_many_arguments)]
fn readlink(
    env: &Env,
    proc: &dyn ProcContext,
    pid: Pid,
    regs: &Regs,
    dirfd: Option<usize>,
    path: usize,
    buf: usize,
    size: usize,
) -> Result<Outcome, Errno> {
    let bufsiz = regs.arg(size) as i64;
    if bufsiz <= 0 {
        return Err(Errno::EINVAL);
    }
    let guest = ptrace::read_cstring(pid, regs.arg(path), PATH_MAX)?;
    let host = resolve(env, proc, pid, regs, dirfd, &guest, false)?;
    if env.ext.link2symlink && crate::ext::link2symlink::member_group(&host).is_some() {
        // A "hard link" is a regular file to the guest.
        return Err(Errno::EINVAL);
    }
    let target = env.view.readlink_guest(proc, &host)?;
    let n = target.len().min(bufsiz as usize);
    ptrace::write(pid, regs.arg(buf), &target[..n])?;
    Ok(Outcome::Emulated(n as i64))
}

/// Resolves exec paths inside the guest for the exec planner.
struct ExecPaths<'a> {
    env: &'a Env<'a>,
    proc: &'a dyn ProcContext,
    /// Guest directory relative paths start from.
    base: Vec<u8>,
}

impl ExecResolver for ExecPaths<'_> {
    fn resolve(&self, guest_path: &[u8]) -> Result<(Vec<u8>, PathBuf), Errno> {
        if guest_path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let base: &[u8] = if guest_path[0] == b'/' {
            b"/"
        } else {
            &self.base
        };
        let r = self.env.view.resolve(self.proc, base, guest_path, true)?;
        Ok((r.guest, r.host))
    }
}

/// The guest path of the file an fd of the tracee refers to.
fn fd_file(env: &Env, pid: Pid, fd: i32) -> Result<Vec<u8>, Errno> {
    let link = format!("/proc/{}/fd/{fd}", pid.as_raw());
    let host = std::fs::read_link(&link).map_err(|_| Errno::EBADF)?;
    env.view
        .to_guest(host.as_os_str().as_bytes())
        .ok_or(Errno::ENOENT)
}

const MAX_ARGS: usize = 1 << 17;

fn read_argv(pid: Pid, mut ptr: u64) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if ptr == 0 {
        return Ok(out);
    }
    loop {
        let p = ptrace::read_u64(pid, ptr)?;
        if p == 0 {
            return Ok(out);
        }
        out.push(ptrace::read_cstring(pid, p, 1 << 20)?);
        if out.len() > MAX_ARGS {
            return Err(Errno::E2BIG);
        }
        ptr += 8;
    }
}

fn exec(
    env: &Env,
    proc: &dyn ProcContext,
    pid: Pid,
    regs: &mut Regs,
    at: bool,
) -> Result<Outcome, Errno> {
    let (dirfd, path_arg, argv_arg, envp_arg) = if at {
        (Some(0), 1, 2, 3)
    } else {
        (None, 0, 1, 2)
    };
    let mut filename = ptrace::read_cstring(pid, regs.arg(path_arg), PATH_MAX)?;
    if at && filename.is_empty() && regs.arg(4) & libc::AT_EMPTY_PATH as u64 != 0 {
        // fexecve: the program is the fd's file.
        filename = fd_file(env, pid, regs.arg(0) as i32)?;
    }
    let base = if filename.first() == Some(&b'/') {
        b"/".to_vec()
    } else {
        base_dir(env, pid, regs, dirfd)?
    };
    let argv = read_argv(pid, regs.arg(argv_arg))?;
    let resolver = ExecPaths { env, proc, base };
    let plan = match plan_exec(&resolver, &filename, argv) {
        Ok(p) => p,
        Err(e) => {
            if let Some(msg) = &e.message {
                eprintln!("{msg}");
            }
            return Err(e.errno);
        }
    };
    let mut scratch = Scratch::below(regs.sp());
    let loader = scratch.push_cstr(pid, env.loader.as_os_str().as_bytes())?;
    let envp = regs.arg(envp_arg);
    let argv_ptr = if plan.argv_changed {
        let mut ptrs: Vec<u64> = Vec::with_capacity(plan.argv.len() + 1);
        for a in &plan.argv {
            ptrs.push(scratch.push_cstr(pid, a)?);
        }
        ptrs.push(0);
        let bytes: Vec<u8> = ptrs.iter().flat_map(|p| p.to_ne_bytes()).collect();
        scratch.push(pid, &bytes)?
    } else {
        regs.arg(argv_arg)
    };
    regs.set_sysno(sys::SYS_execve);
    regs.set_arg(0, loader);
    regs.set_arg(1, argv_ptr);
    regs.set_arg(2, envp);
    Ok(Outcome::Exec(Box::new(plan)))
}

const SOCKADDR_UN_LEN: usize = 110;
const SUN_PATH_MAX: usize = 108;

/// If `addr` is an `AF_UNIX` address with a path, the translated address.
fn translate_sockaddr(
    env: &Env,
    proc: &dyn ProcContext,
    pid: Pid,
    regs: &Regs,
    addr: u64,
    len: usize,
    bind: bool,
) -> Result<Option<Vec<u8>>, Errno> {
    if addr == 0 || len <= 2 {
        return Ok(None);
    }
    let mut buf = vec![0u8; len.min(SOCKADDR_UN_LEN)];
    ptrace::read_into(pid, addr, &mut buf)?;
    if env.ext.port_switch && ext::switch_port(&mut buf) {
        return Ok(Some(buf));
    }
    let family = u16::from_ne_bytes([buf[0], buf[1]]);
    if family != libc::AF_UNIX as u16 || buf[2] == 0 {
        // Not a filesystem socket (abstract names start with NUL).
        return Ok(None);
    }
    let path: Vec<u8> = buf[2..].iter().take_while(|&&b| b != 0).copied().collect();
    let host = resolve(env, proc, pid, regs, None, &path, !bind)?;
    let host = host.as_os_str().as_bytes();
    if host.len() >= SUN_PATH_MAX {
        log::warn!(
            "unix socket path too long on the host: {}",
            String::from_utf8_lossy(host)
        );
        return Err(Errno::ENAMETOOLONG);
    }
    let mut out = Vec::with_capacity(2 + host.len() + 1);
    out.extend_from_slice(&buf[..2]);
    out.extend_from_slice(host);
    out.push(0);
    Ok(Some(out))
}

fn sockaddr(
    env: &Env,
    proc: &dyn ProcContext,
    pid: Pid,
    regs: &mut Regs,
    addr_arg: usize,
    len_arg: usize,
    bind: bool,
) -> Result<Outcome, Errno> {
    let addr = regs.arg(addr_arg);
    let len = regs.arg(len_arg) as usize;
    match translate_sockaddr(env, proc, pid, regs, addr, len, bind)? {
        None => Ok(Outcome::Pass),
        Some(new) => {
            let mut scratch = Scratch::below(regs.sp());
            let at = scratch.push(pid, &new)?;
            regs.set_arg(addr_arg, at);
            regs.set_arg(len_arg, new.len() as u64);
            Ok(Outcome::Rewritten)
        }
    }
}

/// The byte range of a field of type `T` at `offset`.
const fn field<T>(offset: usize) -> std::ops::Range<usize> {
    offset..offset + std::mem::size_of::<T>()
}

fn sendmsg(env: &Env, proc: &dyn ProcContext, pid: Pid, regs: &mut Regs) -> Result<Outcome, Errno> {
    let msg = regs.arg(1);
    if msg == 0 {
        return Ok(Outcome::Pass);
    }
    let mut hdr = [0u8; std::mem::size_of::<libc::msghdr>()];
    ptrace::read_into(pid, msg, &mut hdr)?;
    // Offsets from libc's layout of `struct msghdr` for this target.
    const NAME: std::ops::Range<usize> =
        field::<*mut libc::c_void>(std::mem::offset_of!(libc::msghdr, msg_name));
    const NAMELEN: std::ops::Range<usize> =
        field::<libc::socklen_t>(std::mem::offset_of!(libc::msghdr, msg_namelen));
    let name = u64::from_ne_bytes(hdr[NAME].try_into().map_err(|_| Errno::EFAULT)?);
    let namelen = u32::from_ne_bytes(hdr[NAMELEN].try_into().map_err(|_| Errno::EFAULT)?) as usize;
    match translate_sockaddr(env, proc, pid, regs, name, namelen, false)? {
        None => Ok(Outcome::Pass),
        Some(new) => {
            let mut scratch = Scratch::below(regs.sp());
            let at = scratch.push(pid, &new)?;
            hdr[NAME].copy_from_slice(&at.to_ne_bytes());
            hdr[NAMELEN].copy_from_slice(&(new.len() as u32).to_ne_bytes());
            let new_msg = scratch.push(pid, &hdr)?;
            regs.set_arg(1, new_msg);
            Ok(Outcome::Rewritten)
        }
    }
}

fn chroot(env: &Env, proc: &dyn ProcContext, pid: Pid, regs: &Regs) -> Result<Outcome, Errno> {
    let guest = ptrace::read_cstring(pid, regs.arg(0), PATH_MAX)?;
    let r = resolve_full(env, proc, pid, regs, None, &guest, true)?;
    if !r.host.is_dir() {
        return Err(if r.host.exists() {
            Errno::ENOTDIR
        } else {
            Errno::ENOENT
        });
    }
    if r.guest == b"/" {
        // Already the guest's root: nothing to change.
        Ok(Outcome::Emulated(0))
    } else {
        log::warn!(
            "chroot to {} inside the guest is not supported",
            String::from_utf8_lossy(&r.guest)
        );
        Err(Errno::EPERM)
    }
}

/// `struct open_how { u64 flags; u64 mode; u64 resolve; }`
fn openat2(env: &Env, proc: &dyn ProcContext, pid: Pid, regs: &mut Regs) -> Result<Outcome, Errno> {
    let how = regs.arg(2);
    if how == 0 || regs.arg(3) < 24 {
        return Ok(Outcome::Pass);
    }
    let flags = ptrace::read_u64(pid, how)?;
    let resolve_flags = ptrace::read_u64(pid, how + 16)?;
    const RESOLVE_NO_SYMLINKS: u64 = 0x04;
    let follow = open_follows(flags) && resolve_flags & RESOLVE_NO_SYMLINKS == 0;
    let arg = PathArg {
        path: 1,
        dirfd: Some(0),
        follow: if follow { Follow::Yes } else { Follow::No },
        empty_path: None,
    };
    translate_paths(env, proc, pid, regs, std::slice::from_ref(&arg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_does_not_follow_with_nofollow_or_create_exclusive() {
        assert!(open_follows(libc::O_RDONLY as u64));
        assert!(open_follows((libc::O_CREAT | libc::O_WRONLY) as u64));
        assert!(!open_follows(libc::O_NOFOLLOW as u64));
        assert!(!open_follows((libc::O_CREAT | libc::O_EXCL) as u64));
    }
}
