//! Exec: the hand-off to the loader at the exec event (its load script, the
//! auxiliary vector's fake ids and hwcap) and the loader's own syscalls,
//! which name host paths and run untranslated.

use super::Tracer;
use super::stopped::Stopped;
use super::syscalls::AtExit;
use crate::arch::{RED_ZONE, Regs, sys};
use crate::exec::ExecPlan;
use crate::ptrace;
use nix::errno::Errno;
use nix::unistd::Pid;
use std::os::unix::ffi::OsStrExt;

impl Tracer<'_> {
    /// The loader opening the next file of its script: host paths, run as
    /// they are.
    pub(super) fn is_loader_open(&mut self, raw: i32, regs: &Regs) -> bool {
        let Some(t) = self.tasks.get_mut(raw) else {
            return false;
        };
        let Some(expected) = t.loader_opens.first() else {
            return false;
        };
        let (open_nr, path_arg) = crate::arch::LOADER_OPEN;
        if regs.sysno() != open_nr {
            return false;
        }
        let Ok(path) = ptrace::read_cstring(Pid::from_raw(raw), regs.arg(path_arg), 4096) else {
            return false;
        };
        if path != expected.as_os_str().as_bytes() {
            return false;
        }
        t.loader_opens.remove(0);
        true
    }

    /// Whether this syscall is sproot's own start-up code in the child.
    pub(super) fn in_prelude(&mut self, raw: i32, regs: &Regs) -> bool {
        match self.tasks.get_mut(raw) {
            Some(t) if t.prelude => {
                if regs.sysno() == sys::SYS_execve {
                    t.prelude = false;
                    false
                } else {
                    true
                }
            }
            _ => false,
        }
    }

    pub(super) fn on_exec(&mut self, pid: Pid) {
        let stopped = Stopped::new(pid);
        self.stats.exec_events += 1;
        let raw = pid.as_raw();
        // An exec from a non-leader thread: the thread takes the leader's
        // pid; its state moves with it.
        if let Ok(former) = ptrace::event_msg(pid) {
            self.tasks.on_exec_from_thread(former as i32, raw);
        }
        self.ensure_known(pid);
        if self.ipc.is_some() {
            self.sysv_exec(raw);
        }
        let plan = self
            .tasks
            .get_mut(raw)
            .and_then(|t| match t.syscall.take() {
                Some(AtExit::Exec(plan)) => {
                    // The execve's own exit stop (without seccomp) is still due.
                    t.syscall = Some(AtExit::Nothing);
                    Some(plan)
                }
                other => {
                    t.syscall = other;
                    None
                }
            });
        if let Some(plan) = plan {
            // Before the hand-off: the stack pointer still points at argc.
            self.fake_ids_after_exec(pid, &plan);
            if let Some(hwcap) = self.env.kernel_release.and_then(|k| k.hwcap)
                && let Err(e) = patch_auxv(pid, |key| (key == libc::AT_HWCAP).then_some(hwcap))
            {
                log::debug!("auxv hwcap of {pid}: {e}");
            }
            if let Err(e) = self.hand_off_to_loader(pid, &plan) {
                return self.lost(stopped, e, "hand the exec off to the loader");
            }
            if let Some(t) = self.tasks.get_mut(raw) {
                t.exe_host = Some(crate::fs::bytes_to_path(plan.exe_host.clone()));
                t.tgid.set(Some(raw));
                t.loader_opens = std::iter::once(&plan.program)
                    .chain(plan.interp.as_ref())
                    .map(|o| crate::fs::bytes_to_path(o.host_path.clone()))
                    .collect();
            }
        }
        self.restart(stopped, false);
    }

    /// Fake ids across an exec: a set-user-ID (set-group-ID) program runs
    /// with its owner's effective id (`Creds::exec_owner`); the
    /// auxiliary vector tells the program the fake ids (`AT_UID`...).
    fn fake_ids_after_exec(&mut self, pid: Pid, plan: &ExecPlan) {
        let raw = pid.as_raw();
        let Some(t) = self.tasks.get(raw) else {
            return;
        };
        let mut creds = t.creds.borrow_mut();
        let Some(creds) = creds.as_mut() else {
            return;
        };
        if let Ok(st) = nix::sys::stat::stat(plan.exe_host.as_slice()) {
            let shown = self
                .env
                .shared
                .owner((st.st_dev, st.st_ino))
                .unwrap_or_else(|| {
                    let real = self.env.real_ids;
                    crate::ext::fake_id::Creds::exec_owner(real.0, real.1, st.st_uid, st.st_gid)
                });
            creds.exec(st.st_mode, shown.0, shown.1);
        }
        let ids = |key| match key {
            libc::AT_UID => Some(u64::from(creds.ruid)),
            libc::AT_EUID => Some(u64::from(creds.euid)),
            libc::AT_GID => Some(u64::from(creds.rgid)),
            libc::AT_EGID => Some(u64::from(creds.egid)),
            _ => None,
        };
        if let Err(e) = patch_auxv(pid, ids) {
            log::debug!("auxv ids of {pid}: {e}");
        }
    }

    /// Write the load script below the loader's initial stack pointer and
    /// point the stack pointer at it.
    fn hand_off_to_loader(&self, pid: Pid, plan: &ExecPlan) -> Result<(), Errno> {
        let mut regs = ptrace::get_regs(pid)?;
        let sp = regs.sp();
        let script = plan.script(sp);
        let at = sp
            .checked_sub(RED_ZONE + script.len() as u64)
            .ok_or(Errno::EFAULT)?
            & !15;
        ptrace::write(pid, at, &script)?;
        regs.set_sp(at);
        ptrace::set_regs(pid, &regs)
    }
}

/// Rewrite entries of the auxiliary vector of a tracee stopped at its exec
/// event (stack pointer at `argc`): `value(key)` gives the new value of an
/// entry, or `None` to keep it.
fn patch_auxv(pid: Pid, value: impl Fn(u64) -> Option<u64>) -> Result<(), Errno> {
    let sp = ptrace::get_regs(pid)?.sp();
    let argc = ptrace::read_u64(pid, sp)?;
    // Skip argv and its NULL, then envp up to its NULL.
    let mut at = sp + 8 * (argc + 2);
    for _ in 0..(1 << 16) {
        let v = ptrace::read_u64(pid, at)?;
        at += 8;
        if v == 0 {
            break;
        }
    }
    for _ in 0..64 {
        let key = ptrace::read_u64(pid, at)?;
        if key == libc::AT_NULL {
            break;
        }
        if let Some(v) = value(key) {
            ptrace::write(pid, at + 8, &v.to_ne_bytes())?;
        }
        at += 16;
    }
    Ok(())
}
