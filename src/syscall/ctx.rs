//! One context per syscall stop: everything a handler needs, behind one
//! value.
//!
//! A handler is `fn(&mut Ctx) -> Result<Outcome, Errno>`: it reads the
//! tracee's arguments from [`Ctx::regs`], its strings and structures through
//! [`Memory`] (the tracee's memory, or an in-memory fake in unit tests),
//! resolves guest paths in [`Env::view`], writes new data below the stack
//! pointer ([`Ctx::push`]) and changes the registers. The tracer writes the
//! registers back and resumes the tracee as the [`Outcome`] says; an error is
//! the errno the guest sees.

use super::table::{Call, Entry, PathArg};
use super::{Env, PATH_MAX};
use crate::arch::{Regs, sys};
use crate::ext::fake_id::Creds;
use crate::fs::{ProcContext, Resolved};
use nix::errno::Errno;
use nix::unistd::Pid;
use std::path::PathBuf;

/// A tracee's memory: the core's view of it (`sproot_core::backend`).
pub use sproot_core::backend::Memory;

/// The memory of a stopped tracee, through `process_vm_readv`/`writev`.
pub struct TraceeMemory(pub Pid);

impl Memory for TraceeMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), sproot_core::Errno> {
        Ok(crate::ptrace::read_into(self.0, addr, buf)?)
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), sproot_core::Errno> {
        Ok(crate::ptrace::write(self.0, addr, data)?)
    }
}

/// A path argument as the tracer reaches it: a host path, or (an empty path
/// with `AT_EMPTY_PATH`) the fd itself through `/proc`.
pub struct Named {
    pub host: PathBuf,
    /// Errors on `host` are about an fd (`ENOENT` there means `EBADF`).
    pub fd: bool,
}

impl Named {
    /// The errno the guest's own call would get for `e` on this file.
    pub fn err(&self, e: Errno) -> Errno {
        if self.fd { fd_errno(e) } else { e }
    }
}

