//! The `SIGSYS` handler: a trapped syscall, translated with the core and
//! re-issued from the runtime's code.

use sproot_core::backend::{Scratch, SyscallRegs};
use sproot_core::decision::Decision;
use sproot_core::ext::fake_id::Creds;
use sproot_core::handler::ids::{self, FakeIds, FakeRoot};
use sproot_core::handler::listings::{self, Filter, Listed};
use sproot_core::handler::owners::{self, Lifted};
use sproot_core::handler::stat::{self, OwnerMap, Rewrites};
use sproot_core::handler::{self, paths, Ctx, Outcome};
use sproot_core::inproc::TRAP_DATA;
use sproot_core::shared::{LocalState, SharedState};
use sproot_core::table::Kind;
use sproot_core::Errno;

use core::sync::atomic::{AtomicBool, Ordering};

use crate::host::{self, sc, OwnMemory, OwnProcess, RtHost, TrapRegs};
use crate::{exec, heap, nr};

const SIGSYS: usize = 31;
const SYS_SECCOMP: i32 = 1;
const SA_SIGINFO: u64 = 4;
const SA_RESTORER: u64 = 0x0400_0000;
const SA_NODEFER: u64 = 0x4000_0000;
const SIG_UNBLOCK: usize = 1;
const SIG_SETMASK: usize = 2;
/// `SIGSYS`'s bit in a signal set.
const SIGSYS_BIT: u64 = 1 << (SIGSYS - 1);

// x86_64's `ucontext_t`: the general registers start at 40 (r8 first);
// the signal mask at 296.
#[cfg(target_arch = "x86_64")]
mod uc {
    pub const GREGS: usize = 40;
    pub const R8: usize = 0;
    pub const R9: usize = 1;
    pub const R10: usize = 2;
    pub const RDI: usize = 8;
    pub const RSI: usize = 9;
    pub const RDX: usize = 12;
    pub const RAX: usize = 13;
    pub const RSP: usize = 15;
    pub const RIP: usize = 16;
    /// The interrupted thread's signal mask.
    pub const SIGMASK: usize = 296;
    /// The syscall's arguments, in order.
    pub const ARGS: [usize; 6] = [RDI, RSI, RDX, R10, R8, R9];
    pub const RET: usize = RAX;
    /// After a trap, rax holds the syscall number again.
    pub const NR: usize = RAX;
    pub const SP: usize = RSP;
    pub const IP: usize = RIP;
}

// aarch64's `ucontext`: the signal mask at 40 (128 bytes kept for it),
// then `struct sigcontext` 16-aligned at 176: fault_address, x0..x30, sp.
#[cfg(target_arch = "aarch64")]
mod uc {
    pub const GREGS: usize = 184;
    /// x8: the syscall number.
    pub const NR: usize = 8;
    pub const SP: usize = 31;
    pub const IP: usize = 32;
    pub const SIGMASK: usize = 40;
    pub const ARGS: [usize; 6] = [0, 1, 2, 3, 4, 5];
    pub const RET: usize = 0;
}

fn greg(ucontext: usize, i: usize) -> *mut u64 {
    (ucontext + uc::GREGS + 8 * i) as *mut u64
}

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    // sproot_on_stack(top, f, arg): call f(arg) with the stack at top.
    ".globl sproot_on_stack",
    "sproot_on_stack:",
    "push rbp",
    "mov rbp, rsp",
    "mov rsp, rdi",
    "mov rdi, rdx",
    "call rsi",
    "mov rsp, rbp",
    "pop rbp",
    "ret",
    // The handler's return: rt_sigreturn, from the runtime's code.
    ".globl sproot_restorer",
    "sproot_restorer:",
    "mov eax, 15",
    "syscall",
    "ud2",
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    // sproot_on_stack(top, f, arg): call f(arg) with the stack at top.
    ".globl sproot_on_stack",
    "sproot_on_stack:",
    "stp x29, x30, [sp, #-16]!",
    "mov x29, sp",
    "mov sp, x0",
    "mov x0, x2",
    "blr x1",
    "mov sp, x29",
    "ldp x29, x30, [sp], #16",
    "ret",
    // The handler's return: rt_sigreturn, from the runtime's code.
    ".globl sproot_restorer",
    "sproot_restorer:",
    "mov x8, #139",
    "svc #0",
    "brk #0",
);

extern "C" {
    fn sproot_on_stack(top: usize, f: extern "C" fn(usize), arg: usize);
    fn sproot_restorer();
}

/// The kernel's `struct sigaction` (x86_64 and aarch64 alike).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct KSigaction {
    handler: u64,
    flags: u64,
    restorer: u64,
    mask: u64,
}

