//! x86_64 registers and constants.

/// Bytes below the stack pointer that a leaf function may use without
/// moving it (System V ABI red zone). Scratch data written into a tracee's
/// stack goes below this.
pub const RED_ZONE: u64 = 128;

/// `AUDIT_ARCH_X86_64`, the value seccomp reports for native syscalls.
pub const AUDIT_ARCH: u32 = sproot_core::sysno::Arch::X86_64.audit();

/// The length of the syscall instruction (`syscall`).
pub const SYSCALL_INSN: u64 = 2;

/// The tracee's general registers, as `PTRACE_GETREGS` returns them.
#[derive(Clone, Copy)]
pub struct Regs(pub libc::user_regs_struct);

impl Regs {
    /// The registers of a syscall entry (everything else zero): for tests of
    /// handlers that run without a tracee.
    pub fn entry(nr: i64, args: [u64; 6], sp: u64) -> Self {
        let [rdi, rsi, rdx, r10, r8, r9] = args;
        Regs(libc::user_regs_struct {
            r15: 0,
            r14: 0,
            r13: 0,
            r12: 0,
            rbp: 0,
            rbx: 0,
            r11: 0,
            r10,
            r9,
            r8,
            rax: (-(libc::ENOSYS as i64)) as u64,
            rcx: 0,
            rdx,
            rsi,
            rdi,
            orig_rax: nr as u64,
            rip: 0,
            cs: 0,
            eflags: 0,
            rsp: sp,
            ss: 0,
            fs_base: 0,
            gs_base: 0,
            ds: 0,
            es: 0,
            fs: 0,
            gs: 0,
        })
    }
    /// The syscall number the tracee asked for (`orig_rax`).
    pub fn sysno(&self) -> i64 {
        self.0.orig_rax as i64
    }
    pub fn set_sysno(&mut self, nr: i64) {
        self.0.orig_rax = nr as u64;
    }
    /// Syscall argument `i` (0-based), in the kernel's order.
    pub fn arg(&self, i: usize) -> u64 {
        match i {
            0 => self.0.rdi,
            1 => self.0.rsi,
            2 => self.0.rdx,
            3 => self.0.r10,
            4 => self.0.r8,
            _ => self.0.r9,
        }
    }
    pub fn set_arg(&mut self, i: usize, v: u64) {
        match i {
            0 => self.0.rdi = v,
            1 => self.0.rsi = v,
            2 => self.0.rdx = v,
            3 => self.0.r10 = v,
            4 => self.0.r8 = v,
            _ => self.0.r9 = v,
        }
    }
    /// The syscall's return value (valid at an exit stop).
    pub fn ret(&self) -> i64 {
        self.0.rax as i64
    }
    pub fn set_ret(&mut self, v: i64) {
        self.0.rax = v as u64;
    }
    pub fn sp(&self) -> u64 {
        self.0.rsp
    }
    pub fn set_sp(&mut self, v: u64) {
        self.0.rsp = v;
    }
    /// The program counter (`rip`): past the syscall instruction at a
    /// syscall stop.
    pub fn pc(&self) -> u64 {
        self.0.rip
    }
    pub fn set_pc(&mut self, v: u64) {
        self.0.rip = v;
    }
}

/// The syscall the exec loader opens its files with, `openat(AT_FDCWD,
/// path, ...)`: its number and the index of the path argument.
pub const LOADER_OPEN: (i64, usize) = (super::sys::SYS_openat, 1);