/// Everything a handler sees of one stopped tracee.
pub struct Ctx<'a> {
    /// The configuration and the run's shared state.
    pub env: &'a Env<'a>,
    /// The tracee as path resolution sees it (thread group, `/proc/self`).
    pub proc: &'a dyn ProcContext,
    pub pid: Pid,
    /// The registers: arguments in, changed arguments out.
    pub regs: Regs,
    /// `-0`/`-i`: the thread's fake credentials.
    pub creds: Option<&'a mut Creds>,
    mem: &'a mut dyn Memory,
    /// The scratch area below the stack pointer.
    scratch: crate::ptrace::Scratch,
    /// The table's entry for the syscall, looked up once.
    entry: Option<Entry>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        env: &'a Env<'a>,
        proc: &'a dyn ProcContext,
        pid: Pid,
        regs: Regs,
        creds: Option<&'a mut Creds>,
        mem: &'a mut dyn Memory,
    ) -> Self {
        Ctx {
            env,
            proc,
            pid,
            scratch: crate::ptrace::Scratch::below(regs.sp()),
            entry: super::table::classify(regs.sysno()),
            regs,
            creds,
            mem,
        }
    }

    /// Argument `i` of the syscall.
    pub fn arg(&self, i: usize) -> u64 {
        self.regs.arg(i)
    }

    pub fn sysno(&self) -> i64 {
        self.regs.sysno()
    }

    /// The table's entry for this syscall (`None`: not in the table).
    pub fn entry(&self) -> Option<Entry> {
        self.entry
    }

    /// This syscall's arguments, decoded with its table entry (an entry
    /// with no layout for a syscall not in the table).
    pub fn call(&self) -> Call {
        Call::from_regs(self.entry, &self.regs)
    }

    /// Whether the kernel would refuse this call's flags (or access mode)
    /// with `EINVAL` before looking at its paths.
    pub fn invalid_flags(&self) -> bool {
        self.entry.is_some() && self.call().invalid_before_lookup()
    }

    /// Read `buf.len()` bytes of the tracee's memory.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        Ok(self.mem.read(addr, buf)?)
    }

    /// Read one machine word.
    pub fn read_u64(&self, addr: u64) -> Result<u64, Errno> {
        let mut b = [0u8; 8];
        self.mem.read(addr, &mut b)?;
        Ok(u64::from_ne_bytes(b))
    }

    /// Read a NUL-terminated string of at most `max` bytes.
    pub fn read_cstring(&self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        crate::ptrace::read_cstring_with(|a, b| Ok(self.mem.read(a, b)?), addr, max)
    }

    /// Read the path in argument `i`.
    pub fn read_path(&self, i: usize) -> Result<Vec<u8>, Errno> {
        self.read_cstring(self.arg(i), PATH_MAX)
    }

    /// Write raw bytes into the tracee.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        Ok(self.mem.write(addr, data)?)
    }

    /// Write a result into the guest's buffer: an address the guest may not
    /// write is `EFAULT`, as the kernel's own copy to user memory answers.
    pub fn to_guest(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.mem.write(addr, data).map_err(|e| match e.into() {
            Errno::EIO => Errno::EFAULT,
            e => e,
        })
    }

    /// Copy `data` below the stack pointer (past the red zone, 16-aligned)
    /// and return its address; valid while the tracee stays in this call.
    pub fn push(&mut self, data: &[u8]) -> Result<u64, Errno> {
        let addr = self.scratch.reserve(data.len())?;
        self.mem.write(addr, data)?;
        Ok(addr)
    }

    /// Copy a string and its NUL terminator below the stack pointer.
    pub fn push_cstr(&mut self, s: &[u8]) -> Result<u64, Errno> {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s);
        v.push(0);
        self.push(&v)
    }

    /// The fd in argument `dirfd` (`None` for `AT_FDCWD` or no such argument).
    pub fn dirfd(&self, dirfd: Option<usize>) -> Option<i32> {
        dirfd
            .map(|i| self.arg(i) as i32)
            .filter(|&fd| fd != libc::AT_FDCWD)
    }

    /// The guest directory a relative path starts from.
    pub fn base_dir(&self, dirfd: Option<usize>) -> Result<Vec<u8>, Errno> {
        Ok(self.env.view.dir_of(self.pid.as_raw(), self.dirfd(dirfd))?)
    }

    /// Canonicalise one guest path: relative paths start from the fd in
    /// argument `dirfd` (or the cwd).
    pub fn resolve_full(
        &self,
        dirfd: Option<usize>,
        path: &[u8],
        follow: bool,
    ) -> Result<Resolved, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let base = if path[0] == b'/' {
            b"/".to_vec()
        } else {
            self.base_dir(dirfd)?
        };
        let r = self.env.view.resolve(self.proc, &base, path, follow)?;
        self.log_translation(path, &r.host);
        Ok(r)
    }

    /// Resolve one guest path to its host path.
    pub fn resolve(
        &self,
        dirfd: Option<usize>,
        path: &[u8],
        follow: bool,
    ) -> Result<PathBuf, Errno> {
        Ok(crate::fs::bytes_to_path(
            self.resolve_full(dirfd, path, follow)?.host,
        ))
    }

    /// Read the path in argument `path` and resolve it.
    pub fn host_of_arg(
        &self,
        dirfd: Option<usize>,
        path: usize,
        follow: bool,
    ) -> Result<PathBuf, Errno> {
        let guest = self.read_path(path)?;
        self.resolve(dirfd, &guest, follow)
    }

    /// What a path argument names: [`Ctx::host_of_arg`], then (`-l`) the
    /// final file of an emulated hard link. An empty path names the fd in
    /// `dirfd` itself when `empty_ok` (`AT_EMPTY_PATH`), else `ENOENT`.
    pub fn named(
        &self,
        dirfd: Option<usize>,
        path: usize,
        follow: bool,
        empty_ok: bool,
    ) -> Result<Named, Errno> {
        let guest = self.read_path(path)?;
        if guest.is_empty() {
            if !empty_ok {
                return Err(Errno::ENOENT);
            }
            let fd = dirfd.map(|i| self.arg(i) as i32).unwrap_or(libc::AT_FDCWD);
            return self.named_fd(fd);
        }
        let host = self.resolve(dirfd, &guest, follow)?;
        Ok(Named {
            host: self.final_file(host, follow),
            fd: false,
        })
    }

    /// What path argument `a` of `call` names, as the table describes it
    /// (relative to its dirfd, followed or not, the fd itself when empty
    /// with `AT_EMPTY_PATH`).
    pub fn named_path(&self, call: &Call, a: &PathArg) -> Result<Named, Errno> {
        self.named(a.dirfd, a.path, call.follows(a), call.empty_path(a))
    }

    /// `-l`: a name of an emulated hard link, not followed, stands for its
    /// final file.
    pub fn final_file(&self, host: PathBuf, follow: bool) -> PathBuf {
        if self.env.ext.link2symlink
            && !follow
            && let Some(fin) = crate::ext::link2symlink::resolve(&host)
        {
            return fin;
        }
        host
    }

    /// The file fd `fd` (or the cwd, for `AT_FDCWD`) of the tracee refers to.
    pub fn named_fd(&self, fd: i32) -> Result<Named, Errno> {
        if fd == libc::AT_FDCWD {
            let cwd = self.env.view.dir_of(self.pid.as_raw(), None)?;
            return Ok(Named {
                host: crate::fs::bytes_to_path(self.env.view.to_host(&cwd)),
                fd: false,
            });
        }
        let p = self.fd_path(fd)?;
        Ok(Named { host: p, fd: true })
    }

    /// The tracer's name for fd `fd` of the tracee; a negative fd is `EBADF`
    /// (a closed one shows as `ENOENT` on this path: see
    /// [`fd_errno`]).
    pub fn fd_path(&self, fd: i32) -> Result<PathBuf, Errno> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        Ok(PathBuf::from(format!(
            "/proc/{}/fd/{fd}",
            self.pid.as_raw()
        )))
    }

    /// `-v 2`: each translation (one level check when off).
    fn log_translation(&self, guest: &[u8], host: &[u8]) {
        if log::log_enabled!(log::Level::Debug) {
            log::debug!(
                "{} {}: {} -> {}",
                self.pid,
                sys::name(self.sysno()).unwrap_or("?"),
                String::from_utf8_lossy(guest),
                String::from_utf8_lossy(host)
            );
        }
    }

    /// The fake effective uid, or the real one without fake ids.
    pub fn euid(&self) -> u32 {
        self.creds.as_ref().map_or(self.env.real_ids.0, |c| c.euid)
    }
}

/// The error the guest's own call on an fd would give, from the error of
/// the tracer's call on [`fd_path`]: the fd is not open if it is missing.
pub fn fd_errno(e: Errno) -> Errno {
    match e {
        Errno::ENOENT => Errno::EBADF,
        e => e,
    }
}
