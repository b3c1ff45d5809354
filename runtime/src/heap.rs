//! Memory for the runtime, safe in a signal handler of any guest thread.
//!
//! The `SIGSYS` handler must not use the guest's stack (guest threads may
//! have small ones) nor a lock (a guest may `fork` while another thread
//! holds it, leaving the child's copy locked forever). So each handler
//! claims a *slot* with one atomic operation: a stack of its own and a
//! heap of its own. The allocator finds the running handler's slot from
//! the stack pointer; a slot's heap is only ever used by the handler that
//! holds the slot, so it needs no lock, and what a slot keeps between
//! calls (its view of the guest's files, with its caches) lives there.
//! A slot held by another thread when a guest forks stays taken in the
//! child, unused and consistent. Allocations outside a handler (at start,
//! once per exec) come from a boot arena that is never freed; big blocks
//! are mapped on their own.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

use crate::sys::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};

/// Handlers that can run at once (threads inside a trapped syscall).
pub const SLOTS: usize = 64;
/// A slot's stack.
const STACK: usize = 256 << 10;
/// A slot's heap (address space: pages are only used when touched).
const HEAP: usize = 32 << 20;
/// Blocks of this size or more are mapped on their own.
const BIG: usize = 64 << 10;
/// Size classes: 16 bytes to 64 KiB (a block under `BIG` rounds up to at
/// most `BIG`).
const CLASSES: usize = 13;
const BOOT_ARENA: usize = 16 << 20;
const MAP_NORESERVE: usize = 0x4000;

static STACKS: AtomicUsize = AtomicUsize::new(0);
/// The thread that runs an `execve` from each slot (0: none). A `vfork`
/// child shares its parent's memory, so the slot its `execve` holds stays
/// taken in the parent once the child's image is replaced; such a slot is
/// taken back when every slot is in use and that thread no longer shares
/// this memory.
static EXEC_OWNER: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
static HEAPS: AtomicUsize = AtomicUsize::new(0);
static USED: AtomicU64 = AtomicU64::new(0);
static BOOT_NEXT: AtomicUsize = AtomicUsize::new(0);
static BOOT_END: AtomicUsize = AtomicUsize::new(0);

/// One slot's heap: a free list per size class, and the untouched rest.
struct SlotHeap {
    free: [usize; CLASSES],
    next: usize,
    end: usize,
}

static mut SLOT_HEAPS: [SlotHeap; SLOTS] = [const {
    SlotHeap {
        free: [0; CLASSES],
        next: 0,
        end: 0,
    }
}; SLOTS];

fn map(len: usize, extra: usize) -> usize {
    // SAFETY: an anonymous private mapping at an address the kernel picks
    // touches no existing memory.
    let r = unsafe {
        crate::sys::syscall6(
            crate::sys::nr::MMAP,
            [
                0,
                len,
                PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | extra,
                usize::MAX,
                0,
            ],
        )
    };
    if (-4095..0).contains(&r) {
        0
    } else {
        r as usize
    }
}

/// Map the slots and the boot arena (once per process image, at start).
pub fn init() {
    let stacks = map(SLOTS * STACK, MAP_NORESERVE);
    let heaps = map(SLOTS * HEAP, MAP_NORESERVE);
    let boot = map(BOOT_ARENA, MAP_NORESERVE);
    if stacks == 0 || heaps == 0 || boot == 0 {
        crate::host::fatal(b"cannot map the handlers' memory");
    }
    BOOT_NEXT.store(boot, Ordering::Relaxed);
    BOOT_END.store(boot + BOOT_ARENA, Ordering::Relaxed);
    // SAFETY: start-up is single-threaded and no handler runs yet.
    let all = unsafe { &mut *core::ptr::addr_of_mut!(SLOT_HEAPS) };
    for (i, h) in all.iter_mut().enumerate() {
        h.next = heaps + i * HEAP;
        h.end = h.next + HEAP;
    }
    HEAPS.store(heaps, Ordering::Relaxed);
    STACKS.store(stacks, Ordering::Release);
}

