//! The guest's view of the file system: the core's (`sproot_core::fs`:
//! root, bindings, path translation both ways, `/proc` as a tracee sees
//! it), with this backend's host: the tracer's own `lstat`, `readlink` and
//! `/proc` reads ([`TracerHost`]), and long host paths (`long_path`).

mod long_host_path;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use sproot_core::fs::*;
use sproot_core::handler::FileMeta;

/// The host as the tracer sees it: its own syscalls.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracerHost;

impl HostFs for TracerHost {
    fn lstat_kind(&self, path: &[u8]) -> Result<Kind, sproot_core::Errno> {
        long_host_path::with_short(path, nix::sys::stat::lstat)
            .map(|st| Kind::of_mode(st.st_mode))
            .map_err(Into::into)
    }
    fn stat_kind(&self, path: &[u8]) -> Result<Kind, sproot_core::Errno> {
        nix::sys::stat::stat(path)
            .map(|st| Kind::of_mode(st.st_mode))
            .map_err(Into::into)
    }
    fn lstat_mode_ino(&self, path: &[u8]) -> Result<(u32, u64), sproot_core::Errno> {
        long_host_path::with_short(path, nix::sys::stat::lstat)
            .map(|st| (st.st_mode, st.st_ino))
            .map_err(Into::into)
    }
    fn readlink(&self, path: &[u8]) -> Result<Vec<u8>, sproot_core::Errno> {
        long_host_path::with_short(path, nix::fcntl::readlink)
            .map(OsString::into_vec)
            .map_err(Into::into)
    }
    fn read_magic(&self, link: &[u8]) -> Result<Vec<u8>, sproot_core::Errno> {
        long_host_path::read_magic(link).map_err(Into::into)
    }
    fn for_kernel(&self, path: Vec<u8>) -> Result<Vec<u8>, sproot_core::Errno> {
        long_host_path::for_kernel(path).map_err(Into::into)
    }
    fn process_ids(&self, id: i32) -> Option<(i32, i32)> {
        let text = std::fs::read_to_string(format!("/proc/{id}/status")).ok()?;
        let field = |name: &str| -> Option<i32> {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
        };
        Some((field("Tgid:")?, field("PPid:")?))
    }
}

