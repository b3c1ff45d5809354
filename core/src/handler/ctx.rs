//! One stopped syscall, as a handler sees it.

use super::Host;
use crate::Errno;
use crate::backend::{Memory, Scratch, SyscallRegs, read_cstring};
use crate::fs::{GuestView, ProcContext, Resolved};
use crate::prelude::*;
use crate::shared::SharedState;
use crate::table::{self, AT_FDCWD, Call, Entry, PathArg};

/// The longest path a syscall takes, with its NUL.
pub const PATH_MAX: usize = 4096;

/// A stopped guest thread in a syscall: its registers (`R`, the backend's
/// own type), its memory, the guest's view of the file system and the
/// host. A handler reads the call through it, writes new data into the
/// scratch space ([`Ctx::push`]) and changes the registers; the backend
/// writes them back.
pub struct Ctx<'a, R> {
    /// The guest's file system.
    pub view: &'a GuestView,
    /// The thread as path resolution sees it (`/proc/self`, its cwd).
    pub proc: &'a dyn ProcContext,
    /// The host's operations.
    pub host: &'a dyn Host,
    /// The run's state every guest process shares.
    pub shared: &'a dyn SharedState,
    /// The registers: arguments in, changed arguments out.
    pub regs: R,
    /// `-l`: names of emulated hard links stand for their final file.
    pub link2symlink: bool,
    mem: &'a mut dyn Memory,
    scratch: Scratch,
    /// The table's entry for the syscall, looked up once.
    entry: Option<Entry>,
}

impl<'a, R: SyscallRegs> Ctx<'a, R> {
    /// `scratch` is where new data for the call may go.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        view: &'a GuestView,
        proc: &'a dyn ProcContext,
        host: &'a dyn Host,
        shared: &'a dyn SharedState,
        regs: R,
        mem: &'a mut dyn Memory,
        scratch: Scratch,
    ) -> Self {
        Ctx {
            view,
            proc,
            host,
            shared,
            entry: table::classify(regs.sysno()),
            regs,
            link2symlink: view.link2symlink(),
            mem,
            scratch,
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

    /// Read `buf.len()` bytes of the thread's memory.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.mem.read(addr, buf)
    }

    /// Read one machine word.
    pub fn read_u64(&self, addr: u64) -> Result<u64, Errno> {
        let mut b = [0u8; 8];
        self.mem.read(addr, &mut b)?;
        Ok(u64::from_ne_bytes(b))
    }

    /// Read a NUL-terminated string of at most `max` bytes.
    pub fn read_cstring(&self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        read_cstring(&*self.mem, addr, max)
    }

    /// Read the path in argument `i`.
    pub fn read_path(&self, i: usize) -> Result<Vec<u8>, Errno> {
        self.read_cstring(self.arg(i), PATH_MAX)
    }

    /// Write raw bytes into the thread's memory.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.mem.write(addr, data)
    }

    /// Write a result into the guest's buffer: an address the guest may not
    /// write is `EFAULT`, as the kernel's own copy to user memory answers.
    pub fn to_guest(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.mem.write(addr, data).map_err(|e| match e {
            Errno::EIO => Errno::EFAULT,
            e => e,
        })
    }

    /// Copy `data` into the scratch space and return its address; valid
    /// while the thread stays in this call.
    pub fn push(&mut self, data: &[u8]) -> Result<u64, Errno> {
        self.scratch.push(&mut *self.mem, data)
    }

    /// Copy a string and its NUL terminator into the scratch space.
    pub fn push_cstr(&mut self, s: &[u8]) -> Result<u64, Errno> {
        self.scratch.push_cstr(&mut *self.mem, s)
    }

    /// The fd in argument `dirfd` (`None` for `AT_FDCWD` or no such argument).
    pub fn dirfd(&self, dirfd: Option<usize>) -> Option<i32> {
        dirfd
            .map(|i| self.arg(i) as i32)
            .filter(|&fd| fd != AT_FDCWD)
    }

    /// The guest directory a relative path starts from.
    pub fn base_dir(&self, dirfd: Option<usize>) -> Result<Vec<u8>, Errno> {
        self.view.dir_of(self.proc.tid(), self.dirfd(dirfd))
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
        let r = self.view.resolve(self.proc, &base, path, follow)?;
        self.log_translation(path, &r.host);
        Ok(r)
    }

    /// `-l`: a name of an emulated hard link, not followed, stands for its
    /// final file.
    pub fn final_file(&self, host: Vec<u8>, follow: bool) -> Vec<u8> {
        if self.link2symlink
            && !follow
            && let Some(fin) = self.host.link_final_file(&host)
        {
            return fin;
        }
        host
    }

    /// What path argument `a` of `call` names on the host, as the table
    /// describes it (relative to its dirfd, followed or not; `-l`'s final
    /// file; the fd itself when empty with `AT_EMPTY_PATH`, else `ENOENT`),
    /// and whether that is a descriptor's `/proc` name (`ENOENT` on it
    /// means `EBADF`).
    pub fn named(&self, call: &Call, a: &PathArg) -> Result<(Vec<u8>, bool), Errno> {
        let guest = self.read_path(a.path)?;
        if guest.is_empty() {
            if !call.empty_path(a) {
                return Err(Errno::ENOENT);
            }
            let fd = a.dirfd.map_or(AT_FDCWD, |i| self.arg(i) as i32);
            return self.named_fd(fd);
        }
        let follow = call.follows(a);
        let host = self.resolve_full(a.dirfd, &guest, follow)?.host;
        Ok((self.final_file(host, follow), false))
    }

    /// The host's name of the file the thread's fd `fd` (or its cwd, for
    /// `AT_FDCWD`) refers to, and whether it is a descriptor's `/proc` name;
    /// a negative fd is `EBADF`.
    pub fn named_fd(&self, fd: i32) -> Result<(Vec<u8>, bool), Errno> {
        if fd == AT_FDCWD {
            let cwd = self.view.dir_of(self.proc.tid(), None)?;
            return Ok((self.view.to_host(&cwd), false));
        }
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        Ok((self.fd_link(fd), true))
    }

    /// The host's name of the thread's fd `fd`, a `/proc` magic link.
    pub fn fd_link(&self, fd: i32) -> Vec<u8> {
        format!("/proc/{}/fd/{fd}", self.proc.tid()).into_bytes()
    }

    /// The host's name of the thread's cwd, a `/proc` magic link.
    pub fn cwd_link(&self) -> Vec<u8> {
        format!("/proc/{}/cwd", self.proc.tid()).into_bytes()
    }

    /// `-v 2`: each translation (one level check when off).
    fn log_translation(&self, guest: &[u8], host: &[u8]) {
        if log::log_enabled!(log::Level::Debug) {
            log::debug!(
                "{} {}: {} -> {}",
                self.proc.tid(),
                crate::sysno::name(self.sysno()).unwrap_or("?"),
                String::from_utf8_lossy(guest),
                String::from_utf8_lossy(host)
            );
        }
    }
}
