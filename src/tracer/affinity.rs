//! Carrying out placement decisions with `sched_setaffinity`.

use super::placement::Move;
use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;
use std::sync::OnceLock;

/// The CPUs sproot was allowed to use when it started: what "anywhere"
/// means when a pin is released.
static ALL: OnceLock<Option<CpuSet>> = OnceLock::new();

/// Remember the starting affinity. Call before any pinning.
pub fn init() {
    ALL.get_or_init(|| sched_getaffinity(Pid::from_raw(0)).ok());
}

fn all() -> Option<CpuSet> {
    *ALL.get_or_init(|| sched_getaffinity(Pid::from_raw(0)).ok())
}

/// The CPU the caller runs on, as a one-CPU set.
fn current_cpu() -> Option<CpuSet> {
    // SAFETY: sched_getcpu has no preconditions.
    let cpu = unsafe { libc::sched_getcpu() };
    if cpu < 0 {
        return None;
    }
    let mut set = CpuSet::new();
    set.set(cpu as usize).ok()?;
    Some(set)
}

fn set(pid: i32, cpus: &CpuSet) {
    if let Err(e) = sched_setaffinity(Pid::from_raw(pid), cpus) {
        // ESRCH: the thread is gone. Anything else only costs speed.
        log::debug!("sched_setaffinity({pid}): {e}");
    }
}

/// Pin sproot itself (and so the guests it starts) to its current CPU.
pub fn pin_self() -> bool {
    match current_cpu() {
        Some(one) => {
            set(0, &one);
            true
        }
        None => false,
    }
}

pub fn apply(m: Move) {
    match m {
        Move::Pin { tid } => {
            if let Some(one) = current_cpu() {
                set(0, &one);
                set(tid, &one);
            }
        }
        Move::Release { tid } => {
            if let Some(all) = all() {
                set(tid, &all);
                set(0, &all);
            }
        }
        Move::FreeChild { tid } => {
            if let Some(all) = all() {
                set(tid, &all);
            }
        }
    }
}