/// Install the handler, and make sure `SIGSYS` is not blocked (it would
/// kill the process at the first trap).
pub fn install() {
    let act = KSigaction {
        handler: on_sigsys as *const () as usize as u64,
        // SIGSYS stays deliverable in the handler: a filter outside
        // sproot (Android's app policy) may trap a call the runtime makes,
        // and that trap is completed by the handler run again.
        flags: SA_SIGINFO | SA_RESTORER | SA_NODEFER,
        restorer: sproot_restorer as *const () as usize as u64,
        // Every other signal waits while a call is translated.
        mask: !SIGSYS_BIT,
    };
    let r = sc(
        nr::RT_SIGACTION,
        [SIGSYS, &act as *const _ as usize, 0, 8, 0, 0],
    );
    if r < 0 {
        host::fatal(b"cannot install the SIGSYS handler");
    }
    let set: u64 = SIGSYS_BIT;
    sc(
        nr::RT_SIGPROCMASK,
        [SIG_UNBLOCK, &set as *const u64 as usize, 0, 8, 0, 0],
    );
}

/// What the stack switch carries.
struct Trapped {
    info: usize,
    ucontext: usize,
    slot: usize,
    /// Set when the signal is the guest's own, for its handler.
    deliver: core::cell::Cell<bool>,
}

/// The length of the syscall instruction.
#[cfg(target_arch = "x86_64")]
const SYSCALL_INSN: u64 = 2;
#[cfg(target_arch = "aarch64")]
const SYSCALL_INSN: u64 = 4;

extern "C" fn on_sigsys(_sig: i32, info: usize, ucontext: usize) {
    // SAFETY: the kernel's ucontext of this signal: the interrupted stack
    // pointer.
    let from_sp = unsafe { *greg(ucontext, uc::SP) } as usize;
    let slot = heap::claim(from_sp);
    let t = Trapped {
        info,
        ucontext,
        slot,
        deliver: core::cell::Cell::new(false),
    };
    // SAFETY: the slot's stack is this handler's alone until released; the
    // callee returns normally, and the switch restores the stack pointer.
    unsafe { sproot_on_stack(heap::stack_top(slot), on_own_stack, &t as *const _ as usize) };
    heap::release(slot);
    if t.deliver.get() {
        // On the stack the kernel chose, as the guest's handler would run.
        to_guest_handler(info, ucontext);
    }
    // A SIGSYS a process sent while the runtime was at work goes to the
    // guest once the thread is back in the guest's own code.
    if SENT_SIGSYS.load(Ordering::Relaxed)
        && !in_runtime(ucontext)
        && SENT_SIGSYS.swap(false, Ordering::AcqRel)
    {
        to_guest_handler(info, ucontext);
    }
}

/// A `SIGSYS` sent by a process (not a filter's) that arrived while the
/// runtime was at work, waiting for the guest (see [`on_sigsys`]).
static SENT_SIGSYS: AtomicBool = AtomicBool::new(false);

/// Whether the signal interrupted the runtime's own code (its handler
/// translating a call, or a call it made).
fn in_runtime(uc: usize) -> bool {
    let (lo, hi) = host::state().handoff.window;
    // SAFETY: the kernel's ucontext of this signal: the interrupted
    // instruction pointer.
    let ip = unsafe { *greg(uc, uc::IP) };
    (lo..hi).contains(&ip)
}

/// The call a trap stopped, as seccomp filters see it (`arch`: the
/// `AUDIT_ARCH_*` it was made with).
fn seccomp_data(uc: usize, nr: i64, arch: u32) -> sproot_core::cbpf::SeccompData {
    // SAFETY: the kernel's ucontext of this signal, with the interrupted
    // thread's registers.
    unsafe {
        sproot_core::cbpf::SeccompData {
            nr: nr as i32,
            arch,
            instruction_pointer: *greg(uc, uc::IP),
            args: uc::ARGS.map(|r| *greg(uc, r)),
        }
    }
}

