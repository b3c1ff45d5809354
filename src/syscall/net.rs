//! The ptrace backend's part of socket calls (the addresses are the core's,
//! `sproot_core::handler::net`): `-n`'s binds made by the tracer through a
//! duplicate of the guest's socket, and the directories it holds open so
//! that `AF_UNIX` paths too long for `sun_path` can be named.

use super::Ctx;
use nix::errno::Errno;
use sproot_core::handler::net::SUN_PATH_MAX;

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
    if out.len() >= SUN_PATH_MAX {
        log::warn!(
            "unix socket name too long even through a directory descriptor: {}",
            String::from_utf8_lossy(host)
        );
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(out)
}

/// The host path a name made by [`short_host_path`] stands for.
pub fn long_host_path(name: &[u8]) -> Option<Vec<u8>> {
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

/// `-n`: bind an inet socket for the guest, from the tracer (through a
/// duplicate of its descriptor): at the port asked for (after `-p`'s rules),
/// or at a free one when that one is in use, remembered so that connections
/// to the port asked for reach it. `None`: not an inet address, or the
/// kernel cannot lend the descriptor (before Linux 5.6): handled as usual.
pub fn netcoop_bind(ctx: &Ctx, fd: i32, addr: u64, len: usize) -> Option<Result<i64, Errno>> {
    let (env, pid) = (ctx.env, ctx.pid);
    use crate::ext::net::{inet_port, set_inet_port};
    use std::os::fd::AsFd;
    if addr == 0 || len > 128 {
        return None;
    }
    let mut buf = vec![0u8; len];
    ctx.read(addr, &mut buf).ok()?;
    let asked = env.ext.ports.translate(inet_port(&buf)?);
    if asked == 0 {
        return None;
    }
    let sock = match crate::host::pidfd_getfd(ctx.proc.pid(), false, fd) {
        Ok(s) => s,
        Err(Errno::EBADF) => return Some(Err(Errno::EBADF)),
        Err(e) => {
            log::debug!("netcoop: cannot borrow fd {fd} of {pid}: {e}");
            return None;
        }
    };
    set_inet_port(&mut buf, asked);
    Some(match crate::host::bind_raw(sock.as_fd(), &buf) {
        Ok(()) => Ok(0),
        Err(Errno::EADDRINUSE) => {
            set_inet_port(&mut buf, 0);
            crate::host::bind_raw(sock.as_fd(), &buf).and_then(|()| {
                let got = crate::host::sockname_raw(sock.as_fd())?;
                let got = inet_port(&got).ok_or(Errno::EINVAL)?;
                log::info!("netcoop: port {asked} is in use; bound {got} instead");
                env.shared.port_moved(asked, got);
                Ok(0)
            })
        }
        Err(e) => Err(e),
    })
}
