//! Socket addresses inside structures, and addresses coming back.
//!
//! Going out, `AF_UNIX` paths are translated like any path (see
//! [`super::translate_sockaddr`]); `sendmmsg` carries one per message. Coming
//! back (`getsockname`, `getpeername`, `accept`, `accept4`, `recvfrom`,
//! `recvmsg`, `recvmmsg`), the kernel reports the host path a socket was
//! bound to: at the syscall's exit it is rewritten to the guest path, with
//! the length the kernel would give (`2 + strlen + 1`), or to an unnamed
//! address (length 2) when it lies outside the view. The copy is truncated
//! to the room the guest gave, as the kernel truncates it.

use super::exit_hook::{ExitHook, SockExit};
use super::{Ctx, Outcome, translate_sockaddr};
use crate::fs::GuestView;
use nix::errno::Errno;

/// `struct mmsghdr`: a `struct msghdr` and the `unsigned int msg_len`.
const MMSGHDR: usize = std::mem::size_of::<libc::mmsghdr>();
const MSGHDR: usize = std::mem::size_of::<libc::msghdr>();

/// The byte range of a field of type `T` at `offset`.
const fn field<T>(offset: usize) -> std::ops::Range<usize> {
    offset..offset + std::mem::size_of::<T>()
}
/// Where `msg_name` and `msg_namelen` lie in this target's `struct msghdr`.
pub(super) const MSG_NAME: std::ops::Range<usize> =
    field::<*mut libc::c_void>(std::mem::offset_of!(libc::msghdr, msg_name));
pub(super) const MSG_NAMELEN: std::ops::Range<usize> =
    field::<libc::socklen_t>(std::mem::offset_of!(libc::msghdr, msg_namelen));
/// The kernel's cap on `vlen` (`UIO_MAXIOV`).
const MAX_VLEN: usize = 1024;
const SA_FAMILY: usize = 2;

