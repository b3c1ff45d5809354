//! Guest seccomp filters, the side effects (see `filters.rs`):
//! recording the filters guests install, and at each seccomp stop of a task
//! that has some, deciding whether the stop is sproot's own, its guest
//! tracer's (`PTRACE_EVENT_SECCOMP`, for a nested sproot or PRoot), or an
//! `ENOSYS` answer.
//!
//! Order of work at a stop that both a guest filter and sproot's own
//! filter trap: the guest tracer sees it first, with the guest's registers;
//! once it resumes the tracee, sproot translates the registers as they are
//! then (the guest tracer's rewritten paths are guest paths to sproot) and
//! the syscall runs. A stop that only the guest's filter asked for runs
//! untouched once the guest tracer resumes it.

use super::super::Tracer;
use super::super::stopped::Stopped;
use super::filters::{Verdict, verdict};
use super::tracing as gp;
use crate::arch::{Regs, sys};
use crate::ptrace;
use crate::seccomp::cbpf::{self, Insn, SeccompData};
use nix::errno::Errno;
use nix::unistd::Pid;

const SECCOMP_SET_MODE_FILTER: u64 = 1;
const SECCOMP_MODE_FILTER: u64 = 2;
const PR_SET_SECCOMP: u64 = 22;
pub const EVENT_SECCOMP: i32 = 7;

/// What a syscall's filter sees of it.
pub fn seccomp_data(regs: &Regs) -> SeccompData {
    let mut args = [0u64; 6];
    for (i, a) in args.iter_mut().enumerate() {
        *a = regs.arg(i);
    }
    SeccompData {
        nr: regs.sysno() as i32,
        arch: crate::arch::AUDIT_ARCH,
        instruction_pointer: regs.pc(),
        args,
    }
}

/// Whether a syscall is made from the address of sproot's exec loader (a
/// nested sproot's loader has the same address).
fn in_loader_range(regs: &Regs) -> bool {
    let base = env!("SPROOT_LOADER_BASE").trim_start_matches("0x");
    let base = u64::from_str_radix(base, 16).unwrap_or(u64::MAX);
    (base..base.saturating_add(1 << 26)).contains(&regs.pc())
}

/// A guest's install of a filter: `(sock_fprog address, flags)`.
fn install_call(regs: &Regs) -> Option<(u64, u64)> {
    match regs.sysno() {
        sys::SYS_seccomp if regs.arg(0) == SECCOMP_SET_MODE_FILTER => {
            Some((regs.arg(2), regs.arg(1)))
        }
        sys::SYS_prctl if regs.arg(0) == PR_SET_SECCOMP && regs.arg(1) == SECCOMP_MODE_FILTER => {
            Some((regs.arg(2), 0))
        }
        _ => None,
    }
}

/// sproot's own filters, for telling its own stops from the guest's.
pub struct OwnFilters {
    programs: Vec<Vec<Insn>>,
}

