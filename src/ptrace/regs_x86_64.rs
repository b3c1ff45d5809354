//! x86_64 register access: `PTRACE_GETREGS`/`SETREGS`, and `POKEUSER` for
//! a few changed words.

use crate::arch::Regs;
use nix::errno::Errno;
use nix::sys::ptrace;
use nix::unistd::Pid;

pub fn get_regs(pid: Pid) -> Result<Regs, Errno> {
    ptrace::getregs(pid).map(Regs)
}

pub fn set_regs(pid: Pid, regs: &Regs) -> Result<(), Errno> {
    ptrace::setregs(pid, regs.0)
}

const REG_WORDS: usize = std::mem::size_of::<libc::user_regs_struct>() / 8;

fn words(r: &libc::user_regs_struct) -> [u64; REG_WORDS] {
    // SAFETY: user_regs_struct is REG_WORDS plain u64 fields, no padding.
    unsafe { std::mem::transmute_copy(r) }
}

/// Write back only the registers that differ from `old`: one
/// `PTRACE_POKEUSER` per changed register when there are few (a path
/// argument, or the syscall number and result), which costs the kernel much
/// less than a whole `PTRACE_SETREGS`.
pub fn set_changed_regs(pid: Pid, old: &Regs, new: &Regs) -> Result<(), Errno> {
    let (a, b) = (words(&old.0), words(&new.0));
    let changed: Vec<usize> = (0..REG_WORDS).filter(|&i| a[i] != b[i]).collect();
    if changed.len() > 2 {
        return set_regs(pid, new);
    }
    for i in changed {
        ptrace::write_user(pid, (i * 8) as ptrace::AddressType, b[i] as libc::c_long)?;
    }
    Ok(())
}