extern "C" fn on_own_stack(arg: usize) {
    use crate::guest_filters::{judge, Answer};
    // SAFETY: `arg` is the `Trapped` of the frame below, alive meanwhile.
    let t = unsafe { &*(arg as *const Trapped) };
    // SAFETY: the kernel's siginfo for this signal: si_errno at 4, si_code
    // at 8, and for a seccomp SIGSYS si_syscall at 24, si_arch at 28.
    let (errno, code, si_nr, si_arch) = unsafe {
        (
            core::ptr::read((t.info + 4) as *const i32),
            core::ptr::read((t.info + 8) as *const i32),
            core::ptr::read((t.info + 24) as *const i32),
            core::ptr::read((t.info + 28) as *const u32),
        )
    };
    let uc = t.ucontext;
    if code != SYS_SECCOMP {
        // Sent by a process: the guest's; ignored if it said so; later
        // if it interrupted the runtime (whose state the guest's handler
        // must not run inside, nor leave with siglongjmp).
        if guest_sigsys_ignored() {
            return;
        }
        if in_runtime(uc) {
            SENT_SIGSYS.store(true, Ordering::Release);
        } else {
            t.deliver.set(true);
        }
        return;
    }
    if in_runtime(uc) {
        // A call the runtime made, trapped by a filter outside sproot (the
        // guest's own filters exempt the runtime's code).
        return outer_trap(si_nr, si_arch, uc);
    }
    let ours = errno == i32::from(TRAP_DATA);
    // What the guest's own filters say of the call (a guest filter's TRAP
    // outranks the runtime's, so a call it traps arrives as another
    // filter's SIGSYS).
    let early = match judge(&seccomp_data(uc, i64::from(si_nr), si_arch)) {
        Answer::Run if ours => None,
        Answer::Run => return outer_trap(si_nr, si_arch, uc),
        Answer::Fail(e) => Some(e),
        Answer::Trap => {
            t.deliver.set(true);
            return;
        }
        Answer::KillThread => end_thread(),
        Answer::Kill => killed(),
    };
    if let Some(e) = early {
        // SAFETY: the kernel's ucontext, writable.
        unsafe { *greg(uc, uc::RET) = e as u64 };
        return;
    }
    // SAFETY: the kernel's ucontext of this signal, writable, with the
    // interrupted thread's registers.
    let regs = unsafe {
        TrapRegs {
            nr: *greg(uc, uc::NR) as i64,
            args: uc::ARGS.map(|r| *greg(uc, r)),
            sp: *greg(uc, uc::SP),
            ret: 0,
        }
    };
    // The guest's signal mask: what rt_sigreturn gives the thread back.
    // SAFETY: as above; the kernel's sigset is its first 8 bytes.
    let mut mask = unsafe { core::ptr::read((uc + uc::SIGMASK) as *const u64) };
    let ret = syscall(regs, t.slot, &mut mask);
    // SAFETY: as above.
    unsafe {
        if ret == RUN_AGAIN {
            // Back to the syscall instruction, its number in place (the
            // kernel left it in x86_64's result register; aarch64's x8
            // keeps it).
            *greg(uc, uc::IP) -= SYSCALL_INSN;
            *greg(uc, uc::NR) = regs.nr as u64;
        } else {
            *greg(uc, uc::RET) = ret as u64;
        }
        core::ptr::write((uc + uc::SIGMASK) as *mut u64, mask);
    }
}

/// A call trapped by a seccomp filter outside sproot (Android's app policy,
/// installed before sproot started): completed in place as the core's
/// [`sproot_core::trapped`] says, with an allowed equivalent or the answer
/// of a kernel without the call. It is the guest's own call (one the
/// runtime's filter lets through: a path call reaches the runtime first,
/// as the filter installed last answers first among equal actions), or
/// one the runtime made while translating, whose arguments are host ones
/// already: either way nothing is left to translate.
fn outer_trap(nr: i32, arch: u32, uc: usize) {
    let ret = if arch == sproot_core::sysno::Arch::THIS.audit() {
        // SAFETY: the kernel's ucontext of this signal, with the
        // interrupted thread's registers.
        let args = uc::ARGS.map(|r| unsafe { *greg(uc, r) });
        sproot_core::trapped::complete(i64::from(nr), args, |n, a| {
            sc(n as usize, a.map(|x| x as usize)) as i64
        })
    } else {
        Errno::ENOSYS.ret()
    };
    // SAFETY: as above, writable.
    unsafe { *greg(uc, uc::RET) = ret as u64 };
}

/// The guest's own `SIGSYS` (its filter's trap, or one a process sent):
/// to the guest's handler, called as the kernel would (its mask added for
/// the time it runs, `SIGSYS` kept deliverable for the runtime's traps;
/// `SA_RESETHAND` honoured); without one, the default action.
fn to_guest_handler(info: usize, uc: usize) {
    use core::sync::atomic::Ordering::Relaxed;
    const SIG_IGN: u64 = 1;
    const SA_RESETHAND: u64 = 0x8000_0000;
    let handler = GUEST_SIGSYS[0].load(Relaxed);
    let flags = GUEST_SIGSYS[1].load(Relaxed);
    let mask = GUEST_SIGSYS[3].load(Relaxed);
    if handler == 0 || handler == SIG_IGN {
        // A seccomp SIGSYS ignored or not handled kills, as natively.
        killed();
    }
    if flags & SA_RESETHAND != 0 {
        for w in &GUEST_SIGSYS {
            w.store(0, Relaxed);
        }
    }
    // SAFETY: the kernel's ucontext: the interrupted thread's mask, which
    // rt_sigreturn gives back after the handler.
    let interrupted = unsafe { core::ptr::read((uc + uc::SIGMASK) as *const u64) };
    set_mask(interrupted | mask);
    if flags & SA_SIGINFO != 0 {
        // SAFETY: the guest installed this as an SA_SIGINFO handler; it
        // gets the kernel's siginfo and ucontext of this very signal.
        let f: extern "C" fn(i32, usize, usize) = unsafe { core::mem::transmute(handler) };
        f(SIGSYS as i32, info, uc);
    } else {
        // SAFETY: the guest installed this as a plain handler.
        let f: extern "C" fn(i32) = unsafe { core::mem::transmute(handler) };
        f(SIGSYS as i32);
    }
}

