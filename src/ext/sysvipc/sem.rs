//! Semaphore sets: `semget`, `semop`/`semtimedop` (all operations of a
//! call at once, or none; a call that cannot go on waits), `semctl`, and
//! the undo values (`SEM_UNDO`) applied when a process ends.

use super::{Caller, Entry, IPC_NOWAIT, Kind, SysvIpc, now};
use nix::errno::Errno;
use std::collections::HashMap;

pub const SEM_UNDO: i16 = 0x1000;
/// Most semaphores in a set.
pub const SEMMSL: i32 = 32000;
/// Largest semaphore value.
pub const SEMVMX: i32 = 32767;
/// Most operations in one call.
pub const SEMOPM: usize = 500;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sem {
    pub val: i32,
    /// The last process that operated on it.
    pub pid: i32,
}

pub struct SemSet {
    pub sems: Vec<Sem>,
    pub otime: i64,
    pub ctime: i64,
}

/// `struct sembuf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemBuf {
    pub num: u16,
    pub op: i16,
    pub flg: i16,
}

/// What a `semop` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SemOp {
    Done,
    /// It cannot go on: the thread waits.
    Wait,
}

impl SysvIpc {
    pub fn semget(
        &mut self,
        key: i32,
        nsems: i32,
        flags: i32,
        caller: &Caller,
    ) -> Result<i32, Errno> {
        self.sem.get_or_create(
            key,
            flags,
            caller,
            |s| {
                if nsems > s.sems.len() as i32 {
                    Err(Errno::EINVAL)
                } else {
                    Ok(())
                }
            },
            || {
                if !(1..=SEMMSL).contains(&nsems) {
                    return Err(Errno::EINVAL);
                }
                Ok(SemSet {
                    sems: vec![Sem::default(); nsems as usize],
                    otime: 0,
                    ctime: now(),
                })
            },
        )
    }

    /// `semop(id, ops)`: every operation, or none and [`SemOp::Wait`]
    /// (`EAGAIN` with `IPC_NOWAIT`).
    pub fn semop(&mut self, id: i32, ops: &[SemBuf], caller: &Caller) -> Result<SemOp, Errno> {
        self.resume_call(caller.tid, Kind::Sem, id)?;
        if ops.is_empty() {
            return Err(Errno::EINVAL);
        }
        if ops.len() > SEMOPM {
            return Err(Errno::E2BIG);
        }
        let e = self.sem.get_mut(id)?;
        if ops.iter().any(|o| usize::from(o.num) >= e.obj.sems.len()) {
            return Err(Errno::EFBIG);
        }
        let alters = ops.iter().any(|o| o.op != 0);
        e.perm.check(caller, if alters { 2 } else { 4 })?;
        let mut vals: Vec<i32> = e.obj.sems.iter().map(|s| s.val).collect();
        for o in ops {
            let n = usize::from(o.num);
            let v = vals[n];
            let blocked = match o.op {
                0 => (v != 0).then_some(true),
                op if op > 0 => {
                    if v + i32::from(op) > SEMVMX {
                        return Err(Errno::ERANGE);
                    }
                    vals[n] = v + i32::from(op);
                    None
                }
                op => {
                    if v + i32::from(op) < 0 {
                        Some(false)
                    } else {
                        vals[n] = v + i32::from(op);
                        None
                    }
                }
            };
            if let Some(zero) = blocked {
                if o.flg & IPC_NOWAIT as i16 != 0 {
                    return Err(Errno::EAGAIN);
                }
                self.wait(caller.tid, Kind::Sem, id, Some((o.num, zero)));
                return Ok(SemOp::Wait);
            }
        }
        for o in ops {
            let s = &mut e.obj.sems[usize::from(o.num)];
            s.val = vals[usize::from(o.num)];
            s.pid = caller.pid;
        }
        e.obj.otime = now();
        for o in ops.iter().filter(|o| o.flg & SEM_UNDO != 0 && o.op != 0) {
            *self
                .undo
                .entry(caller.pid)
                .or_default()
                .entry((id, o.num))
                .or_default() -= i32::from(o.op);
        }
        if alters {
            self.changed(Kind::Sem, id);
        }
        Ok(SemOp::Done)
    }

