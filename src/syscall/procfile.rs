//! Opening a `/proc` file whose contents name host paths (`maps`,
//! `mountinfo`, ...; see [`crate::fs::ProcFile`]): the tracer reads the
//! kernel's text, rewrites it for the guest into a memfd of its own, and the
//! guest's `open` is pointed at that memfd through `/proc/<tracer>/fd/<n>`.
//! The tracer's descriptor is closed at the open's exit. The guest's
//! descriptor reads back (`/proc/self/fd/<n>`) as the `/proc` path it
//! opened.

use super::{Outcome, exit_hook::ExitHook};
use crate::fs::{GuestView, ProcFile};
use nix::errno::Errno;
use std::ffi::CString;
use std::io::Write;
use std::os::fd::{IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// If `host` is a rewritten `/proc` file opened for reading (`flags`),
/// the host path to open instead and the hook that closes the tracer's copy.
pub fn open(view: &GuestView, host: &[u8], flags: u64) -> Option<(Vec<u8>, Outcome)> {
    let file = ProcFile::of_host_path(host)?;
    if flags & libc::O_ACCMODE as u64 != libc::O_RDONLY as u64 {
        return None;
    }
    let text = std::fs::read(std::ffi::OsStr::from_bytes(host)).ok()?;
    let guest = view.to_guest(host).unwrap_or_else(|| host.to_vec());
    let fd = match snapshot(&file.rewrite(view, &text), &guest) {
        Ok(fd) => fd,
        Err(e) => {
            log::warn!(
                "cannot give the guest its view of {:?}: {e}",
                String::from_utf8_lossy(host)
            );
            return None;
        }
    };
    let raw = fd.into_raw_fd();
    let path = format!("/proc/{}/fd/{raw}", std::process::id()).into_bytes();
    Some((
        path,
        Outcome::WithExit {
            rewritten: true,
            hook: ExitHook::CloseFd(raw),
        },
    ))
}

fn snapshot(text: &[u8], guest: &[u8]) -> Result<OwnedFd, Errno> {
    let mut name = crate::fs::SNAPSHOT_NAME.to_vec();
    name.extend_from_slice(guest);
    name.truncate(240);
    let name = CString::new(name).map_err(|_| Errno::EINVAL)?;
    let fd = nix::sys::memfd::memfd_create(&name, nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(text).map_err(|_| Errno::EIO)?;
    Ok(OwnedFd::from(file))
}

/// Close the tracer's copy of a snapshot once the guest has its own.
pub fn close(fd: i32) {
    let _ = nix::unistd::close(fd);
}
