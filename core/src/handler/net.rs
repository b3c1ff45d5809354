//! Socket addresses: going out, `AF_UNIX` paths are translated like any
//! path (`bind`, `connect`, `sendto`, `sendmsg`, `sendmmsg`, one per
//! message), and `-p`'s port maps move inet ports. Coming back
//! (`getsockname`, `getpeername`, `accept`, `accept4`, `recvfrom`,
//! `recvmsg`, `recvmmsg`), the kernel reports the host path a socket was
//! bound to: at the syscall's exit it is rewritten to the guest path, with
//! the length the kernel would give (`2 + strlen + 1`), or to an unnamed
//! address (length 2) when it lies outside the view. The copy is truncated
//! to the room the guest gave, as the kernel truncates it.

use super::{Ctx, ExitHook, Outcome};
use crate::Errno;
use crate::backend::SyscallRegs;
use crate::ext::net::{Ports, inet_port, set_inet_port};
use crate::fs::{GuestView, normalize_lexical};
use crate::prelude::*;
use core::ops::Range;

/// `struct sockaddr_un`'s size, and its `sun_path`'s.
pub const SOCKADDR_UN_LEN: usize = 110;
pub const SUN_PATH_MAX: usize = 108;
const AF_UNIX: u16 = 1;
const SA_FAMILY: usize = 2;
/// `struct msghdr` of the 64-bit ABIs: `msg_name` and `msg_namelen`, and
/// its size; `struct mmsghdr` adds the `unsigned int msg_len` (padded).
pub const MSG_NAME: Range<usize> = 0..8;
pub const MSG_NAMELEN: Range<usize> = 8..12;
pub const MSGHDR: usize = 56;
pub const MMSGHDR: usize = 64;
/// The kernel's cap on `vlen` (`UIO_MAXIOV`).
const MAX_VLEN: usize = 1024;

/// What a socket call's exit must rewrite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SockExit {
    /// An address the kernel writes at `addr` (its length at `len`, `cap`
    /// bytes of room); `room`: the arguments were pointed at a larger
    /// buffer (argument indexes, its address and its length's), to put
    /// back.
    Addr {
        addr: u64,
        len: u64,
        cap: u32,
        room: Option<(usize, usize, u64, u64)>,
    },
    /// `recvmsg`'s `msg_name`.
    Msg { msg: u64, cap: u32 },
    /// `recvmmsg`'s, one per message.
    Mmsg { vec: u64, caps: Vec<u32> },
    /// `sendmmsg` was given a copy of the array: the lengths sent go back
    /// to the guest's.
    SentCopy { orig: u64, copy: u64 },
}

/// If `addr` (`len` bytes) is an `AF_UNIX` address with a path, or an inet
/// address whose port `ports` (and `-n`'s moves) change: the address to
/// give the kernel instead.
pub fn translate_sockaddr<R: SyscallRegs>(
    ctx: &Ctx<R>,
    ports: &Ports,
    addr: u64,
    len: usize,
    bind: bool,
) -> Result<Option<Vec<u8>>, Errno> {
    if addr == 0 || len <= 2 {
        return Ok(None);
    }
    let mut buf = vec![0u8; len.min(SOCKADDR_UN_LEN)];
    ctx.read(addr, &mut buf)?;
    if let Some(port) = inet_port(&buf) {
        if !ports.active() {
            return Ok(None);
        }
        let to = ctx.shared.port_target(ports.translate(port));
        if to == port {
            return Ok(None);
        }
        set_inet_port(&mut buf, to);
        return Ok(Some(buf));
    }
    let family = u16::from_ne_bytes([buf[0], buf[1]]);
    if family != AF_UNIX || buf[2] == 0 {
        // Not a filesystem socket (abstract names start with NUL).
        return Ok(None);
    }
    let path: Vec<u8> = buf[2..].iter().take_while(|&&b| b != 0).copied().collect();
    let mut host = ctx.resolve_full(None, &path, !bind)?.host;
    if relative_is_native(ctx, &path, &host) {
        // The kernel names the same file from the thread's own cwd, and
        // reports the name as it was given, as in a chroot.
        return Ok(None);
    }
    if host.len() >= SUN_PATH_MAX {
        // Too long for sun_path: through a directory the host holds open.
        host = ctx.host.short_socket_path(&host)?;
    }
    let mut out = Vec::with_capacity(2 + host.len() + 1);
    out.extend_from_slice(&buf[..2]);
    out.extend_from_slice(&host);
    out.push(0);
    Ok(Some(out))
}

