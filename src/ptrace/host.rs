//! Host syscalls the tracer makes on a guest's behalf that have no safe
//! wrapper in `nix`, and the byte view of the plain C structs it copies into
//! a tracee. The `unsafe` they need lives here.

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
            crate::arch::sys::SYS_renameat2,
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            flags,
        )
    };
    Errno::result(rc).map(drop)
}
