//! The guest's own seccomp filters (a sandbox's, as Chromium installs, or
//! a test's): they keep their meaning under the runtime.
//!
//! A guest's filter is installed with a prefix that lets the runtime's own
//! code through ([`sproot_core::inproc::exempt_runtime`]): the translated
//! call the runtime re-issues must not be judged by a filter written for
//! the guest's instructions. The runtime judges instead, with the program
//! the guest gave, kept here (and handed to the next program at `execve`,
//! as the kernel keeps filters): a call the runtime's filter trapped is
//! answered as the guest's filters say (`ERRNO`, `KILL`; `TRAP` cannot
//! reach the runtime's path, the guest's filter being the more recent),
//! and a `SIGSYS` from another filter goes to the guest's own handler when
//! its filters trap that call, to Android's rules otherwise.

use alloc::vec::Vec;
use core::sync::atomic::AtomicBool;

use sproot_core::cbpf::{self, Insn, SeccompData};
use sproot_core::Errno;

use crate::host::{self, sc, Locked, OwnMemory};
use crate::nr;

const SECCOMP_SET_MODE_FILTER: u64 = 1;
const SECCOMP_FILTER_FLAG_TSYNC: u64 = 1;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: u64 = 8;
const PR_SET_SECCOMP: u64 = 22;
const SECCOMP_MODE_FILTER: u64 = 2;

const RET_ACTION_FULL: u32 = 0xffff_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_USER_NOTIF: u32 = 0x7fc0_0000;
const RET_TRACE: u32 = 0x7ff0_0000;

/// Oldest first, each with the one thread it applies to (`None`: all).
static FILTERS: Locked<Vec<Filter>> = Locked::new(Vec::new());

/// A guest filter, and the one thread it applies to: a filter installed
/// without `SECCOMP_FILTER_FLAG_TSYNC` while the process had other
/// threads holds for the installing thread only (the threads it creates
/// later are counted as the others: an approximation); otherwise for all.
type Filter = (Vec<Insn>, Option<i32>);

/// The most instructions the guest's filters may hold in all: they cross
/// `execve` in the hand-off, one environment string, which the kernel
/// caps at 128 KiB (the kernel's own limit, 32768, is larger).
const MOST_INSNS: usize = 6144;

fn applies((_, only): &Filter, tid: i32) -> bool {
    only.is_none_or(|t| t == tid)
}

/// Whether the guest installed any filter: read without the lock (set
/// once, never cleared in a process image).
static ANY: AtomicBool = AtomicBool::new(false);

fn with<T>(f: impl FnOnce(&mut Vec<Filter>) -> T) -> T {
    FILTERS.with(f)
}

/// The filters the previous program had (from the hand-off).
pub fn init(raw: &[Vec<u8>]) {
    if raw.is_empty() {
        return;
    }
    with(|p| p.extend(raw.iter().map(|b| (cbpf::decode(b), None))));
    ANY.store(true, core::sync::atomic::Ordering::Release);
}

/// The filters of thread `tid` as the hand-off carries them (the thread
/// that runs `execve` is the only one left after it).
pub fn encoded(tid: i32) -> Vec<Vec<u8>> {
    if !ANY.load(core::sync::atomic::Ordering::Acquire) {
        return Vec::new();
    }
    with(|p| {
        p.iter()
            .filter(|f| applies(f, tid))
            .map(|(f, _)| cbpf::encode(f))
            .collect()
    })
}

/// What the guest's filters make of a call.
pub enum Answer {
    /// Nothing: the call goes on.
    Run,
    /// The call fails with this (negative) result.
    Fail(i64),
    /// The guest's `SIGSYS` handler gets it.
    Trap,
    /// The thread is killed (the process, if it is the last).
    KillThread,
    /// The process is killed.
    Kill,
}

