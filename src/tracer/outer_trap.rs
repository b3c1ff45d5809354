//! Syscalls trapped by a seccomp filter outside sproot (Android's app
//! policy): a `SIGSYS` from such a filter is a syscall to complete, never
//! a death. What each call becomes is decided in
//! [`crate::syscall::trapped`]; this module applies it to the stopped
//! thread.
//!
//! A `SIGSYS` reaches sproot as a signal-delivery stop. It is the outer
//! filter's when its `si_code` is `SYS_SECCOMP` and the guest's own
//! filters (recorded by `guest/filters.rs`) do not trap that call
//! themselves; sproot's own filters never answer `SECCOMP_RET_TRAP`. The
//! signal is then suppressed and the call completed, answered by sproot's
//! handlers, or run as an allowed equivalent: the thread is rewound to its
//! syscall instruction with the equivalent in its registers and resumed
//! with `PTRACE_SYSCALL`; at the equivalent's exit (after sproot's own
//! translation of it, if its filter traps it) the guest's argument
//! registers are put back. An equivalent interrupted by a signal gets the
//! trapped call's own number and arguments back, so the kernel's restart
//! runs the trapped call again, which is trapped and handled again.

use super::Tracer;
use super::guest::filter_hooks::seccomp_data;
use super::stopped::Stopped;
use crate::arch::{self, Regs};
use crate::ptrace;
use crate::seccomp::cbpf;
use crate::syscall::Outcome;
use crate::syscall::trapped::{self, Plan, Settled, Substitute};
use nix::errno::Errno;
use nix::unistd::Pid;

/// Where a thread running an equivalent is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Rewound to the syscall instruction; the equivalent's entry is next
    /// (unless a signal handler runs first and makes calls of its own).
    Rewound,
    /// Inside a call a signal handler made before the equivalent ran.
    Other,
    /// Inside the equivalent: its exit stop puts the registers back.
    Running,
}

/// A call sproot runs in a guest thread in place of the guest's: a trapped
/// call's equivalent, or a step of a `--sysvipc` wait, attach or detach
/// (sysv.rs).
#[derive(Clone, Copy)]
pub struct OuterCall {
    /// The thread's registers at the trap or entry (the guest's own
    /// arguments).
    trapped: Regs,
    trapped_nr: i64,
    sub: Substitute,
    pub phase: Phase,
    /// What this call is part of.
    pub then: Then,
    /// Scratch memory the call writes to (a `statx`'s `struct stat`).
    scratch: u64,
}

impl OuterCall {
    /// The guest's argument registers, for a child of a trapped
    /// `fork`/`vfork` that runs as `clone` (the child starts with the
    /// `clone` arguments in them; glibc's `vfork` keeps its return address
    /// in one).
    pub fn fork_child_args(&self) -> Option<[u64; 6]> {
        (self.phase == Phase::Running && self.sub.nr == crate::arch::sys::SYS_clone)
            .then(|| self.trapped.args())
    }

    /// sproot's own call (host paths, no translation), not the guest's
    /// equivalent.
    pub fn is_own(&self) -> bool {
        self.then != Then::Nothing
    }

    /// The guest's registers rewound to its own call, which runs again.
    pub fn guest_call_again(&self) -> Regs {
        let mut regs = self.trapped;
        rewind(&mut regs, self.trapped_nr);
        regs
    }

    /// The guest's registers after its call returned `ret` (the last
    /// call's registers `now`): its own arguments back; on a restart code,
    /// its own call back for the kernel to run again.
    pub fn guest_registers(&self, now: &Regs, ret: i64) -> Regs {
        let mut regs = self.trapped;
        restore_pc(&mut regs, now);
        if trapped::is_restart(ret) {
            regs.set_ret(ret);
            regs.set_sysno(self.trapped_nr);
        } else {
            regs.set_ret(trapped::result(&self.sub, ret));
            regs.set_sysno(now.sysno());
        }
        regs
    }
}

