//! `--sysvipc` in the tracer: a guest's SysV IPC call is answered by the
//! run's emulated namespace ([`crate::ext::sysvipc`]), never the kernel's.
//!
//! A call that completes gets its result at once. The others run as calls
//! of sproot's own in the guest thread, one after another, with the
//! machinery of `outer_trap.rs` (each is rewound to the thread's syscall
//! instruction, and the guest's registers come back at the end):
//!
//! - a **wait** (`semop`, `msgsnd`, `msgrcv` that cannot go on) sleeps in
//!   `ppoll` with no descriptors, [`WAKE`] unblocked, and `semtimedop`'s
//!   timeout. When its object changes, sproot sends the thread [`WAKE`]
//!   and suppresses it at its delivery stop: `ppoll` ends with a restart
//!   code, the guest's own call is put back in the registers, and the
//!   kernel restarts it, so it is trapped and answered again. A signal of
//!   the guest's interrupts the wait as natively: with a handler, the call
//!   fails with `EINTR` (these calls are never restarted after a handler);
//!   without one it goes on waiting. A timeout gives `EAGAIN`.
//! - an **attach** (`shmat`) is `openat` of the segment's file, `mmap`
//!   (`MAP_SHARED`) and `close`; a **detach** (`shmdt`) is `munmap`.

use super::outer_trap::{AttachStep, OuterCall, Phase, Then};
use super::stopped::Stopped;
use super::{Proc, Tracer};
use crate::arch::{Regs, sys};
use crate::ext::sysvipc::call::{self, Action};
use crate::ext::sysvipc::{Caller, SysvIpc};
use crate::ptrace;
use crate::syscall::TraceeMemory;
use crate::syscall::trapped::{OnSuccess, Substitute};
use nix::errno::Errno;
use nix::unistd::Pid;
use std::os::unix::ffi::OsStrExt;

/// The signal that wakes a waiting thread (`SIGRTMAX`): sent by sproot,
/// never delivered.
pub const WAKE: i32 = 64;

const AT_FDCWD: u64 = -100i64 as u64;
const O_CLOEXEC: u64 = 0o2000000;
const O_RDWR: u64 = 2;
const MAP_SHARED: u64 = 1;
const MAP_FIXED: u64 = 0x10;
/// Linux 4.17; an older kernel takes the address as a hint.
const MAP_FIXED_NOREPLACE: u64 = 0x100000;
const PTRACE_GETSIGMASK: u32 = 0x420a;
const SI_TKILL: i32 = -6;