/// The core handlers' host operations, with the tracer's syscalls.
impl sproot_core::handler::Host for TracerHost {
    fn link_final_file(&self, path: &[u8]) -> Option<Vec<u8>> {
        crate::ext::link2symlink::resolve(path.as_path()).map(|p| p.into_os_string().into_vec())
    }
    fn nlink(&self, path: &[u8]) -> Result<u64, sproot_core::Errno> {
        Ok(nix::sys::stat::stat(path)?.st_nlink as u64)
    }
    fn read_file(&self, path: &[u8]) -> Result<Vec<u8>, sproot_core::Errno> {
        std::fs::read(path.as_path()).map_err(|e| crate::host::errno_of(&e).into())
    }
    /// A memfd of the tracer's, opened by the guest as
    /// `/proc/<tracer>/fd/<n>`; its name tells the guest path it stands for
    /// (`/proc/self/fd/N` of the guest's descriptor reads back as that path).
    fn snapshot(&self, text: &[u8], guest: &[u8]) -> Result<(Vec<u8>, i32), sproot_core::Errno> {
        let mut name = SNAPSHOT_NAME.to_vec();
        name.extend_from_slice(guest);
        name.truncate(240);
        let name = std::ffi::CString::new(name).map_err(|_| nix::errno::Errno::EINVAL)?;
        let fd = std::os::fd::IntoRawFd::into_raw_fd(crate::host::memory_file(&name, text)?);
        let path = format!("/proc/{}/fd/{fd}", std::process::id()).into_bytes();
        Ok((path, fd))
    }
    fn close_snapshot(&self, handle: i32) {
        let _ = nix::unistd::close(handle);
    }
    fn stat(&self, path: &[u8], follow: bool) -> Result<Vec<u8>, sproot_core::Errno> {
        let path = c_path(path)?;
        let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
        let st = crate::host::stat(&path, flags)?;
        Ok(crate::host::as_bytes(&st).to_vec())
    }
    fn statx(&self, path: &[u8], flags: u32, mask: u32) -> Result<Vec<u8>, sproot_core::Errno> {
        let path = c_path(path)?;
        let stx = crate::host::statx(&path, flags as i32, mask)?;
        Ok(crate::host::as_bytes(&stx).to_vec())
    }
    /// Read from the file's `user.sproot.owner` (`uid:gid`).
    fn stored_owner(&self, path: &[u8]) -> Option<(u32, u32)> {
        let v = crate::host::getxattr(path.as_path(), OWNER_XATTR)?;
        let s = std::str::from_utf8(&v).ok()?;
        let (u, g) = s.trim().split_once(':')?;
        Some((u.parse().ok()?, g.parse().ok()?))
    }
    fn link_count(&self, path: &[u8]) -> Option<u64> {
        crate::ext::link2symlink::nlink_of(path.as_path())
    }
    fn short_socket_path(&self, path: &[u8]) -> Result<Vec<u8>, sproot_core::Errno> {
        Ok(crate::syscall::net::short_host_path(path)?)
    }
    fn long_socket_path(&self, name: &[u8]) -> Option<Vec<u8>> {
        crate::syscall::net::long_host_path(name)
    }
    /// Read from `/proc/<tid>/fdinfo/<fd>`'s octal `flags:`.
    fn fd_is_o_path(&self, tid: i32, fd: i32) -> Result<bool, sproot_core::Errno> {
        let info = std::fs::read_to_string(format!("/proc/{tid}/fdinfo/{fd}"))
            .map_err(|_| nix::errno::Errno::EBADF)?;
        let flags = info
            .lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 8).ok())
            .unwrap_or(0);
        Ok(flags & libc::O_PATH as u64 != 0)
    }
    fn listxattr(&self, path: &[u8], follow: bool) -> Result<Vec<u8>, sproot_core::Errno> {
        let path = c_path(path)?;
        Ok(crate::host::listxattr(&path, follow)?)
    }
    fn meta(&self, path: &[u8], follow: bool) -> Result<FileMeta, sproot_core::Errno> {
        let st = if follow {
            nix::sys::stat::stat(path)
        } else {
            nix::sys::stat::lstat(path)
        }?;
        Ok(FileMeta {
            dev: st.st_dev,
            ino: st.st_ino,
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
        })
    }
    fn chmod(&self, path: &[u8], mode: u32, follow: bool) -> Result<(), sproot_core::Errno> {
        use nix::sys::stat::FchmodatFlags;
        let flags = if follow {
            FchmodatFlags::FollowSymlink
        } else {
            FchmodatFlags::NoFollowSymlink
        };
        let mode = nix::sys::stat::Mode::from_bits_truncate(mode);
        Ok(nix::sys::stat::fchmodat(None, path, mode, flags)?)
    }
    fn uid(&self) -> u32 {
        nix::unistd::getuid().as_raw()
    }
    /// In the file's `user.sproot.owner`, as `uid:gid`.
    fn store_owner(
        &self,
        path: &[u8],
        (uid, gid): (u32, u32),
        follow: bool,
    ) -> Result<(), sproot_core::Errno> {
        let value = format!("{uid}:{gid}");
        Ok(crate::host::setxattr(
            path.as_path(),
            OWNER_XATTR,
            value.as_bytes(),
            follow,
        )?)
    }

    fn is_link_group_file(&self, path: &[u8]) -> bool {
        crate::ext::link2symlink::group_of(path.as_path()).is_some()
    }
    fn dups_guest_fds(&self) -> bool {
        PIDFD_GETFD.load(Ordering::Relaxed)
    }
    /// With `pidfd_getfd` (Linux 5.6; 6.9 for a thread that is not its
    /// process's leader).
    fn dup_guest_fd(&self, tid: i32, thread: bool, fd: i32) -> Result<i32, sproot_core::Errno> {
        match crate::host::pidfd_getfd(tid, thread, fd) {
            Ok(dup) => Ok(std::os::fd::IntoRawFd::into_raw_fd(dup)),
            Err(e) => {
                if matches!(e, nix::errno::Errno::ENOSYS | nix::errno::Errno::EPERM) && !thread {
                    PIDFD_GETFD.store(false, Ordering::Relaxed);
                }
                Err(e.into())
            }
        }
    }
    fn dir_at_start(&self, dup: i32) -> bool {
        nix::unistd::lseek(dup, 0, nix::unistd::Whence::SeekCur) == Ok(0)
    }
    fn getdents(&self, dup: i32, buf: &mut [u8]) -> Result<usize, sproot_core::Errno> {
        // SAFETY: `dup` is a descriptor of this process, open until
        // `close_dup`.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(dup) };
        Ok(crate::host::getdents64(fd, buf)?)
    }
    fn close_dup(&self, dup: i32) {
        let _ = nix::unistd::close(dup);
    }
    fn link_name(
        &self,
        old: &[u8],
        new: &[u8],
        l2s_dir: Option<&[u8]>,
    ) -> Result<(), sproot_core::Errno> {
        let l2s_dir = l2s_dir.map(|d| d.as_path());
        Ok(crate::ext::link2symlink::link(
            old.as_path(),
            new.as_path(),
            l2s_dir,
        )?)
    }
    fn unlink_name(&self, path: &[u8]) -> Result<(), sproot_core::Errno> {
        Ok(crate::ext::link2symlink::unlink(path.as_path())?)
    }
    fn rename_names(&self, old: &[u8], new: &[u8], flags: u32) -> Result<(), sproot_core::Errno> {
        Ok(crate::ext::link2symlink::rename(
            old.as_path(),
            new.as_path(),
            flags,
        )?)
    }
    fn bind_guest_fd(&self, pid: i32, fd: i32, addr: &[u8]) -> Result<(), sproot_core::Errno> {
        Ok(crate::syscall::net::bind_guest_fd(pid, fd, addr)?)
    }
    fn guest_sockname(&self, pid: i32, fd: i32) -> Result<Vec<u8>, sproot_core::Errno> {
        Ok(crate::syscall::net::guest_sockname(pid, fd)?)
    }
    fn uname(&self) -> Result<[u8; 390], sproot_core::Errno> {
        Ok(crate::host::uname_bytes()?)
    }
    fn link_unnamed(&self, magic: &[u8], new: &[u8]) -> Result<(), sproot_core::Errno> {
        Ok(nix::unistd::linkat(
            None,
            magic,
            None,
            new,
            nix::fcntl::AtFlags::AT_SYMLINK_FOLLOW,
        )?)
    }
}

