//! The ptrace backend's part of socket calls (the addresses are the core's,
//! `sproot_core::handler::net`): `-n`'s binds made by the tracer through a
//! duplicate of the guest's socket (`Host::bind_guest_fd`), and the directories it holds open so
//! that `AF_UNIX` paths too long for `sun_path` can be named.

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

/// `-n`'s bind on process `pid`'s socket `fd`, through a duplicate
/// (`pidfd_getfd`; `ENOSYS` where the kernel cannot lend it, before
/// Linux 5.6).
pub fn bind_guest_fd(pid: i32, fd: i32, addr: &[u8]) -> Result<(), Errno> {
    use std::os::fd::AsFd;
    let sock = lend(pid, fd)?;
    crate::host::bind_raw(sock.as_fd(), addr)
}

/// `getsockname` of process `pid`'s socket `fd`, through a duplicate.
pub fn guest_sockname(pid: i32, fd: i32) -> Result<Vec<u8>, Errno> {
    use std::os::fd::AsFd;
    let sock = lend(pid, fd)?;
    crate::host::sockname_raw(sock.as_fd())
}

fn lend(pid: i32, fd: i32) -> Result<std::os::fd::OwnedFd, Errno> {
    match crate::host::pidfd_getfd(pid, false, fd) {
        Ok(s) => Ok(s),
        Err(Errno::EBADF) => Err(Errno::EBADF),
        Err(e) => {
            log::debug!("netcoop: cannot borrow fd {fd} of {pid}: {e}");
            Err(Errno::ENOSYS)
        }
    }
}
