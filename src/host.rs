//! Host syscalls sproot makes on a guest's behalf that have no safe
//! wrapper in `nix` (plain host calls, no ptrace in them), and the byte
//! view of the plain C structs it copies into a guest. The `unsafe` they
//! need lives here.

use crate::arch::sys;
use nix::errno::Errno;
use std::ffi::{CStr, CString};

/// `fstatat(AT_FDCWD, path, flags)`.
pub fn stat(path: &CStr, flags: i32) -> Result<libc::stat, Errno> {
    // SAFETY: a zeroed `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `st` a valid out-pointer.
    Errno::result(unsafe { libc::fstatat(libc::AT_FDCWD, path.as_ptr(), &mut st, flags) })?;
    Ok(st)
}

/// `statx(AT_FDCWD, path, flags, mask)`.
pub fn statx(path: &CStr, flags: i32, mask: u32) -> Result<libc::statx, Errno> {
    // SAFETY: a zeroed `statx` is a valid value of this plain C struct.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `stx` a valid out-pointer.
    Errno::result(unsafe { libc::statx(libc::AT_FDCWD, path.as_ptr(), flags, mask, &mut stx) })?;
    Ok(stx)
}

/// The host's `struct utsname` as the kernel lays it out: six fields of
/// 65 bytes.
pub fn uname_bytes() -> Result<[u8; 390], Errno> {
    // SAFETY: a zeroed utsname is a valid value of this plain C struct.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer.
    Errno::result(unsafe { libc::uname(&mut u) })?;
    let mut out = [0u8; 390];
    out.copy_from_slice(as_bytes(&u).get(..390).ok_or(Errno::EINVAL)?);
    Ok(out)
}

/// Marker for the plain C structs whose bytes are copied into a tracee.
///
/// # Safety
/// Implementors have no padding whose contents matter and no pointers.
pub unsafe trait Plain: Copy {}
// SAFETY: plain C structs of integers.
unsafe impl Plain for libc::stat {}
// SAFETY: plain C structs of integers.
unsafe impl Plain for libc::statx {}
// SAFETY: six arrays of c_char.
unsafe impl Plain for libc::utsname {}

/// The bytes of a plain C struct.
pub fn as_bytes<T: Plain>(v: &T) -> &[u8] {
    // SAFETY: `T: Plain` is a C struct of integers; reading its bytes
    // (padding included, which the kernel's own copies expose too) is fine.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
}

/// An extended attribute of `path` (following symlinks), if it is set.
pub fn getxattr(path: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let n = std::ffi::CString::new(name).ok()?;
    let mut buf = [0u8; 64];
    // SAFETY: NUL-terminated path and name, and a buffer of the given size.
    let len = unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (len >= 0).then(|| buf[..len as usize].to_vec())
}

/// Set an extended attribute of `path`; `follow` as for stat/lstat.
pub fn setxattr(
    path: &std::path::Path,
    name: &str,
    value: &[u8],
    follow: bool,
) -> Result<(), Errno> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    let n = std::ffi::CString::new(name).map_err(|_| Errno::EINVAL)?;
    let f = if follow {
        libc::setxattr
    } else {
        libc::lsetxattr
    };
    // SAFETY: NUL-terminated path and name, and a value buffer of its length.
    Errno::result(unsafe {
        f(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })?;
    Ok(())
}

