//! Guest ptrace's copies between tasks: a guest tracer's requests that
//! read or write its stopped tracee (run by sproot with the guest tracer's
//! buffers copied across), the status a guest `wait4`/`waitid` collects,
//! and a tracee's auxiliary vector.

use super::backend::TaskControl;
use super::tracing::Report;
use nix::errno::Errno;
use nix::unistd::Pid;

pub const SIGINFO_SIZE: usize = 128;
const RUSAGE_SIZE: usize = std::mem::size_of::<libc::rusage>();

/// A guest's `wait4` or `waitid`, as it asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitCall {
    pub pid: i32,
    pub options: i32,
    /// `wait4`: `int *status`; `waitid`: `siginfo_t *`.
    pub out: u64,
    pub rusage: u64,
    pub waitid: bool,
}

/// Write a collected status where the guest's `wait4`/`waitid` asked, in
/// the memory of `pid`.
pub fn write_wait_result(
    tasks: &mut dyn TaskControl,
    pid: Pid,
    call: &WaitCall,
    r: &Report,
) -> Result<(), Errno> {
    if call.waitid {
        if call.out != 0 {
            let mut si = [0u8; SIGINFO_SIZE];
            si[0..4].copy_from_slice(&libc::SIGCHLD.to_ne_bytes());
            si[8..12].copy_from_slice(&r.si_code().to_ne_bytes());
            si[16..20].copy_from_slice(&r.tracee.to_ne_bytes());
            si[24..28].copy_from_slice(&r.si_status().to_ne_bytes());
            tasks.write(pid, call.out, &si)?;
        }
    } else if call.out != 0 {
        tasks.write(pid, call.out, &r.status.to_ne_bytes())?;
    }
    if call.rusage != 0 {
        tasks.write(pid, call.rusage, &[0u8; RUSAGE_SIZE])?;
    }
    Ok(())
}

/// The auxiliary vector (with its `AT_NULL`) of a task whose stack pointer
/// `sp` is at `argc`, as `/proc/<pid>/auxv` has it.
pub fn read_auxv(tasks: &mut dyn TaskControl, pid: Pid, sp: u64) -> Result<Vec<u8>, Errno> {
    let argc = tasks.read_u64(pid, sp)?;
    let mut at = sp + 8 * (argc + 2);
    for _ in 0..(1 << 16) {
        at += 8;
        if tasks.read_u64(pid, at - 8)? == 0 {
            break;
        }
    }
    let mut out = Vec::new();
    for _ in 0..64 {
        let mut pair = [0u8; 16];
        tasks.read(pid, at, &mut pair)?;
        out.extend_from_slice(&pair);
        at += 16;
        if pair[..8] == [0; 8] {
            break;
        }
    }
    Ok(out)
}

/// A request `req` of guest tracer `tracer` that reads or writes stopped
/// tracee `tracee`, run on its behalf with its buffers copied across.
pub fn forward(
    tasks: &mut dyn TaskControl,
    tracer: Pid,
    tracee: Pid,
    req: u64,
    addr: u64,
    data: u64,
    event_msg: u64,
) -> Result<i64, Errno> {
    const REGS: usize = std::mem::size_of::<libc::user_regs_struct>();
    #[cfg(target_arch = "x86_64")]
    const FPREGS: usize = std::mem::size_of::<libc::user_fpregs_struct>();
    // No PTRACE_GETFPREGS elsewhere (the kernel answers EIO).
    #[cfg(not(target_arch = "x86_64"))]
    const FPREGS: usize = 0;
    let r = req as u32;
    // A buffer the tracee's request fills, copied to the tracer's `to`.
    let get = |tasks: &mut dyn TaskControl, addr: u64, buf: &mut [u8], to: u64| {
        tasks.with_buffer(r, tracee, addr, buf)?;
        tasks.write(tracer, to, buf).map(|()| 0)
    };
    // The tracer's buffer at `from`, given to the tracee's request.
    let set = |tasks: &mut dyn TaskControl, addr: u64, buf: &mut [u8], from: u64| {
        tasks.read(tracer, from, buf)?;
        tasks.with_buffer(r, tracee, addr, buf)
    };
    match req {
        // PEEKTEXT, PEEKDATA, PEEKUSER: the word goes to *data.
        1..=3 => {
            let v = tasks.word(r, tracee, addr, 0)?;
            tasks.write(tracer, data, &v.to_ne_bytes())?;
            Ok(0)
        }
        // POKETEXT, POKEDATA, POKEUSER.
        4..=6 => tasks.word(r, tracee, addr, data),
        // GETREGS, GETFPREGS.
        12 | 14 => get(
            tasks,
            0,
            &mut vec![0u8; if req == 12 { REGS } else { FPREGS }],
            data,
        ),
        // SETREGS, SETFPREGS.
        13 | 15 => set(
            tasks,
            0,
            &mut vec![0u8; if req == 13 { REGS } else { FPREGS }],
            data,
        ),
        // GETEVENTMSG.
        0x4201 => {
            tasks.write(tracer, data, &event_msg.to_ne_bytes())?;
            Ok(0)
        }
        // GETSIGINFO, SETSIGINFO.
        0x4202 => get(tasks, 0, &mut [0u8; SIGINFO_SIZE], data),
        0x4203 => set(tasks, 0, &mut [0u8; SIGINFO_SIZE], data),
        // GETREGSET, SETREGSET: `data` is a struct iovec in the tracer.
        0x4204 | 0x4205 => {
            let mut iov = [0u8; 16];
            tasks.read(tracer, data, &mut iov)?;
            let base = u64::from_ne_bytes(iov[..8].try_into().unwrap_or_default());
            let len = u64::from_ne_bytes(iov[8..].try_into().unwrap_or_default());
            let mut buf = vec![0u8; len.min(1 << 16) as usize];
            let set = req == 0x4205;
            if set {
                tasks.read(tracer, base, &mut buf)?;
            }
            let n = tasks.regset(set, tracee, addr, &mut buf)?;
            if !set {
                tasks.write(tracer, base, &buf[..n.min(buf.len())])?;
            }
            tasks.write(tracer, data + 8, &(n as u64).to_ne_bytes())?;
            Ok(0)
        }
        // GETSIGMASK, SETSIGMASK (addr: size).
        0x420a => get(tasks, addr.min(8), &mut [0u8; 8], data),
        0x420b => set(tasks, addr.min(8), &mut [0u8; 8], data),
        // GET_SYSCALL_INFO (addr: the buffer's size).
        0x420e => {
            let mut buf = [0u8; 88];
            let n = tasks.with_buffer(r, tracee, buf.len() as u64, &mut buf)?;
            let copy = (n.max(0) as u64).min(addr).min(buf.len() as u64) as usize;
            tasks.write(tracer, data, &buf[..copy])?;
            Ok(n)
        }
        _ => {
            log::info!("guest ptrace: request {req:#x} is not emulated (EIO)");
            Err(Errno::EIO)
        }
    }
}