/// Where an address and its length come back, for the calls that take
/// `(addr, addrlen *)` arguments (indexes `addr_arg`, `len_arg`).
pub fn addr_out(ctx: &mut Ctx, addr_arg: usize, len_arg: usize) -> Result<Outcome, Errno> {
    let (addr, len) = (ctx.arg(addr_arg), ctx.arg(len_arg));
    if addr == 0 || len == 0 {
        return Ok(Outcome::Pass);
    }
    let cap = read_u32(ctx, len)?;
    if cap as usize >= super::SOCKADDR_UN_LEN {
        return Ok(with_exit(SockExit::Addr {
            addr,
            len,
            cap,
            room: None,
        }));
    }
    // A short buffer would cut the host path before it can be mapped.
    let big = ctx.push(&[0u8; super::SOCKADDR_UN_LEN])?;
    let big_len = ctx.push(&(super::SOCKADDR_UN_LEN as u32).to_ne_bytes())?;
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
pub fn recvmsg(ctx: &mut Ctx) -> Result<Outcome, Errno> {
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
pub fn recvmmsg(ctx: &mut Ctx) -> Result<Outcome, Errno> {
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

/// `sendmmsg(fd, vec, vlen, flags)`: every message's address translated; the
/// kernel is given a copy of the array when one changed.
pub fn sendmmsg(ctx: &mut Ctx) -> Result<Outcome, Errno> {
    let Some((vec, mut raw)) = mmsg_array(ctx)? else {
        return Ok(Outcome::Pass);
    };
    let mut changed = false;
    for m in raw.chunks_exact_mut(MMSGHDR) {
        let (name, len) = parse_name(m);
        if let Some(new) = translate_sockaddr(ctx, name, len as usize, false)? {
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

/// The `struct mmsghdr` array of `(fd, vec, vlen, ...)`: its address and
/// bytes, or `None` when empty.
fn mmsg_array(ctx: &Ctx) -> Result<Option<(u64, Vec<u8>)>, Errno> {
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
pub fn exit(ctx: &mut Ctx, hook: SockExit) -> bool {
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

fn read_u32(ctx: &Ctx, at: u64) -> Result<u32, Errno> {
    let mut b = [0u8; 4];
    ctx.read(at, &mut b)?;
    Ok(u32::from_ne_bytes(b))
}

/// `msg_name` and `msg_namelen` of a `struct msghdr`.
pub(super) fn parse_name(hdr: &[u8]) -> (u64, u32) {
    let mut p = [0u8; 8];
    p.copy_from_slice(&hdr[MSG_NAME]);
    let mut l = [0u8; 4];
    l.copy_from_slice(&hdr[MSG_NAMELEN]);
    (u64::from_ne_bytes(p), u32::from_ne_bytes(l))
}

fn msg_name(ctx: &Ctx, msg: u64) -> Result<(u64, u32), Errno> {
    let mut hdr = [0u8; MSG_NAMELEN.end];
    ctx.read(msg, &mut hdr)?;
    Ok(parse_name(&hdr))
}

fn fix_msg(ctx: &mut Ctx, msg: u64, cap: u32) -> Result<(), Errno> {
    let (name, _) = msg_name(ctx, msg)?;
    fix_addr(ctx, name, msg + MSG_NAMELEN.start as u64, cap)
}

/// Rewrite the address the kernel wrote at `addr` (its full length at
/// `len_at`, `cap` bytes of room) as the guest sees it.
fn fix_addr(ctx: &mut Ctx, addr: u64, len_at: u64, cap: u32) -> Result<(), Errno> {
    copy_addr(ctx, (addr, len_at), (addr, len_at), cap)
}

/// Read the address the kernel wrote at `from` (address, length pointer),
/// and write the guest's form of it at `to` with `cap` bytes of room.
fn copy_addr(ctx: &mut Ctx, from: (u64, u64), to: (u64, u64), cap: u32) -> Result<(), Errno> {
    let len = read_u32(ctx, from.1)?;
    let room = if from == to {
        cap
    } else {
        super::SOCKADDR_UN_LEN as u32
    };
    let written = len.min(room) as usize;
    let mut buf = vec![0u8; written];
    ctx.read(from.0, &mut buf)?;
    let (new, full) = match guest_sockaddr(ctx.env.view, &buf) {
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
    Ok(ctx.write(to.1, &full.to_ne_bytes())?)
}

/// The guest's form of a socket address the kernel reported (`buf`, as
/// much of it as was written), or `None` when it needs no change: not
/// `AF_UNIX`, abstract, unnamed or a relative path (the kernel reports the
/// path as it was given to `bind`).
pub fn guest_sockaddr(view: &GuestView, buf: &[u8]) -> Option<Vec<u8>> {
    if buf.len() <= SA_FAMILY
        || u16::from_ne_bytes([buf[0], buf[1]]) != libc::AF_UNIX as u16
        || buf[SA_FAMILY] != b'/'
    {
        return None;
    }
    let path: Vec<u8> = buf[SA_FAMILY..]
        .iter()
        .take_while(|&&b| b != 0)
        .copied()
        .collect();
    let path = long_host_path(&path).unwrap_or(path);
    let mut out = buf[..SA_FAMILY].to_vec();
    // Outside the view there is no name to give: an unnamed address.
    if let Some(guest) = view.to_guest(&path) {
        out.extend_from_slice(&guest);
        out.push(0);
    }
    Some(out)
}

/// Descriptors of host directories (`O_PATH`) the tracer keeps open so
/// that `AF_UNIX` paths too long for `sun_path` can be named
/// `/proc/<tracer>/fd/<n>/<name>`; never closed, so a number always names
/// the same directory.
struct ShortDirs(Vec<(Vec<u8>, i32)>);

thread_local! {
    static SHORT_DIRS: std::cell::RefCell<ShortDirs> = const { std::cell::RefCell::new(ShortDirs(Vec::new())) };
}

/// Most directories held open for long socket paths.
const SHORT_DIRS_MAX: usize = 256;

fn tracer_fd_prefix() -> String {
    format!("/proc/{}/fd/", std::process::id())
}

/// A name of at most `sun_path`'s length that the tracee's kernel resolves
/// to the host path `host`: `/proc/<tracer>/fd/<n>/<name>`, `n` the
/// tracer's descriptor of the directory. `ENAMETOOLONG` when even that does
/// not fit.
pub fn short_host_path(host: &[u8]) -> Result<Vec<u8>, Errno> {
    let cut = host
        .iter()
        .rposition(|&c| c == b'/')
        .ok_or(Errno::ENAMETOOLONG)?;
    let (dir, name) = (&host[..cut.max(1)], &host[cut + 1..]);
    let fd = SHORT_DIRS.with(|d| -> Result<i32, Errno> {
        let mut d = d.borrow_mut();
        if let Some((_, fd)) = d.0.iter().find(|(p, _)| p == dir) {
            return Ok(*fd);
        }
        if d.0.len() >= SHORT_DIRS_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let fd = nix::fcntl::open(
            dir,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )?;
        d.0.push((dir.to_vec(), fd));
        Ok(fd)
    })?;
    let mut out = format!("{}{fd}/", tracer_fd_prefix()).into_bytes();
    out.extend_from_slice(name);
    if out.len() >= super::SUN_PATH_MAX {
        log::warn!(
            "unix socket name too long even through a directory descriptor: {}",
            String::from_utf8_lossy(host)
        );
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(out)
}

/// The host path a name made by [`short_host_path`] stands for.
fn long_host_path(name: &[u8]) -> Option<Vec<u8>> {
    let rest = name.strip_prefix(tracer_fd_prefix().as_bytes())?;
    let slash = rest.iter().position(|&c| c == b'/')?;
    let fd: i32 = std::str::from_utf8(&rest[..slash]).ok()?.parse().ok()?;
    SHORT_DIRS.with(|d| {
        let d = d.borrow();
        let (dir, _) = d.0.iter().find(|(_, f)| *f == fd)?;
        Some(crate::fs::normalize_lexical(
            &[&dir[..], &rest[slash..]].concat(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn un(path: &[u8]) -> Vec<u8> {
        let mut v = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(path);
        v.push(0);
        v
    }

    #[test]
    fn unix_addresses_come_back_as_guest_paths() {
        let view = crate::fs::view(b"/srv/root", vec![]);
        assert_eq!(
            guest_sockaddr(&view, &un(b"/srv/root/tmp/s")),
            Some(un(b"/tmp/s"))
        );
        // Outside the view: unnamed.
        assert_eq!(
            guest_sockaddr(&view, &un(b"/run/host.sock")),
            Some((libc::AF_UNIX as u16).to_ne_bytes().to_vec())
        );
        // Relative, abstract, other families: as the kernel said.
        assert_eq!(guest_sockaddr(&view, &un(b"rel.sock")), None);
        assert_eq!(guest_sockaddr(&view, &un(b"\0abstract")), None);
        let mut inet = (libc::AF_INET as u16).to_ne_bytes().to_vec();
        inet.extend_from_slice(&[0, 80, 127, 0, 0, 1]);
        assert_eq!(guest_sockaddr(&view, &inet), None);
    }

    #[test]
    fn restart_values_are_recognised() {
        assert!(restarting(-512) && restarting(-516));
        assert!(!restarting(-(Errno::EINTR as i64)) && !restarting(0));
    }
}
