//! Message queues: `msgget`, `msgsnd` (which waits while the queue is
//! full), `msgrcv` (which waits for a message of the type asked for) and
//! `msgctl`.

use super::{Caller, IPC_NOWAIT, Kind, SysvIpc, now};
use nix::errno::Errno;
use std::collections::VecDeque;

pub const MSG_NOERROR: i32 = 0o10000;
pub const MSG_EXCEPT: i32 = 0o20000;
pub const MSG_COPY: i32 = 0o40000;
/// Largest message.
pub const MSGMAX: usize = 8192;
/// A new queue's capacity in bytes.
pub const MSGMNB: usize = 16384;

pub struct Queue {
    msgs: VecDeque<(i64, Vec<u8>)>,
    pub qbytes: usize,
    pub cbytes: usize,
    pub stime: i64,
    pub rtime: i64,
    pub ctime: i64,
    pub lspid: i32,
    pub lrpid: i32,
}

impl Queue {
    pub fn qnum(&self) -> usize {
        self.msgs.len()
    }

    /// The index of the message `msgrcv` with `typ` and `flags` takes.
    fn pick(&self, typ: i64, flags: i32) -> Option<usize> {
        if typ == 0 {
            return (!self.msgs.is_empty()).then_some(0);
        }
        if typ > 0 {
            let except = flags & MSG_EXCEPT != 0;
            return self.msgs.iter().position(|(t, _)| (*t == typ) != except);
        }
        // The lowest type not above |typ|, the first of that type.
        let limit = typ.checked_neg().unwrap_or(i64::MAX);
        let mut best: Option<(usize, i64)> = None;
        for (i, (t, _)) in self.msgs.iter().enumerate() {
            if *t <= limit && best.is_none_or(|(_, b)| *t < b) {
                best = Some((i, *t));
            }
        }
        best.map(|(i, _)| i)
    }
}

/// What a `msgsnd` or `msgrcv` did.
#[derive(Debug, PartialEq, Eq)]
pub enum MsgOp<T> {
    Done(T),
    /// It cannot go on: the thread waits.
    Wait,
}

impl SysvIpc {
    pub fn msgget(&mut self, key: i32, flags: i32, caller: &Caller) -> Result<i32, Errno> {
        self.msg.get_or_create(
            key,
            flags,
            caller,
            |_| Ok(()),
            || {
                Ok(Queue {
                    msgs: VecDeque::new(),
                    qbytes: MSGMNB,
                    cbytes: 0,
                    stime: 0,
                    rtime: 0,
                    ctime: now(),
                    lspid: 0,
                    lrpid: 0,
                })
            },
        )
    }

    pub fn msgsnd(
        &mut self,
        id: i32,
        typ: i64,
        text: Vec<u8>,
        flags: i32,
        caller: &Caller,
    ) -> Result<MsgOp<()>, Errno> {
        self.resume_call(caller.tid, Kind::Msg, id)?;
        if text.len() > MSGMAX || typ < 1 {
            return Err(Errno::EINVAL);
        }
        let e = self.msg.get_mut(id)?;
        e.perm.check(caller, 2)?;
        let q = &mut e.obj;
        if q.cbytes + text.len() > q.qbytes || q.msgs.len() + 1 > q.qbytes {
            if flags & IPC_NOWAIT != 0 {
                return Err(Errno::EAGAIN);
            }
            self.wait(caller.tid, Kind::Msg, id, None);
            return Ok(MsgOp::Wait);
        }
        q.cbytes += text.len();
        q.msgs.push_back((typ, text));
        q.stime = now();
        q.lspid = caller.pid;
        self.changed(Kind::Msg, id);
        Ok(MsgOp::Done(()))
    }

    /// `msgrcv`: the message's type and text (cut to `max` bytes with
    /// `MSG_NOERROR`).
    pub fn msgrcv(
        &mut self,
        id: i32,
        max: i64,
        typ: i64,
        flags: i32,
        caller: &Caller,
    ) -> Result<MsgOp<(i64, Vec<u8>)>, Errno> {
        self.resume_call(caller.tid, Kind::Msg, id)?;
        if max < 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MSG_COPY != 0 {
            // A checkpoint/restore feature: a kernel without it answers so.
            return Err(Errno::ENOSYS);
        }
        let e = self.msg.get_mut(id)?;
        e.perm.check(caller, 4)?;
        let q = &mut e.obj;
        let Some(i) = q.pick(typ, flags) else {
            if flags & IPC_NOWAIT != 0 {
                return Err(Errno::ENOMSG);
            }
            self.wait(caller.tid, Kind::Msg, id, None);
            return Ok(MsgOp::Wait);
        };
        if q.msgs[i].1.len() as i64 > max && flags & MSG_NOERROR == 0 {
            return Err(Errno::E2BIG);
        }
        let (t, mut text) = q
            .msgs
            .remove(i)
            .expect("pick returns an index in the queue");
        q.cbytes -= text.len();
        text.truncate(max as usize);
        q.rtime = now();
        q.lrpid = caller.pid;
        self.changed(Kind::Msg, id);
        Ok(MsgOp::Done((t, text)))
    }

    /// `IPC_SET`: owner, mode and (up to the default unless root) the
    /// capacity.
    pub fn msg_set(
        &mut self,
        id: i32,
        (uid, gid, mode): (u32, u32, u32),
        qbytes: usize,
        caller: &Caller,
    ) -> Result<(), Errno> {
        if qbytes > MSGMNB && !caller.privileged() {
            self.msg.get(id)?.perm.check_owner(caller)?;
            return Err(Errno::EPERM);
        }
        let e = self.msg.set_perm(id, (uid, gid, mode), caller)?;
        e.obj.qbytes = qbytes;
        e.obj.ctime = now();
        self.changed(Kind::Msg, id);
        Ok(())
    }

    /// `IPC_RMID`: waiters wake to `EIDRM`.
    pub fn msg_rmid(&mut self, id: i32, caller: &Caller) -> Result<(), Errno> {
        self.msg.get(id)?.perm.check_owner(caller)?;
        self.msg.remove(id);
        self.removed(Kind::Msg, id);
        Ok(())
    }
}