/// Killed by `SIGSYS`, as by a filter's `KILL` or an unhandled trap.
fn killed() -> ! {
    foreign_sigsys()
}

/// A filter's `SECCOMP_RET_KILL_THREAD`: this thread ends; the process
/// too, if it was the last one (killed by `SIGSYS`, as the kernel does).
fn end_thread() -> ! {
    if host::threads() <= 1 {
        killed();
    }
    sc(nr::EXIT, [SIGSYS, 0, 0, 0, 0, 0]);
    killed()
}

/// Whether the guest set `SIGSYS` to be ignored.
fn guest_sigsys_ignored() -> bool {
    GUEST_SIGSYS[0].load(core::sync::atomic::Ordering::Relaxed) == 1
}

/// `SIGSYS`'s default action, as natively.
fn foreign_sigsys() -> ! {
    let act = KSigaction::default();
    sc(
        nr::RT_SIGACTION,
        [SIGSYS, &act as *const _ as usize, 0, 8, 0, 0],
    );
    let set: u64 = SIGSYS_BIT;
    sc(
        nr::RT_SIGPROCMASK,
        [SIG_UNBLOCK, &set as *const u64 as usize, 0, 8, 0, 0],
    );
    sc(
        nr::TGKILL,
        [
            host::getpid() as usize,
            host::gettid() as usize,
            SIGSYS,
            0,
            0,
            0,
        ],
    );
    host::fatal(b"SIGSYS from another seccomp filter")
}

/// Run `nr` with `args`, from the runtime's code. A call that may wait
/// (an `open` of a FIFO, a `connect`, an `accept`...) runs with the
/// guest's own signal mask, so that a signal interrupts it as natively
/// (`EINTR`, or the kernel restarts it for an `SA_RESTART` handler); every
/// signal waits again once it returns.
fn issue(nr: i64, args: [u64; 6], guest_mask: Option<u64>) -> i64 {
    let args = args.map(|a| a as usize);
    let Some(mask) = guest_mask.filter(|_| may_block(nr as usize)) else {
        return sc(nr as usize, args) as i64;
    };
    with_guest_mask(mask);
    let r = sc(nr as usize, args) as i64;
    set_mask(u64::MAX);
    r
}

/// Set the guest's signal mask `mask` for a call that waits: its signal
/// handlers may run meanwhile, on this handler's stack, and leave it
/// with `siglongjmp` (heap::may_be_left).
pub fn with_guest_mask(mask: u64) {
    heap::may_be_left(host::gettid());
    set_mask(mask);
}

/// Set this thread's signal mask (`SIGSYS` never blocked).
pub fn set_mask(mask: u64) {
    let m = mask & !SIGSYS_BIT;
    sc(
        nr::RT_SIGPROCMASK,
        [SIG_SETMASK, &m as *const u64 as usize, 0, 8, 0, 0],
    );
}

/// Calls that may wait in the kernel for another process or a device.
fn may_block(n: usize) -> bool {
    matches!(
        n,
        nr::RT_SIGSUSPEND
            | nr::PPOLL
            | nr::PSELECT6
            | nr::EPOLL_PWAIT
            | nr::EPOLL_PWAIT2
            | nr::OPEN
            | nr::OPENAT
            | nr::OPENAT2
            | nr::CREAT
            | nr::CONNECT
            | nr::ACCEPT
            | nr::ACCEPT4
            | nr::RECVFROM
            | nr::RECVMSG
            | nr::RECVMMSG
            | nr::SENDTO
            | nr::SENDMSG
            | nr::SENDMMSG
    )
}

/// Scratch space for new data (translated paths, structures), from the
/// handler's arena.
const SCRATCH: usize = 16 << 10;

