//! One context per syscall stop: everything a handler needs, behind one
//! value.
//!
//! A handler is `fn(&mut Ctx) -> Result<Outcome, Errno>`. [`Ctx`] is the
//! core's context of a stopped call (`sproot_core::handler::Ctx`: the
//! registers, the guest's memory ([`Memory`], the tracee's or an in-memory
//! fake in unit tests), the view, the host, the scratch space below the
//! stack pointer), which it derefs to, with what the ptrace backend's own
//! handlers add: the run's [`Env`] and the thread's fake credentials. The
//! tracer writes the registers back and resumes the tracee as the
//! [`Outcome`] says; an error is the errno the guest sees.

use super::Env;
use crate::arch::Regs;
use crate::ext::fake_id::Creds;
use crate::fs::ProcContext;
use nix::errno::Errno;
use nix::unistd::Pid;
use sproot_core::handler;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;

use super::table::{Call, PathArg};

/// A tracee's memory: the core's view of it (`sproot_core::backend`).
pub use sproot_core::backend::Memory;

pub use crate::ptrace::TraceeMemory;

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
    core: handler::Ctx<'a, Regs>,
    /// The configuration and the run's shared state.
    pub env: &'a Env<'a>,
    /// The stopped thread.
    pub pid: Pid,
    /// `-0`/`-i`: the thread's fake credentials.
    pub creds: Option<&'a mut Creds>,
}

impl<'a> Deref for Ctx<'a> {
    type Target = handler::Ctx<'a, Regs>;
    fn deref(&self) -> &Self::Target {
        &self.core
    }
}

impl DerefMut for Ctx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.core
    }
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
        let scratch = crate::ptrace::scratch_below(regs.sp());
        Ctx {
            core: handler::Ctx::new(env.view, proc, env.host, &*env.shared, regs, mem, scratch),
            env,
            pid,
            creds,
        }
    }

    /// The core's context, for the core's handlers.
    pub fn core(&mut self) -> &mut handler::Ctx<'a, Regs> {
        &mut self.core
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

    /// What path argument `a` of `call` names, as the table describes it
    /// (the core's `named`).
    pub fn named_path(&self, call: &Call, a: &PathArg) -> Result<Named, Errno> {
        let (host, fd) = self.core.named(call, a)?;
        Ok(Named {
            host: crate::fs::bytes_to_path(host),
            fd,
        })
    }

    /// The file fd `fd` (or the cwd, for `AT_FDCWD`) of the tracee refers to.
    pub fn named_fd(&self, fd: i32) -> Result<Named, Errno> {
        let (host, fd) = self.core.named_fd(fd)?;
        Ok(Named {
            host: crate::fs::bytes_to_path(host),
            fd,
        })
    }

    /// The tracer's name for fd `fd` of the tracee; a negative fd is `EBADF`
    /// (a closed one shows as `ENOENT` on this path: see
    /// [`fd_errno`]).
    pub fn fd_path(&self, fd: i32) -> Result<PathBuf, Errno> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        Ok(crate::fs::bytes_to_path(self.fd_link(fd)))
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
