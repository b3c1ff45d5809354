//! aarch64 register access. There is no `PTRACE_GETREGS` or `POKEUSER`:
//! the general registers are the `NT_PRSTATUS` register set, and the
//! syscall number the kernel will run is the `NT_ARM_SYSTEM_CALL` set
//! (writing `x8` does not change it).

use crate::arch::Regs;
use nix::errno::Errno;
use nix::unistd::Pid;

/// `NT_ARM_SYSTEM_CALL` (linux/elf.h).
const NT_ARM_SYSTEM_CALL: libc::c_int = 0x404;

/// The type of a ptrace request: `c_int` in musl, `c_uint` in glibc.
#[cfg(target_env = "musl")]
type Request = libc::c_int;
#[cfg(not(target_env = "musl"))]
type Request = libc::c_uint;

/// `PTRACE_GETREGSET`/`PTRACE_SETREGSET` of one register set of `len` bytes
/// at `data`.
///
/// # Safety
/// `data` must be valid for reads and writes of `len` bytes.
unsafe fn regset(
    req: Request,
    pid: Pid,
    set: libc::c_int,
    data: *mut libc::c_void,
    len: usize,
) -> Result<(), Errno> {
    let mut iov = libc::iovec {
        iov_base: data,
        iov_len: len,
    };
    // SAFETY: the iovec describes `len` bytes at `data`, valid per the
    // caller; the kernel writes at most `iov_len` bytes there.
    let rc = unsafe {
        libc::ptrace(
            req,
            pid.as_raw(),
            set as usize as *mut libc::c_void,
            &mut iov as *mut libc::iovec,
        )
    };
    Errno::result(rc).map(drop)
}

pub fn get_regs(pid: Pid) -> Result<Regs, Errno> {
    // SAFETY: user_regs_struct is plain integers; all-zero is valid.
    let mut gp: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    // SAFETY: `gp` is a live user_regs_struct of the size passed.
    unsafe {
        regset(
            libc::PTRACE_GETREGSET,
            pid,
            libc::NT_PRSTATUS,
            (&mut gp as *mut libc::user_regs_struct).cast(),
            std::mem::size_of::<libc::user_regs_struct>(),
        )?;
    }
    Ok(Regs::from_gp(gp))
}

/// The registers of a syscall stop with the number the kernel will run,
/// which a guest tracer may have changed (`NT_ARM_SYSTEM_CALL`) since `x8`
/// was set: one more request than [`get_regs`], for the stops where that
/// can happen.
pub fn get_regs_as_run(pid: Pid) -> Result<Regs, Errno> {
    let mut regs = get_regs(pid)?;
    let mut nr: libc::c_int = 0;
    // SAFETY: `nr` is a live int, the size of the NT_ARM_SYSTEM_CALL set.
    unsafe {
        regset(
            libc::PTRACE_GETREGSET,
            pid,
            NT_ARM_SYSTEM_CALL,
            (&mut nr as *mut libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>(),
        )?;
    }
    regs.set_sysno(i64::from(nr));
    Ok(regs)
}

fn set_gp(pid: Pid, gp: &libc::user_regs_struct) -> Result<(), Errno> {
    let mut copy = *gp;
    // SAFETY: `copy` is a live user_regs_struct of the size passed.
    unsafe {
        regset(
            libc::PTRACE_SETREGSET,
            pid,
            libc::NT_PRSTATUS,
            (&mut copy as *mut libc::user_regs_struct).cast(),
            std::mem::size_of::<libc::user_regs_struct>(),
        )
    }
}

fn set_sysno(pid: Pid, nr: i64) -> Result<(), Errno> {
    let mut nr = nr as libc::c_int;
    // SAFETY: `nr` is a live int, the size of the NT_ARM_SYSTEM_CALL set.
    unsafe {
        regset(
            libc::PTRACE_SETREGSET,
            pid,
            NT_ARM_SYSTEM_CALL,
            (&mut nr as *mut libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>(),
        )
    }
}

/// Write the general registers, and the syscall number if it was changed.
pub fn set_regs(pid: Pid, regs: &Regs) -> Result<(), Errno> {
    set_gp(pid, &regs.gp)?;
    if regs.sysno != regs.entry_sysno {
        set_sysno(pid, regs.sysno)?;
    }
    Ok(())
}

/// Write back only the register sets that differ from `old`.
pub fn set_changed_regs(pid: Pid, old: &Regs, new: &Regs) -> Result<(), Errno> {
    let g = |r: &libc::user_regs_struct| (r.regs, r.sp, r.pc, r.pstate);
    if g(&old.gp) != g(&new.gp) {
        set_gp(pid, &new.gp)?;
    }
    if new.sysno != old.sysno {
        set_sysno(pid, new.sysno)?;
    }
    Ok(())
}
