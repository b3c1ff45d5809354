//! Starting the first tracee: fork, `PTRACE_TRACEME`, stop, options, filter,
//! exec.

use crate::seccomp;
use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::{Signal, raise};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};
use std::ffi::CString;

/// What the child needs, prepared before `fork` (no allocation after it).
pub struct Launch {
    /// The guest path of the program (the tracer translates the `execve`).
    pub program: CString,
    pub argv: Vec<CString>,
    /// Host directory the guest starts in.
    pub host_cwd: CString,
    /// Seccomp filters, or `None` for plain ptrace syscall stops.
    pub filters: Option<seccomp::Prepared>,
}

pub fn ptrace_options() -> Options {
    Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACESECCOMP
        | Options::PTRACE_O_EXITKILL
}

/// Fork the first tracee and leave it stopped, options set, before its
/// `execve`. The caller resumes it.
pub fn spawn(launch: &Launch) -> Result<Pid> {
    let mut argv_ptrs: Vec<*const libc::c_char> = launch.argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    // SAFETY: sproot is single-threaded here; the child only makes
    // async-signal-safe calls (ptrace, raise, chdir, prctl, seccomp, execv,
    // write, _exit) on memory prepared before the fork.
    match unsafe { fork() }.context("fork the guest process")? {
        ForkResult::Child => {
            if ptrace::traceme().is_err() {
                child_fail(b"PTRACE_TRACEME failed (is ptrace allowed here?)", 1);
            }
            let _ = raise(Signal::SIGSTOP);
            // SAFETY: chdir with a valid NUL-terminated path.
            if unsafe { libc::chdir(launch.host_cwd.as_ptr()) } != 0 {
                child_fail(b"cannot enter the initial working directory", 1);
            }
            if let Some(f) = &launch.filters
                && f.install().is_err()
            {
                child_fail(
                    b"cannot install the seccomp filter (try PROOT_NO_SECCOMP=1)",
                    1,
                );
            }
            // SAFETY: program and argv are NUL-terminated and argv ends with
            // a null pointer.
            unsafe { libc::execv(launch.program.as_ptr(), argv_ptrs.as_ptr()) };
            let err = Errno::last();
            let code = if err == Errno::ENOENT { 127 } else { 126 };
            child_exec_fail(launch.program.as_bytes(), err, code);
        }
        ForkResult::Parent { child } => {
            match waitpid(child, Some(WaitPidFlag::__WALL)) {
                Ok(WaitStatus::Stopped(_, Signal::SIGSTOP)) => {}
                Ok(other) => bail!("the guest process did not start as expected: {other:?}"),
                Err(e) => bail!("wait for the guest process: {e}"),
            }
            ptrace::setoptions(child, ptrace_options()).context("set ptrace options")?;
            Ok(child)
        }
    }
}

fn write_stderr(parts: &[&[u8]]) {
    for p in parts {
        // SAFETY: write(2) of a valid buffer to fd 2.
        unsafe { libc::write(2, p.as_ptr().cast(), p.len()) };
    }
}

fn child_fail(msg: &[u8], code: i32) -> ! {
    write_stderr(&[b"sproot error: ", msg, b"\n"]);
    // SAFETY: _exit never returns and is async-signal-safe.
    unsafe { libc::_exit(code) }
}

fn child_exec_fail(program: &[u8], err: Errno, code: i32) -> ! {
    write_stderr(&[
        b"sproot error: cannot execute ",
        program,
        b" in the guest: ",
        err.desc().as_bytes(),
        b"\n",
    ]);
    // SAFETY: _exit never returns and is async-signal-safe.
    unsafe { libc::_exit(code) }
}
