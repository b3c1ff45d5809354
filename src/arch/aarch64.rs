//! aarch64 registers and constants.
//!
//! The syscall ABI differs from x86_64 in three ways that matter to the
//! tracer:
//! - `x0` is both the first argument and the return value: at an exit stop
//!   it holds the result, so anything an exit step needs from the first
//!   argument is kept from the entry stop;
//! - the syscall number is `x8`, but writing `x8` does not change the
//!   syscall the kernel runs: that is done through the `NT_ARM_SYSTEM_CALL`
//!   register set, which `ptrace::set_regs` writes when `sysno` changed;
//! - there is no `PTRACE_POKEUSER`: registers are written as whole sets
//!   (`PTRACE_SETREGSET`).

/// The AAPCS64 and Linux's arm64 ABI have no red zone: nothing below the
/// stack pointer belongs to the tracee's code. Scratch data still starts
/// 128 bytes below it, as on x86_64; the margin costs nothing.
pub const RED_ZONE: u64 = 128;

/// `AUDIT_ARCH_AARCH64`, the value seccomp reports for native syscalls.
pub const AUDIT_ARCH: u32 = sproot_core::sysno::Arch::Aarch64.audit();

/// The length of the syscall instruction (`svc #0`).
pub const SYSCALL_INSN: u64 = 4;

/// The tracee's general registers (`NT_PRSTATUS`) and the syscall number
/// the kernel will run (`NT_ARM_SYSTEM_CALL`; `x8` at an entry stop).
#[derive(Clone, Copy)]
pub struct Regs {
    pub gp: libc::user_regs_struct,
    /// The syscall to run; written back only if it differs from `entry_sysno`.
    pub sysno: i64,
    /// The syscall number when the registers were read.
    pub entry_sysno: i64,
}

impl Regs {
    pub fn from_gp(gp: libc::user_regs_struct) -> Self {
        let nr = gp.regs[8] as i64;
        Regs {
            gp,
            sysno: nr,
            entry_sysno: nr,
        }
    }
    /// The registers of a syscall entry (everything else zero): for tests of
    /// handlers that run without a tracee.
    pub fn entry(nr: i64, args: [u64; 6], sp: u64) -> Self {
        let mut regs = [0u64; 31];
        regs[..6].copy_from_slice(&args);
        regs[8] = nr as u64;
        Regs::from_gp(libc::user_regs_struct {
            regs,
            sp,
            pc: 0,
            pstate: 0,
        })
    }
    /// The syscall number the tracee asked for (`x8`).
    pub fn sysno(&self) -> i64 {
        self.sysno
    }
    pub fn set_sysno(&mut self, nr: i64) {
        self.sysno = nr;
    }
    /// Syscall argument `i` (0-based): `x0`..`x5`. Valid at an entry stop
    /// (at an exit stop `x0` is the result).
    pub fn arg(&self, i: usize) -> u64 {
        self.gp.regs[i.min(5)]
    }
    pub fn set_arg(&mut self, i: usize, v: u64) {
        self.gp.regs[i.min(5)] = v;
    }
    /// The syscall's return value (`x0`, valid at an exit stop or after an
    /// emulation set it).
    pub fn ret(&self) -> i64 {
        self.gp.regs[0] as i64
    }
    pub fn set_ret(&mut self, v: i64) {
        self.gp.regs[0] = v as u64;
    }
    pub fn sp(&self) -> u64 {
        self.gp.sp
    }
    pub fn set_sp(&mut self, v: u64) {
        self.gp.sp = v;
    }
    /// The program counter: past the `svc` at a syscall stop.
    pub fn pc(&self) -> u64 {
        self.gp.pc
    }
    pub fn set_pc(&mut self, v: u64) {
        self.gp.pc = v;
    }
}

/// The syscall the exec loader opens its files with, `openat(AT_FDCWD, path, ...)`: its number
/// and the index of the path argument.
pub const LOADER_OPEN: (i64, usize) = (super::sys::SYS_openat, 1);
