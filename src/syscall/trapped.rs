//! Syscalls a seccomp filter outside sproot traps: the decisions live in
//! the core ([`sproot_core::trapped`]), shared with the in-process runtime.

pub use sproot_core::trapped::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::sys;

    /// `statx` rebuilt from `newfstatat`'s bytes gives the basic fields
    /// the kernel's own `statx` gives, for a file, a directory and a
    /// character device.
    #[test]
    fn a_statx_made_of_a_stat_has_the_kernels_basic_fields() {
        for path in ["/proc/self/exe", "/", "/dev/null"] {
            let c = std::ffi::CString::new(path).unwrap();
            let mut st = [0u8; STAT_LEN];
            let mut want = [0u8; STATX_LEN];
            // SAFETY: both buffers are large enough for what the kernel
            // writes; the path is NUL-terminated.
            let (r1, r2) = unsafe {
                (
                    libc::syscall(
                        sys::SYS_newfstatat,
                        libc::AT_FDCWD,
                        c.as_ptr(),
                        st.as_mut_ptr(),
                        0,
                    ),
                    libc::syscall(
                        sys::SYS_statx,
                        libc::AT_FDCWD,
                        c.as_ptr(),
                        0,
                        0x7ff,
                        want.as_mut_ptr(),
                    ),
                )
            };
            assert_eq!((r1, r2), (0, 0), "{path}");
            let got = statx_of_stat(&st);
            let at = |b: &[u8], o: usize, n: usize| b[o..o + n].to_vec();
            // mask, blksize, nlink, uid, gid, mode, ino, size, blocks,
            // atime/ctime/mtime seconds and nanoseconds, rdev and dev.
            for (o, n) in [
                (4, 4),
                (16, 4),
                (20, 4),
                (24, 4),
                (28, 2),
                (32, 8),
                (40, 8),
                (48, 8),
                (64, 12),
                (96, 12),
                (112, 12),
                (128, 16),
            ] {
                assert_eq!(
                    at(&got, o, n),
                    at(&want, o, n),
                    "{path}: statx bytes at {o}"
                );
            }
            assert_eq!(u32::from_ne_bytes(got[..4].try_into().unwrap()), 0x7ff);
        }
    }

    /// [`complete`] runs what a trapped call becomes in this process.
    #[test]
    fn completing_in_place_runs_the_equivalent() {
        let raw = |nr: i64, a: [u64; 6]| {
            // SAFETY: the equivalents of the calls below, on valid memory.
            let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
            if r == -1 {
                -i64::from(nix::errno::Errno::last_raw())
            } else {
                r
            }
        };
        assert_eq!(complete(sys::SYS_rseq, [0; 6], raw), -38);
        assert_eq!(complete(sys::SYS_setresuid, [0; 6], raw), -1);
        let dir = std::env::temp_dir().join(format!("sproot-complete-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::symlink("/nonexistent", dir.join("link")).unwrap();
        let link =
            std::ffi::CString::new(dir.join("link").into_os_string().into_encoded_bytes()).unwrap();
        let at = |flags: u64| {
            complete(
                sys::SYS_faccessat2,
                [libc::AT_FDCWD as u64, link.as_ptr() as u64, 0, flags, 0, 0],
                raw,
            )
        };
        // The link's target is missing; the link itself is there.
        assert_eq!((at(0), at(0x100)), (-2, 0));
        let mut stx = [0u8; STATX_LEN];
        let r = complete(
            sys::SYS_statx,
            [
                libc::AT_FDCWD as u64,
                link.as_ptr() as u64,
                0x100,
                0x7ff,
                stx.as_mut_ptr() as u64,
                0,
            ],
            raw,
        );
        assert_eq!(r, 0);
        assert_eq!(
            u16::from_ne_bytes([stx[28], stx[29]]) as u32 & 0o170000,
            0o120000
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
