//! A trapped syscall's entry and exit: read the registers, run the handlers
//! (`crate::syscall`), write back what changed and resume the tracee, with
//! what is due at the syscall's exit kept in the tracee's [`AtExit`].

use super::stopped::Stopped;
use super::{Proc, Tracer};
use crate::arch::{Regs, sys};
use crate::exec::ExecPlan;
use crate::ptrace;
use crate::syscall::{self, Ctx, Outcome, exit_hook::ExitHook};
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// What is due at the exit of the syscall a thread is in.
pub enum AtExit {
    /// Nothing (the exit stop, if one comes, only resumes).
    Nothing,
    /// Without seccomp: the result of a call emulated at its entry (which
    /// ran as syscall -1), to write at its exit.
    Value(i64),
    /// The handlers' exit work ([`syscall::exit`]).
    Hook(ExitHook),
    /// An exec rewritten to start the loader: the plan, which the exec
    /// event takes; seen at the exit stop only when the exec failed.
    Exec(Box<ExecPlan>),
}

impl Tracer<'_> {
    /// A syscall stop (`PTRACE_SYSCALL`): an exit with seccomp (entries
    /// are seccomp stops), else an entry or an exit in turn.
    pub(super) fn on_syscall_stop(&mut self, pid: Pid) {
        let raw = pid.as_raw();
        if !self.kernel.outer.is_empty() && self.outer_entry(pid) {
            return;
        }
        if !self.seccomp {
            self.ensure_known(pid);
            let entering = match self.tasks.get_mut(raw) {
                Some(t) if t.syscall.is_some() => false,
                Some(t) => {
                    t.syscall = Some(AtExit::Nothing);
                    true
                }
                None => true,
            };
            if entering {
                self.stats.syscall_entry += 1;
                self.on_syscall_entry(pid);
                return;
            }
        }
        self.stats.syscall_exit += 1;
        self.on_syscall_exit(Stopped::new(pid));
    }

    fn on_syscall_exit(&mut self, stopped: Stopped) {
        let pid = stopped.pid();
        let due = self
            .tasks
            .get_mut(pid.as_raw())
            .and_then(|t| t.syscall.take())
            .unwrap_or(AtExit::Nothing);
        // A failed read or write here would leave the guest with the
        // skipped call's result: settled in `lost`, never ignored.
        let done: Result<(), (Errno, &str)> = match due {
            AtExit::Nothing => Ok(()),
            AtExit::Hook(hook) => match ptrace::get_regs(pid) {
                Ok(regs) => {
                    let proc = Proc {
                        tasks: &self.tasks,
                        tid: pid.as_raw(),
                    };
                    let mut mem = syscall::TraceeMemory(pid);
                    let mut ctx = Ctx::new(&self.env, &proc, pid, regs, None, &mut mem);
                    if syscall::exit(&mut ctx, hook) {
                        ptrace::set_regs(pid, &ctx.regs).map_err(|e| (e, "write the registers"))
                    } else {
                        Ok(())
                    }
                }
                Err(e) => Err((e, "read the registers")),
            },
            AtExit::Value(v) => match ptrace::get_regs(pid) {
                Ok(mut regs) => {
                    regs.set_ret(v);
                    ptrace::set_regs(pid, &regs).map_err(|e| (e, "write the registers"))
                }
                Err(e) => Err((e, "read the registers")),
            },
            AtExit::Exec(_) => {
                if let Ok(regs) = ptrace::get_regs(pid) {
                    log::debug!("exec in {pid} failed: {}", regs.ret());
                }
                Ok(())
            }
        };
        if let Err((e, what)) = done {
            return self.lost(stopped, e, what);
        }
        if log::log_enabled!(log::Level::Trace)
            && let Ok(regs) = ptrace::get_regs(pid)
        {
            log::trace!(
                "{pid} {} = {}",
                sys::name(regs.sysno()).unwrap_or("?"),
                regs.ret()
            );
        }
        // The exit of an equivalent of a trapped call: the guest's own
        // registers back (outer_trap.rs).
        if !self.kernel.outer.is_empty()
            && let Err(e) = self.outer_exit(pid)
        {
            return self.lost(stopped, e, "write the registers");
        }
        self.restart(stopped, false);
    }

    pub(super) fn on_syscall_entry(&mut self, pid: Pid) {
        let stopped = Stopped::new(pid);
        // A guest tracer shown this syscall's entry stop may have changed
        // its number there (aarch64: `NT_ARM_SYSTEM_CALL`, which `x8` does
        // not show): the number the kernel runs is read back, for guest
        // tracees at such a stop only.
        let as_run =
            self.guest.active() && self.guest.link(pid.as_raw()).is_some_and(|l| l.in_syscall);
        let read = if as_run {
            ptrace::get_regs_as_run
        } else {
            ptrace::get_regs
        };
        let regs: Regs = match read(pid) {
            Ok(r) => r,
            Err(e) => return self.lost(stopped, e, "read the registers"),
        };
        if let Some(w) = &self.kernel.gate.window {
            // The runtime's own call, host paths already (a process taken
            // in while the runtime was at work).
            if w.in_window(regs.pc()) {
                return self.restart(stopped, false);
            }
            if regs.sysno() == sys::SYS_ptrace {
                self.adopt_named(pid.as_raw(), regs.arg(0), regs.arg(1) as i32);
            }
        }
        if as_run
            && self
                .guest
                .link(pid.as_raw())
                .is_some_and(|l| l.syscall_mode)
        {
            // The exit stop shows the call as the guest tracer left it.
            self.entry_regs.insert(pid.as_raw(), regs);
        }
        // Guest seccomp filters (guest/filter_hooks.rs), which resume or
        // hold the tracee themselves (the token comes back when not).
        let stopped = if self.gsec_may_concern(regs.sysno()) {
            match self.gsec_stop(stopped, &regs) {
                Ok(()) => return,
                Err(s) => s,
            }
        } else {
            stopped
        };
        self.enter_translated(stopped, regs);
    }

    /// A trapped syscall's entry, after the guest's own seccomp filters had
    /// their say: guest ptrace, then translation.
    pub(super) fn enter_translated(&mut self, stopped: Stopped, mut regs: Regs) {
        let pid = stopped.pid();
        let raw = pid.as_raw();
        // Guest ptrace: a guest's ptrace, wait4, waitid (guest/hooks.rs),
        // which resumes or holds the tracee itself.
        let stopped = if self.guest_may_concern(regs.sysno()) {
            match self.guest_syscall(stopped, &regs) {
                Ok(()) => return,
                Err(s) => s,
            }
        } else {
            stopped
        };
        if self.is_loader_open(raw, &regs)
            || self.in_prelude(raw, &regs)
            || (self.bare && !matches!(regs.sysno(), sys::SYS_execve | sys::SYS_execveat))
        {
            return self.restart(stopped, false);
        }
        // --sysvipc: the run's own SysV IPC (sysv.rs).
        let stopped = if self.ipc.is_some() && crate::ext::sysvipc::call::is_ipc(regs.sysno()) {
            match self.sysv_call(stopped, regs, true) {
                Ok(()) => return,
                Err(s) => s,
            }
        } else {
            stopped
        };
        // A rewritten call the kernel restarted: the guest's own arguments
        // back, then handled afresh.
        if let Some(rw) = self.tasks.get_mut(raw).and_then(|t| t.last_rewrite.take())
            && rw.undo_if_restart(&mut regs)
            && let Err(e) = ptrace::set_regs(pid, &regs)
        {
            return self.lost(stopped, e, "write the registers");
        }
        let original = regs;
        let (outcome, written) = self.run_handlers(pid, regs);
        regs = written;
        // -v 3: each trapped syscall with its arguments, and (at the exit
        // stop asked for below) its result.
        let trace = log::log_enabled!(log::Level::Trace);
        if trace {
            log_entry(pid, &original, &outcome);
        }
        let (write, due, rewrote) = match outcome {
            Outcome::Pass => (None, AtExit::Nothing, false),
            Outcome::Rewritten => (
                Some(ptrace::set_changed_regs(pid, &original, &regs)),
                AtExit::Nothing,
                true,
            ),
            Outcome::Emulated(v) => {
                regs.set_sysno(-1);
                regs.set_ret(v);
                let w = ptrace::set_changed_regs(pid, &original, &regs);
                // With seccomp the skipped call has its result already.
                let due = if self.seccomp {
                    AtExit::Nothing
                } else {
                    AtExit::Value(v)
                };
                (Some(w), due, false)
            }
            Outcome::WithExit { rewritten, hook } => (
                rewritten.then(|| ptrace::set_changed_regs(pid, &original, &regs)),
                AtExit::Hook(hook),
                rewritten,
            ),
            Outcome::Exec(plan) => (
                Some(ptrace::set_regs(pid, &regs)),
                AtExit::Exec(plan),
                false,
            ),
        };
        if let Some(Err(e)) = write {
            return self.lost(stopped, e, "write the registers");
        }
        let want_exit = trace || !matches!(due, AtExit::Nothing);
        if let Some(t) = self.tasks.get_mut(raw) {
            t.syscall = Some(due);
            if rewrote {
                // See syscall::restart.
                t.last_rewrite = crate::syscall::restart::Rewrite::of(&original, &regs);
            }
        }
        self.restart(stopped, want_exit);
    }

    /// The registers sproot's handlers leave for a call (`regs`' number and
    /// arguments), and what they make of it.
    pub(super) fn run_handlers(&self, pid: Pid, regs: Regs) -> (Outcome, Regs) {
        let raw = pid.as_raw();
        let proc = Proc {
            tasks: &self.tasks,
            tid: raw,
        };
        let mut creds = self.tasks.get(raw).map(|t| t.creds.borrow_mut());
        let mut mem = syscall::TraceeMemory(pid);
        let mut ctx = Ctx::new(
            &self.env,
            &proc,
            pid,
            regs,
            creds.as_mut().and_then(|c| c.as_mut()),
            &mut mem,
        );
        let outcome = syscall::enter(&mut ctx);
        (outcome, ctx.regs)
    }

    /// Resume a stopped tracee; `want_exit` asks for its syscall-exit stop.
    pub(super) fn restart(&self, stopped: Stopped, want_exit: bool) {
        let pid = stopped.consume();
        self.resume(pid, None, want_exit);
    }

    /// A failure on a stopped tracee, settled in [`super::stopped::settle`]:
    /// gone (`ESRCH`), its exit report follows; any other failure, it is
    /// killed rather than left stopped forever or let run a syscall that
    /// was not translated.
    pub(super) fn lost(&self, stopped: Stopped, e: Errno, what: &str) {
        super::stopped::settle(stopped.consume(), e, what, |pid| {
            let _ = kill(pid, Signal::SIGKILL);
        });
    }
}

/// `-v 3`: a trapped syscall, its arguments and what the handlers made of
/// it.
fn log_entry(pid: Pid, regs: &Regs, outcome: &Outcome) {
    let args: Vec<String> = regs.args().iter().map(|a| format!("{a:#x}")).collect();
    log::trace!(
        "{pid} {}({}) -> {}",
        sys::name(regs.sysno()).unwrap_or("?"),
        args.join(", "),
        match outcome {
            Outcome::Pass => "pass".to_string(),
            Outcome::Rewritten => "rewritten".to_string(),
            Outcome::Emulated(v) => format!("emulated {v}"),
            Outcome::Exec(_) => "exec".to_string(),
            Outcome::WithExit { .. } => "exit hook".to_string(),
        }
    );
}