/// The stack pointer each slot's trap interrupted, and the thread of a
/// slot whose handler lets the guest's signal handlers run (a waiting
/// call made with the guest's mask: only such a handler can be abandoned
/// by a `siglongjmp`; 0 for the others). See [`reclaim_abandoned`].
static OWNER: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
static FROM_SP: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];

/// Claim a free slot for a trap that interrupted the thread at stack
/// pointer `from_sp` (waits while every slot is in use).
pub fn claim(from_sp: usize) -> usize {
    let mut spins = 0u32;
    loop {
        let used = USED.load(Ordering::Relaxed);
        if used != u64::MAX {
            let i = (!used).trailing_zeros() as usize;
            if USED
                .compare_exchange_weak(used, used | 1 << i, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                FROM_SP[i].store(from_sp, Ordering::Relaxed);
                return i;
            }
            continue;
        }
        if reclaim() || reclaim_abandoned(crate::host::gettid(), from_sp) {
            continue;
        }
        spins += 1;
        if spins > 1 << 20 {
            crate::host::fatal(b"every handler slot stays in use");
        }
        crate::host::sched_yield();
    }
}

/// Give a slot back.
pub fn release(i: usize) {
    OWNER[i].store(0, Ordering::Relaxed);
    USED.fetch_and(!(1 << i), Ordering::Release);
}

/// The running handler is about to let the guest's signal handlers run
/// (on its stack): it is thread `tid`'s, which may leave it.
pub fn may_be_left(tid: i32) {
    if let Some(i) = running_slot() {
        OWNER[i].store(tid, Ordering::Relaxed);
    }
}

/// Take back the slots thread `tid` can no longer return to: a guest
/// signal handler that ran on a slot's stack (a signal that interrupted a
/// waiting call, [`may_be_left`]) and left with `siglongjmp` abandons
/// that handler. The slots the thread may still return to are those of
/// the chain from `from_sp`, the stack pointer its new trap interrupted:
/// the slot whose stack that is (no other thread runs on it), the one its
/// trap interrupted, and so on. On an alternate signal stack the chain
/// cannot be followed (a handler there may have interrupted any of them):
/// nothing is taken back. Whether any slot was.
fn reclaim_abandoned(tid: i32, from_sp: usize) -> bool {
    const SS_ONSTACK: i32 = 1;
    let mut old = [0u64; 3];
    // SAFETY: sigaltstack with no new stack only writes the current one
    // (a stack_t: pointer, flags, size) into `old`.
    let r = unsafe {
        crate::sys::syscall6(
            crate::nr::SIGALTSTACK,
            [0, old.as_mut_ptr() as usize, 0, 0, 0, 0],
        )
    };
    if r != 0 || old[1] as i32 & SS_ONSTACK != 0 {
        return false;
    }
    let base = STACKS.load(Ordering::Relaxed);
    let mut live = 0u64;
    let mut sp = from_sp;
    while sp >= base && sp < base + SLOTS * STACK {
        let j = (sp - base) / STACK;
        if live & 1 << j != 0 {
            break;
        }
        live |= 1 << j;
        sp = FROM_SP[j].load(Ordering::Relaxed);
    }
    let used = USED.load(Ordering::Acquire);
    let mut any = false;
    for (i, owner) in OWNER.iter().enumerate() {
        let held = used & 1 << i != 0;
        if held && live & 1 << i == 0 && owner.load(Ordering::Relaxed) == tid {
            release(i);
            any = true;
        }
    }
    any
}

/// Slot `i` runs an `execve` of thread `tid` (0: it returned).
pub fn exec_from(i: usize, tid: i32) {
    EXEC_OWNER[i].store(tid, Ordering::Release);
}