/// Cleared once `pidfd_getfd` proved unavailable on this kernel.
static PIDFD_GETFD: AtomicBool = AtomicBool::new(true);

/// The extended attribute `--persist-ownership` keeps owners in.
pub const OWNER_XATTR: &str = "user.sproot.owner";

/// `path` as a C string for the host's calls (`EINVAL` with a NUL inside).
fn c_path(path: &[u8]) -> Result<std::ffi::CString, nix::errno::Errno> {
    std::ffi::CString::new(path).map_err(|_| nix::errno::Errno::EINVAL)
}

/// A view of `root` with `bindings`, looking at the host as the tracer.
pub fn view(root: &[u8], bindings: Vec<Binding>) -> GuestView {
    GuestView::new(Arc::new(TracerHost), root, bindings)
}

/// A [`ProcContext`] for the tracer itself (used at setup time, when no
/// tracee exists yet).
#[derive(Clone, Copy, Debug, Default)]
pub struct TracerProc;

impl ProcContext for TracerProc {
    fn pid(&self) -> i32 {
        nix::unistd::getpid().as_raw()
    }
    fn tid(&self) -> i32 {
        nix::unistd::gettid().as_raw()
    }
    fn exe_host(&self, _pid: i32) -> Option<Vec<u8>> {
        None
    }
}

pub(crate) fn bytes_to_path(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(OsString::from_vec(bytes))
}

/// A host path held as bytes, seen as a [`Path`] (no copy).
pub trait AsHostPath {
    fn as_path(&self) -> &Path;
}

impl AsHostPath for [u8] {
    fn as_path(&self) -> &Path {
        Path::new(std::ffi::OsStr::from_bytes(self))
    }
}

impl AsHostPath for Vec<u8> {
    fn as_path(&self) -> &Path {
        self.as_slice().as_path()
    }
}