impl Tracer<'_> {
    /// The caller as the namespace's permission checks see it.
    fn ipc_caller(&self, pid: Pid) -> Caller {
        let raw = pid.as_raw();
        let proc = Proc {
            tasks: &self.tasks,
            tid: raw,
        };
        let (uid, gid) = self
            .tasks
            .get(raw)
            .and_then(|t| t.creds.borrow().as_ref().map(|c| (c.euid, c.egid)))
            .unwrap_or(self.env.real_ids);
        Caller {
            pid: crate::fs::ProcContext::pid(&proc),
            tid: raw,
            uid,
            gid,
        }
    }

    /// Answer an IPC call of `pid` (registers `regs`, at a syscall entry
    /// if `in_place`, else at an outer filter's trap); the stop back when
    /// `--sysvipc` is off.
    pub(super) fn sysv_call(
        &mut self,
        stopped: Stopped,
        regs: Regs,
        in_place: bool,
    ) -> Result<(), Stopped> {
        if self.ipc.is_none() {
            return Err(stopped);
        }
        let pid = stopped.pid();
        let caller = self.ipc_caller(pid);
        let nr = regs.sysno();
        let Some(ipc) = self.ipc.as_mut() else {
            return Err(stopped);
        };
        let mut mem = TraceeMemory(pid);
        let action = call::call(ipc, nr, regs.args(), &caller, &mut mem);
        log::debug!(
            "{pid}: {} under --sysvipc: {action:?}",
            sys::name(nr).unwrap_or("?")
        );
        self.send_wakes();
        let (sub, then) = match action {
            Action::Complete(v) => {
                self.complete_in(stopped, regs, v, in_place);
                return Ok(());
            }
            Action::Wait { timeout } => match self.wait_call(pid, &regs, timeout) {
                Ok(sub) => (sub, Then::Wait),
                Err(e) => {
                    if let Some(ipc) = self.ipc.as_mut() {
                        ipc.stop_waiting(pid.as_raw());
                    }
                    self.complete_in(stopped, regs, -(e as i64), in_place);
                    return Ok(());
                }
            },
            Action::Attach(at) => {
                let mut scratch = ptrace::scratch_below(regs.sp());
                let path = match scratch.push_cstr(
                    &mut ptrace::TraceeMemory(pid),
                    at.file.as_os_str().as_bytes(),
                ) {
                    Ok(p) => p,
                    Err(e) => {
                        self.lost(stopped, e.into(), "write a path");
                        return Ok(());
                    }
                };
                let flags = MAP_SHARED
                    | match (at.remap, at.addr) {
                        (true, _) => MAP_FIXED,
                        (false, 0) => 0,
                        (false, _) => MAP_FIXED_NOREPLACE,
                    };
                let prot = libc::PROT_READ as u64
                    | if at.readonly {
                        0
                    } else {
                        libc::PROT_WRITE as u64
                    }
                    | if at.exec { libc::PROT_EXEC as u64 } else { 0 };
                let open = if at.readonly { 0 } else { O_RDWR } | O_CLOEXEC;
                let step = AttachStep {
                    id: at.id,
                    size: at.size,
                    addr: at.addr,
                    prot,
                    flags,
                    fd: None,
                    mapped: None,
                };
                (
                    own(sys::SYS_openat, [AT_FDCWD, path, open, 0, 0, 0]),
                    Then::Attach(step),
                )
            }
            Action::Detach { addr, len } => {
                let mut sub = own(sys::SYS_munmap, [addr, len, 0, 0, 0, 0]);
                sub.on_success = OnSuccess::Value(0);
                (sub, Then::Detach(addr))
            }
        };
        self.own_calls(stopped, regs, sub, then, in_place);
        Ok(())
    }

    /// The call returns `v` without running.
    fn complete_in(&mut self, stopped: Stopped, mut regs: Regs, v: i64, in_place: bool) {
        let pid = stopped.pid();
        super::outer_trap::complete(&mut regs, v);
        if in_place
            && !self.seccomp
            && let Some(t) = self.tasks.get_mut(pid.as_raw())
        {
            // Without seccomp the exit stop comes; the skipped call's
            // result is written there.
            t.syscall = Some(super::syscalls::AtExit::Value(v));
        }
        match ptrace::set_regs(pid, &regs) {
            Ok(()) => self.restart(stopped, false),
            Err(e) => self.lost(stopped, e, "write the registers"),
        }
    }

    /// The `ppoll` a waiting thread sleeps in: no descriptors, the guest's
    /// signal mask without [`WAKE`], the timeout if any. Its first
    /// argument is the guest's own (unused with no descriptors): arm64
    /// restarts a call with the first argument register as it was at the
    /// entry.
    fn wait_call(
        &self,
        pid: Pid,
        regs: &Regs,
        timeout: Option<[u8; 16]>,
    ) -> Result<Substitute, Errno> {
        let mut mask = [0u8; 8];
        ptrace::guest::with_buffer(PTRACE_GETSIGMASK, pid, 8, &mut mask)?;
        let bits = u64::from_ne_bytes(mask) & !(1u64 << (WAKE - 1));
        let mut scratch = ptrace::scratch_below(regs.sp());
        let mask_at = scratch.push(&mut ptrace::TraceeMemory(pid), &bits.to_ne_bytes())?;
        let ts_at = match timeout {
            Some(ts) => scratch.push(&mut ptrace::TraceeMemory(pid), &ts)?,
            None => 0,
        };
        let mut sub = own(sys::SYS_ppoll, [regs.arg(0), 0, ts_at, mask_at, 8, 0]);
        // ppoll's 0 is the timeout.
        sub.on_success = OnSuccess::Value(-(Errno::EAGAIN as i64));
        Ok(sub)
    }

    /// Wake the threads whose object changed.
    pub(super) fn send_wakes(&mut self) {
        let Some(ipc) = self.ipc.as_mut() else { return };
        for tid in ipc.take_wakes() {
            let proc = Proc {
                tasks: &self.tasks,
                tid,
            };
            let tgid = crate::fs::ProcContext::pid(&proc);
            if let Err(e) = ptrace::guest::tgkill(tgid, tid, WAKE) {
                log::debug!("wake {tid}: {e}");
            }
        }
    }

    /// Whether a delivery stop of [`WAKE`] is sproot's own wake-up (to
    /// suppress).
    pub(super) fn is_wake(&self, pid: Pid) -> bool {
        if self.ipc.is_none() {
            return false;
        }
        let Ok(si) = nix::sys::ptrace::getsiginfo(pid) else {
            return false;
        };
        // SAFETY: si_pid reads the sender's pid, which tgkill fills in.
        si.si_code == SI_TKILL && unsafe { si.si_pid() } == std::process::id() as i32
    }

    /// The delivery stop of sproot's wake-up, which is suppressed. A
    /// thread that has not entered its wait's `ppoll` yet (rewound to its
    /// syscall instruction after an outer trap; the signal came before)
    /// would sleep through it: its own call is put back instead, to run
    /// and be answered again.
    pub(super) fn on_wake(&mut self, stopped: Stopped) {
        let pid = stopped.pid();
        let raw = pid.as_raw();
        let call = self.tasks.get(raw).and_then(|t| t.outer);
        if let Some(call) = call
            && call.then == Then::Wait
            && call.phase == Phase::Rewound
        {
            self.forget_outer(raw);
            if let Some(ipc) = self.ipc.as_mut() {
                ipc.interrupted(raw);
            }
            if let Err(e) = ptrace::set_regs(pid, &call.guest_call_again()) {
                return self.lost(stopped, e, "write the registers");
            }
        }
        self.restart(stopped, false);
    }

    /// The exit of a call of a wait, attach or detach: the next call, or
    /// the guest's registers back with the result.
    pub(super) fn sysv_step(&mut self, pid: Pid, call: OuterCall, now: Regs) -> Result<(), Errno> {
        let ret = now.ret();
        let raw = pid.as_raw();
        let tgid = self.ipc_caller(pid).pid;
        let done = |v: i64| Err(v);
        let next: Result<(Substitute, Then), i64> = match call.then {
            Then::Nothing | Then::Wait => done(ret),
            Then::Detach(addr) => {
                if ret == 0
                    && let Some(ipc) = self.ipc.as_mut()
                {
                    ipc.detached(tgid, addr);
                }
                done(ret)
            }
            Then::Attach(mut step) => match (step.fd, step.mapped) {
                (None, _) if ret < 0 => done(ret),
                (None, _) => {
                    step.fd = Some(ret as i32);
                    let args = [step.addr, step.size, step.prot, step.flags, ret as u64, 0];
                    Ok((own(sys::SYS_mmap, args), Then::Attach(step)))
                }
                (Some(fd), None) => {
                    step.mapped = Some(if ret == -(Errno::EEXIST as i64) {
                        -(Errno::EINVAL as i64)
                    } else {
                        ret
                    });
                    Ok((
                        own(sys::SYS_close, [fd as u64, 0, 0, 0, 0, 0]),
                        Then::Attach(step),
                    ))
                }
                (Some(_), Some(mapped)) => {
                    if !(-4095..0).contains(&mapped)
                        && let Some(ipc) = self.ipc.as_mut()
                    {
                        ipc.attached(tgid, mapped as u64, step.id);
                    }
                    done(mapped)
                }
            },
        };
        match next {
            Ok((sub, then)) => self.next_own_call(pid, call, now, sub, then),
            Err(v) => {
                if call.then == Then::Wait
                    && let Some(ipc) = self.ipc.as_mut()
                {
                    if crate::syscall::trapped::is_restart(v) {
                        ipc.interrupted(raw);
                    } else {
                        ipc.stop_waiting(raw);
                    }
                }
                let regs = call.guest_registers(&now, v);
                ptrace::set_regs(pid, &regs)
            }
        }
    }

    /// A process forked (`parent`'s event, `child` the new task): its
    /// shared memory attachments are inherited.
    pub(super) fn sysv_new_child(&mut self, parent: i32, child: i32) {
        let Some(ipc) = self.ipc.as_ref() else { return };
        let ptgid = self.ipc_caller(Pid::from_raw(parent)).pid;
        if !ipc.has_attachments(ptgid) {
            return;
        }
        if super::read_status_field(child, "Tgid:") == Some(child)
            && let Some(ipc) = self.ipc.as_mut()
        {
            ipc.forked(ptgid, child);
        }
    }

    /// Process `pid` ran `execve`.
    pub(super) fn sysv_exec(&mut self, pid: i32) {
        if let Some(ipc) = self.ipc.as_mut() {
            ipc.exec(pid);
        }
    }

    /// Thread `tid` is gone.
    pub(super) fn sysv_gone(&mut self, tid: i32) {
        if let Some(ipc) = self.ipc.as_mut() {
            ipc.gone(tid);
            self.send_wakes();
        }
    }
}

/// A call of sproot's own whose result is the guest call's.
fn own(nr: i64, args: [u64; 6]) -> Substitute {
    Substitute {
        nr,
        args,
        timeout_ms: None,
        on_success: OnSuccess::Same,
    }
}

/// The run's namespace, if `--sysvipc` is on.
pub fn new_namespace(cfg: &crate::config::Config) -> Option<SysvIpc> {
    cfg.ext.sysvipc.then(|| SysvIpc::new(&cfg.tmp_dir))
}