/// What a call of sproot's own in a guest thread is part of, and what
/// comes after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// A trapped call's equivalent: nothing more (outer_trap.rs).
    Nothing,
    /// The `ppoll` of a wait.
    Wait,
    /// A step of an attach.
    Attach(AttachStep),
    /// The `munmap` of a detach at this address.
    Detach(u64),
}

/// Where an attach is: `openat` done → `mmap` done → `close` done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttachStep {
    pub id: i32,
    pub size: u64,
    pub addr: u64,
    pub prot: u64,
    pub flags: u64,
    /// The descriptor, once open; the mapping's address or error, once
    /// mapped.
    pub fd: Option<i32>,
    pub mapped: Option<i64>,
}

/// Rewind to the syscall instruction, with `nr` in the register the
/// instruction reads, and no syscall in progress (so the kernel's restart
/// logic leaves the registers alone on the way out of the stop).
#[cfg(target_arch = "x86_64")]
fn rewind(regs: &mut Regs, nr: i64) {
    regs.0.rip -= crate::arch::SYSCALL_INSN;
    regs.0.rax = nr as u64;
    regs.0.orig_rax = u64::MAX;
}
#[cfg(target_arch = "aarch64")]
fn rewind(regs: &mut Regs, nr: i64) {
    regs.gp.pc -= crate::arch::SYSCALL_INSN;
    regs.gp.regs[8] = nr as u64;
    regs.set_sysno(-1);
}

/// The call returns `v` where it stands: the result register, and no
/// syscall in progress.
pub(super) fn complete(regs: &mut Regs, v: i64) {
    regs.set_ret(v);
    regs.set_sysno(-1);
}

