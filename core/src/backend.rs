//! How the core reaches a stopped guest thread: its syscall's registers
//! and its memory. The ptrace tracer is one backend (registers from
//! `PTRACE_GETREGS`, memory through `process_vm_readv`/`writev`); a handler
//! running inside the guest would be another (the signal context, its own
//! address space); the unit tests use an in-memory fake.

use crate::Errno;
use crate::prelude::*;

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
    /// The syscall's result (at its exit).
    fn ret(&self) -> i64;

    /// The six arguments.
    fn args(&self) -> [u64; 6] {
        core::array::from_fn(|i| self.arg(i))
    }
}

/// A downward bump allocator for scratch data in a guest thread's memory
/// (for the ptrace backend: below the stack pointer, past the red zone),
/// valid while the thread stays in the current syscall.
#[derive(Debug)]
pub struct Scratch {
    next: u64,
}

impl Scratch {
    /// Scratch space that ends at `top` (exclusive).
    pub fn below(top: u64) -> Self {
        Scratch { next: top }
    }

    /// Take `len` bytes (16-aligned) and return their address.
    pub fn reserve(&mut self, len: usize) -> Result<u64, Errno> {
        let addr = self.next.checked_sub(len as u64).ok_or(Errno::EFAULT)? & !15;
        self.next = addr;
        Ok(addr)
    }

    /// Copy `data` into `mem` and return its address.
    pub fn push(&mut self, mem: &mut dyn Memory, data: &[u8]) -> Result<u64, Errno> {
        let addr = self.reserve(data.len())?;
        mem.write(addr, data)?;
        Ok(addr)
    }

    /// Copy a string and its NUL terminator.
    pub fn push_cstr(&mut self, mem: &mut dyn Memory, s: &[u8]) -> Result<u64, Errno> {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s);
        v.push(0);
        self.push(mem, &v)
    }
}

const PAGE: u64 = 4096;

/// Read a NUL-terminated string of at most `max` bytes (without the NUL).
/// Reads page by page, so a string that ends just before an unmapped page
/// is still read in full; most are short, so 256 bytes come first.
pub fn read_cstring(mem: &dyn Memory, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
    read_cstring_with(|a, b| mem.read(a, b), addr, max)
}

/// [`read_cstring`] through any reader of a thread's memory.
pub fn read_cstring_with(
    mut read: impl FnMut(u64, &mut [u8]) -> Result<(), Errno>,
    addr: u64,
    max: usize,
) -> Result<Vec<u8>, Errno> {
    if addr == 0 {
        return Err(Errno::EFAULT);
    }
    let mut out = Vec::with_capacity(256);
    let mut cur = addr;
    let mut chunk = [0u8; PAGE as usize];
    loop {
        let room = (PAGE - cur % PAGE) as usize;
        let first = if out.is_empty() { 256 } else { PAGE as usize };
        let want = room.min(first).min(max + 1 - out.len());
        read(cur, &mut chunk[..want])?;
        if let Some(end) = chunk[..want].iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..end]);
            return Ok(out);
        }
        out.extend_from_slice(&chunk[..want]);
        if out.len() > max {
            return Err(Errno::ENAMETOOLONG);
        }
        cur += want as u64;
    }
}
