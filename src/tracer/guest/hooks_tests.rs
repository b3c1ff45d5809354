//! The hooks against fake tasks: a guest tracer (thread group 10) and its
//! tracee (20), their registers and memory in maps, every effect recorded.

use super::super::backend::fake::{Call, FakeGuests, FakeTasks};
use super::*;
use crate::arch::sys;

const TRACER: i32 = 10;
const TRACEE: i32 = 20;
pub(in crate::tracer::guest) const SP: u64 = 0x7fff_0000;

/// The hooks' state with fake tasks (the event-order model drives it too).
#[derive(Default)]
pub(in crate::tracer::guest) struct World {
    pub guest: GuestPtrace,
    pub waits: Waits,
    pub gate: Gate,
    entry_regs: HashMap<i32, Regs>,
    filter_stops: HashSet<i32>,
    outer: HashSet<i32>,
    pub guests: FakeGuests,
    pub be: FakeTasks,
    /// What the last `hooks` run left for `gsec_continue`.
    continues: Vec<i32>,
    /// sproot runs with `--no-seccomp`.
    no_seccomp: bool,
    /// What the last `hooks` run left to write at syscall exits.
    emulated: Vec<(i32, i64)>,
}

impl World {
    /// A guest tracer that has seized `TRACEE` with `options` (its waits
    /// already stop at sproot's filter). `TRACEE` is not the tracer's
    /// child: its exit is reported through the emulated wait.
    fn new(options: u32) -> World {
        let mut w = World::default();
        w.guests.tgids.extend([(TRACER, TRACER), (TRACEE, TRACEE)]);
        w.waits.filtered.insert(TRACER);
        w.guest
            .attach(TRACER, TRACEE, TRACEE, None, Some(options))
            .unwrap();
        w
    }

    /// The waits of process `tgid` stop at sproot's filter already (the
    /// event-order model's set-up; the model is x86_64's).
    #[cfg(target_arch = "x86_64")]
    pub fn waits_filtered(&mut self, tgid: i32) {
        self.waits.filtered.insert(tgid);
    }