impl Tracer<'_> {
    /// A `SIGSYS` signal-delivery stop: true if it was an outer filter's
    /// trap, handled here (the signal suppressed); false to pass it on.
    pub(super) fn outer_trap(&mut self, pid: Pid) -> bool {
        let raw = pid.as_raw();
        let Ok(si) = nix::sys::ptrace::getsiginfo(pid) else {
            return false;
        };
        let (code, nr, arch) = crate::seccomp::own_trap::sigsys_fields(&si);
        if code != trapped::SYS_SECCOMP {
            return false;
        }
        // sproot's own code before the first exec has its own handler
        // (seccomp/own_trap.rs).
        if self.tasks.get(raw).is_some_and(|t| t.prelude) {
            return false;
        }
        let Ok(mut regs) = ptrace::get_regs(pid) else {
            return false;
        };
        let mut data = seccomp_data(&regs);
        data.nr = nr;
        data.arch = arch;
        // The guest's own filter trapped it: the guest gets its SIGSYS. An
        // ERRNO answer of the guest's is what the call returns without
        // the outer filter.
        let mut own_errno = None;
        if let Some(chain) = self.gsec.chain(raw) {
            let answer = chain.evaluate(&data);
            match answer & cbpf::RET_ACTION_FULL {
                cbpf::RET_TRAP => return false,
                cbpf::RET_ERRNO => own_errno = Some(i64::from(answer & cbpf::RET_DATA)),
                _ => {}
            }
        }
        self.stats.outer_traps += 1;
        let stopped = Stopped::new(pid);
        let nr = i64::from(nr);
        // Without seccomp, sproot may have rewritten the call at its entry
        // already: the guest's own arguments back.
        if !self.seccomp
            && let Some(rw) = self.tasks.get_mut(raw).and_then(|t| t.last_rewrite.take())
        {
            rw.undo_if_restart(&mut regs);
        }
        if own_errno.is_none() && arch == arch::AUDIT_ARCH && crate::ext::sysvipc::call::is_ipc(nr)
        {
            let mut call = regs;
            call.set_sysno(nr);
            if let Err(stopped) = self.sysv_call(stopped, call, false) {
                // Without --sysvipc: as a kernel without SysV IPC.
                complete(&mut regs, -(Errno::ENOSYS as i64));
                match ptrace::set_regs(pid, &regs) {
                    Ok(()) => self.restart(stopped, false),
                    Err(e) => self.lost(stopped, e, "write the registers"),
                }
            }
            return true;
        }
        let plan = if let Some(e) = own_errno {
            Plan::Complete(-e)
        } else if arch != arch::AUDIT_ARCH {
            // Another architecture's call (x86_64's int $0x80): as without
            // the outer filter.
            Plan::Complete(-(Errno::ENOSYS as i64))
        } else if nr == -1 {
            // Without seccomp: a call sproot emulated at its entry, whose
            // result is in place already.
            Plan::Complete(regs.ret())
        } else {
            trapped::plan(nr, regs.args())
        };
        log::debug!(
            "{pid}: {} trapped by an outer seccomp filter: {plan:?}",
            crate::arch::sys::name(nr).unwrap_or("?")
        );
        let settled = match plan {
            // AT_SYMLINK_NOFOLLOW done here: is the path a symlink in the
            // guest's view?
            Plan::NoFollow {
                if_symlink,
                otherwise,
            } => match self.names_a_symlink(pid, regs) {
                Ok(true) => Settled::Complete(if_symlink),
                Ok(false) => Settled::Substitute(otherwise),
                Err(e) => Settled::Complete(-(e as i64)),
            },
            _ => plan.settle(|| {
                let mut call = regs;
                call.set_sysno(nr);
                match self.run_handlers(pid, call).0 {
                    Outcome::Emulated(v) => Some(v),
                    _ => None,
                }
            }),
        };
        let v = match settled {
            Settled::Substitute(sub) => {
                let mut trapped = regs;
                trapped.set_sysno(nr);
                self.own_calls(stopped, trapped, sub, Then::Nothing, false);
                return true;
            }
            Settled::Complete(v) => v,
        };
        complete(&mut regs, v);
        match ptrace::set_regs(pid, &regs) {
            Ok(()) => self.restart(stopped, false),
            Err(e) => self.lost(stopped, e, "write the registers"),
        }
        true
    }

    /// Whether the path of a `*at` call (directory fd in argument 0, path
    /// in argument 1) names a symlink, resolved in the guest's view
    /// without following its last component.
    fn names_a_symlink(&self, pid: Pid, regs: Regs) -> Result<bool, Errno> {
        let raw = pid.as_raw();
        let proc = super::Proc {
            tasks: &self.tasks,
            tid: raw,
        };
        let mut mem = crate::syscall::TraceeMemory(pid);
        let ctx = crate::syscall::Ctx::new(&self.env, &proc, pid, regs, None, &mut mem);
        let Some(path) = ctx.entry().and_then(|e| e.path_arg(0)) else {
            return Ok(false);
        };
        let host = ctx.host_of_arg(path.dirfd, path.path, false)?;
        let st = nix::sys::stat::lstat(host.as_path())?;
        Ok(st.st_mode & libc::S_IFMT == libc::S_IFLNK)
    }

    /// Run `sub` in place of the guest's call (`trapped`, with its number
    /// in its syscall number register): at its entry stop if `in_place`
    /// (changed there and run), else rewound to the syscall instruction.
    pub(super) fn own_calls(
        &mut self,
        stopped: Stopped,
        trapped: Regs,
        mut sub: Substitute,
        then: Then,
        in_place: bool,
    ) {
        let pid = stopped.pid();
        let trapped_nr = trapped.sysno();
        let mut regs = trapped;
        if let Some((arg, ms)) = sub.timeout_ms {
            sub.args[arg] = match trapped::timespec_of_ms(ms) {
                None => 0,
                Some(ts) => {
                    let mut scratch = ptrace::scratch_below(regs.sp());
                    match scratch.push(&mut ptrace::TraceeMemory(pid), &ts) {
                        Ok(addr) => addr,
                        Err(e) => return self.lost(stopped, e.into(), "write a timeout"),
                    }
                }
            };
        }
        // statx as newfstatat: its struct stat goes to scratch memory.
        let mut scratch = 0;
        if let trapped::OnSuccess::Statx { .. } = sub.on_success {
            match ptrace::scratch_below(regs.sp()).reserve(trapped::STATX_LEN) {
                Ok(addr) => {
                    scratch = addr;
                    sub.set_out(addr);
                }
                Err(e) => return self.lost(stopped, e.into(), "make room for a stat"),
            }
        }
        if in_place {
            regs.set_sysno(sub.nr);
        } else {
            rewind(&mut regs, sub.nr);
        }
        for (i, v) in sub.args.into_iter().enumerate() {
            regs.set_arg(i, v);
        }
        if let Err(e) = ptrace::set_regs(pid, &regs) {
            return self.lost(stopped, e, "write the registers");
        }
        if let Some(t) = self.tasks.get_mut(pid.as_raw()) {
            t.outer = Some(OuterCall {
                trapped,
                trapped_nr,
                sub,
                phase: if in_place {
                    Phase::Running
                } else {
                    Phase::Rewound
                },
                then,
                scratch,
            });
        }
        self.kernel.outer.insert(pid.as_raw());
        self.restart(stopped, true);
    }

    /// At the exit of one of sproot's own calls: the next one, rewound to
    /// the syscall instruction.
    pub(super) fn next_own_call(
        &mut self,
        pid: Pid,
        mut call: OuterCall,
        now: Regs,
        sub: Substitute,
        then: Then,
    ) -> Result<(), Errno> {
        let mut regs = now;
        rewind(&mut regs, sub.nr);
        for (i, v) in sub.args.into_iter().enumerate() {
            regs.set_arg(i, v);
        }
        ptrace::set_regs(pid, &regs)?;
        call.sub = sub;
        call.then = then;
        call.phase = Phase::Rewound;
        if let Some(t) = self.tasks.get_mut(pid.as_raw()) {
            t.outer = Some(call);
        }
        self.kernel.outer.insert(pid.as_raw());
        Ok(())
    }

    /// A syscall stop of a thread with an equivalent pending, before its
    /// entry was seen: the equivalent's entry, or a call of a signal
    /// handler that ran first. True if the stop was handled here.
    pub(super) fn outer_entry(&mut self, pid: Pid) -> bool {
        let raw = pid.as_raw();
        let Some(call) = self.tasks.get(raw).and_then(|t| t.outer) else {
            return false;
        };
        let next = match call.phase {
            Phase::Running => return false,
            // The exit of a signal handler's call: handled as any exit.
            Phase::Other => {
                self.set_outer_phase(raw, Phase::Rewound);
                return false;
            }
            Phase::Rewound => match ptrace::get_regs(pid) {
                Ok(r) if r.sysno() == call.sub.nr && r.pc() == call.trapped.pc() => Phase::Running,
                Ok(_) => Phase::Other,
                Err(e) => {
                    self.lost(Stopped::new(pid), e, "read the registers");
                    return true;
                }
            },
        };
        self.set_outer_phase(raw, next);
        if next == Phase::Running && call.is_own() {
            // sproot's own call: run as it is, its exit stop next.
            if !self.seccomp
                && let Some(t) = self.tasks.get_mut(raw)
            {
                t.syscall = Some(super::syscalls::AtExit::Nothing);
            }
            self.restart(Stopped::new(pid), true);
            return true;
        }
        if self.seccomp {
            // With seccomp, entries stop only for this: resume to the
            // seccomp stop (if sproot's filter traps the call) and the exit.
            self.restart(Stopped::new(pid), true);
            return true;
        }
        false
    }

    fn set_outer_phase(&mut self, raw: i32, phase: Phase) {
        if let Some(c) = self.tasks.get_mut(raw).and_then(|t| t.outer.as_mut()) {
            c.phase = phase;
        }
    }

    /// At the exit stop of an equivalent: the trapped call's result, with
    /// the guest's own argument registers back.
    pub(super) fn outer_exit(&mut self, pid: Pid) -> Result<(), Errno> {
        let raw = pid.as_raw();
        let Some(call) = self.tasks.get(raw).and_then(|t| t.outer) else {
            return Ok(());
        };
        if call.phase != Phase::Running {
            return Ok(());
        }
        self.forget_outer(raw);
        let now = ptrace::get_regs(pid)?;
        if call.is_own() {
            return self.sysv_step(pid, call, now);
        }
        let mut ret = now.ret();
        if let trapped::OnSuccess::Statx { buf } = call.sub.on_success
            && ret == 0
        {
            ret = match rebuild_statx(pid, call.scratch, buf) {
                Ok(()) => 0,
                Err(e) => -(e as i64),
            };
        }
        // On a restart code the kernel will run the call again: the
        // trapped one, trapped and handled again.
        ptrace::set_regs(pid, &call.guest_registers(&now, ret))
    }

    /// A seccomp stop of sproot's own call (its `openat`, `close`): not
    /// the guest's, not translated.
    pub(super) fn is_own_call(&self, raw: i32) -> bool {
        self.tasks
            .get(raw)
            .and_then(|t| t.outer.as_ref())
            .is_some_and(|c| c.is_own() && c.phase == Phase::Running)
    }

    /// A task's first stop: if it is the child of a trapped `fork`/`vfork`
    /// run as `clone`, its argument registers as its parent's were.
    pub(super) fn fix_fork_child(&mut self, pid: Pid) {
        let raw = pid.as_raw();
        let args = match self.tasks.get_mut(raw) {
            Some(t) => t.fork_child_args.take(),
            // Its parent's clone event is still to come: the parent is
            // inside the clone.
            None => super::read_status_field(raw, "PPid:")
                .and_then(|p| self.tasks.get(p))
                .and_then(|p| p.outer.as_ref())
                .and_then(OuterCall::fork_child_args),
        };
        let Some(args) = args else { return };
        if let Ok(mut regs) = ptrace::get_regs(pid) {
            for (i, v) in args.into_iter().enumerate() {
                regs.set_arg(i, v);
            }
            if let Err(e) = ptrace::set_regs(pid, &regs) {
                log::debug!("{pid}: put back the registers of a fork's child: {e}");
            }
        }
    }

    pub(super) fn forget_outer(&mut self, raw: i32) {
        if let Some(t) = self.tasks.get_mut(raw) {
            t.outer = None;
        }
        self.kernel.outer.remove(&raw);
    }
}

/// The program counter and stack where the thread is now (after the
/// equivalent: past its syscall instruction, which is where the trapped
/// call's was).
#[cfg(target_arch = "x86_64")]
fn restore_pc(regs: &mut Regs, now: &Regs) {
    regs.0.rip = now.0.rip;
    regs.0.rcx = now.0.rcx;
    regs.0.r11 = now.0.r11;
    regs.0.eflags = now.0.eflags;
}
#[cfg(target_arch = "aarch64")]
fn restore_pc(regs: &mut Regs, now: &Regs) {
    regs.gp.pc = now.gp.pc;
    regs.gp.pstate = now.gp.pstate;
    // The syscall number register as the guest set it.
    regs.entry_sysno = now.sysno;
}

/// The `struct statx` a trapped `statx` asked for at `buf`, from the
/// `struct stat` its `newfstatat` wrote at `scratch`.
fn rebuild_statx(pid: Pid, scratch: u64, buf: u64) -> Result<(), Errno> {
    let mut st = [0u8; trapped::STAT_LEN];
    ptrace::read_into(pid, scratch, &mut st)?;
    ptrace::write(pid, buf, &trapped::statx_of_stat(&st)).map_err(|_| Errno::EFAULT)
}
