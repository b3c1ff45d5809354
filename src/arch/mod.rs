//! Per-architecture facts: register access, the red zone, syscall numbers.
//!
//! x86_64 and aarch64 are supported; each has a module with the same items
//! (`Regs`, `RED_ZONE`, `AUDIT_ARCH`, `LAST_KNOWN_SYSNO`), and `sys` names
//! the syscalls for the architecture being built.

pub mod sys;

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use x86_64::*;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;

impl Regs {
    /// The six syscall arguments.
    pub fn args(&self) -> [u64; 6] {
        std::array::from_fn(|i| self.arg(i))
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("sproot supports x86_64 and aarch64 only");