/// One trapped syscall: its result.
fn syscall(regs: TrapRegs, slot: usize, guest_mask: &mut u64) -> i64 {
    let mask = *guest_mask;
    let st = host::state();
    if st.handoff.ext.stats {
        if let Some(shared) = &st.shared {
            let exec = matches!(
                regs.nr,
                sproot_core::sysno::SYS_execve | sproot_core::sysno::SYS_execveat
            );
            shared.count_trap(exec);
        }
    }
    if let Some(r) = crate::guest_filters::install(regs.nr as usize, regs.args) {
        return r;
    }
    if regs.nr as usize == nr::PTRACE {
        return guest_ptrace(regs);
    }
    match regs.nr as usize {
        nr::RT_SIGACTION => return sigaction(regs),
        nr::RT_SIGPROCMASK => return sigprocmask(regs, guest_mask),
        nr::RT_SIGSUSPEND => return wait_with_mask(regs, 0, false, mask),
        nr::PPOLL => return wait_with_mask(regs, 3, false, mask),
        nr::EPOLL_PWAIT | nr::EPOLL_PWAIT2 => return wait_with_mask(regs, 4, false, mask),
        nr::PSELECT6 => return wait_with_mask(regs, 5, true, mask),
        _ => {}
    }
    if sproot_core::sysno::is_sysv_ipc(regs.nr) && !host::state().handoff.ipc.is_empty() {
        return crate::ipc::call(&regs, mask);
    }
    let changes = paths::changes_namespace(regs.nr);
    let sv = host::slot_view(slot);
    if changes {
        sv.view.invalidate_cache();
    }
    // -v 3: the call as trapped, then its result (as the tracer says
    // them).
    let tracing = log::log_enabled!(log::Level::Trace);
    let name = || sproot_core::sysno::name(regs.nr).unwrap_or("?");
    if tracing {
        let a = regs.args;
        log::trace!(
            "{} {}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x})",
            host::gettid(),
            name(),
            a[0],
            a[1],
            a[2],
            a[3],
            a[4],
            a[5]
        );
    }
    // The names the process used for host paths with several, shared by
    // its slots.
    let aliases = sv.view.has_aliases();
    let remembered = if aliases {
        host::names_in(sv);
        sv.view.names_remembered()
    } else {
        0
    };
    let ret = translated(regs, &sv.view, mask);
    if aliases {
        host::names_out(sv, remembered);
    }
    if tracing {
        log::trace!("{} {} = {ret}", host::gettid(), name());
    }
    if changes {
        host::names_changed();
    }
    ret
}

/// A runtime's work after the kernel ran a call.
enum After {
    /// The core's exit work.
    Core(handler::ExitHook),
    /// Fake root: `EPERM` becomes success.
    EpermIsSuccess,
    /// Fake root: modes lifted for the call, to put back.
    PutBack(Lifted),
    /// A listing to filter (`getdents64` on `fd` into `buf`).
    Listing { fd: i32, buf: u64 },
}

type RtOutcome = Decision<After, core::convert::Infallible>;

fn from_core(o: Outcome) -> RtOutcome {
    o.map(After::Core, |never| match never {})
}

/// The call translated in `view`, run: its result.
fn translated(regs: TrapRegs, view: &sproot_core::fs::GuestView, mask: u64) -> i64 {
    let st = host::state();
    let local;
    let shared: &dyn SharedState = match &st.shared {
        Some(m) => m,
        None => {
            local = LocalState::default();
            &local
        }
    };
    let mut mem = OwnMemory;
    // Not zeroed: the handlers write what they push before the kernel
    // reads it.
    let scratch: alloc::vec::Vec<u8> = alloc::vec::Vec::with_capacity(SCRATCH);
    let top = scratch.as_ptr() as u64 + SCRATCH as u64;
    let me = OwnProcess::default();
    let mut ctx = Ctx::new(
        view,
        &me,
        &RtHost,
        shared,
        regs,
        &mut mem,
        Scratch::below(top),
    );
    if let Some(Kind::Exec { at }) = ctx.entry().map(|e| e.kind) {
        return exec::exec(&mut ctx, at, mask).unwrap_or_else(Errno::ret);
    }
    let ext = &st.handoff.ext;
    let mut creds = if ext.creds.is_some() {
        host::with_creds(|c| c.clone())
    } else {
        None
    };
    let before = creds.clone();
    let (outcome, lifted) = if creds.as_ref().is_some_and(|c| c.is_fs_root()) {
        // Fake root: the real user's own modes must not stop it.
        owners::with_lifted_modes(&mut &mut ctx, |c| decide(c, &mut creds))
    } else {
        (decide(&mut ctx, &mut creds), Lifted::new())
    };
    if creds != before {
        host::with_creds(|c| *c = creds);
    }
    let ret = match outcome {
        Decision::Pass => issue(regs.nr, regs.args, Some(mask)),
        Decision::Rewritten => issue(ctx.regs.nr, ctx.regs.args, Some(mask)),
        Decision::Emulated(v) => v,
        Decision::Exec(never) => match never {},
        Decision::WithExit { rewritten, hook } => {
            let (n, a) = if rewritten {
                (ctx.regs.nr, ctx.regs.args)
            } else {
                (regs.nr, regs.args)
            };
            ctx.regs.ret = issue(n, a, Some(mask));
            match hook {
                After::Core(h) => {
                    handler::exit(&mut ctx, h);
                }
                After::EpermIsSuccess => {
                    if ctx.regs.ret == Errno::EPERM.ret() {
                        ctx.regs.ret = 0;
                    }
                }
                After::PutBack(l) => owners::put_back(&RtHost, l),
                After::Listing { fd, buf } => {
                    if let Some(n) = listings::exit(&mut ctx, listing_filter(), fd, buf) {
                        ctx.regs.ret = n;
                    }
                }
            }
            ctx.regs.ret()
        }
    };
    owners::put_back(&RtHost, lifted);
    ret
}

