//! `--sysvipc` under the in-process engine: the run's IPC namespace
//! (`crate::ext::sysvipc`, the one the tracer keeps) lives in the
//! launcher, and a thread of the launcher answers the guests' IPC calls
//! over an abstract `SOCK_SEQPACKET` socket, one connection per guest
//! thread (`sproot_core::inproc::ipc` has the messages).
//!
//! A call's structures are read from and written to the caller's memory
//! directly (`process_vm_readv`/`writev`: the guests are sproot's
//! descendants), while the caller waits for the answer. A call that must
//! wait is told so; the runtime sleeps in `ppoll` on its connection with
//! the guest's signal mask (a signal interrupts it as natively) until the
//! broker sends a wake-up, then sends the call again. An attach is the
//! runtime's own `openat` + `mmap` + `close`, reported back.
//!
//! A process's end is seen through its pidfd (or, where the kernel has
//! none, by looking at `/proc` every 200 ms): its semaphore undo values
//! are applied and its attachments dropped. A connection that closes while
//! its process lives on was closed by an `execve`: the attachments go.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use anyhow::{Result, bail};
use nix::errno::Errno;
use nix::unistd::Pid;
use sproot_core::inproc::ipc::{self as wire, message, words};

use crate::ext::sysvipc::call::{self, Action};
use crate::ext::sysvipc::{Caller, SysvIpc};
use crate::ptrace::TraceeMemory;

/// The broker's listening socket, bound before the guest starts.
pub struct Broker {
    listener: OwnedFd,
    /// The abstract name, without its leading NUL.
    pub name: Vec<u8>,
}

/// The abstract address of `name`, and its length.
fn address(name: &[u8]) -> Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: a zeroed sockaddr_un is a valid value of this C struct.
    let mut a: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    a.sun_family = libc::AF_UNIX as libc::sa_family_t;
    if name.len() + 1 > a.sun_path.len() {
        bail!("the IPC socket's name is too long");
    }
    for (i, b) in name.iter().enumerate() {
        a.sun_path[i + 1] = *b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + 1 + name.len();
    Ok((a, len as libc::socklen_t))
}

impl Broker {
    /// A socket that takes connections from now on (they wait for
    /// [`Broker::serve`]).
    pub fn bind() -> Result<Broker> {
        let name = format!(
            "sproot-ipc-{}-{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        )
        .into_bytes();
        // SAFETY: socket(2) takes no pointers.
        let fd =
            unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            bail!("--sysvipc: socket: {}", Errno::last());
        }
        // SAFETY: a descriptor just made, owned here alone.
        let listener = unsafe { OwnedFd::from_raw_fd(fd) };
        let (a, len) = address(&name)?;
        // SAFETY: `a` is a valid sockaddr_un of `len` bytes.
        let r = unsafe { libc::bind(fd, (&a as *const libc::sockaddr_un).cast(), len) };
        if r != 0 {
            bail!("--sysvipc: bind: {}", Errno::last());
        }
        // SAFETY: listen(2) takes no pointers.
        if unsafe { libc::listen(fd, 128) } != 0 {
            bail!("--sysvipc: listen: {}", Errno::last());
        }
        Ok(Broker { listener, name })
    }

