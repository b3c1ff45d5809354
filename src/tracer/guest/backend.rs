//! What guest-ptrace hooks do to real tasks, as a trait: [`TaskControl`],
//! with [`Ptrace`] (the kernel, through `crate::ptrace`) and, for tests,
//! [`fake::FakeTasks`] (registers and memory in maps, every call recorded,
//! any call made to fail). [`GuestTasks`] is what the hooks ask of the
//! tracer's own task table.
//!
//! A failure is returned, never settled here: whether it means "gone" or
//! "kill it" is decided in one place (`stopped::settle`).

use crate::arch::Regs;
use crate::ptrace::{self, guest};
use nix::errno::Errno;
use nix::sys::ptrace::Options;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// The side effects of guest ptrace on real tasks.
pub trait TaskControl {
    fn get_regs(&mut self, pid: Pid) -> Result<Regs, Errno>;
    fn set_regs(&mut self, pid: Pid, regs: &Regs) -> Result<(), Errno>;
    /// Write back the registers of `new` that differ from `old`.
    fn set_changed_regs(&mut self, pid: Pid, old: &Regs, new: &Regs) -> Result<(), Errno>;
    /// Read `buf.len()` bytes of `pid`'s memory at `addr`.
    fn read(&mut self, pid: Pid, addr: u64, buf: &mut [u8]) -> Result<(), Errno>;
    /// Write `data` into `pid`'s memory at `addr`.
    fn write(&mut self, pid: Pid, addr: u64, data: &[u8]) -> Result<(), Errno>;
    /// `PTRACE_GETEVENTMSG`.
    fn event_msg(&mut self, pid: Pid) -> Result<u64, Errno>;
    /// `PTRACE_GET_SYSCALL_INFO`'s `op`: 1 entry, 2 exit, 3 seccomp.
    fn syscall_stop_op(&mut self, pid: Pid) -> Result<u8, Errno>;
    /// The `PTRACE_EVENT_*` of the event stop `pid` is in.
    fn event_of_stop(&mut self, pid: Pid) -> Result<i32, Errno>;
    /// `PTRACE_INTERRUPT`.
    fn interrupt(&mut self, pid: Pid) -> Result<(), Errno>;
    fn tgkill(&mut self, tgid: i32, tid: i32, sig: i32) -> Result<(), Errno>;
    fn kill(&mut self, pid: Pid, sig: Signal) -> Result<(), Errno>;
    /// `PTRACE_LISTEN`.
    fn listen(&mut self, pid: Pid) -> Result<(), Errno>;
    /// `PTRACE_SINGLESTEP`, delivering `sig` (0: none).
    fn step(&mut self, pid: Pid, sig: i32) -> Result<(), Errno>;
    /// `PTRACE_SYSCALL` (`syscall`) or `PTRACE_CONT`, delivering `sig`.
    fn resume(&mut self, pid: Pid, sig: i32, syscall: bool) -> Result<(), Errno>;
    /// `PTRACE_SETOPTIONS`.
    fn set_options(&mut self, pid: Pid, options: Options) -> Result<(), Errno>;
    /// A request with plain numbers both ways (`PEEK*`/`POKE*`).
    fn word(&mut self, request: u32, pid: Pid, addr: u64, data: u64) -> Result<i64, Errno>;
    /// A request whose `data` is a buffer the kernel fills or reads.
    fn with_buffer(
        &mut self,
        request: u32,
        pid: Pid,
        addr: u64,
        buf: &mut [u8],
    ) -> Result<i64, Errno>;
    /// `PTRACE_GETREGSET`/`SETREGSET` of note type `kind`; the length used.
    fn regset(&mut self, set: bool, pid: Pid, kind: u64, buf: &mut [u8]) -> Result<usize, Errno>;
    /// A number field of `/proc/<pid>/status` (`"Tgid:"`, `"PPid:"`).
    fn status_field(&mut self, pid: i32, field: &str) -> Option<i32>;

    /// One machine word of `pid`'s memory.
    fn read_u64(&mut self, pid: Pid, addr: u64) -> Result<u64, Errno> {
        let mut b = [0u8; 8];
        self.read(pid, addr, &mut b)?;
        Ok(u64::from_ne_bytes(b))
    }
    /// A NUL-terminated string of at most `max` bytes.
    fn read_cstring(&mut self, pid: Pid, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        Ok(sproot_core::backend::read_cstring_with(
            |a, b| Ok(self.read(pid, a, b)?),
            addr,
            max,
        )?)
    }
}

