//! `--sysvipc`: a guest's SysV IPC call, answered by the launcher's
//! namespace over this thread's own connection
//! (`sproot_core::inproc::ipc` has the messages). A wait sleeps in
//! `ppoll` on the connection with the guest's signal mask, so that a
//! signal interrupts it as natively (`EINTR`: these calls are never
//! restarted after a handler); an attach maps the segment's file here.

use core::sync::atomic::{AtomicI32, Ordering};

use sproot_core::inproc::ipc::{self as wire, message, words};
use sproot_core::Errno;

use crate::host::{self, sc, CPath, TrapRegs};
use crate::nr;

const AF_UNIX: usize = 1;
const SOCK_SEQPACKET: usize = 5;
const SOCK_CLOEXEC: usize = 0o2_000_000;
const MSG_NOSIGNAL: usize = 0x4000;
const POLLIN: i16 = 1;
const SIGSYS_BIT: u64 = 1 << 30;

/// The connections of this process's threads: (thread, descriptor).
const CONNS: usize = 64;
static TIDS: [AtomicI32; CONNS] = [const { AtomicI32::new(0) }; CONNS];
static FDS: [AtomicI32; CONNS] = [const { AtomicI32::new(-1) }; CONNS];
/// The process the table is for (a `fork` child starts it over).
static OWNER: AtomicI32 = AtomicI32::new(0);

/// A connection to the launcher's namespace.
fn connect(name: &[u8]) -> Result<i32, Errno> {
    let fd = sc(
        nr::SOCKET,
        [AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, 0, 0, 0],
    );
    if fd < 0 {
        return Err(Errno::from_raw(-fd as i32));
    }
    // Out of the guest's way: its own descriptors keep the numbers they
    // would have natively.
    const F_DUPFD_CLOEXEC: usize = 1030;
    let high = sc(nr::FCNTL, [fd as usize, F_DUPFD_CLOEXEC, 512, 0, 0, 0]);
    let fd = if high >= 0 {
        host::close(fd as i32);
        high
    } else {
        fd
    };
    // sockaddr_un: the family, then the abstract name after a NUL.
    let mut addr = [0u8; 110];
    addr[..2].copy_from_slice(&1u16.to_ne_bytes());
    if name.len() + 3 > addr.len() {
        host::close(fd as i32);
        return Err(Errno::ENAMETOOLONG);
    }
    addr[3..3 + name.len()].copy_from_slice(name);
    let len = 3 + name.len();
    let r = sc(
        nr::CONNECT,
        [fd as usize, addr.as_ptr() as usize, len, 0, 0, 0],
    );
    if r < 0 {
        host::close(fd as i32);
        return Err(Errno::from_raw(-r as i32));
    }
    Ok(fd as i32)
}

/// This thread's connection, made on its first call (`temporary`: the
/// table is full, the caller closes it after the call).
fn conn_of(tid: i32, name: &[u8]) -> Result<(i32, bool), Errno> {
    let pid = host::getpid();
    if OWNER.load(Ordering::Acquire) != pid {
        // A fork child: the parent's connections are its, not ours.
        for (t, f) in TIDS.iter().zip(&FDS) {
            let fd = f.swap(-1, Ordering::AcqRel);
            if fd >= 0 {
                host::close(fd);
            }
            t.store(0, Ordering::Release);
        }
        OWNER.store(pid, Ordering::Release);
    }
    for (t, f) in TIDS.iter().zip(&FDS) {
        if t.load(Ordering::Acquire) == tid {
            let fd = f.load(Ordering::Acquire);
            if fd >= 0 {
                return Ok((fd, false));
            }
        }
    }
    let fd = connect(name)?;
    for (t, f) in TIDS.iter().zip(&FDS) {
        if t.compare_exchange(0, tid, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            f.store(fd, Ordering::Release);
            return Ok((fd, false));
        }
    }
    Ok((fd, true))
}

fn send(fd: i32, msg: &[u8]) -> Result<(), Errno> {
    let r = sc(
        nr::SENDTO,
        [
            fd as usize,
            msg.as_ptr() as usize,
            msg.len(),
            MSG_NOSIGNAL,
            0,
            0,
        ],
    );
    if r < 0 {
        return Err(Errno::from_raw(-r as i32));
    }
    Ok(())
}

/// The next message (every signal held meanwhile).
fn recv(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        let r = sc(
            nr::RECVFROM,
            [fd as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0],
        );
        match r {
            0 => return Err(Errno::EIO),
            r if r > 0 => return Ok(r as usize),
            r if r as i64 == Errno::EINTR.ret() => continue,
            r => return Err(Errno::from_raw(-r as i32)),
        }
    }
}

/// Send `msg` and wait for the launcher's `ACK`, dropping a wake-up that
/// crossed it.
fn tell(fd: i32, msg: &[u8]) -> Result<(), Errno> {
    send(fd, msg)?;
    let mut buf = [0u8; 64];
    loop {
        let n = recv(fd, &mut buf)?;
        if words(&buf[..n]).next() == Some(wire::ACK) {
            return Ok(());
        }
    }
}

/// IPC call `regs`: its result.
pub fn call(regs: &TrapRegs, guest_mask: u64) -> i64 {
    let name = &host::state().handoff.ipc;
    let tid = host::gettid();
    let (fd, temporary) = match conn_of(tid, name) {
        Ok(c) => c,
        Err(_) => return Errno::ENOSYS.ret(),
    };
    let r = run(fd, tid, regs, guest_mask).unwrap_or_else(Errno::ret);
    if temporary {
        host::close(fd);
    }
    r
}

