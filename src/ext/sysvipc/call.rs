//! One guest IPC call decoded: its arguments and structures read from the
//! guest's memory, the namespace asked, and what the tracer must do.

#![allow(non_upper_case_globals)] // the syscall names of arch::sys

use super::layout;
use super::msg::{MSGMAX, MsgOp};
use super::sem::{SEMOPM, SemBuf, SemOp};
use super::shm::Attach;
use super::{Caller, IPC_64, IPC_RMID, IPC_SET, IPC_STAT, SysvIpc};
use crate::arch::sys;
use crate::syscall::Memory;
use nix::errno::Errno;

const GETPID: i32 = 11;
const GETVAL: i32 = 12;
const GETALL: i32 = 13;
const GETNCNT: i32 = 14;
const GETZCNT: i32 = 15;
const SETVAL: i32 = 16;
const SETALL: i32 = 17;
const SHM_LOCK: i32 = 11;
const SHM_UNLOCK: i32 = 12;

/// What the tracer does with the call.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// It returns this (a value or a negative errno).
    Complete(i64),
    /// The thread waits until woken, then its call runs again; `timeout`
    /// is a `struct timespec` (`semtimedop`), after which it fails with
    /// `EAGAIN`.
    Wait { timeout: Option<[u8; 16]> },
    /// Map this segment; the call returns the address.
    Attach(Attach),
    /// Unmap `len` bytes at `addr`; the call returns 0.
    Detach { addr: u64, len: u64 },
}

pub use sproot_core::sysno::is_sysv_ipc as is_ipc;

fn done(r: Result<i64, Errno>) -> Action {
    Action::Complete(r.unwrap_or_else(|e| -(e as i64)))
}

fn read(mem: &dyn Memory, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
    let mut b = vec![0u8; len];
    mem.read(addr, &mut b)?;
    Ok(b)
}

/// `IPC_SET`'s owner and mode from the structure at `addr`.
fn perm_set(mem: &dyn Memory, addr: u64) -> Result<(u32, u32, u32), Errno> {
    Ok(layout::perm_set(&read(mem, addr, layout::PERM_LEN)?))
}

/// Handle IPC call `nr` with arguments `a`.
pub fn call(
    ipc: &mut SysvIpc,
    nr: i64,
    a: [u64; 6],
    caller: &Caller,
    mem: &mut dyn Memory,
) -> Action {
    use sys::*;
    let int = |i: usize| a[i] as i32;
    match nr {
        SYS_shmget => done(ipc.shmget(int(0), a[1], int(2), caller).map(i64::from)),
        SYS_shmat => match ipc.shmat(int(0), a[1], int(2), caller) {
            Ok(at) => Action::Attach(at),
            Err(e) => done(Err(e)),
        },
        SYS_shmdt => match ipc.shmdt(caller.pid, a[0]) {
            Ok((addr, len)) => Action::Detach { addr, len },
            Err(e) => done(Err(e)),
        },
        SYS_shmctl => done(shmctl(ipc, int(0), int(1) & !IPC_64, a[2], caller, mem)),
        SYS_semget => done(ipc.semget(int(0), int(1), int(2), caller).map(i64::from)),
        SYS_semop => semop(ipc, int(0), a[1], a[2], 0, caller, mem),
        SYS_semtimedop => semop(ipc, int(0), a[1], a[2], a[3], caller, mem),
        SYS_semctl => done(semctl(
            ipc,
            int(0),
            int(1),
            int(2) & !IPC_64,
            a[3],
            caller,
            mem,
        )),
        SYS_msgget => done(ipc.msgget(int(0), int(1), caller).map(i64::from)),
        SYS_msgsnd => msgsnd(ipc, int(0), a[1], a[2] as i64, int(3), caller, mem),
        SYS_msgrcv => msgrcv(
            ipc,
            int(0),
            a[1],
            a[2] as i64,
            a[3] as i64,
            int(4),
            caller,
            mem,
        ),
        SYS_msgctl => done(msgctl(ipc, int(0), int(1) & !IPC_64, a[2], caller, mem)),
        _ => done(Err(Errno::ENOSYS)),
    }
}

fn semop(
    ipc: &mut SysvIpc,
    id: i32,
    sops: u64,
    nsops: u64,
    timeout: u64,
    caller: &Caller,
    mem: &dyn Memory,
) -> Action {
    let mut run = || -> Result<Action, Errno> {
        if nsops as usize > SEMOPM {
            return Err(Errno::E2BIG);
        }
        let raw = read(mem, sops, nsops as usize * 6)?;
        let ops: Vec<SemBuf> = raw
            .chunks_exact(6)
            .map(|c| SemBuf {
                num: u16::from_ne_bytes([c[0], c[1]]),
                op: i16::from_ne_bytes([c[2], c[3]]),
                flg: i16::from_ne_bytes([c[4], c[5]]),
            })
            .collect();
        let ts = if timeout != 0 {
            let mut b = [0u8; 16];
            mem.read(timeout, &mut b)?;
            let sec = i64::from_ne_bytes(b[..8].try_into().expect("8 bytes"));
            let nsec = i64::from_ne_bytes(b[8..].try_into().expect("8 bytes"));
            if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
                return Err(Errno::EINVAL);
            }
            Some(b)
        } else {
            None
        };
        Ok(match ipc.semop(id, &ops, caller)? {
            SemOp::Done => Action::Complete(0),
            SemOp::Wait => Action::Wait { timeout: ts },
        })
    };
    run().unwrap_or_else(|e| done(Err(e)))
}