/// Copy `data` into `pid` at scratch space below its stack; its address.
pub fn push(
    be: &mut dyn TaskControl,
    scratch: &mut sproot_core::backend::Scratch,
    pid: Pid,
    data: &[u8],
) -> Result<u64, Errno> {
    let at = scratch.reserve(data.len())?;
    be.write(pid, at, data)?;
    Ok(at)
}

/// What the hooks ask of the tracer's task table.
pub trait GuestTasks {
    /// The thread group of `tid`.
    fn tgid(&self, tid: i32) -> i32;
    /// Whether `tid` is a guest task.
    fn is_guest(&self, tid: i32) -> bool;
    /// Whether `tid` is in a group-stop (stopped by a stopping signal, as
    /// the guest sees it; not one of sproot's own stops).
    fn in_group_stop(&self, tid: i32) -> bool;
    /// Whether `tid` is a newborn whose first stop (sproot's, not shown to
    /// a guest tracer) is still to come.
    fn awaiting_first_stop(&self, tid: i32) -> bool;
}

/// The real kernel.
pub struct Ptrace;

impl TaskControl for Ptrace {
    fn get_regs(&mut self, pid: Pid) -> Result<Regs, Errno> {
        ptrace::get_regs(pid)
    }
    fn set_regs(&mut self, pid: Pid, regs: &Regs) -> Result<(), Errno> {
        ptrace::set_regs(pid, regs)
    }
    fn set_changed_regs(&mut self, pid: Pid, old: &Regs, new: &Regs) -> Result<(), Errno> {
        ptrace::set_changed_regs(pid, old, new)
    }
    fn read(&mut self, pid: Pid, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        ptrace::read_into(pid, addr, buf)
    }
    fn write(&mut self, pid: Pid, addr: u64, data: &[u8]) -> Result<(), Errno> {
        ptrace::write(pid, addr, data)
    }
    fn event_msg(&mut self, pid: Pid) -> Result<u64, Errno> {
        ptrace::event_msg(pid)
    }
    fn syscall_stop_op(&mut self, pid: Pid) -> Result<u8, Errno> {
        guest::syscall_stop_op(pid)
    }
    fn event_of_stop(&mut self, pid: Pid) -> Result<i32, Errno> {
        guest::event_of_stop(pid)
    }
    fn interrupt(&mut self, pid: Pid) -> Result<(), Errno> {
        guest::interrupt(pid)
    }
    fn tgkill(&mut self, tgid: i32, tid: i32, sig: i32) -> Result<(), Errno> {
        guest::tgkill(tgid, tid, sig)
    }
    fn kill(&mut self, pid: Pid, sig: Signal) -> Result<(), Errno> {
        nix::sys::signal::kill(pid, sig)
    }
    fn listen(&mut self, pid: Pid) -> Result<(), Errno> {
        ptrace::listen(pid)
    }
    fn step(&mut self, pid: Pid, sig: i32) -> Result<(), Errno> {
        guest::step(pid, sig)
    }
    #[inline]
    fn resume(&mut self, pid: Pid, sig: i32, syscall: bool) -> Result<(), Errno> {
        if syscall {
            ptrace::cont_syscall(pid, sig)
        } else {
            ptrace::cont(pid, sig)
        }
    }
    fn set_options(&mut self, pid: Pid, options: Options) -> Result<(), Errno> {
        nix::sys::ptrace::setoptions(pid, options)
    }
    fn word(&mut self, request: u32, pid: Pid, addr: u64, data: u64) -> Result<i64, Errno> {
        guest::word(request, pid, addr, data)
    }
    fn with_buffer(
        &mut self,
        request: u32,
        pid: Pid,
        addr: u64,
        buf: &mut [u8],
    ) -> Result<i64, Errno> {
        guest::with_buffer(request, pid, addr, buf)
    }
    fn regset(&mut self, set: bool, pid: Pid, kind: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        guest::regset(set, pid, kind, buf)
    }
    fn status_field(&mut self, pid: i32, field: &str) -> Option<i32> {
        super::super::read_status_field(pid, field)
    }
}

#[cfg(test)]
pub mod fake {
    //! Tasks in maps: registers, memory (byte by byte), ptrace buffers and
    //! `/proc` fields set by the test; every call with an effect recorded;
    //! any call made to fail for one pid.

    use super::*;
    use std::collections::{HashMap, HashSet};