/// The guest's filters' answer for the call `data` describes (made by
/// the running thread).
pub fn judge(data: &SeccompData) -> Answer {
    if !ANY.load(core::sync::atomic::Ordering::Acquire) {
        return Answer::Run;
    }
    let tid = host::gettid();
    let r = with(|p| {
        let mine = p.iter().rev().filter(|f| applies(f, tid));
        cbpf::run_stack(mine.map(|(f, _)| f.as_slice()), data)
    });
    match r & RET_ACTION_FULL {
        RET_KILL_PROCESS => Answer::Kill,
        RET_KILL_THREAD => Answer::KillThread,
        RET_TRAP => Answer::Trap,
        RET_ERRNO => Answer::Fail(-i64::from((r & 0xffff).min(4095))),
        // No tracer, and no supervisor that could answer for the runtime:
        // as the kernel answers without a tracer.
        RET_TRACE | RET_USER_NOTIF => Answer::Fail(Errno::ENOSYS.ret()),
        _ => Answer::Run,
    }
}

/// A `seccomp(SECCOMP_SET_MODE_FILTER)` or `prctl(PR_SET_SECCOMP,
/// SECCOMP_MODE_FILTER)`: the filter installed with the runtime's window
/// exempted, and kept; `None` for any other call.
pub fn install(sysno: usize, a: [u64; 6]) -> Option<i64> {
    let (fprog_at, flags) = match sysno {
        nr::SECCOMP if a[0] == SECCOMP_SET_MODE_FILTER => (a[2], a[1]),
        nr::PRCTL if a[0] == PR_SET_SECCOMP && a[1] == SECCOMP_MODE_FILTER => (a[2], 0),
        _ => return None,
    };
    Some(install_at(sysno, a, fprog_at, flags).unwrap_or_else(Errno::ret))
}

fn install_at(sysno: usize, a: [u64; 6], fprog_at: u64, flags: u64) -> Result<i64, Errno> {
    use sproot_core::backend::Memory;
    // struct sock_fprog: a 16-bit length, then a pointer at 8.
    let mut fprog = [0u8; 16];
    OwnMemory.read(fprog_at, &mut fprog)?;
    let len = usize::from(u16::from_ne_bytes([fprog[0], fprog[1]]));
    let at = u64::from_ne_bytes(fprog[8..].try_into().unwrap_or_default());
    if len == 0 || len > cbpf::MAX_INSNS {
        return Err(Errno::EINVAL);
    }
    let mut raw = alloc::vec![0u8; len * 8];
    OwnMemory.read(at, &mut raw)?;
    let prog = cbpf::decode(&raw);
    let held: usize = with(|p| p.iter().map(|(f, _)| f.len()).sum());
    if held + prog.len() > MOST_INSNS {
        return Err(Errno::ENOMEM);
    }
    let (lo, hi) = host::state().handoff.window;
    let exempt = cbpf::encode(&sproot_core::inproc::exempt_runtime(&prog, lo, hi));
    if exempt.len() / 8 > cbpf::MAX_INSNS {
        // The runtime's prefix does not fit: the kernel's limit.
        return Err(Errno::ENOMEM);
    }
    let mut ours = [0u8; 16];
    ours[..2].copy_from_slice(&((exempt.len() / 8) as u16).to_ne_bytes());
    ours[8..].copy_from_slice(&(exempt.as_ptr() as u64).to_ne_bytes());
    let mut args = a.map(|x| x as usize);
    args[2] = ours.as_ptr() as usize;
    let r = sc(sysno, args) as i64;
    // TSYNC without NEW_LISTENER reports a thread it could not sync with
    // as a positive id; with NEW_LISTENER a success is a descriptor.
    let installed = r == 0
        || (r > 0
            && (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER != 0
                || flags & SECCOMP_FILTER_FLAG_TSYNC == 0));
    if installed {
        let only =
            (flags & SECCOMP_FILTER_FLAG_TSYNC == 0 && host::threads() > 1).then(host::gettid);
        with(|p| p.push((prog, only)));
        ANY.store(true, core::sync::atomic::Ordering::Release);
    }
    Ok(r)
}
