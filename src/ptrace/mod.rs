//! The only place that talks to ptrace and tracee memory directly.
//!
//! Every function maps failures to `Errno`; `ESRCH` means the tracee is gone
//! and callers treat it as "reap and go on".

pub mod guest;

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::uio::{RemoteIoVec, process_vm_readv, process_vm_writev};
use nix::unistd::Pid;
use std::io::{IoSlice, IoSliceMut};

#[cfg(target_arch = "x86_64")]
mod regs_x86_64;
/// x86_64: `orig_rax` is the number the kernel will run.
#[cfg(target_arch = "x86_64")]
pub use regs_x86_64::get_regs as get_regs_as_run;
#[cfg(target_arch = "x86_64")]
pub use regs_x86_64::{get_regs, set_changed_regs, set_regs};

#[cfg(target_arch = "aarch64")]
mod regs_aarch64;
#[cfg(target_arch = "aarch64")]
pub use regs_aarch64::{get_regs, get_regs_as_run, set_changed_regs, set_regs};

/// Restart a stopped tracee (`PTRACE_SYSCALL` when `to_syscall`, else
/// `PTRACE_CONT`), delivering signal number `sig` (0: none). Raw numbers, so
/// that every signal the kernel reported (the real-time ones included) goes
/// back unchanged.
fn restart(to_syscall: bool, pid: Pid, sig: i32) -> Result<(), Errno> {
    let request = if to_syscall {
        libc::PTRACE_SYSCALL
    } else {
        libc::PTRACE_CONT
    };
    // SAFETY: CONT/SYSCALL take no pointers: `data` is the signal number.
    let rc = unsafe {
        libc::ptrace(
            request,
            pid.as_raw(),
            std::ptr::null_mut::<libc::c_void>(),
            sig as libc::c_long as *mut libc::c_void,
        )
    };
    Errno::result(rc).map(drop)
}

/// Resume after a stop, delivering signal `sig` (0: none).
pub fn cont(pid: Pid, sig: i32) -> Result<(), Errno> {
    restart(false, pid, sig)
}

/// Resume and stop again at the next syscall entry or exit.
pub fn cont_syscall(pid: Pid, sig: i32) -> Result<(), Errno> {
    restart(true, pid, sig)
}

/// `waitpid(-1, &status, __WALL [| WNOHANG])`: the next report of any
/// tracee as its pid and raw status word; `Ok(None)` when `nohang` and
/// nothing is pending. The caller decodes the status, so no number the
/// kernel may report can make this fail.
pub fn wait_any(nohang: bool) -> Result<Option<(Pid, i32)>, Errno> {
    wait_for(None, nohang)
}

/// [`wait_any`] for one tracee (`Some(pid)`) or any (`None`).
pub fn wait_for(pid: Option<Pid>, nohang: bool) -> Result<Option<(Pid, i32)>, Errno> {
    let flags = libc::__WALL | if nohang { libc::WNOHANG } else { 0 };
    let mut status: libc::c_int = 0;
    let which = pid.map_or(-1, Pid::as_raw);
    // SAFETY: `status` is a valid, writable int for the kernel to fill.
    let pid = unsafe { libc::waitpid(which, &mut status, flags) };
    match Errno::result(pid)? {
        0 => Ok(None),
        p => Ok(Some((Pid::from_raw(p), status))),
    }
}

/// Leave a tracee in its group-stop (`PTRACE_LISTEN`): it stays stopped as
/// job control wants, and reports again when `SIGCONT` wakes it.
pub fn listen(pid: Pid) -> Result<(), Errno> {
    // SAFETY: PTRACE_LISTEN takes no pointers; the kernel checks the pid.
    let rc = unsafe {
        libc::ptrace(
            libc::PTRACE_LISTEN,
            pid.as_raw(),
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    Errno::result(rc).map(drop)
}

pub fn event_msg(pid: Pid) -> Result<u64, Errno> {
    ptrace::getevent(pid).map(|v| v as u64)
}

/// Read `buf.len()` bytes of the tracee's memory at `addr`.
pub fn read_into(pid: Pid, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
    if buf.is_empty() {
        return Ok(());
    }
    let len = buf.len();
    let remote = [RemoteIoVec {
        base: addr as usize,
        len,
    }];
    let n = process_vm_readv(pid, &mut [IoSliceMut::new(buf)], &remote)?;
    if n == len { Ok(()) } else { Err(Errno::EFAULT) }
}

/// Read a NUL-terminated string of at most `max` bytes (without the NUL).
/// Reads page by page so a string that ends just before an unmapped page is
/// still read in full.
pub fn read_cstring(pid: Pid, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
    Ok(sproot_core::backend::read_cstring(
        &TraceeMemory(pid),
        addr,
        max,
    )?)
}

/// The memory of a stopped tracee, through `process_vm_readv`/`writev`.
pub struct TraceeMemory(pub Pid);

impl sproot_core::backend::Memory for TraceeMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), sproot_core::Errno> {
        Ok(read_into(self.0, addr, buf)?)
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), sproot_core::Errno> {
        Ok(write(self.0, addr, data)?)
    }
}

/// Read one machine word.
pub fn read_u64(pid: Pid, addr: u64) -> Result<u64, Errno> {
    let mut b = [0u8; 8];
    read_into(pid, addr, &mut b)?;
    Ok(u64::from_ne_bytes(b))
}

/// Write `data` into the tracee's memory at `addr`. Falls back to
/// `PTRACE_POKEDATA` when `process_vm_writev` is refused (read-only pages).
pub fn write(pid: Pid, addr: u64, data: &[u8]) -> Result<(), Errno> {
    if data.is_empty() {
        return Ok(());
    }
    let remote = [RemoteIoVec {
        base: addr as usize,
        len: data.len(),
    }];
    match process_vm_writev(pid, &[IoSlice::new(data)], &remote) {
        Ok(n) if n == data.len() => Ok(()),
        Ok(_) | Err(Errno::EFAULT) => poke(pid, addr, data),
        Err(e) => Err(e),
    }
}

fn poke(pid: Pid, addr: u64, data: &[u8]) -> Result<(), Errno> {
    let mut off = 0usize;
    while off < data.len() {
        let at = addr + off as u64;
        let n = (data.len() - off).min(8);
        let mut word = if n < 8 {
            (ptrace::read(pid, at as ptrace::AddressType)? as u64).to_ne_bytes()
        } else {
            [0u8; 8]
        };
        word[..n].copy_from_slice(&data[off..off + n]);
        let value = u64::from_ne_bytes(word) as libc::c_long;
        ptrace::write(pid, at as ptrace::AddressType, value)?;
        off += n;
    }
    Ok(())
}

/// A tracee's scratch space: below its stack pointer, past the red zone.
pub fn scratch_below(sp: u64) -> sproot_core::backend::Scratch {
    sproot_core::backend::Scratch::below(sp.saturating_sub(crate::arch::RED_ZONE))
}