/// Whether the relative socket name `path`, resolved to `host`, names the
/// same file when the kernel takes it from the thread's own cwd: its
/// resolution is the kernel's cwd followed by the name, lexically, so it
/// meets no symlink or binding on the way. `..` may only lead (from the
/// cwd's physical path, as the kernel climbs): after a symlink it would
/// climb from the link's target.
fn relative_is_native<R: SyscallRegs>(ctx: &Ctx<R>, path: &[u8], host: &[u8]) -> bool {
    if path.first() == Some(&b'/') {
        return false;
    }
    let mut names = path.split(|&c| c == b'/').skip_while(|&c| c == b"..");
    if names.any(|c| c == b"..") {
        return false;
    }
    let Ok(cwd) = ctx.host.readlink(&ctx.cwd_link()) else {
        return false;
    };
    let joined = [&cwd[..], b"/", path].concat();
    normalize_lexical(&joined) == host
}

/// `bind`/`connect`/`sendto`: the address in arguments `addr_arg` and
/// `len_arg`.
pub fn sockaddr<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
    ports: &Ports,
    addr_arg: usize,
    len_arg: usize,
    bind: bool,
) -> Result<Outcome, Errno> {
    let (addr, len) = (ctx.arg(addr_arg), ctx.arg(len_arg) as usize);
    match translate_sockaddr(ctx, ports, addr, len, bind)? {
        None => Ok(Outcome::Pass),
        Some(new) => {
            let at = ctx.push(&new)?;
            ctx.regs.set_arg(addr_arg, at);
            ctx.regs.set_arg(len_arg, new.len() as u64);
            Ok(Outcome::Rewritten)
        }
    }
}

/// `-n`: `bind` of an inet socket made by the backend on the guest's
/// descriptor (`Host::bind_guest_fd`): at the port asked for (after
/// `-p`'s rules), or at a free one when that one is in use, remembered so
/// that connections to the port asked for reach it. `None`: not an inet
/// address, or the backend cannot reach the descriptor: handled as usual.
pub fn netcoop_bind<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
    ports: &Ports,
    addr_arg: usize,
    len_arg: usize,
) -> Option<Result<i64, Errno>> {
    let (fd, addr, len) = (
        ctx.arg(0) as i32,
        ctx.arg(addr_arg),
        ctx.arg(len_arg) as usize,
    );
    if addr == 0 || len > 128 {
        return None;
    }
    let mut buf = vec![0u8; len];
    ctx.read(addr, &mut buf).ok()?;
    let asked = ports.translate(inet_port(&buf)?);
    if asked == 0 {
        return None;
    }
    set_inet_port(&mut buf, asked);
    let pid = ctx.proc.pid();
    Some(match ctx.host.bind_guest_fd(pid, fd, &buf) {
        Ok(()) => Ok(0),
        Err(Errno::EADDRINUSE) => {
            set_inet_port(&mut buf, 0);
            ctx.host.bind_guest_fd(pid, fd, &buf).and_then(|()| {
                let got = ctx.host.guest_sockname(pid, fd)?;
                let got = inet_port(&got).ok_or(Errno::EINVAL)?;
                log::info!("netcoop: port {asked} is in use; bound {got} instead");
                ctx.shared.port_moved(asked, got);
                Ok(0)
            })
        }
        // The descriptor cannot be reached from here.
        Err(Errno::ENOSYS) => return None,
        Err(e) => Err(e),
    })
}