/// The handlers, in order: the extensions' (fake ids and `uname`, stat
/// results), then the table's.
fn decide(ctx: &mut Ctx<TrapRegs>, creds: &mut Option<Creds>) -> RtOutcome {
    decide_or_fail(ctx, creds).unwrap_or_else(Decision::err)
}

fn decide_or_fail(ctx: &mut Ctx<TrapRegs>, creds: &mut Option<Creds>) -> Result<RtOutcome, Errno> {
    let ext = &host::state().handoff.ext;
    if ext.uname || creds.is_some() {
        let run = FakeIds {
            real: ext.real,
            persist: ext.persist,
        };
        match ids::fake_ids(ctx, creds.as_mut(), run)? {
            None => {}
            Some(FakeRoot::Decided(o)) => return Ok(from_core(o)),
            Some(FakeRoot::EpermIsSuccess { rewritten }) => {
                return Ok(Decision::WithExit {
                    rewritten,
                    hook: After::EpermIsSuccess,
                })
            }
            Some(FakeRoot::OpenAsRoot { lifted, rewritten }) => {
                return Ok(Decision::WithExit {
                    rewritten,
                    hook: After::PutBack(lifted),
                })
            }
        }
    }
    if ext.link2symlink {
        let l2s_dir = ext.l2s_dir.as_deref();
        if let Some(o) = handler::link2symlink::enter(ctx, l2s_dir)? {
            return Ok(from_core(o));
        }
    }
    if ext.rewrites_stat() {
        let rewrites = Rewrites {
            owner: creds.as_ref().map(|c| OwnerMap {
                real_uid: ext.real.0,
                real_gid: ext.real.1,
                fake_uid: c.suid,
                fake_gid: c.sgid,
            }),
            persist_ownership: ext.persist,
            link2symlink: ext.link2symlink,
            symlink_sizes: ext.symlink_sizes,
        };
        if let Some(r) = stat::stat(ctx, &rewrites) {
            return Ok(from_core(r?));
        }
    }
    if ext.lists() && ctx.sysno() == sproot_core::sysno::SYS_getdents64 {
        let (fd, buf) = (ctx.arg(0) as i32, ctx.arg(1));
        return Ok(match listings::enter(ctx, listing_filter())? {
            Listed::Pass => Decision::Pass,
            Listed::Answered(n) => Decision::Emulated(n),
            Listed::AtExit => Decision::WithExit {
                rewritten: false,
                hook: After::Listing { fd, buf },
            },
        });
    }
    match ctx.entry().map(|e| e.kind) {
        Some(kind) => dispatch(ctx, kind, creds.as_ref().map(|c| c.euid)).map(from_core),
        None => Ok(Decision::Pass),
    }
}

/// What listings show (`-H`, `-l`, binding points).
fn listing_filter() -> Filter {
    let ext = &host::state().handoff.ext;
    Filter {
        proot: ext.hide,
        l2s: ext.link2symlink,
        points: ext.points,
    }
}

/// The table's handlers: the core's (`handler::dispatch`); the clone
/// flags' answers here (no tracer to keep children traced), `-n`'s binds
/// on the guest's own socket, and exec in [`exec`]. `euid`: the guest's
/// effective uid (its fake one under `-0`/`-i`).
fn dispatch(ctx: &mut Ctx<TrapRegs>, kind: Kind, euid: Option<u32>) -> Result<Outcome, Errno> {
    let ports = &host::state().handoff.ext.ports;
    if let Kind::CloneFlags { clone } = kind {
        let flags = ctx.arg(0);
        let refused = if clone {
            sproot_core::userns::clone(flags)
        } else {
            sproot_core::userns::unshare(flags, host::threads())
        };
        return refused.map_or(Ok(Outcome::Pass), Err);
    }
    if let Kind::SockAddr {
        addr,
        len,
        bind: true,
    } = kind
    {
        if ports.netcoop {
            if let Some(r) = handler::net::netcoop_bind(ctx, ports, addr, len) {
                return r.map(Outcome::Emulated);
            }
        }
    }
    let euid = || euid.unwrap_or_else(|| sc(nr::GETEUID, [0; 6]) as u32);
    handler::dispatch::run(ctx, kind, ports, euid).unwrap_or(Ok(Outcome::Pass))
}