    pub fn hooks<R>(&mut self, f: impl FnOnce(&mut Hooks<'_>) -> R) -> R {
        let mut h = Hooks {
            guest: &mut self.guest,
            waits: &mut self.waits,
            gate: &mut self.gate,
            entry_regs: &mut self.entry_regs,
            filter_stops: &mut self.filter_stops,
            outer: &self.outer,
            seccomp: !self.no_seccomp,
            tasks: &self.guests,
            be: &mut self.be,
            filter_continues: Vec::new(),
            emulated: Vec::new(),
        };
        let r = f(&mut h);
        self.continues = std::mem::take(&mut h.filter_continues);
        self.emulated = std::mem::take(&mut h.emulated);
        r
    }

    /// The tracer's thread makes syscall `nr` (trapped at its entry):
    /// whether the hooks answered it.
    pub fn syscall(&mut self, nr: i64, args: [u64; 6]) -> bool {
        self.syscall_of(TRACER, nr, args)
    }

    /// Thread `tid` makes syscall `nr`.
    pub fn syscall_of(&mut self, tid: i32, nr: i64, args: [u64; 6]) -> bool {
        self.enter(tid, Regs::entry(nr, args, SP))
    }

    /// Thread `tid` at a syscall entry with `regs`.
    pub fn enter(&mut self, tid: i32, regs: Regs) -> bool {
        self.be.regs.insert(tid, regs);
        self.be.calls.clear();
        let stopped = Stopped::new(Pid::from_raw(tid));
        self.hooks(|h| h.syscall(stopped, &regs))
            .map_err(Stopped::consume)
            .is_ok()
    }

    /// `ptrace(req, pid, addr, data)` by the tracer: its result.
    fn ptrace(&mut self, req: u64, pid: i32, addr: u64, data: u64) -> i64 {
        assert!(self.syscall(sys::SYS_ptrace, [req, pid as u64, addr, data, 0, 0]));
        self.ret(TRACER)
    }

    /// The result a skipped syscall of `tid` returns.
    fn ret(&self, tid: i32) -> i64 {
        let r = self.be.regs[&tid];
        assert_eq!(r.sysno(), -1, "the syscall of {tid} is skipped");
        r.ret()
    }

    /// `TRACEE` stops with `status`, shown to the tracer.
    fn stop(&mut self, status: i32) {
        self.hooks(|h| h.show(TRACEE, status));
    }

    fn resumed(&self, pid: i32, sig: i32, syscall: bool) -> Call {
        let _ = self;
        Call::Resume { pid, sig, syscall }
    }
}

fn trap() -> i32 {
    gp::stopped_status(libc::SIGTRAP, 0)
}

// The architectures' registers, for the tests of the loader's marker and
// of a syscall run again.

/// The number the syscall instruction runs with: `rax`, `x8`.
#[cfg(target_arch = "x86_64")]
fn syscall_insn_nr(r: &Regs) -> i64 {
    r.0.rax as i64
}
#[cfg(target_arch = "aarch64")]
fn syscall_insn_nr(r: &Regs) -> i64 {
    r.gp.regs[8] as i64
}

/// The exit stop of the loader's marker `getpid` (result 99) with the
/// program's stack pointer and entry, as the loader passes them.
#[cfg(target_arch = "x86_64")]
fn marker_exit(sp: u64, entry: u64) -> Regs {
    let mut regs = Regs::entry(sys::SYS_getpid, [sp, entry, 0, 0, 0, 0], 0x3000_0000);
    regs.0.rax = 99;
    regs
}
#[cfg(target_arch = "aarch64")]
fn marker_exit(sp: u64, entry: u64) -> Regs {
    let mut regs = Regs::entry(sys::SYS_getpid, [99, sp, entry, 0, 0, 0], 0x3000_0000);
    regs.gp.regs[19] = 0x1234;
    regs.gp.regs[30] = 0x5678;
    regs.gp.pstate = 0x6000_0000;
    regs
}

/// `r` are the registers the kernel leaves after an `execve` of a program
/// whose stack starts at `sp`, run from `entry`.
#[cfg(target_arch = "x86_64")]
fn assert_after_execve(r: &Regs, sp: u64, entry: u64) {
    let r = r.0;
    assert_eq!((r.rsp, r.rip, r.rax, r.rdi, r.rsi), (sp, entry, 0, 0, 0));
    assert_eq!(r.orig_rax, sys::SYS_execve as u64);
}
#[cfg(target_arch = "aarch64")]
fn assert_after_execve(r: &Regs, sp: u64, entry: u64) {
    assert_eq!((r.gp.sp, r.gp.pc), (sp, entry));
    let mut exit_stop = [0; 31];
    exit_stop[7] = 1;
    assert_eq!(r.gp.regs, exit_stop, "x0 (the result), x8 and the rest");
    assert_eq!(r.gp.pstate & 0xf000_0000, 0, "no condition flags");
    assert_eq!(r.sysno(), sys::SYS_execve, "NT_ARM_SYSTEM_CALL");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn getregs_is_copied_from_the_stopped_tracee_into_the_tracer() {
    let mut w = World::new(0);
    w.stop(trap());
    let regs: Vec<u8> = (0..std::mem::size_of::<libc::user_regs_struct>())
        .map(|i| i as u8)
        .collect();
    w.be.buffers.insert((TRACEE, 12), regs.clone());
    assert_eq!(w.ptrace(12, TRACEE, 0, 0x5000), 0);
    assert_eq!(w.be.peek(TRACER, 0x5000, regs.len()), Some(regs));
    assert_eq!(
        w.be.calls.last(),
        Some(&w.resumed(TRACER, 0, false)),
        "the tracer goes on"
    );
    assert!(w.gate.holds(TRACEE), "the tracee stays held");
}

#[test]
fn peekdata_and_pokedata_reach_the_tracee_memory() {
    let mut w = World::new(0);
    w.stop(trap());
    w.be.poke(TRACEE, 0x1000, &0x1122_3344_5566_7788u64.to_ne_bytes());
    // PEEKDATA: the word goes to *data in the tracer.
    assert_eq!(w.ptrace(2, TRACEE, 0x1000, 0x5000), 0);
    assert_eq!(w.be.peek_u64(TRACER, 0x5000), Some(0x1122_3344_5566_7788));
    // POKEDATA.
    assert_eq!(w.ptrace(5, TRACEE, 0x1008, 0xdead_beef), 0);
    assert_eq!(w.be.peek_u64(TRACEE, 0x1008), Some(0xdead_beef));
}

#[test]
fn getregset_fills_the_tracer_iovec_and_its_length() {
    let mut w = World::new(0);
    w.stop(trap());
    let note: Vec<u8> = (100..132).collect();
    w.be.buffers.insert((TRACEE, 1), note.clone());
    // struct iovec { base 0x9000, len 64 } at 0x8000.
    w.be.poke(TRACER, 0x8000, &0x9000u64.to_ne_bytes());
    w.be.poke(TRACER, 0x8008, &64u64.to_ne_bytes());
    assert_eq!(w.ptrace(0x4204, TRACEE, 1, 0x8000), 0);
    assert_eq!(w.be.peek(TRACER, 0x9000, 32), Some(note));
    assert_eq!(w.be.peek_u64(TRACER, 0x8008), Some(32));
    assert_eq!(w.be.peek(TRACER, 0x9020, 1), None, "nothing past the note");
}

#[test]
fn a_request_for_a_running_tracee_is_esrch() {
    let mut w = World::new(0);
    assert_eq!(w.ptrace(12, TRACEE, 0, 0x5000), -(libc::ESRCH as i64));
    assert_eq!(w.be.peek(TRACER, 0x5000, 1), None);
}

#[test]
fn a_request_about_a_task_outside_the_guest_runs_natively() {
    let mut w = World::new(0);
    assert!(!w.syscall(sys::SYS_ptrace, [12, 4242, 0, 0x5000, 0, 0]));
    assert_eq!(w.be.calls, []);
}

#[test]
fn wait4_collects_an_owed_status_and_returns_the_tracee() {
    let mut w = World::new(0);
    w.stop(trap());
    assert_eq!(w.be.calls, [Call::Kill(TRACER, Signal::SIGCHLD)]);
    assert!(w.syscall(sys::SYS_wait4, [-1i64 as u64, 0x6000, 0, 0x6100, 0, 0]));
    assert_eq!(w.ret(TRACER), i64::from(TRACEE));
    assert_eq!(w.be.peek_i32(TRACER, 0x6000), Some(trap()));
    let rusage = std::mem::size_of::<libc::rusage>();
    assert_eq!(w.be.peek(TRACER, 0x6100, rusage), Some(vec![0; rusage]));
    assert_eq!(w.be.calls.last(), Some(&w.resumed(TRACER, 0, false)));
    assert!(!w.guest.has_report_for(TRACER), "collected");
}

#[test]
fn waitid_writes_the_siginfo_of_an_exit() {
    let mut w = World::new(0);
    w.hooks(|h| {
        h.after(Event::Exited {
            pid: Pid::from_raw(TRACEE),
            code: 3,
        })
    });
    let args = [P_PID, TRACEE as u64, 0x6000, libc::WEXITED as u64, 0, 0];
    assert!(w.syscall(sys::SYS_waitid, args));
    assert_eq!(w.ret(TRACER), 0);
    assert_eq!(w.be.peek_i32(TRACER, 0x6000), Some(libc::SIGCHLD));
    assert_eq!(w.be.peek_i32(TRACER, 0x6008), Some(libc::CLD_EXITED));
    assert_eq!(w.be.peek_i32(TRACER, 0x6010), Some(TRACEE));
    assert_eq!(w.be.peek_i32(TRACER, 0x6018), Some(3));
}

#[test]
fn waitid_writes_the_siginfo_of_a_stop() {
    let mut w = World::new(0);
    w.stop(gp::stopped_status(libc::SIGUSR1, 0));
    let args = [
        P_ALL,
        0,
        0x6000,
        (libc::WSTOPPED | libc::__WALL) as u64,
        0,
        0,
    ];
    assert!(w.syscall(sys::SYS_waitid, args));
    assert_eq!(w.ret(TRACER), 0);
    assert_eq!(w.be.peek_i32(TRACER, 0x6008), Some(libc::CLD_TRAPPED));
    assert_eq!(w.be.peek_i32(TRACER, 0x6018), Some(libc::SIGUSR1));
}

#[test]
fn wnohang_with_nothing_owed_runs_natively_and_echild_reads_as_nothing_yet() {
    let mut w = World::new(0);
    let args = [-1i64 as u64, 0x6000, libc::WNOHANG as u64, 0, 0, 0];
    assert!(w.syscall(sys::SYS_wait4, args));
    assert_eq!(w.be.calls, [w.resumed(TRACER, 0, true)], "to its exit");
    assert_eq!(w.be.regs[&TRACER].sysno(), sys::SYS_wait4, "not skipped");
    // Its exit: the kernel found no real child.
    let mut regs = w.be.regs[&TRACER];
    regs.set_ret(-(libc::ECHILD as i64));
    w.be.regs.insert(TRACER, regs);
    w.be.calls.clear();
    let ev = Event::Syscall {
        pid: Pid::from_raw(TRACER),
    };
    assert!(w.hooks(|h| h.before(ev)));
    assert_eq!(w.be.regs[&TRACER].ret(), 0);
    assert_eq!(w.be.calls.last(), Some(&w.resumed(TRACER, 0, false)));
    assert!(w.waits.is_empty());
}

#[test]
fn a_wait_for_a_running_tracee_is_parked_until_a_status_is_owed() {
    let mut w = World::new(0);
    assert!(w.syscall(sys::SYS_wait4, [-1i64 as u64, 0x6000, 0, 0, 0, 0]));
    assert_eq!(w.be.calls, [], "parked: not resumed");
    assert!(w.gate.holds(TRACER));
    w.be.calls.clear();
    w.stop(trap());
    assert_eq!(
        w.be.calls_on(TRACER),
        [
            Call::Kill(TRACER, Signal::SIGCHLD),
            Call::Write {
                pid: TRACER,
                addr: 0x6000,
                len: 4
            },
            Call::SetRegs(TRACER),
            w.resumed(TRACER, 0, false),
        ]
    );
    assert_eq!(w.ret(TRACER), i64::from(TRACEE));
    assert_eq!(w.be.peek_i32(TRACER, 0x6000), Some(trap()));
    assert!(!w.gate.holds(TRACER));
    assert!(w.gate.holds(TRACEE));
}

#[test]
fn cont_releases_the_held_tracee_with_its_signal() {
    let mut w = World::new(0);
    w.stop(gp::stopped_status(libc::SIGUSR1, 0));
    assert!(w.gate.holds(TRACEE));
    assert_eq!(
        w.ptrace(gp::PTRACE_CONT, TRACEE, 0, libc::SIGUSR1 as u64),
        0
    );
    assert!(!w.gate.holds(TRACEE));
    assert_eq!(
        w.be.calls,
        [
            w.resumed(TRACEE, libc::SIGUSR1, false),
            Call::SetRegs(TRACER),
            w.resumed(TRACER, 0, false),
        ]
    );
    assert!(!w.guest.link(TRACEE).unwrap().stopped);
}

#[test]
fn detach_forgets_the_tracee_and_resumes_it() {
    let mut w = World::new(0);
    w.stop(trap());
    let fd = crate::host::memory_file(c"test", b"x").unwrap();
    w.waits.auxv.insert(TRACEE, fd);
    assert_eq!(w.ptrace(gp::PTRACE_DETACH, TRACEE, 0, 0), 0);
    assert_eq!(w.be.calls[0], w.resumed(TRACEE, 0, false));
    assert!(w.guest.link(TRACEE).is_none());
    assert!(!w.gate.holds(TRACEE));
    assert!(w.waits.auxv.is_empty());
    // Now not a tracee of this tracer.
    assert_eq!(w.ptrace(12, TRACEE, 0, 0x5000), -(libc::ESRCH as i64));
}

/// A failed register write of the tracer: found gone on `ESRCH` (neither
/// resumed nor killed), killed on any other error.
#[test]
fn a_tracer_whose_registers_cannot_be_written_is_gone_or_killed() {
    for (e, want) in [
        (Errno::ESRCH, vec![]),
        (Errno::EIO, vec![Call::Kill(TRACER, Signal::SIGKILL)]),
    ] {
        let mut w = World::new(0);
        w.stop(trap());
        w.be.fail("set_regs", TRACER, e);
        let args = [gp::PTRACE_CONT, TRACEE as u64, 0, 0, 0, 0];
        assert!(w.syscall(sys::SYS_ptrace, args));
        assert_eq!(w.be.calls_on(TRACER), want, "{e}");
        assert_eq!(w.be.calls_on(TRACEE), [w.resumed(TRACEE, 0, false)]);
    }
}

#[test]
fn a_failed_resume_kills_unless_gone() {
    for (e, killed) in [(Errno::ESRCH, false), (Errno::EPERM, true)] {
        let mut w = World::new(0);
        w.be.fail("resume", TRACER, e);
        let args = [-1i64 as u64, 0x6000, libc::WNOHANG as u64, 0, 0, 0];
        assert!(w.syscall(sys::SYS_wait4, args));
        let want = if killed {
            vec![Call::Kill(TRACER, Signal::SIGKILL)]
        } else {
            vec![]
        };
        assert_eq!(w.be.calls, want, "{e}");
    }
}

#[test]
fn attach_stops_the_tracee_and_a_failed_stop_is_settled() {
    let mut w = World::default();
    w.guests.tgids.extend([(TRACER, TRACER), (TRACEE, TRACEE)]);
    w.waits.filtered.insert(TRACER);
    assert_eq!(w.ptrace(gp::PTRACE_ATTACH, TRACEE, 0, 0), 0);
    let stop = Call::Tgkill {
        tgid: TRACEE,
        tid: TRACEE,
        sig: libc::SIGSTOP,
    };
    assert_eq!(w.be.calls[0], stop);
    assert_eq!(w.guest.link(TRACEE).map(|l| l.tracer), Some(TRACER));
    // Another tracee whose SIGSTOP fails other than ESRCH: killed.
    w.guests.tgids.insert(21, 21);
    w.be.fail("tgkill", 21, Errno::EINVAL);
    assert_eq!(w.ptrace(gp::PTRACE_ATTACH, 21, 0, 0), 0);
    assert_eq!(w.be.calls[0], Call::Kill(21, Signal::SIGKILL));
}

#[test]
fn seize_retraps_only_a_task_in_a_group_stop() {
    // A task sproot holds at one of its own stops (a newborn's first, a
    // syscall being translated) runs as the guest sees it: no trap, and
    // the tracer's next report is the task's own (strace's SEIZE probe
    // kills the task and waits for that death).
    for group_stopped in [false, true] {
        let mut w = World::default();
        w.guests.tgids.extend([(TRACER, TRACER), (TRACEE, TRACEE)]);
        w.waits.filtered.insert(TRACER);
        if group_stopped {
            w.guests.group_stopped.insert(TRACEE);
        }
        assert_eq!(w.ptrace(gp::PTRACE_SEIZE, TRACEE, 0, 0), 0);
        let trapped = w.be.calls.contains(&Call::Interrupt(TRACEE));
        assert_eq!(trapped, group_stopped, "group-stopped: {group_stopped}");
        assert!(w.guest.link(TRACEE).is_some_and(|l| l.seized));
    }
}

#[test]
fn a_dying_tracer_kills_its_tracees_with_exitkill_or_releases_them() {
    for (options, want) in [
        (gp::O_EXITKILL, Call::Kill(TRACEE, Signal::SIGKILL)),
        (
            0,
            Call::Resume {
                pid: TRACEE,
                sig: 0,
                syscall: false,
            },
        ),
    ] {
        let mut w = World::new(options);
        w.stop(trap());
        w.be.calls.clear();
        w.hooks(|h| {
            h.after(Event::Exited {
                pid: Pid::from_raw(TRACER),
                code: 0,
            })
        });
        assert_eq!(w.be.calls, std::slice::from_ref(&want));
        // A killed tracee stays held until its exit report.
        assert_eq!(w.gate.holds(TRACEE), options != 0);
        assert!(!w.guest.active());
    }
}

#[test]
fn a_tracee_held_at_a_guest_filter_stop_goes_on_with_its_syscall() {
    let mut w = World::new(0);
    w.stop(trap());
    w.filter_stops.insert(TRACEE);
    w.hooks(|h| h.release(TRACEE, 0, false));
    assert_eq!(w.continues, [TRACEE], "left to gsec_continue");
    assert_eq!(w.be.calls, [Call::Kill(TRACER, Signal::SIGCHLD)]);
    assert!(!w.gate.holds(TRACEE));
}

/// A loader's marker stop of `TRACEE` with an auxiliary vector on its
/// stack, as the kernel left it for the program.
fn loaded(w: &mut World) -> Vec<u8> {
    // argc 1, argv[0], NULL, envp NULL, then (AT_PAGESZ, 4096), AT_NULL.
    let sp = 0x4000_0000u64;
    let words: [u64; 8] = [1, 0x4000_1000, 0, 0, 6, 4096, 0, 0];
    for (i, v) in words.iter().enumerate() {
        w.be.poke(TRACEE, sp + 8 * i as u64, &v.to_ne_bytes());
    }
    w.be.regs.insert(TRACEE, marker_exit(sp, 0x40_1000));
    w.be.stop_ops.insert(TRACEE, 2);
    w.guest.link_mut(TRACEE).unwrap().exec = ExecPhase::Loader;
    words[4..].iter().flat_map(|v| v.to_ne_bytes()).collect()
}

#[test]
fn the_loader_marker_becomes_the_registers_after_execve_and_keeps_the_auxv() {
    let mut w = World::new(gp::O_TRACEEXEC);
    let auxv = loaded(&mut w);
    let ev = Event::Syscall {
        pid: Pid::from_raw(TRACEE),
    };
    assert!(w.hooks(|h| h.before(ev)));
    assert_after_execve(&w.be.regs[&TRACEE], 0x4000_0000, 0x40_1000);
    use std::os::fd::AsRawFd;
    let fd = w.waits.auxv[&TRACEE].as_raw_fd();
    assert_eq!(std::fs::read(format!("/proc/self/fd/{fd}")).unwrap(), auxv);
    // Shown to the tracer as its exec event, and held.
    assert!(w.gate.holds(TRACEE));
    let report = w.guest.take_report(TRACER, -1, libc::__WALL).unwrap();
    assert_eq!(
        report.status,
        gp::stopped_status(libc::SIGTRAP, gp::EVENT_EXEC)
    );
}

#[test]
fn an_open_of_the_tracee_auxv_opens_the_program_copy() {
    let mut w = World::new(gp::O_TRACEEXEC);
    loaded(&mut w);
    let ev = Event::Syscall {
        pid: Pid::from_raw(TRACEE),
    };
    assert!(w.hooks(|h| h.before(ev)));
    // Mapped memory past the path (a string is read in chunks).
    w.be.poke(TRACER, 0x2000, &[0; 128]);
    let path = format!("/proc/{TRACEE}/auxv\0");
    w.be.poke(TRACER, 0x2000, path.as_bytes());
    let args = [libc::AT_FDCWD as u64, 0x2000, 0, 0, 0, 0];
    assert!(w.syscall(sys::SYS_openat, args));
    let at = w.be.regs[&TRACER].arg(1);
    assert!(at < SP && at != 0x2000, "a copy below the stack: {at:#x}");
    use std::os::fd::AsRawFd;
    let want = format!(
        "/proc/{}/fd/{}",
        std::process::id(),
        w.waits.auxv[&TRACEE].as_raw_fd()
    );
    let got = w.be.peek(TRACER, at, want.len() + 1).unwrap();
    assert_eq!(got, format!("{want}\0").into_bytes());
    assert_eq!(w.be.calls.last(), Some(&w.resumed(TRACER, 0, false)));
    // Any other open is not this hook's.
    w.be.poke(TRACER, 0x2000, b"/proc/21/auxv\0");
    assert!(!w.syscall(sys::SYS_openat, args));
}

#[test]
fn ptrace_syscall_shows_the_exit_with_the_registers_the_guest_passed() {
    let mut w = World::new(0);
    w.stop(trap());
    assert_eq!(w.ptrace(gp::PTRACE_SYSCALL, TRACEE, 0, 0), 0);
    assert_eq!(w.be.calls[0], w.resumed(TRACEE, 0, true));
    assert!(w.gate.syscall_stops(TRACEE));
    // Entry: shown, with the registers kept.
    let entry = Regs::entry(sys::SYS_openat, [1, 0x2000, 0, 0, 0, 0], SP);
    w.be.regs.insert(TRACEE, entry);
    w.be.stop_ops.insert(TRACEE, 1);
    let ev = Event::Syscall {
        pid: Pid::from_raw(TRACEE),
    };
    assert!(w.hooks(|h| h.before(ev)));
    assert!(w.gate.holds(TRACEE));
    assert_eq!(w.ptrace(gp::PTRACE_SYSCALL, TRACEE, 0, 0), 0);
    // Exit: sproot had rewritten the path argument; the guest's is shown.
    let mut now = entry;
    now.set_arg(1, 0x3000);
    now.set_ret(5);
    w.be.regs.insert(TRACEE, now);
    w.be.stop_ops.insert(TRACEE, 2);
    assert!(!w.hooks(|h| h.before(ev)), "the ordinary exit work runs");
    w.hooks(|h| h.after(ev));
    let shown = w.be.regs[&TRACEE];
    assert_eq!((shown.arg(1), shown.ret()), (0x2000, 5));
    assert!(w.gate.holds(TRACEE));
    assert!(w.guest.link(TRACEE).unwrap().stopped);
}

#[test]
fn a_new_guest_tracer_gets_the_wait_filter_then_its_ptrace_runs_again() {
    let mut w = World::default();
    w.guests.tgids.extend([(TRACER, TRACER), (TRACEE, TRACEE)]);
    let mut regs = Regs::entry(
        sys::SYS_ptrace,
        [gp::PTRACE_SEIZE, TRACEE as u64, 0, 0, 0, 0],
        SP,
    );
    regs.set_pc(0x40_1000 + crate::arch::SYSCALL_INSN);
    assert!(w.enter(TRACER, regs));
    // seccomp(SET_MODE_FILTER, TSYNC, &fprog) runs instead.
    let now = w.be.regs[&TRACER];
    assert_eq!(now.sysno(), sys::SYS_seccomp);
    let fprog = now.arg(2);
    assert_eq!(
        (now.arg(0), now.arg(1)),
        (
            libc::SECCOMP_SET_MODE_FILTER as u64,
            libc::SECCOMP_FILTER_FLAG_TSYNC
        )
    );
    let prog = crate::seccomp::guest_tracer_filter();
    let len = w.be.peek(TRACER, fprog, 2).unwrap();
    assert_eq!(len, ((prog.len() / 8) as u16).to_ne_bytes());
    let at = w.be.peek_u64(TRACER, fprog + 8).unwrap();
    assert!(at < SP - crate::arch::RED_ZONE, "below the red zone");
    assert_eq!(w.be.peek(TRACER, at, prog.len()), Some(prog));
    assert_eq!(w.be.calls.last(), Some(&w.resumed(TRACER, 0, true)));
    assert!(w.guest.link(TRACEE).is_none(), "not attached yet");
    // Its exit: the ptrace call again, from its `syscall` instruction.
    let mut exit = now;
    exit.set_ret(0);
    w.be.regs.insert(TRACER, exit);
    w.be.stop_ops.insert(TRACER, 2);
    w.be.calls.clear();
    let ev = Event::Syscall {
        pid: Pid::from_raw(TRACER),
    };
    assert!(w.hooks(|h| h.before(ev)));
    // The same syscall, arguments and all (on aarch64 `x0`, which held
    // seccomp()'s result, is the first argument again).
    let again = w.be.regs[&TRACER];
    assert_eq!(again.pc(), 0x40_1000);
    assert_eq!(syscall_insn_nr(&again), sys::SYS_ptrace);
    assert_eq!(again.args(), regs.args());
    assert!(w.waits.filtered.contains(&TRACER));
    assert!(!w.gate.syscall_stops(TRACER));
    assert_eq!(w.be.calls.last(), Some(&w.resumed(TRACER, 0, false)));
}

/// Without seccomp every syscall stops at sproot already: a new guest
/// tracer gets no filter, and a call answered at its entry keeps its result
/// for the exit (the kernel answers `ENOSYS` to the skipped call between).
#[test]
fn without_seccomp_a_new_tracer_gets_no_filter_and_its_results_wait_for_the_exit() {
    let mut w = World {
        no_seccomp: true,
        ..World::default()
    };
    w.guests.tgids.extend([(TRACER, TRACER), (TRACEE, TRACEE)]);
    assert_eq!(w.ptrace(gp::PTRACE_SEIZE, TRACEE, 0, 0), 0);
    assert!(w.waits.inject.is_empty(), "no filter added");
    assert_eq!(w.emulated, [(TRACER, 0)]);
}

/// Without seccomp, a traced task's syscall-entry stop is shown to its
/// guest tracer before sproot's translation, which goes on once the guest
/// tracer resumes the task.
#[test]
fn without_seccomp_an_entry_stop_is_shown_then_translated_when_resumed() {
    let mut w = World::new(0);
    w.no_seccomp = true;
    w.stop(trap());
    assert_eq!(w.ptrace(gp::PTRACE_SYSCALL, TRACEE, 0, 0), 0);
    w.be.stop_ops.insert(TRACEE, 1);
    w.be.regs
        .insert(TRACEE, Regs::entry(sys::SYS_getpid, [0; 6], SP));
    let ev = Event::Syscall {
        pid: Pid::from_raw(TRACEE),
    };
    assert!(w.hooks(|h| h.before(ev)), "shown, not translated yet");
    assert!(w.gate.holds(TRACEE));
    assert!(w.continues.is_empty());
    assert_eq!(w.ptrace(gp::PTRACE_SYSCALL, TRACEE, 0, 0), 0);
    assert_eq!(w.continues, [TRACEE], "sproot's own entry work goes on");
    assert!(!w.gate.holds(TRACEE));
}

/// Without seccomp a `PTRACE_INTERRUPT` of a task in a syscall is taken by
/// that syscall's exit stop (any trap clears a pending interrupt): that
/// stop is shown as the interrupt's.
#[test]
fn without_seccomp_an_interrupt_is_shown_at_the_syscall_stop_that_took_it() {
    let mut w = World::new(0);
    w.no_seccomp = true;
    assert_eq!(w.ptrace(gp::PTRACE_INTERRUPT, TRACEE, 0, 0), 0);
    w.be.stop_ops.insert(TRACEE, 2);
    let ev = Event::Syscall {
        pid: Pid::from_raw(TRACEE),
    };
    assert!(!w.hooks(|h| h.before(ev)), "sproot's exit work first");
    assert!(w.gate.holds(TRACEE), "then held");
    let status = gp::stopped_status(libc::SIGTRAP, gp::EVENT_STOP);
    assert_eq!(
        w.guest
            .take_report(TRACER, TRACEE, libc::__WALL)
            .map(|r| r.status),
        Some(status)
    );
}
