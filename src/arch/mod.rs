//! Per-architecture facts: register access, the red zone, syscall numbers.
//!
//! x86_64 and aarch64 are supported; each has a module with the same items
//! (`Regs`, `RED_ZONE`, `AUDIT_ARCH`), and `sys` names
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

/// The core reads a stopped syscall's registers through this.
impl sproot_core::backend::SyscallRegs for Regs {
    fn sysno(&self) -> i64 {
        Regs::sysno(self)
    }
    fn arg(&self, i: usize) -> u64 {
        Regs::arg(self, i)
    }
    fn set_arg(&mut self, i: usize, value: u64) {
        Regs::set_arg(self, i, value)
    }
    fn sp(&self) -> u64 {
        Regs::sp(self)
    }
    fn ret(&self) -> i64 {
        Regs::ret(self)
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("sproot supports x86_64 and aarch64 only");

#[cfg(test)]
mod tests {
    /// `#define __NR_name number` lines of a kernel header, as (name, nr).
    #[cfg(target_arch = "x86_64")]
    fn header_numbers(path: &str) -> Vec<(String, i64)> {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        text.lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                let (def, name, nr) = (w.next()?, w.next()?, w.next()?);
                let name = name
                    .strip_prefix("__NR_")
                    .or(name.strip_prefix("__NR3264_"))?;
                (def == "#define").then_some(())?;
                Some((name.to_string(), nr.parse().ok()?))
            })
            .collect()
    }

    /// The core's numbers (from the `syscalls` crate) are the kernel's, as
    /// the installed kernel headers give them, for both architectures.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn syscall_numbers_match_the_kernel_headers() {
        use sproot_core::sysno::Arch;
        for (arch, header) in [
            (
                Arch::X86_64,
                "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
            ),
            (
                Arch::Aarch64,
                "/usr/aarch64-linux-gnu/include/asm-generic/unistd.h",
            ),
        ] {
            if arch == Arch::Aarch64 && !std::path::Path::new(header).exists() {
                // The cross headers come with libc6-dev-arm64-cross (.ci/run).
                eprintln!("skipped: no {header}");
                continue;
            }
            let known = header_numbers(header);
            let mut checked = 0;
            for &(name, nr) in arch.named() {
                let bare = &name[4..];
                // aarch64's newfstatat is the generic `fstatat`.
                let alias = if bare == "newfstatat" {
                    "fstatat"
                } else {
                    bare
                };
                if let Some((_, want)) = known.iter().find(|(n, _)| n == bare || n == alias) {
                    assert_eq!(nr, *want, "{arch:?} {name}");
                    checked += 1;
                }
            }
            assert!(checked > 120, "{arch:?}: only {checked} names checked");
        }
    }
}