fn run(fd: i32, tid: i32, regs: &TrapRegs, guest_mask: u64) -> Result<i64, Errno> {
    let pid = host::getpid();
    let (uid, gid) =
        host::with_creds(|c| c.as_ref().map(|c| (c.euid, c.egid))).unwrap_or_else(|| {
            (
                sc(nr::GETEUID, [0; 6]) as u32,
                sc(nr::GETEGID, [0; 6]) as u32,
            )
        });
    let head = [tid as u64, pid as u64, u64::from(uid), u64::from(gid)];
    let mut request = [0u64; 12];
    request[0] = wire::CALL;
    request[1..5].copy_from_slice(&head);
    request[5] = regs.nr as u64;
    request[6..].copy_from_slice(&regs.args);
    let note = |kind: u64, a: u64, b: u64| message(&[kind, head[0], head[1], 0, 0, a, b], &[]);
    let mut buf = [0u8; 4096];
    send(fd, &message(&request, &[]))?;
    loop {
        let n = recv(fd, &mut buf)?;
        let w: alloc::vec::Vec<u64> = words(&buf[..n]).collect();
        match w.first().copied() {
            Some(wire::DONE) if w.len() >= 2 => return Ok(w[1] as i64),
            Some(wire::WAIT) if w.len() >= 4 => {
                let ts = [w[2], w[3]];
                let timeout = (w[1] != 0).then_some(&ts);
                match wait(fd, timeout, guest_mask) {
                    // Woken: the call runs again.
                    Ok(true) => send(fd, &message(&request, &[]))?,
                    Ok(false) => {
                        tell(fd, &note(wire::STOPPED, 0, 0))?;
                        return Err(Errno::EAGAIN);
                    }
                    Err(e) => {
                        tell(fd, &note(wire::STOPPED, 1, 0))?;
                        return Err(e);
                    }
                }
            }
            Some(wire::ATTACH) if w.len() >= 7 => {
                let mapped = attach(&w, &buf[56..n]);
                tell(fd, &note(wire::ATTACHED, mapped as u64, w[1]))?;
                return Ok(mapped);
            }
            Some(wire::DETACH) if w.len() >= 3 => {
                let r = sc(nr::MUNMAP, [w[1] as usize, w[2] as usize, 0, 0, 0, 0]);
                if r < 0 {
                    return Ok(r as i64);
                }
                tell(fd, &note(wire::DETACHED, w[1], 0))?;
                return Ok(0);
            }
            // A wake-up from an earlier wait.
            _ => {}
        }
    }
}

/// Sleep until a wake-up (`true`), the timeout (`false`) or a signal
/// (`EINTR`).
fn wait(fd: i32, timeout: Option<&[u64; 2]>, guest_mask: u64) -> Result<bool, Errno> {
    #[repr(C)]
    struct PollFd {
        fd: i32,
        events: i16,
        revents: i16,
    }
    let mask = guest_mask & !SIGSYS_BIT;
    loop {
        let mut p = PollFd {
            fd,
            events: POLLIN,
            revents: 0,
        };
        let ts = timeout.map_or(0, |t| t.as_ptr() as usize);
        let r = sc(
            nr::PPOLL,
            [
                &mut p as *mut PollFd as usize,
                1,
                ts,
                &mask as *const u64 as usize,
                8,
                0,
            ],
        );
        match r {
            0 => return Ok(false),
            r if r < 0 => return Err(Errno::from_raw(-r as i32)),
            _ => {}
        }
        let mut buf = [0u8; 64];
        let n = recv(fd, &mut buf)?;
        if words(&buf[..n]).next() == Some(wire::WAKE) {
            return Ok(true);
        }
    }
}

/// Map the segment the reply `w` (path `path`) names: the address, or
/// `-errno`.
fn attach(w: &[u64], path: &[u8]) -> i64 {
    const O_RDONLY: usize = 0;
    const O_RDWR: usize = 2;
    const O_CLOEXEC: usize = 0o2_000_000;
    const AT_FDCWD: usize = -100isize as usize;
    const MAP_SHARED: usize = 1;
    const MAP_FIXED: usize = 0x10;
    const MAP_FIXED_NOREPLACE: usize = 0x10_0000;
    const PROT_READ: usize = 1;
    const PROT_WRITE: usize = 2;
    const PROT_EXEC: usize = 4;
    let (size, addr, remap, readonly, exec) = (w[2], w[3], w[4] != 0, w[5] != 0, w[6] != 0);
    let Ok(c) = CPath::new(path) else {
        return Errno::EINVAL.ret();
    };
    let open = if readonly { O_RDONLY } else { O_RDWR } | O_CLOEXEC;
    let fd = sc(nr::OPENAT, [AT_FDCWD, c.ptr(), open, 0, 0, 0]);
    if fd < 0 {
        return fd as i64;
    }
    let flags = MAP_SHARED
        | match (remap, addr) {
            (true, _) => MAP_FIXED,
            (false, 0) => 0,
            (false, _) => MAP_FIXED_NOREPLACE,
        };
    let prot = PROT_READ | if readonly { 0 } else { PROT_WRITE } | if exec { PROT_EXEC } else { 0 };
    let r = sc(
        crate::sys::nr::MMAP,
        [addr as usize, size as usize, prot, flags, fd as usize, 0],
    );
    host::close(fd as i32);
    if r as i64 == Errno::EEXIST.ret() {
        return Errno::EINVAL.ret();
    }
    r as i64
}
