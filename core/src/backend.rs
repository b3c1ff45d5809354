//! How the core reaches a stopped guest thread: its syscall's registers
//! and its memory. The ptrace tracer is one backend (registers from
//! `PTRACE_GETREGS`, memory through `process_vm_readv`/`writev`); a handler
//! running inside the guest would be another (the signal context, its own
//! address space); the unit tests use an in-memory fake.

use crate::Errno;

/// A guest thread's memory.
pub trait Memory {
    /// Read `buf.len()` bytes at `addr` (`EFAULT` if they are not all there).
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno>;
    /// Write `data` at `addr`.
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno>;
}

/// A syscall's registers, as the core reads and rewrites them.
pub trait SyscallRegs {
    /// The syscall number.
    fn sysno(&self) -> i64;
    /// Argument `i` (0..6).
    fn arg(&self, i: usize) -> u64;
    /// Rewrite argument `i`.
    fn set_arg(&mut self, i: usize, value: u64);
    /// The stack pointer (scratch data goes below it).
    fn sp(&self) -> u64;

    /// The six arguments.
    fn args(&self) -> [u64; 6] {
        core::array::from_fn(|i| self.arg(i))
    }
}
