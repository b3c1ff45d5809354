//! Host syscalls the tracer makes on a guest's behalf that have no safe
//! wrapper in `nix`, and the byte view of the plain C structs it copies into
//! a tracee. The `unsafe` they need lives here.

use nix::errno::Errno;
use std::ffi::CStr;

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