/// `sendmsg(fd, msg, flags)`: the kernel is given a copy of the header
/// naming the translated address.
pub fn sendmsg<R: SyscallRegs>(ctx: &mut Ctx<R>, ports: &Ports) -> Result<Outcome, Errno> {
    let msg = ctx.arg(1);
    if msg == 0 {
        return Ok(Outcome::Pass);
    }
    let mut hdr = [0u8; MSGHDR];
    ctx.read(msg, &mut hdr)?;
    let (name, namelen) = parse_name(&hdr);
    match translate_sockaddr(ctx, ports, name, namelen as usize, false)? {
        None => Ok(Outcome::Pass),
        Some(new) => {
            let at = ctx.push(&new)?;
            hdr[MSG_NAME].copy_from_slice(&at.to_ne_bytes());
            hdr[MSG_NAMELEN].copy_from_slice(&(new.len() as u32).to_ne_bytes());
            let new_msg = ctx.push(&hdr)?;
            ctx.regs.set_arg(1, new_msg);
            Ok(Outcome::Rewritten)
        }
    }
}

/// `sendmmsg(fd, vec, vlen, flags)`: every message's address translated; the
/// kernel is given a copy of the array when one changed.
pub fn sendmmsg<R: SyscallRegs>(ctx: &mut Ctx<R>, ports: &Ports) -> Result<Outcome, Errno> {
    let Some((vec, mut raw)) = mmsg_array(ctx)? else {
        return Ok(Outcome::Pass);
    };
    let mut changed = false;
    for m in raw.chunks_exact_mut(MMSGHDR) {
        let (name, len) = parse_name(m);
        if let Some(new) = translate_sockaddr(ctx, ports, name, len as usize, false)? {
            let at = ctx.push(&new)?;
            m[MSG_NAME].copy_from_slice(&at.to_ne_bytes());
            m[MSG_NAMELEN].copy_from_slice(&(new.len() as u32).to_ne_bytes());
            changed = true;
        }
    }
    if !changed {
        return Ok(Outcome::Pass);
    }
    let copy = ctx.push(&raw)?;
    ctx.regs.set_arg(1, copy);
    Ok(Outcome::WithExit {
        rewritten: true,
        hook: ExitHook::Sockets(SockExit::SentCopy { orig: vec, copy }),
    })
}

/// Where an address and its length come back, for the calls that take
/// `(addr, addrlen *)` arguments (indexes `addr_arg`, `len_arg`).
pub fn addr_out<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
    addr_arg: usize,
    len_arg: usize,
) -> Result<Outcome, Errno> {
    let (addr, len) = (ctx.arg(addr_arg), ctx.arg(len_arg));
    if addr == 0 || len == 0 {
        return Ok(Outcome::Pass);
    }
    let cap = read_u32(ctx, len)?;
    if cap as usize >= SOCKADDR_UN_LEN {
        return Ok(with_exit(SockExit::Addr {
            addr,
            len,
            cap,
            room: None,
        }));
    }
    // A short buffer would cut the host path before it can be mapped.
    let big = ctx.push(&[0u8; SOCKADDR_UN_LEN])?;
    let big_len = ctx.push(&(SOCKADDR_UN_LEN as u32).to_ne_bytes())?;
    ctx.regs.set_arg(addr_arg, big);
    ctx.regs.set_arg(len_arg, big_len);
    Ok(Outcome::WithExit {
        rewritten: true,
        hook: ExitHook::Sockets(SockExit::Addr {
            addr,
            len,
            cap,
            room: Some((addr_arg, len_arg, big, big_len)),
        }),
    })
}

/// `recvmsg(fd, msg, flags)`.
pub fn recvmsg<R: SyscallRegs>(ctx: &mut Ctx<R>) -> Result<Outcome, Errno> {
    let msg = ctx.arg(1);
    if msg == 0 {
        return Ok(Outcome::Pass);
    }
    let (name, cap) = msg_name(ctx, msg)?;
    if name == 0 {
        return Ok(Outcome::Pass);
    }
    Ok(with_exit(SockExit::Msg { msg, cap }))
}