impl OwnFilters {
    pub fn new(cfg: &crate::config::Config) -> Self {
        let prepared = crate::seccomp::Prepared::for_config(cfg);
        OwnFilters {
            programs: prepared
                .programs()
                .iter()
                .map(|p| {
                    p.iter()
                        .map(|i| Insn {
                            code: i.code,
                            jt: i.jt,
                            jf: i.jf,
                            k: i.k,
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// Whether sproot's filters stop `data` (the guest tracer's filter on
    /// `wait4`/`waitid` counts when `waits_filtered`).
    pub fn traps(&self, data: &SeccompData, waits_filtered: bool) -> bool {
        let answer = cbpf::run_stack(self.programs.iter().map(|p| p.as_slice()), data);
        answer & cbpf::RET_ACTION_FULL == cbpf::RET_TRACE
            || (waits_filtered && matches!(i64::from(data.nr), sys::SYS_wait4 | sys::SYS_waitid))
    }
}

impl Tracer<'_> {
    /// Whether a seccomp stop may concern guest filters (the cheap test).
    #[inline]
    pub(in crate::tracer) fn gsec_may_concern(&self, sysno: i64) -> bool {
        self.gsec.active() || matches!(sysno, sys::SYS_seccomp | sys::SYS_prctl)
    }

    /// A seccomp stop (without seccomp, a syscall-entry stop, before
    /// sproot's translation): `Ok` when handled here (the tracee resumed,
    /// held or lost), else the token back.
    pub(in crate::tracer) fn gsec_stop(
        &mut self,
        stopped: Stopped,
        regs: &Regs,
    ) -> Result<(), Stopped> {
        let tid = stopped.pid().as_raw();
        if self.tasks.get(tid).is_some_and(|t| t.prelude) {
            // sproot's own start-up code installs sproot's filters.
            return Err(stopped);
        }
        if self.gsec.active() && !self.in_own_loader(tid, regs) {
            self.gsec_resolve(tid);
            if let Some(chain) = self.gsec.chain(tid) {
                let answer = chain.evaluate(&seccomp_data(regs));
                let wants = self
                    .guest
                    .link(tid)
                    .is_some_and(|l| l.options & gp::O_TRACESECCOMP != 0);
                match verdict(answer, wants) {
                    Verdict::Ours => {}
                    Verdict::Enosys => {
                        log::debug!("guest seccomp: {tid} syscall {} ENOSYS", regs.sysno());
                        self.gsec_skip(stopped, regs, -(Errno::ENOSYS as i64));
                        return Ok(());
                    }
                    Verdict::ShowTracer(msg) => {
                        if let Some(l) = self.guest.link_mut(tid) {
                            l.event_msg = msg;
                            l.in_syscall = true;
                        }
                        self.gsec.at_stop.insert(tid);
                        self.show(tid, gp::stopped_status(libc::SIGTRAP, EVENT_SECCOMP));
                        // Held for the guest tracer (`gsec_continue` goes on).
                        stopped.consume();
                        return Ok(());
                    }
                }
            }
        }
        self.gsec_install_entry(stopped, regs)
    }

    /// Whether `tid` runs sproot's own exec loader, still opening the files
    /// of its script (host paths that a guest's filter must never see).
    fn in_own_loader(&self, tid: i32, regs: &Regs) -> bool {
        in_loader_range(regs)
            && self
                .tasks
                .get(tid)
                .is_some_and(|t| !t.loader_opens.is_empty())
    }

    /// Skip the syscall the tracee is stopped at with result `ret`.
    fn gsec_skip(&mut self, stopped: Stopped, regs: &Regs, ret: i64) {
        let pid = stopped.pid();
        let mut r = *regs;
        r.set_sysno(-1);
        r.set_ret(ret);
        match ptrace::set_changed_regs(pid, regs, &r) {
            Ok(()) => self.restart(stopped, false),
            Err(e) => self.lost(stopped, e, "write the registers"),
        }
    }

    /// Make `tid`'s filters known: those of its thread group, else of its
    /// parent process (a task seen before its creator's event).
    fn gsec_resolve(&mut self, tid: i32) {
        if self.gsec.knows(tid) {
            return;
        }
        let from = [
            super::super::read_status_field(tid, "Tgid:"),
            super::super::read_status_field(tid, "PPid:"),
        ]
        .into_iter()
        .flatten()
        .find(|t| *t != tid && self.gsec.chain(*t).is_some());
        self.gsec.inherit(tid, from);
    }

    /// The entry of a filter install: record the program, see its exit.
    /// Not an install: the token back.
    fn gsec_install_entry(&mut self, stopped: Stopped, regs: &Regs) -> Result<(), Stopped> {
        let Some((fprog, flags)) = install_call(regs) else {
            return Err(stopped);
        };
        let pid = stopped.pid();
        let tid = pid.as_raw();
        if self.gsec_injecting(tid) {
            // sproot's own filter for a guest tracer (hooks.rs).
            self.restart(stopped, false);
            return Ok(());
        }
        let mut head = [0u8; 16];
        let prog = ptrace::read_into(pid, fprog, &mut head).and_then(|()| {
            let len = u16::from_ne_bytes([head[0], head[1]]) as usize;
            let at = u64::from_ne_bytes(head[8..16].try_into().unwrap_or_default());
            let mut buf = vec![0u8; len.min(cbpf::MAX_INSNS) * 8];
            ptrace::read_into(pid, at, &mut buf).map(|()| buf)
        });
        match prog {
            Ok(prog) => {
                log::debug!("guest seccomp: {tid} installs {} insns", prog.len() / 8);
                self.gsec.begin_install(tid, &prog, flags);
            }
            // The kernel answers EFAULT itself.
            Err(e) => log::debug!("guest seccomp: filter of {tid} unreadable: {e}"),
        }
        self.restart(stopped, true);
        Ok(())
    }

    /// The exit of an install by `tid` (its result in the registers).
    pub(in crate::tracer) fn gsec_install_exit(&mut self, tid: i32) {
        let pid = Pid::from_raw(tid);
        let ret = ptrace::get_regs(pid).map_or(-1, |r| r.ret());
        let threads: Vec<i32> = std::fs::read_dir(format!("/proc/{tid}/task"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        self.gsec.end_install(tid, ret, &threads);
    }

    /// A new task: it has its creator's filters.
    pub(in crate::tracer) fn gsec_new_child(&mut self, parent: Pid) {
        if let Ok(child) = ptrace::event_msg(parent) {
            self.gsec_resolve(parent.as_raw());
            self.gsec.inherit(child as i32, Some(parent.as_raw()));
        }
    }

    /// The guest tracer resumed `tid` from its seccomp stop (without
    /// seccomp, its syscall-entry stop): the syscall goes on, translated by
    /// sproot if sproot's own filter stops it (with the registers as the
    /// guest tracer left them), untouched otherwise.
    pub(in crate::tracer) fn gsec_continue(&mut self, tid: i32) {
        let pid = Pid::from_raw(tid);
        // Held at its seccomp stop until now: stopped.
        let stopped = Stopped::new(pid);
        // The guest tracer may have changed the syscall (or skipped it).
        let regs = match ptrace::get_regs_as_run(pid) {
            Ok(r) => r,
            Err(e) => return self.lost(stopped, e, "read the registers"),
        };
        if self.guest.link(tid).is_some_and(|l| l.syscall_mode) {
            // The exit stop shows these (hooks.rs).
            self.entry_regs.insert(tid, regs);
        }
        if regs.sysno() < 0 {
            // Skipped by the guest tracer, its result set.
            return self.restart(stopped, false);
        }
        if !self.seccomp {
            // A syscall-entry stop, where sproot's work was still to do.
            return self.enter_translated(stopped, regs);
        }
        let filtered = self.waits_filtered(tid);
        let ours = self
            .own_filters
            .get_or_insert_with(|| OwnFilters::new(self.cfg))
            .traps(&seccomp_data(&regs), filtered);
        if ours {
            if let Err(stopped) = self.gsec_install_entry(stopped, &regs) {
                self.enter_translated(stopped, regs);
            }
        } else {
            self.restart(stopped, false);
        }
    }
}
