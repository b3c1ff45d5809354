//! Raw ptrace requests the guest-ptrace emulation forwards to the real
//! kernel on a guest tracer's behalf (sproot stays every tracee's real
//! tracer).

use nix::errno::Errno;
use nix::unistd::Pid;

/// `ptrace(request, pid, addr, data)` with raw arguments; the result as the
/// syscall returns it.
///
/// Callers pass `data` either as a number or as the address of a buffer in
/// sproot's own memory large enough for `request`.
fn raw(request: impl Into<i64>, pid: Pid, addr: u64, data: u64) -> Result<i64, Errno> {
    let request = request.into();
    Errno::clear();
    // SAFETY: the kernel validates pid and request; `addr`/`data` are plain
    // numbers or point into buffers of this process sized for the request
    // (see the callers below).
    let rc = unsafe {
        libc::ptrace(
            request as _,
            pid.as_raw(),
            addr as *mut libc::c_void,
            data as *mut libc::c_void,
        )
    };
    Errno::result(rc)
}

/// `PTRACE_SINGLESTEP`, delivering `sig` (0: none).
pub fn step(pid: Pid, sig: i32) -> Result<(), Errno> {
    raw(libc::PTRACE_SINGLESTEP, pid, 0, sig as u64).map(drop)
}

/// `PTRACE_INTERRUPT`: a running seized tracee enters a
/// `PTRACE_EVENT_STOP`; a syscall it sleeps in restarts afterwards.
pub fn interrupt(pid: Pid) -> Result<(), Errno> {
    raw(libc::PTRACE_INTERRUPT, pid, 0, 0).map(drop)
}

/// `PTRACE_GET_SYSCALL_INFO`'s `op`: 1 entry, 2 exit, 3 seccomp, 0 other.
pub fn syscall_stop_op(pid: Pid) -> Result<u8, Errno> {
    let mut buf = [0u8; 88];
    raw(
        0x420e,
        pid,
        buf.len() as u64,
        buf.as_mut_ptr() as usize as u64,
    )?;
    Ok(buf[0])
}

/// The `PTRACE_EVENT_*` of the event stop `pid` is in (from its siginfo's
/// `si_code`).
pub fn event_of_stop(pid: Pid) -> Result<i32, Errno> {
    let si = nix::sys::ptrace::getsiginfo(pid)?;
    Ok(si.si_code >> 8)
}

/// A request whose `data` is a buffer the kernel fills or reads
/// (`GETREGS`, `GETFPREGS`, `GETSIGINFO`, `GET_SYSCALL_INFO`...): run with
/// `buf` in sproot's memory. Returns the syscall's value.
pub fn with_buffer(request: u32, pid: Pid, addr: u64, buf: &mut [u8]) -> Result<i64, Errno> {
    raw(request, pid, addr, buf.as_mut_ptr() as usize as u64)
}

/// `PTRACE_GETREGSET`/`SETREGSET` of note type `kind` through a local
/// buffer; returns the length the kernel used.
pub fn regset(set: bool, pid: Pid, kind: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let request = if set {
        libc::PTRACE_SETREGSET
    } else {
        libc::PTRACE_GETREGSET
    };
    raw(request, pid, kind, &mut iov as *mut _ as usize as u64)?;
    Ok(iov.iov_len)
}

/// `PTRACE_PEEKUSER` / `PTRACE_POKEUSER` / `PTRACE_PEEKDATA` /
/// `PTRACE_POKEDATA`: plain numbers both ways.
pub fn word(request: u32, pid: Pid, addr: u64, data: u64) -> Result<i64, Errno> {
    raw(request, pid, addr, data)
}

/// `tgkill(tgid, tid, sig)`.
pub fn tgkill(tgid: i32, tid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: tgkill takes ids and a signal number, no pointers.
    Errno::result(unsafe { libc::syscall(crate::arch::sys::SYS_tgkill, tgid, tid, sig) }).map(drop)
}
