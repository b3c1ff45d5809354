//! A rewritten syscall that the kernel restarts (an `open` of a FIFO or a
//! `connect` interrupted by a signal, then restarted with `SA_RESTART` or
//! after a stop) stops at the tracer again with the registers as the
//! tracer left them: its path arguments already point at host paths, in
//! scratch memory below the stack pointer that a signal handler's frame may
//! since have overwritten. Translating them again would prefix the rootfs
//! twice (or read garbage). So the tracer remembers, per thread, the
//! arguments it wrote and the guest's own; a stop with exactly the
//! written arguments, number and stack pointer is that restart, and gets
//! the guest's arguments back before it is handled again. A guest cannot
//! make such a stop itself: the written pointers lie below its stack
//! pointer and red zone, where none of its data lives.

use crate::arch::Regs;

/// The arguments of one rewritten syscall, before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rewrite {
    sysno: i64,
    sp: u64,
    written: [u64; 6],
    original: [u64; 6],
}

fn args(regs: &Regs) -> [u64; 6] {
    std::array::from_fn(|i| regs.arg(i))
}

impl Rewrite {
    /// The rewrite from `original` to `written`, if the arguments changed.
    pub fn of(original: &Regs, written: &Regs) -> Option<Rewrite> {
        Self::new(written.sysno(), written.sp(), args(original), args(written))
    }

    fn new(sysno: i64, sp: u64, original: [u64; 6], written: [u64; 6]) -> Option<Rewrite> {
        (original != written).then_some(Rewrite {
            sysno,
            sp,
            written,
            original,
        })
    }

    /// The guest's own arguments, if a stop with these is this syscall
    /// restarted.
    fn original_of(&self, sysno: i64, sp: u64, args: [u64; 6]) -> Option<[u64; 6]> {
        (sysno == self.sysno && sp == self.sp && args == self.written).then_some(self.original)
    }

    /// If `regs` is this syscall restarted, put the guest's own arguments
    /// back in them and say so.
    pub fn undo_if_restart(&self, regs: &mut Regs) -> bool {
        match self.original_of(regs.sysno(), regs.sp(), args(regs)) {
            Some(original) => {
                for (i, v) in original.into_iter().enumerate() {
                    regs.set_arg(i, v);
                }
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_call_with_the_written_arguments_is_a_restart() {
        let guest = [0xffff_ff9c, 0x5000, 0, 0, 0, 0];
        let host = [0xffff_ff9c, 0x6f00, 0, 0, 0, 0];
        let rw = Rewrite::new(257, 0x7000, guest, host).expect("arguments changed");
        assert!(Rewrite::new(257, 0x7000, guest, guest).is_none());
        assert_eq!(rw.original_of(257, 0x7000, host), Some(guest));
        // A new call (other path, other number, other stack) is left alone.
        assert_eq!(
            rw.original_of(257, 0x7000, [0xffff_ff9c, 0x5100, 0, 0, 0, 0]),
            None
        );
        assert_eq!(rw.original_of(2, 0x7000, host), None);
        assert_eq!(rw.original_of(257, 0x7100, host), None);
    }
}