/// Take back the slots of `execve`s made by threads that no longer share
/// this memory (see [`EXEC_OWNER`]): whether any was.
fn reclaim() -> bool {
    let mut any = false;
    for (i, owner) in EXEC_OWNER.iter().enumerate() {
        let tid = owner.load(Ordering::Acquire);
        if tid != 0 && crate::host::left_this_memory(tid) {
            owner.store(0, Ordering::Relaxed);
            release(i);
            any = true;
        }
    }
    any
}

/// The top of slot `i`'s stack (16-aligned).
pub fn stack_top(i: usize) -> usize {
    STACKS.load(Ordering::Relaxed) + (i + 1) * STACK - 64
}

#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer, nothing else.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    sp
}

/// The slot whose stack is running, if a handler's.
pub fn running_slot() -> Option<usize> {
    let base = STACKS.load(Ordering::Relaxed);
    let sp = stack_pointer();
    (base != 0 && sp >= base && sp < base + SLOTS * STACK).then(|| (sp - base) / STACK)
}

/// The slot whose heap holds `p`, if any.
fn heap_of(p: usize) -> Option<usize> {
    let base = HEAPS.load(Ordering::Relaxed);
    (base != 0 && p >= base && p < base + SLOTS * HEAP).then(|| (p - base) / HEAP)
}

fn class_of(layout: Layout) -> (usize, usize) {
    let size = layout
        .size()
        .max(layout.align())
        .max(16)
        .next_power_of_two();
    (size.trailing_zeros() as usize - 4, size)
}

fn boot_alloc(layout: Layout) -> usize {
    let mut cur = BOOT_NEXT.load(Ordering::Relaxed);
    loop {
        let start = (cur + layout.align() - 1) & !(layout.align() - 1);
        let stop = start + layout.size();
        if stop > BOOT_END.load(Ordering::Relaxed) {
            return 0;
        }
        match BOOT_NEXT.compare_exchange_weak(cur, stop, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return start,
            Err(now) => cur = now,
        }
    }
}

fn big_len(layout: Layout) -> usize {
    (layout.size() + 4095) & !4095
}

/// The runtime's allocator (see the module docs).
pub struct Heap;

// SAFETY: every block returned is fresh memory of at least the layout's
// size and alignment (a class is a power of two at least the alignment,
// and blocks of a class are aligned to it up to a page; larger alignments
// are not asked for by the core); a slot's heap is used by the one
// handler holding the slot.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= BIG {
            return map(big_len(layout), 0) as *mut u8;
        }
        let Some(i) = running_slot() else {
            return boot_alloc(layout) as *mut u8;
        };
        let (class, size) = class_of(layout);
        // SAFETY: slot i is held by this handler (see above).
        let h = unsafe { &mut *core::ptr::addr_of_mut!(SLOT_HEAPS[i]) };
        let head = h.free[class];
        if head != 0 {
            // SAFETY: a free block's first word links the next one.
            h.free[class] = unsafe { core::ptr::read(head as *const usize) };
            return head as *mut u8;
        }
        let start = (h.next + size.min(4096) - 1) & !(size.min(4096) - 1);
        if start + size > h.end {
            return core::ptr::null_mut();
        }
        h.next = start + size;
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= BIG {
            // SAFETY: a block this big was mapped on its own, this long.
            unsafe {
                crate::sys::syscall6(
                    crate::nr::MUNMAP,
                    [ptr as usize, big_len(layout), 0, 0, 0, 0],
                );
            }
            return;
        }
        // A block of the running slot's heap goes back to its free list;
        // the boot arena's are never freed.
        let (Some(i), Some(j)) = (running_slot(), heap_of(ptr as usize)) else {
            return;
        };
        if i != j {
            return;
        }
        let (class, _) = class_of(layout);
        // SAFETY: slot i is held by this handler; the block is unused now.
        unsafe {
            let h = &mut *core::ptr::addr_of_mut!(SLOT_HEAPS[i]);
            core::ptr::write(ptr as *mut usize, h.free[class]);
            h.free[class] = ptr as usize;
        }
    }
}
