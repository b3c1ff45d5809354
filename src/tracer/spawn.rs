//! Starting the first tracee: fork, `PTRACE_SEIZE` with the options, stop,
//! filter, exec.

use super::event::Event;
use crate::seccomp;
use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::Signal;
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid};
use std::ffi::CString;
use std::os::fd::AsRawFd;

/// What the child needs, prepared before `fork` (no allocation after it).
pub struct Launch {
    /// The guest path of the program (the tracer translates the `execve`).
    pub program: CString,
    pub argv: Vec<CString>,
    /// The environment (`NAME=value`), with `PWD` naming the guest's cwd.
    pub env: Vec<CString>,
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

/// Fork the first tracee and leave it seized and stopped, options set,
/// before its `execve`. The caller resumes it.
///
/// The tracee is attached with `PTRACE_SEIZE` rather than `PTRACE_TRACEME`:
/// only a seized tracee can be left in a group-stop (`PTRACE_LISTEN`), so
/// that Ctrl-Z and `kill -STOP` stop guests as job control expects. The
/// child waits on a pipe until it is seized, so it runs no guest code
/// untraced.
pub fn spawn(launch: &Launch) -> Result<Pid> {
    let mut argv_ptrs: Vec<*const libc::c_char> = launch.argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const libc::c_char> = launch.env.iter().map(|a| a.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    // The C library's words for each errno (a failed execve is reported
    // with them, as a shell would), made before the fork.
    let messages: Vec<String> = (0..ERRNO_MESSAGES).map(os_message).collect();
    let (go_read, go_write) = nix::unistd::pipe().context("create a pipe")?;
    // SAFETY: sproot is single-threaded here; the child only makes
    // async-signal-safe calls (read, close, signal, chdir, prctl, seccomp,
    // execve, write, _exit) on memory prepared before the fork.
    match unsafe { new_process() }.context("fork the guest process")? {
        ForkResult::Child => {
            drop(go_write);
            let mut byte = [0u8; 1];
            loop {
                // SAFETY: read(2) into a valid one-byte buffer.
                let n = unsafe { libc::read(go_read.as_raw_fd(), byte.as_mut_ptr().cast(), 1) };
                if n == 1 {
                    break;
                }
                if n == 0 || Errno::last() != Errno::EINTR {
                    // sproot went away before tracing us: run nothing.
                    // SAFETY: _exit never returns.
                    unsafe { libc::_exit(1) };
                }
            }
            drop(go_read);
            // Rust's runtime ignores SIGPIPE in sproot, and an ignored
            // signal stays ignored across execve: the guest starts with the
            // default, as a shell would start it.
            // SAFETY: signal(2) with SIG_DFL is async-signal-safe and
            // installs no handler.
            unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
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
            // SAFETY: program, argv and env are NUL-terminated, and argv and
            // env end with a null pointer.
            unsafe {
                libc::execve(
                    launch.program.as_ptr(),
                    argv_ptrs.as_ptr(),
                    env_ptrs.as_ptr(),
                )
            };
            let err = Errno::last();
            let code = if err == Errno::ENOENT { 127 } else { 126 };
            let message = messages
                .get(err as usize)
                .map_or(err.desc(), String::as_str);
            child_exec_fail(launch.program.as_bytes(), message, code);
        }
        ForkResult::Parent { child } => {
            drop(go_read);
            let seized = (|| -> Result<()> {
                ptrace::seize(child, ptrace_options())
                    .context("PTRACE_SEIZE the guest process (is ptrace allowed here?)")?;
                ptrace::interrupt(child).context("PTRACE_INTERRUPT the guest process")?;
                // A signal sent to it meanwhile (any number) is passed on,
                // until the stop that PTRACE_INTERRUPT asked for.
                loop {
                    match crate::ptrace::wait_for(Some(child), false) {
                        Ok(Some((_, status))) => match Event::decode(child, status) {
                            Some(Event::Stop { .. }) => return Ok(()),
                            Some(Event::Signal { sig, .. }) => {
                                crate::ptrace::cont(child, sig.number())
                                    .context("resume the guest process")?;
                            }
                            other => {
                                bail!("the guest process did not start as expected: {other:?}")
                            }
                        },
                        Ok(None) | Err(Errno::EINTR) => {}
                        Err(e) => bail!("wait for the guest process: {e}"),
                    }
                }
            })();
            if let Err(e) = seized {
                let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
                let _ = waitpid(child, None);
                return Err(e);
            }
            // Let it go on to its execve once resumed.
            nix::unistd::write(&go_write, b"x").context("start the guest process")?;
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

/// How many errno values have their message made before the fork.
const ERRNO_MESSAGES: i32 = 134;

/// `strerror`'s text for `errno`, without Rust's " (os error N)".
pub(crate) fn os_message(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn child_exec_fail(program: &[u8], message: &str, code: i32) -> ! {
    write_stderr(&[
        b"sproot error: cannot execute ",
        program,
        b" in the guest: ",
        message.as_bytes(),
        b"\n",
    ]);
    // SAFETY: _exit never returns and is async-signal-safe.
    unsafe { libc::_exit(code) }
}

/// `fork` as a raw `clone(SIGCHLD)`. libc's `fork` may use the legacy
/// `fork` syscall (musl on x86_64), which Android's app policy traps, and
/// makes it with every signal blocked, so the trap's `SIGSYS` could not be
/// handled (seccomp/own_trap.rs) and would kill sproot.
///
/// # Safety
/// As `fork`: the caller is single-threaded, and the child only makes
/// async-signal-safe calls.
pub(crate) unsafe fn new_process() -> nix::Result<ForkResult> {
    // SAFETY: clone with only the exit signal set and no new stack is fork.
    let r = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_long, 0, 0, 0, 0) };
    match r {
        -1 => Err(nix::errno::Errno::last()),
        0 => Ok(ForkResult::Child),
        pid => Ok(ForkResult::Parent {
            child: Pid::from_raw(pid as i32),
        }),
    }
}