/// `recvmmsg(fd, vec, vlen, flags, timeout)`.
pub fn recvmmsg<R: SyscallRegs>(ctx: &mut Ctx<R>) -> Result<Outcome, Errno> {
    let Some((vec, raw)) = mmsg_array(ctx)? else {
        return Ok(Outcome::Pass);
    };
    let mut caps = Vec::with_capacity(raw.len() / MMSGHDR);
    let mut any = false;
    for m in raw.chunks_exact(MMSGHDR) {
        let (name, cap) = parse_name(m);
        any |= name != 0;
        caps.push(if name == 0 { 0 } else { cap });
    }
    if !any {
        return Ok(Outcome::Pass);
    }
    Ok(with_exit(SockExit::Mmsg { vec, caps }))
}

/// The `struct mmsghdr` array of `(fd, vec, vlen, ...)`: its address and
/// bytes, or `None` when empty.
fn mmsg_array<R: SyscallRegs>(ctx: &Ctx<R>) -> Result<Option<(u64, Vec<u8>)>, Errno> {
    let vec = ctx.arg(1);
    let vlen = (ctx.arg(2) as u32 as usize).min(MAX_VLEN);
    if vec == 0 || vlen == 0 {
        return Ok(None);
    }
    let mut raw = vec![0u8; vlen * MMSGHDR];
    ctx.read(vec, &mut raw)?;
    Ok(Some((vec, raw)))
}

fn with_exit(hook: SockExit) -> Outcome {
    Outcome::WithExit {
        rewritten: false,
        hook: ExitHook::Sockets(hook),
    }
}

/// The `-ERESTART*` values a syscall interrupted by a signal returns to the
/// tracer before it is restarted.
fn restarting(ret: i64) -> bool {
    (-516..=-512).contains(&ret)
}

/// Run a socket exit hook; returns whether the registers changed.
pub fn exit<R: SyscallRegs>(ctx: &mut Ctx<R>, hook: SockExit) -> bool {
    let ret = ctx.regs.ret();
    if let SockExit::Addr {
        addr,
        len,
        cap,
        room: Some((addr_arg, len_arg, big, big_len)),
    } = hook
    {
        ctx.regs.set_arg(addr_arg, addr);
        ctx.regs.set_arg(len_arg, len);
        if ret >= 0 {
            let _ = copy_addr(ctx, (big, big_len), (addr, len), cap);
        }
        return true;
    }
    if let SockExit::SentCopy { orig, copy } = hook {
        if restarting(ret) {
            // The restarted call stops again and is translated afresh.
            ctx.regs.set_arg(1, orig);
            return true;
        }
        for i in 0..ret.max(0) as u64 {
            let off = i * MMSGHDR as u64 + MSGHDR as u64;
            if let Ok(n) = read_u32(ctx, copy + off) {
                let _ = ctx.write(orig + off, &n.to_ne_bytes());
            }
        }
        return false;
    }
    if ret < 0 {
        return false;
    }
    // Errors here mean the guest unmapped its buffers meanwhile: its
    // problem, the kernel's answer stands.
    let _ = match hook {
        SockExit::Addr { addr, len, cap, .. } => fix_addr(ctx, addr, len, cap),
        SockExit::Msg { msg, cap } => fix_msg(ctx, msg, cap),
        SockExit::Mmsg { vec, caps } => {
            for (i, cap) in caps.into_iter().take(ret as usize).enumerate() {
                if cap > 0 {
                    let _ = fix_msg(ctx, vec + (i * MMSGHDR) as u64, cap);
                }
            }
            Ok(())
        }
        SockExit::SentCopy { .. } => Ok(()),
    };
    false
}

fn read_u32<R: SyscallRegs>(ctx: &Ctx<R>, at: u64) -> Result<u32, Errno> {
    let mut b = [0u8; 4];
    ctx.read(at, &mut b)?;
    Ok(u32::from_ne_bytes(b))
}

