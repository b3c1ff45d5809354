//! Signals sent to sproot itself.
//!
//! A signal sent to sproot by another process (`kill`) is passed on to the
//! first guest process. A signal the terminal generated (Ctrl-C, Ctrl-\)
//! already reached the whole foreground process group, guests included, so
//! it is not passed on again: the guest sees it once.

use std::sync::atomic::{AtomicI32, Ordering};

static FIRST_PID: AtomicI32 = AtomicI32::new(0);

/// Signals passed on to the first guest process.
const FORWARDED: [libc::c_int; 5] = [
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGUSR1,
];

extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let code = unsafe { (*info).si_code };
    // si_code <= 0: sent by a process (kill, sigqueue, tgkill); > 0: by the
    // kernel, e.g. the terminal driver.
    if code > 0 && sig != libc::SIGTERM {
        return;
    }
    let pid = FIRST_PID.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Install the forwarding handlers for the first guest process `pid`.
pub fn install(pid: i32) {
    FIRST_PID.store(pid, Ordering::Relaxed);
    for sig in FORWARDED {
        // SAFETY: a zeroed sigaction with a valid handler and flags is a
        // well-formed argument; the handler only calls kill(2).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The first guest process is gone: stop forwarding to its (reusable) pid.
pub fn forget_first() {
    FIRST_PID.store(0, Ordering::Relaxed);
}