    /// A set, for `semctl` commands that read it.
    pub fn sem_read(&self, id: i32, caller: &Caller) -> Result<&Entry<SemSet>, Errno> {
        let e = self.sem.get(id)?;
        e.perm.check(caller, 4)?;
        Ok(e)
    }

    /// `GETNCNT` (`zero` false) and `GETZCNT`.
    pub fn sem_count(&self, id: i32, num: i32, zero: bool, caller: &Caller) -> Result<i64, Errno> {
        let e = self.sem_read(id, caller)?;
        let num = checked_num(e, num)?;
        Ok(self.sem_waiters(id, num, zero) as i64)
    }

    /// `SETVAL`.
    pub fn setval(&mut self, id: i32, num: i32, val: i32, caller: &Caller) -> Result<(), Errno> {
        let e = self.sem.get_mut(id)?;
        let num = checked_num(e, num)?;
        if !(0..=SEMVMX).contains(&val) {
            return Err(Errno::ERANGE);
        }
        e.perm.check(caller, 2)?;
        e.obj.sems[usize::from(num)] = Sem {
            val,
            pid: caller.pid,
        };
        e.obj.ctime = now();
        for adj in self.undo.values_mut() {
            adj.remove(&(id, num));
        }
        self.changed(Kind::Sem, id);
        Ok(())
    }

    /// `SETALL`.
    pub fn setall(&mut self, id: i32, vals: &[u16], caller: &Caller) -> Result<(), Errno> {
        let e = self.sem.get_mut(id)?;
        e.perm.check(caller, 2)?;
        if vals.len() != e.obj.sems.len() {
            return Err(Errno::EINVAL);
        }
        if vals.iter().any(|v| i32::from(*v) > SEMVMX) {
            return Err(Errno::ERANGE);
        }
        for (s, v) in e.obj.sems.iter_mut().zip(vals) {
            *s = Sem {
                val: i32::from(*v),
                pid: caller.pid,
            };
        }
        e.obj.ctime = now();
        for adj in self.undo.values_mut() {
            adj.retain(|(i, _), _| *i != id);
        }
        self.changed(Kind::Sem, id);
        Ok(())
    }

    /// `IPC_SET`.
    pub fn sem_set(&mut self, id: i32, ids: (u32, u32, u32), caller: &Caller) -> Result<(), Errno> {
        self.sem.set_perm(id, ids, caller)?.obj.ctime = now();
        Ok(())
    }

    /// `IPC_RMID`: waiters wake to `EIDRM`.
    pub fn sem_rmid(&mut self, id: i32, caller: &Caller) -> Result<(), Errno> {
        self.sem.get(id)?.perm.check_owner(caller)?;
        self.sem.remove(id);
        for adj in self.undo.values_mut() {
            adj.retain(|(i, _), _| *i != id);
        }
        self.removed(Kind::Sem, id);
        Ok(())
    }
}

/// A semaphore number of set `e`, checked.
pub fn checked_num(e: &Entry<SemSet>, num: i32) -> Result<u16, Errno> {
    if num < 0 || num as usize >= e.obj.sems.len() {
        return Err(Errno::EINVAL);
    }
    Ok(num as u16)
}

/// Process `pid` ended: its undo values applied, each clamped to the
/// semaphores' range as the kernel does.
pub(super) fn apply_undo(ipc: &mut SysvIpc, pid: i32, adj: HashMap<(i32, u16), i32>) {
    let mut touched = Vec::new();
    for ((id, num), a) in adj {
        if a == 0 {
            continue;
        }
        if let Ok(e) = ipc.sem.get_mut(id)
            && let Some(s) = e.obj.sems.get_mut(usize::from(num))
        {
            s.val = (s.val + a).clamp(0, SEMVMX);
            s.pid = pid;
            e.obj.otime = now();
            touched.push(id);
        }
    }
    for id in touched {
        ipc.changed(Kind::Sem, id);
    }
}