/// The names of the extended attributes of `path` (each NUL-terminated),
/// as `listxattr` (`follow`) or `llistxattr` return them.
pub fn listxattr(path: &CStr, follow: bool) -> Result<Vec<u8>, Errno> {
    let f = if follow {
        libc::listxattr
    } else {
        libc::llistxattr
    };
    loop {
        // SAFETY: NUL-terminated path; a NULL buffer of size 0 asks the size.
        let want = Errno::result(unsafe { f(path.as_ptr(), std::ptr::null_mut(), 0) })?;
        let mut buf = vec![0u8; want as usize];
        // SAFETY: NUL-terminated path and a buffer of the given size.
        match Errno::result(unsafe { f(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) }) {
            Ok(n) => {
                buf.truncate(n as usize);
                return Ok(buf);
            }
            // Grew in between: ask again.
            Err(Errno::ERANGE) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A duplicate, in the tracer, of fd `fd` of process `pid` (the same open
/// file description: it shares the file position). `thread`: `pid` is a
/// thread id, not a thread-group leader (needs `PIDFD_THREAD`, Linux 6.9).
pub fn pidfd_getfd(pid: i32, thread: bool, fd: i32) -> Result<std::os::fd::OwnedFd, Errno> {
    use std::os::fd::{FromRawFd, OwnedFd};
    const PIDFD_THREAD: libc::c_long = libc::O_EXCL as libc::c_long;
    let flags = if thread { PIDFD_THREAD } else { 0 };
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let pidfd = Errno::result(unsafe { libc::syscall(sys::SYS_pidfd_open, pid, flags) })?;
    // SAFETY: `pidfd` was just returned to us and is owned by nothing else.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as i32) };
    use std::os::fd::AsRawFd;
    // SAFETY: pidfd_getfd takes a pidfd, an fd number and flags (0).
    let dup =
        Errno::result(unsafe { libc::syscall(sys::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) })?;
    // SAFETY: `dup` is a new fd of this process that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(dup as i32) })
}

/// `getdents64(fd, buf)`: the number of bytes of entries read.
pub fn getdents64(fd: std::os::fd::BorrowedFd, buf: &mut [u8]) -> Result<usize, Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: `buf` is a valid writable buffer of its length.
    let n = Errno::result(unsafe {
        libc::syscall(
            sys::SYS_getdents64,
            fd.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len(),
        )
    })?;
    Ok(n as usize)
}

/// `bind(fd, addr)` with the raw bytes of a `sockaddr`.
pub fn bind_raw(fd: std::os::fd::BorrowedFd, addr: &[u8]) -> Result<(), Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: `addr` is a readable buffer of the given length.
    Errno::result(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            addr.as_ptr().cast(),
            addr.len() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// `getsockname(fd)` as raw `sockaddr` bytes.
pub fn sockname_raw(fd: std::os::fd::BorrowedFd) -> Result<Vec<u8>, Errno> {
    use std::os::fd::AsRawFd;
    let mut buf = [0u8; 128];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `buf` is writable for `len` bytes and `len` a valid in/out pointer.
    Errno::result(unsafe { libc::getsockname(fd.as_raw_fd(), buf.as_mut_ptr().cast(), &mut len) })?;
    Ok(buf[..(len as usize).min(buf.len())].to_vec())
}

/// `renameat2(AT_FDCWD, from, AT_FDCWD, to, flags)` through the raw
/// syscall: musl (the static builds) has no `renameat2` wrapper.
pub fn renameat2(from: &std::path::Path, to: &std::path::Path, flags: u32) -> Result<(), Errno> {
    use std::os::unix::ffi::OsStrExt;
    let cstr =
        |p: &std::path::Path| CString::new(p.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL);
    let (from, to) = (cstr(from)?, cstr(to)?);
    // SAFETY: both paths are live NUL-terminated strings; the kernel only
    // reads them.
    let rc = unsafe {
        libc::syscall(
            sys::SYS_renameat2,
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            flags,
        )
    };
    Errno::result(rc).map(drop)
}

/// An anonymous in-memory file (`memfd_create`) holding `data`: a host file
/// a tracee can open as `/proc/<sproot>/fd/<n>`.
pub fn memory_file(name: &std::ffi::CStr, data: &[u8]) -> Result<std::os::fd::OwnedFd, Errno> {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    // SAFETY: `name` is a valid NUL-terminated string; flags are plain bits.
    let fd = Errno::result(unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) })?;
    // SAFETY: a new descriptor this process now owns.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    std::fs::File::from(fd.try_clone().map_err(|_| Errno::EMFILE)?)
        .write_all(data)
        .map_err(|e| errno_of(&e))?;
    Ok(fd)
}

/// The errno of a failed `std` I/O call (`EIO` when it has none).
pub fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}