    /// A call with an effect on a task.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Call {
        SetRegs(i32),
        Write { pid: i32, addr: u64, len: usize },
        Interrupt(i32),
        Tgkill { tgid: i32, tid: i32, sig: i32 },
        Kill(i32, Signal),
        Listen(i32),
        Step(i32, i32),
        Resume { pid: i32, sig: i32, syscall: bool },
        SetOptions(i32),
    }

    #[derive(Default)]
    pub struct FakeTasks {
        pub regs: HashMap<i32, Regs>,
        pub mem: HashMap<(i32, u64), u8>,
        pub event_msgs: HashMap<i32, u64>,
        pub stop_ops: HashMap<i32, u8>,
        pub stop_events: HashMap<i32, i32>,
        /// What `with_buffer`/`regset` requests read, by (pid, request or
        /// note type); a set stores under the matching get request.
        pub buffers: HashMap<(i32, u64), Vec<u8>>,
        pub status: HashMap<(i32, &'static str), i32>,
        pub calls: Vec<Call>,
        fail: HashMap<(&'static str, i32), Errno>,
    }

    impl FakeTasks {
        /// Make every `call` (a method name) on `pid` fail with `e`.
        pub fn fail(&mut self, call: &'static str, pid: i32, e: Errno) {
            self.fail.insert((call, pid), e);
        }
        fn check(&self, call: &'static str, pid: Pid) -> Result<(), Errno> {
            match self.fail.get(&(call, pid.as_raw())) {
                Some(e) => Err(*e),
                None => Ok(()),
            }
        }
        pub fn poke(&mut self, pid: i32, addr: u64, data: &[u8]) {
            for (i, b) in data.iter().enumerate() {
                self.mem.insert((pid, addr + i as u64), *b);
            }
        }
        /// `len` bytes of `pid` at `addr` (unwritten bytes: none).
        pub fn peek(&self, pid: i32, addr: u64, len: usize) -> Option<Vec<u8>> {
            (0..len as u64)
                .map(|i| self.mem.get(&(pid, addr + i)).copied())
                .collect()
        }
        pub fn peek_i32(&self, pid: i32, addr: u64) -> Option<i32> {
            let b = self.peek(pid, addr, 4)?;
            Some(i32::from_ne_bytes(b.try_into().ok()?))
        }
        pub fn peek_u64(&self, pid: i32, addr: u64) -> Option<u64> {
            let b = self.peek(pid, addr, 8)?;
            Some(u64::from_ne_bytes(b.try_into().ok()?))
        }
        /// The effects on `pid`, in order.
        pub fn calls_on(&self, pid: i32) -> Vec<Call> {
            self.calls
                .iter()
                .filter(|c| match c {
                    Call::SetRegs(p)
                    | Call::Interrupt(p)
                    | Call::Kill(p, _)
                    | Call::Listen(p)
                    | Call::Step(p, _)
                    | Call::SetOptions(p) => *p == pid,
                    Call::Write { pid: p, .. }
                    | Call::Tgkill { tid: p, .. }
                    | Call::Resume { pid: p, .. } => *p == pid,
                })
                .cloned()
                .collect()
        }
        /// A set stores `buf` under `key`; a get copies what is stored into
        /// `buf`. The length stored (`None`: nothing to get).
        fn buffer(&mut self, set: bool, pid: Pid, key: u64, buf: &mut [u8]) -> Option<usize> {
            let key = (pid.as_raw(), key);
            if set {
                self.buffers.insert(key, buf.to_vec());
                return Some(buf.len());
            }
            let have = self.buffers.get(&key)?;
            let n = have.len().min(buf.len());
            buf[..n].copy_from_slice(&have[..n]);
            Some(have.len())
        }
        fn record(&mut self, call: &'static str, pid: Pid, c: Call) -> Result<(), Errno> {
            self.check(call, pid)?;
            self.calls.push(c);
            Ok(())
        }
    }

    impl TaskControl for FakeTasks {
        fn get_regs(&mut self, pid: Pid) -> Result<Regs, Errno> {
            self.check("get_regs", pid)?;
            self.regs.get(&pid.as_raw()).copied().ok_or(Errno::ESRCH)
        }
        fn set_regs(&mut self, pid: Pid, regs: &Regs) -> Result<(), Errno> {
            self.record("set_regs", pid, Call::SetRegs(pid.as_raw()))?;
            self.regs.insert(pid.as_raw(), *regs);
            Ok(())
        }
        fn set_changed_regs(&mut self, pid: Pid, _old: &Regs, new: &Regs) -> Result<(), Errno> {
            self.set_regs(pid, new)
        }
        fn read(&mut self, pid: Pid, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
            self.check("read", pid)?;
            let b = self
                .peek(pid.as_raw(), addr, buf.len())
                .ok_or(Errno::EFAULT)?;
            buf.copy_from_slice(&b);
            Ok(())
        }
        fn write(&mut self, pid: Pid, addr: u64, data: &[u8]) -> Result<(), Errno> {
            let c = Call::Write {
                pid: pid.as_raw(),
                addr,
                len: data.len(),
            };
            self.record("write", pid, c)?;
            self.poke(pid.as_raw(), addr, data);
            Ok(())
        }
        fn event_msg(&mut self, pid: Pid) -> Result<u64, Errno> {
            self.check("event_msg", pid)?;
            self.event_msgs
                .get(&pid.as_raw())
                .copied()
                .ok_or(Errno::ESRCH)
        }
        fn syscall_stop_op(&mut self, pid: Pid) -> Result<u8, Errno> {
            self.check("syscall_stop_op", pid)?;
            self.stop_ops.get(&pid.as_raw()).copied().ok_or(Errno::EIO)
        }
        fn event_of_stop(&mut self, pid: Pid) -> Result<i32, Errno> {
            self.check("event_of_stop", pid)?;
            self.stop_events
                .get(&pid.as_raw())
                .copied()
                .ok_or(Errno::EIO)
        }
        fn interrupt(&mut self, pid: Pid) -> Result<(), Errno> {
            self.record("interrupt", pid, Call::Interrupt(pid.as_raw()))
        }
        fn tgkill(&mut self, tgid: i32, tid: i32, sig: i32) -> Result<(), Errno> {
            self.record(
                "tgkill",
                Pid::from_raw(tid),
                Call::Tgkill { tgid, tid, sig },
            )
        }
        fn kill(&mut self, pid: Pid, sig: Signal) -> Result<(), Errno> {
            self.record("kill", pid, Call::Kill(pid.as_raw(), sig))
        }
        fn listen(&mut self, pid: Pid) -> Result<(), Errno> {
            self.record("listen", pid, Call::Listen(pid.as_raw()))
        }
        fn step(&mut self, pid: Pid, sig: i32) -> Result<(), Errno> {
            self.record("step", pid, Call::Step(pid.as_raw(), sig))
        }
        fn resume(&mut self, pid: Pid, sig: i32, syscall: bool) -> Result<(), Errno> {
            let c = Call::Resume {
                pid: pid.as_raw(),
                sig,
                syscall,
            };
            self.record("resume", pid, c)
        }
        fn set_options(&mut self, pid: Pid, _: Options) -> Result<(), Errno> {
            self.record("set_options", pid, Call::SetOptions(pid.as_raw()))
        }
        fn word(&mut self, request: u32, pid: Pid, addr: u64, data: u64) -> Result<i64, Errno> {
            self.check("word", pid)?;
            match request {
                1..=3 => self.read_u64(pid, addr).map(|v| v as i64),
                _ => {
                    self.poke(pid.as_raw(), addr, &data.to_ne_bytes());
                    Ok(0)
                }
            }
        }
        fn with_buffer(
            &mut self,
            request: u32,
            pid: Pid,
            _addr: u64,
            buf: &mut [u8],
        ) -> Result<i64, Errno> {
            self.check("with_buffer", pid)?;
            // SETREGS, SETFPREGS, SETSIGINFO, SETSIGMASK: one past the get.
            let set = matches!(request, 13 | 15 | 0x4203 | 0x420b);
            let key = u64::from(request - u32::from(set));
            let n = self.buffer(set, pid, key, buf).ok_or(Errno::EIO)?;
            Ok(if request == 0x420e { n as i64 } else { 0 })
        }
        fn regset(
            &mut self,
            set: bool,
            pid: Pid,
            kind: u64,
            buf: &mut [u8],
        ) -> Result<usize, Errno> {
            self.check("regset", pid)?;
            let n = self.buffer(set, pid, kind, buf).ok_or(Errno::EINVAL)?;
            Ok(n.min(buf.len()))
        }
        fn status_field(&mut self, pid: i32, field: &str) -> Option<i32> {
            self.status
                .iter()
                .find(|((p, f), _)| *p == pid && *f == field)
                .map(|(_, v)| *v)
        }
    }

    /// Guest tasks and their thread groups.
    #[derive(Default)]
    pub struct FakeGuests {
        pub tgids: HashMap<i32, i32>,
        pub group_stopped: HashSet<i32>,
    }

    impl GuestTasks for FakeGuests {
        fn tgid(&self, tid: i32) -> i32 {
            self.tgids.get(&tid).copied().unwrap_or(tid)
        }
        fn is_guest(&self, tid: i32) -> bool {
            self.tgids.contains_key(&tid)
        }
        fn in_group_stop(&self, tid: i32) -> bool {
            self.group_stopped.contains(&tid)
        }
        fn awaiting_first_stop(&self, _: i32) -> bool {
            false
        }
    }
}