fn semctl(
    ipc: &mut SysvIpc,
    id: i32,
    num: i32,
    cmd: i32,
    arg: u64,
    caller: &Caller,
    mem: &mut dyn Memory,
) -> Result<i64, Errno> {
    match cmd {
        IPC_RMID => ipc.sem_rmid(id, caller).map(|_| 0),
        IPC_SET => ipc.sem_set(id, perm_set(mem, arg)?, caller).map(|_| 0),
        IPC_STAT => {
            let e = ipc.sem_read(id, caller)?;
            mem.write(arg, &layout::semid_ds(&e.perm, &e.obj))?;
            Ok(0)
        }
        GETVAL | GETPID => {
            let e = ipc.sem_read(id, caller)?;
            let s = e.obj.sems[usize::from(super::sem::checked_num(e, num)?)];
            Ok(i64::from(if cmd == GETVAL { s.val } else { s.pid }))
        }
        GETNCNT | GETZCNT => ipc.sem_count(id, num, cmd == GETZCNT, caller),
        GETALL => {
            let e = ipc.sem_read(id, caller)?;
            let b: Vec<u8> = e
                .obj
                .sems
                .iter()
                .flat_map(|s| (s.val as u16).to_ne_bytes())
                .collect();
            mem.write(arg, &b)?;
            Ok(0)
        }
        SETVAL => ipc.setval(id, num, arg as i32, caller).map(|_| 0),
        SETALL => {
            let n = ipc.sem.get(id)?.obj.sems.len();
            let b = read(mem, arg, n * 2)?;
            let vals: Vec<u16> = b
                .chunks_exact(2)
                .map(|c| u16::from_ne_bytes([c[0], c[1]]))
                .collect();
            ipc.setall(id, &vals, caller).map(|_| 0)
        }
        // IPC_INFO, SEM_INFO, SEM_STAT: the system-wide views are not
        // emulated.
        _ => Err(Errno::EINVAL),
    }
}

fn shmctl(
    ipc: &mut SysvIpc,
    id: i32,
    cmd: i32,
    buf: u64,
    caller: &Caller,
    mem: &mut dyn Memory,
) -> Result<i64, Errno> {
    match cmd {
        IPC_RMID => ipc.shm_rmid(id, caller).map(|_| 0),
        IPC_SET => ipc.shm_set(id, perm_set(mem, buf)?, caller).map(|_| 0),
        IPC_STAT => {
            let e = ipc.shm_read(id, caller)?;
            mem.write(buf, &layout::shmid_ds(&e.perm, &e.obj))?;
            Ok(0)
        }
        SHM_LOCK | SHM_UNLOCK => ipc.shm_lock(id, caller).map(|_| 0),
        _ => Err(Errno::EINVAL),
    }
}

fn msgctl(
    ipc: &mut SysvIpc,
    id: i32,
    cmd: i32,
    buf: u64,
    caller: &Caller,
    mem: &mut dyn Memory,
) -> Result<i64, Errno> {
    match cmd {
        IPC_RMID => ipc.msg_rmid(id, caller).map(|_| 0),
        IPC_SET => {
            let b = read(mem, buf, layout::MSQID_DS_LEN)?;
            let ids = layout::perm_set(&b);
            ipc.msg_set(id, ids, layout::msg_qbytes(&b), caller)
                .map(|_| 0)
        }
        IPC_STAT => {
            let e = ipc.msg.get(id)?;
            if !e.perm.allows(caller, 4) {
                return Err(Errno::EACCES);
            }
            mem.write(buf, &layout::msqid_ds(&e.perm, &e.obj))?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn msgsnd(
    ipc: &mut SysvIpc,
    id: i32,
    msgp: u64,
    size: i64,
    flags: i32,
    caller: &Caller,
    mem: &dyn Memory,
) -> Action {
    let mut run = || -> Result<Action, Errno> {
        if !(0..=MSGMAX as i64).contains(&size) {
            return Err(Errno::EINVAL);
        }
        let b = read(mem, msgp, 8 + size as usize)?;
        let typ = i64::from_ne_bytes(b[..8].try_into().expect("8 bytes"));
        Ok(match ipc.msgsnd(id, typ, b[8..].to_vec(), flags, caller)? {
            MsgOp::Done(()) => Action::Complete(0),
            MsgOp::Wait => Action::Wait { timeout: None },
        })
    };
    run().unwrap_or_else(|e| done(Err(e)))
}

#[allow(clippy::too_many_arguments)]
fn msgrcv(
    ipc: &mut SysvIpc,
    id: i32,
    msgp: u64,
    size: i64,
    typ: i64,
    flags: i32,
    caller: &Caller,
    mem: &mut dyn Memory,
) -> Action {
    match ipc.msgrcv(id, size, typ, flags, caller) {
        Ok(MsgOp::Done((t, text))) => {
            let mut b = t.to_ne_bytes().to_vec();
            b.extend_from_slice(&text);
            done(
                mem.write(msgp, &b)
                    .map(|_| text.len() as i64)
                    .map_err(Into::into),
            )
        }
        Ok(MsgOp::Wait) => Action::Wait { timeout: None },
        Err(e) => done(Err(e)),
    }
}
