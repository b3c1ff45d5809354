//! Memory for the runtime, safe in a signal handler of any guest thread.
//!
//! The `SIGSYS` handler must not use the guest's stack (guest threads may
//! have small ones) nor a lock (a guest may `fork` while another thread
//! holds it, leaving the child's copy locked forever). So each handler
//! claims a *slot* of a pool with one atomic operation; a slot is the
//! handler's stack (the top half) and its arena (the bottom half). The
//! allocator finds the running handler's slot from the stack pointer and
//! bumps in its arena; the arena is emptied when the handler returns.
//! Allocations outside a handler (at start-up, once per exec) come from a
//! boot arena that is never freed. Big blocks are mapped on their own.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::sys::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};

/// Handlers that can run at once (threads inside a trapped syscall).
const SLOTS: usize = 64;
/// One slot: its arena below, its stack above.
const SLOT: usize = 1 << 20;
const ARENA: usize = SLOT / 2;
/// Blocks of this size or more are mapped on their own.
const BIG: usize = 64 << 10;
const BOOT_CHUNK: usize = 4 << 20;
const MAP_NORESERVE: usize = 0x4000;

static POOL: AtomicUsize = AtomicUsize::new(0);
static USED: AtomicU64 = AtomicU64::new(0);
/// The next free byte of each slot's arena.
static NEXT: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static BOOT_NEXT: AtomicUsize = AtomicUsize::new(0);
static BOOT_END: AtomicUsize = AtomicUsize::new(0);

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

/// Map the pool (once per process image, at start-up).
pub fn init() {
    let base = map(SLOTS * SLOT, MAP_NORESERVE);
    if base == 0 {
        crate::host::fatal(b"cannot map the handlers' memory");
    }
    POOL.store(base, Ordering::Release);
}

/// Claim a free slot (waits while every slot is in use).
pub fn claim() -> usize {
    let mut spins = 0u32;
    loop {
        let used = USED.load(Ordering::Relaxed);
        if used != u64::MAX {
            let i = (!used).trailing_zeros() as usize;
            if USED
                .compare_exchange_weak(used, used | 1 << i, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                NEXT[i].store(slot_base(i), Ordering::Relaxed);
                return i;
            }
            continue;
        }
        spins += 1;
        if spins > 1 << 20 {
            crate::host::fatal(b"every handler slot stays in use");
        }
        crate::host::sched_yield();
    }
}

/// Give a slot back; its arena is emptied.
pub fn release(i: usize) {
    USED.fetch_and(!(1 << i), Ordering::Release);
}

fn slot_base(i: usize) -> usize {
    POOL.load(Ordering::Relaxed) + i * SLOT
}

/// The top of slot `i`'s stack (16-aligned).
pub fn stack_top(i: usize) -> usize {
    slot_base(i) + SLOT - 64
}

#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer, nothing else.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    sp
}

/// The slot whose stack is running, if a handler's.
fn running_slot() -> Option<usize> {
    let base = POOL.load(Ordering::Relaxed);
    let sp = stack_pointer();
    (base != 0 && sp >= base && sp < base + SLOTS * SLOT).then(|| (sp - base) / SLOT)
}

fn bump(next: &AtomicUsize, end: usize, layout: Layout) -> Option<usize> {
    let mut cur = next.load(Ordering::Relaxed);
    loop {
        let start = cur.checked_add(layout.align() - 1)? & !(layout.align() - 1);
        let stop = start.checked_add(layout.size())?;
        if stop > end {
            return None;
        }
        match next.compare_exchange_weak(cur, stop, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return Some(start),
            Err(now) => cur = now,
        }
    }
}

fn boot_alloc(layout: Layout) -> usize {
    loop {
        if let Some(p) = bump(&BOOT_NEXT, BOOT_END.load(Ordering::Relaxed), layout) {
            return p;
        }
        // A new chunk (start-up is single-threaded); the rest of the old
        // one is lost.
        let chunk = map(BOOT_CHUNK, 0);
        if chunk == 0 {
            return 0;
        }
        BOOT_NEXT.store(chunk, Ordering::Relaxed);
        BOOT_END.store(chunk + BOOT_CHUNK, Ordering::Relaxed);
    }
}

fn big_len(layout: Layout) -> usize {
    (layout.size() + 4095) & !4095
}

/// The runtime's allocator (see the module docs).
pub struct Heap;

// SAFETY: every block returned is fresh memory of at least the layout's
// size and alignment (alignments above a page are not asked for by the
// core); slots are used by one handler at a time.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= BIG {
            return map(big_len(layout), 0) as *mut u8;
        }
        let p = match running_slot() {
            Some(i) => bump(&NEXT[i], slot_base(i) + ARENA, layout).unwrap_or(0),
            None => boot_alloc(layout),
        };
        p as *mut u8
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
        // The last block of a slot's arena is given back at once (a
        // growing vector's old buffer often is).
        if let Some(i) = running_slot() {
            let end = ptr as usize + layout.size();
            let _ =
                NEXT[i].compare_exchange(end, ptr as usize, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}