    /// Answer the guests' calls from `ipc`, on a thread of its own, until
    /// the handle is dropped (the namespace's files go then).
    pub fn serve(self, ipc: SysvIpc) -> Result<Serve> {
        let (stop_read, stop) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let thread = std::thread::Builder::new()
            .name("sysvipc".into())
            .spawn(move || Serving::new(self.listener, stop_read, ipc).run())?;
        Ok(Serve {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// The broker at work: dropping it stops it.
pub struct Serve {
    stop: Option<OwnedFd>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        // The pipe's end closes: the thread sees it and returns.
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One guest thread's connection.
struct Conn {
    fd: OwnedFd,
    /// The process that connected (`SO_PEERCRED`).
    pid: i32,
    /// The thread whose calls it carries (its last message's).
    tid: i32,
}

/// A process with connections: how its end is seen.
struct Process {
    /// Readable once the process has ended (`None`: `/proc` is looked at).
    pidfd: Option<OwnedFd>,
    /// Its threads seen so far.
    tids: Vec<i32>,
}

struct Serving {
    listener: OwnedFd,
    /// Readable (closed) when the run is over.
    stop: OwnedFd,
    ipc: SysvIpc,
    conns: Vec<Conn>,
    procs: HashMap<i32, Process>,
}

impl Serving {
    fn new(listener: OwnedFd, stop: OwnedFd, ipc: SysvIpc) -> Self {
        Serving {
            listener,
            stop,
            ipc,
            conns: Vec::new(),
            procs: HashMap::new(),
        }
    }

    fn run(mut self) {
        loop {
            let mut fds: Vec<libc::pollfd> = Vec::new();
            let poll = |fd: RawFd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            fds.push(poll(self.stop.as_raw_fd()));
            fds.push(poll(self.listener.as_raw_fd()));
            fds.extend(self.conns.iter().map(|c| poll(c.fd.as_raw_fd())));
            let pids: Vec<i32> = self.procs.keys().copied().collect();
            fds.extend(
                pids.iter()
                    .map(|p| poll(self.procs[p].pidfd.as_ref().map_or(-1, |f| f.as_raw_fd()))),
            );
            let looking = self.procs.values().any(|p| p.pidfd.is_none());
            let timeout = if looking { 200 } else { -1 };
            // SAFETY: `fds` is a live array of `fds.len()` pollfds.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n < 0 {
                if Errno::last() == Errno::EINTR {
                    continue;
                }
                log::warn!("--sysvipc: poll: {}", Errno::last());
                return;
            }
            if fds[0].revents != 0 {
                return;
            }
            let fds = &fds[1..];
            let nconns = self.conns.len();
            // The ends first: a process that ended before another's call
            // was sent (a parent's, after reaping it) has its undo values
            // applied before that call is answered.
            for (i, pid) in pids.iter().enumerate() {
                let ready = fds[1 + nconns + i].revents != 0;
                let ended = match self.procs[pid].pidfd {
                    Some(_) => ready,
                    None => !alive(*pid),
                };
                if ended {
                    self.process_ended(*pid);
                }
            }
            // From the last: a connection that ends is swapped with the
            // last one, already seen.
            for i in (0..nconns).rev() {
                if fds[1 + i].revents != 0 {
                    self.readable(i);
                }
            }
            if fds[0].revents & libc::POLLIN != 0 {
                self.accept();
            }
            self.send_wakes();
        }
    }

    fn accept(&mut self) {
        // SAFETY: accept4 with no address wanted.
        let fd = unsafe {
            libc::accept4(
                self.listener.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        if fd < 0 {
            return;
        }
        // SAFETY: a descriptor just accepted, owned here alone.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let Some(pid) = peer_pid(&fd) else { return };
        if let std::collections::hash_map::Entry::Vacant(e) = self.procs.entry(pid) {
            e.insert(Process {
                pidfd: pidfd_open(pid),
                tids: Vec::new(),
            });
            self.adopt(pid);
        }
        self.conns.push(Conn { fd, pid, tid: pid });
    }

    /// A message, or the end, of connection `i`.
    fn readable(&mut self, i: usize) {
        let mut buf = [0u8; 4096];
        // SAFETY: `buf` is writable for its length.
        let n = unsafe {
            libc::recv(
                self.conns[i].fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n == 0 || (n < 0 && Errno::last() != Errno::EAGAIN) {
            let c = self.conns.swap_remove(i);
            // Closed by an execve (or by the guest): no attachment of the
            // old image is left; the end of the process is seen apart.
            self.ipc.stop_waiting(c.tid);
            if !self.conns.iter().any(|o| o.pid == c.pid) {
                self.ipc.exec(c.pid);
            }
            return;
        }
        if n < 0 {
            return;
        }
        let w: Vec<u64> = words(&buf[..n as usize]).collect();
        if w.len() < 6 {
            return;
        }
        let (tid, pid) = (w[1] as i32, w[2] as i32);
        self.conns[i].tid = tid;
        if let Some(p) = self.procs.get_mut(&self.conns[i].pid)
            && !p.tids.contains(&tid)
        {
            p.tids.push(tid);
        }
        let reply = match w[0] {
            wire::CALL if w.len() >= 12 => {
                // Where ends are not signalled, look now.
                let unsignalled: Vec<i32> = self
                    .procs
                    .iter()
                    .filter(|(p, proc)| proc.pidfd.is_none() && !alive(**p))
                    .map(|(p, _)| *p)
                    .collect();
                for p in unsignalled {
                    self.process_ended(p);
                }
                let caller = Caller {
                    pid,
                    tid,
                    uid: w[3] as u32,
                    gid: w[4] as u32,
                };
                let args = [w[6], w[7], w[8], w[9], w[10], w[11]];
                let mut mem = TraceeMemory(Pid::from_raw(tid));
                let action = call::call(&mut self.ipc, w[5] as i64, args, &caller, &mut mem);
                log::debug!("{tid}: IPC call {} under --sysvipc: {action:?}", w[5]);
                answer(action)
            }
            wire::ATTACHED if w.len() >= 7 => {
                let (mapped, id) = (w[5] as i64, w[6] as i32);
                if !(-4095..0).contains(&mapped) {
                    self.ipc.attached(pid, mapped as u64, id);
                }
                message(&[wire::ACK], &[])
            }
            wire::DETACHED => {
                self.ipc.detached(pid, w[5]);
                message(&[wire::ACK], &[])
            }
            wire::STOPPED => {
                if w[5] != 0 {
                    self.ipc.interrupted(tid);
                } else {
                    self.ipc.stop_waiting(tid);
                }
                message(&[wire::ACK], &[])
            }
            _ => return,
        };
        send(&self.conns[i].fd, &reply);
    }

    /// A process new to the broker: the segments it has mapped are the
    /// attachments a `fork` gave it (none after an `execve`), as its
    /// `/proc/<pid>/maps` shows them.
    fn adopt(&mut self, pid: i32) {
        let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else {
            return;
        };
        let files: Vec<(i32, String)> = self
            .ipc
            .shm
            .ids()
            .into_iter()
            .filter_map(|id| {
                let e = self.ipc.shm.get(id).ok()?;
                Some((id, e.obj.file.to_string_lossy().into_owned()))
            })
            .collect();
        if files.is_empty() {
            return;
        }
        for line in maps.lines() {
            // "start-end perms offset dev inode   path"
            let mut f = line.splitn(6, char::is_whitespace);
            let range = f.next().unwrap_or("");
            let path = f.nth(4).unwrap_or("").trim_start();
            let path = path.strip_suffix(" (deleted)").unwrap_or(path);
            let Some((id, _)) = files.iter().find(|(_, file)| file == path) else {
                continue;
            };
            let start = range.split('-').next().unwrap_or("");
            if let Ok(addr) = u64::from_str_radix(start, 16) {
                self.ipc.attached(pid, addr, *id);
            }
        }
    }

    /// Process `pid` ended: its undo values applied, its attachments gone.
    fn process_ended(&mut self, pid: i32) {
        if let Some(p) = self.procs.remove(&pid) {
            for t in p.tids {
                if t != pid {
                    self.ipc.gone(t);
                }
            }
            self.ipc.gone(pid);
        }
    }

    /// Wake the threads whose object changed.
    fn send_wakes(&mut self) {
        for tid in self.ipc.take_wakes() {
            if let Some(c) = self.conns.iter().find(|c| c.tid == tid) {
                send(&c.fd, &message(&[wire::WAKE], &[]));
            }
        }
    }
}

/// The reply for `action`.
fn answer(action: Action) -> Vec<u8> {
    match action {
        Action::Complete(v) => message(&[wire::DONE, v as u64], &[]),
        Action::Wait { timeout } => {
            let (has, sec, nsec) = match timeout {
                Some(ts) => (
                    1,
                    u64::from_ne_bytes(ts[..8].try_into().unwrap_or_default()),
                    u64::from_ne_bytes(ts[8..].try_into().unwrap_or_default()),
                ),
                None => (0, 0, 0),
            };
            message(&[wire::WAIT, has, sec, nsec], &[])
        }
        Action::Attach(at) => {
            use std::os::unix::ffi::OsStrExt;
            message(
                &[
                    wire::ATTACH,
                    at.id as u64,
                    at.size,
                    at.addr,
                    u64::from(at.remap),
                    u64::from(at.readonly),
                    u64::from(at.exec),
                ],
                at.file.as_os_str().as_bytes(),
            )
        }
        Action::Detach { addr, len } => message(&[wire::DETACH, addr, len], &[]),
    }
}

fn send(fd: &OwnedFd, msg: &[u8]) {
    // SAFETY: `msg` is readable for its length.
    unsafe {
        libc::send(
            fd.as_raw_fd(),
            msg.as_ptr().cast(),
            msg.len(),
            libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
        )
    };
}

/// The process at the other end of `fd`.
fn peer_pid(fd: &OwnedFd) -> Option<i32> {
    // SAFETY: a zeroed ucred is a valid value of this C struct.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` is writable for `len` bytes.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(cred.pid)
}

/// A descriptor readable once process `pid` ends (Linux 5.3).
fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open(2) takes no pointers.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a descriptor just made, owned here alone.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Whether process `pid` still runs (not gone, not a zombie).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !matches!(
            s.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next()),
            Some("Z" | "X")
        ),
        Err(_) => false,
    }
}