/// `msg_name` and `msg_namelen` of a `struct msghdr`.
pub fn parse_name(hdr: &[u8]) -> (u64, u32) {
    let mut p = [0u8; 8];
    p.copy_from_slice(&hdr[MSG_NAME]);
    let mut l = [0u8; 4];
    l.copy_from_slice(&hdr[MSG_NAMELEN]);
    (u64::from_ne_bytes(p), u32::from_ne_bytes(l))
}

fn msg_name<R: SyscallRegs>(ctx: &Ctx<R>, msg: u64) -> Result<(u64, u32), Errno> {
    let mut hdr = [0u8; MSG_NAMELEN.end];
    ctx.read(msg, &mut hdr)?;
    Ok(parse_name(&hdr))
}

fn fix_msg<R: SyscallRegs>(ctx: &mut Ctx<R>, msg: u64, cap: u32) -> Result<(), Errno> {
    let (name, _) = msg_name(ctx, msg)?;
    fix_addr(ctx, name, msg + MSG_NAMELEN.start as u64, cap)
}

/// Rewrite the address the kernel wrote at `addr` (its full length at
/// `len_at`, `cap` bytes of room) as the guest sees it.
fn fix_addr<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
    addr: u64,
    len_at: u64,
    cap: u32,
) -> Result<(), Errno> {
    copy_addr(ctx, (addr, len_at), (addr, len_at), cap)
}

/// Read the address the kernel wrote at `from` (address, length pointer),
/// and write the guest's form of it at `to` with `cap` bytes of room.
fn copy_addr<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
    from: (u64, u64),
    to: (u64, u64),
    cap: u32,
) -> Result<(), Errno> {
    let len = read_u32(ctx, from.1)?;
    let room = if from == to {
        cap
    } else {
        SOCKADDR_UN_LEN as u32
    };
    let written = len.min(room) as usize;
    let mut buf = vec![0u8; written];
    ctx.read(from.0, &mut buf)?;
    let (new, full) = match guest_sockaddr(ctx, &buf) {
        Some(new) => {
            let l = new.len() as u32;
            (new, l)
        }
        None if from == to => return Ok(()),
        // Unchanged, but still to be copied to the guest's buffer.
        None => (buf, len),
    };
    // The new address truncated to the room, and zeros over what is left
    // of the host's.
    let stale = if from == to {
        written.min(cap as usize)
    } else {
        0
    };
    let mut out = new;
    out.resize(stale.max(out.len()), 0);
    out.truncate(cap as usize);
    ctx.write(to.0, &out)?;
    ctx.write(to.1, &full.to_ne_bytes())
}

/// The guest's form of a socket address the kernel reported (`buf`, as
/// much of it as was written), or `None` when it needs no change: not
/// `AF_UNIX`, abstract, unnamed or a relative path (the kernel reports the
/// path as it was given to `bind`).
fn guest_sockaddr<R>(ctx: &Ctx<R>, buf: &[u8]) -> Option<Vec<u8>> {
    if buf.len() <= SA_FAMILY
        || u16::from_ne_bytes([buf[0], buf[1]]) != AF_UNIX
        || buf[SA_FAMILY] != b'/'
    {
        return None;
    }
    let path: Vec<u8> = buf[SA_FAMILY..]
        .iter()
        .take_while(|&&b| b != 0)
        .copied()
        .collect();
    let path = ctx.host.long_socket_path(&path).unwrap_or(path);
    Some(unix_addr(ctx.view, &buf[..SA_FAMILY], &path))
}

/// The `AF_UNIX` address (`family` bytes first) the guest sees for the
/// host path `path`: its guest path, or unnamed outside the view.
fn unix_addr(view: &GuestView, family: &[u8], path: &[u8]) -> Vec<u8> {
    let mut out = family.to_vec();
    if let Some(guest) = view.to_guest(path) {
        out.extend_from_slice(&guest);
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_values_are_recognised() {
        assert!(restarting(-512) && restarting(-516));
        assert!(!restarting(-4) && !restarting(0));
    }
}