/// The guest's own `SIGSYS` action, shown back to it; the runtime's stays.
static GUEST_SIGSYS: [core::sync::atomic::AtomicU64; 4] =
    [const { core::sync::atomic::AtomicU64::new(0) }; 4];

/// `rt_sigaction`: `SIGSYS` stays the runtime's (the guest's wish is kept
/// and shown back); no handler may block `SIGSYS` while it runs.
fn sigaction(regs: TrapRegs) -> i64 {
    use core::sync::atomic::Ordering::Relaxed;
    let [sig, new, old, size, ..] = regs.args;
    let mut mem = OwnMemory;
    let read = |addr: u64| -> Result<KSigaction, Errno> {
        let mut b = [0u8; 32];
        sproot_core::backend::Memory::read(&OwnMemory, addr, &mut b)?;
        let w = |i: usize| u64::from_ne_bytes(b[8 * i..8 * i + 8].try_into().unwrap_or_default());
        Ok(KSigaction {
            handler: w(0),
            flags: w(1),
            restorer: w(2),
            mask: w(3),
        })
    };
    let bytes = |a: &KSigaction| -> [u8; 32] {
        let mut b = [0u8; 32];
        for (i, v) in [a.handler, a.flags, a.restorer, a.mask].iter().enumerate() {
            b[8 * i..8 * i + 8].copy_from_slice(&v.to_ne_bytes());
        }
        b
    };
    if sig == SIGSYS as u64 && size == 8 {
        let before = KSigaction {
            handler: GUEST_SIGSYS[0].load(Relaxed),
            flags: GUEST_SIGSYS[1].load(Relaxed),
            restorer: GUEST_SIGSYS[2].load(Relaxed),
            mask: GUEST_SIGSYS[3].load(Relaxed),
        };
        if new != 0 {
            match read(new) {
                Ok(a) => {
                    GUEST_SIGSYS[0].store(a.handler, Relaxed);
                    GUEST_SIGSYS[1].store(a.flags, Relaxed);
                    GUEST_SIGSYS[2].store(a.restorer, Relaxed);
                    GUEST_SIGSYS[3].store(a.mask, Relaxed);
                }
                Err(e) => return e.ret(),
            }
        }
        if old != 0 {
            if let Err(e) = sproot_core::backend::Memory::write(&mut mem, old, &bytes(&before)) {
                return e.ret();
            }
        }
        return 0;
    }
    if new == 0 {
        return issue(regs.nr, regs.args, None);
    }
    let mut act = match read(new) {
        Ok(a) => a,
        Err(e) => return e.ret(),
    };
    act.mask &= !SIGSYS_BIT;
    let mut args = regs.args;
    args[1] = &act as *const KSigaction as u64;
    issue(regs.nr, args, None)
}

/// What [`syscall`] returns for a call to run again from the guest's own
/// code (never a syscall's result).
const RUN_AGAIN: i64 = i64::MIN;

/// A guest's own `ptrace` (a debugger, a tracer): the process asks the
/// launcher to trace it with the ptrace engine from now on (the launcher
/// takes in the tracer's tracees as the calls name them), then makes the
/// call again, which the tracer now sees and emulates. Where no launcher
/// answers, the call runs natively, and the guest's tracer sees its
/// tracees as the kernel shows them, the runtime at work included (the
/// `SIGSYS` of each translated call, the host paths it re-issues): said
/// once a run.
fn guest_ptrace(regs: TrapRegs) -> i64 {
    if ask_for_tracer() {
        return RUN_AGAIN;
    }
    const NOTICE_PTRACE: u32 = 0;
    let first = match &host::state().shared {
        Some(s) => s.first_notice(NOTICE_PTRACE),
        None => true,
    };
    if first {
        log::warn!(
            "a guest process uses ptrace (a tracer or debugger): under --engine=inproc it \
             traces natively and sees the runtime's SIGSYS signals and host paths; \
             run sproot with --engine=ptrace for the guest's own view"
        );
    }
    issue(regs.nr, regs.args, None)
}

/// Ask the launcher to trace this process (every thread) with the ptrace
/// engine, and wait for its answer: whether it does. The request carries
/// the thread's fake credentials (`-0`, `-i`): nine words, a flag then the
/// eight ids.
fn ask_for_tracer() -> bool {
    let Some(shared) = &host::state().shared else {
        return false;
    };
    let launcher = shared.launcher();
    if launcher <= 0 {
        return false;
    }
    let mut data = [0u32; 9];
    host::with_creds(|c| {
        if let Some(c) = c {
            data = [
                1, c.ruid, c.euid, c.suid, c.fsuid, c.rgid, c.egid, c.sgid, c.fsgid,
            ];
        }
    });
    let Some(slot) = shared.ask_tracer(host::gettid(), data.as_ptr() as u64) else {
        return false;
    };
    // Ten seconds at most: a launcher that never answers leaves the slot
    // taken, and the call runs natively. The signal again every 50 ms: one
    // that came as the launcher was about to wait would not wake it.
    let pause = [0u64, 200_000];
    for i in 0..50_000 {
        // A launcher this process may not signal (it changed its real
        // ids) will not come: the request is taken back if it can be.
        if i % 250 == 0
            && (sc(nr::KILL, [launcher as usize, SIGURG, 0, 0, 0, 0]) as i64) < 0
            && shared.cancel_tracer(slot)
        {
            return false;
        }
        if let Some(traced) = shared.tracer_answer(slot) {
            return traced;
        }
        sc(nr::NANOSLEEP, [pause.as_ptr() as usize, 0, 0, 0, 0, 0]);
    }
    false
}

/// The signal that tells the launcher a request waits (ignored by default:
/// harmless to a launcher that does not serve them).
const SIGURG: usize = 23;

/// A call that waits with a signal mask of its own (`rt_sigsuspend`,
/// `ppoll`, `pselect6`, `epoll_pwait`): the same mask without `SIGSYS`, so
/// that a handler the wait runs can make trapped calls. `indirect`: the
/// argument points at `{ mask pointer, size }` (`pselect6`).
fn wait_with_mask(regs: TrapRegs, arg: usize, indirect: bool, mask: u64) -> i64 {
    let mem = OwnMemory;
    let read_u64 = |addr: u64| -> Result<u64, Errno> {
        let mut b = [0u8; 8];
        sproot_core::backend::Memory::read(&mem, addr, &mut b)?;
        Ok(u64::from_ne_bytes(b))
    };
    let mut args = regs.args;
    let mut pair = [0u64; 2];
    let at = if indirect {
        match (read_u64(args[arg]), read_u64(args[arg] + 8)) {
            (Ok(p), Ok(len)) => {
                pair = [p, len];
                p
            }
            (Err(e), _) | (_, Err(e)) => return e.ret(),
        }
    } else {
        args[arg]
    };
    let set = if at == 0 {
        None
    } else {
        match read_u64(at) {
            Ok(s) => Some(s & !SIGSYS_BIT),
            Err(e) => return e.ret(),
        }
    };
    if let Some(s) = &set {
        let copy = s as *const u64 as u64;
        if indirect {
            pair[0] = copy;
            args[arg] = pair.as_ptr() as u64;
        } else {
            args[arg] = copy;
        }
    }
    issue(regs.nr, args, Some(mask))
}

/// `rt_sigprocmask` with a new set (the filter lets `SIG_UNBLOCK` and a
/// query through): the guest's mask is the one in the signal context,
/// which `rt_sigreturn` gives the thread back, so it is read and changed
/// there. `SIGSYS` (like `SIGKILL` and `SIGSTOP`) is never blocked.
fn sigprocmask(regs: TrapRegs, mask: &mut u64) -> i64 {
    const SIG_BLOCK: u64 = 0;
    const SIGKILL_BIT: u64 = 1 << 8;
    const SIGSTOP_BIT: u64 = 1 << 18;
    let [how, set, old, size, ..] = regs.args;
    if size != 8 {
        return Errno::EINVAL.ret();
    }
    let mut new = *mask;
    if set != 0 {
        let mut b = [0u8; 8];
        if let Err(e) = sproot_core::backend::Memory::read(&OwnMemory, set, &mut b) {
            return e.ret();
        }
        let s = u64::from_ne_bytes(b);
        new = match how {
            SIG_BLOCK => new | s,
            h if h == SIG_UNBLOCK as u64 => new & !s,
            h if h == SIG_SETMASK as u64 => s,
            _ => return Errno::EINVAL.ret(),
        };
    }
    if old != 0 {
        let mut mem = OwnMemory;
        if let Err(e) = sproot_core::backend::Memory::write(&mut mem, old, &mask.to_ne_bytes()) {
            return e.ret();
        }
    }
    *mask = new & !(SIGSYS_BIT | SIGKILL_BIT | SIGSTOP_BIT);
    0
}
