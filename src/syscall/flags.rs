//! The `EINVAL` checks the kernel makes on a path syscall's flags (and
//! modes) before it looks at the path. When sproot fails to translate or
//! resolve a path, the guest must still get `EINVAL` for bad flags, as the
//! kernel would have answered first.

use crate::arch::sys;

const AT_SYMLINK_NOFOLLOW: u64 = libc::AT_SYMLINK_NOFOLLOW as u64;
const AT_SYMLINK_FOLLOW: u64 = libc::AT_SYMLINK_FOLLOW as u64;
const AT_EMPTY_PATH: u64 = libc::AT_EMPTY_PATH as u64;
const AT_NO_AUTOMOUNT: u64 = libc::AT_NO_AUTOMOUNT as u64;
const AT_REMOVEDIR: u64 = libc::AT_REMOVEDIR as u64;
const AT_EACCESS: u64 = libc::AT_EACCESS as u64;
const AT_STATX_SYNC_TYPE: u64 = libc::AT_STATX_SYNC_TYPE as u64;
const STATX_RESERVED: u64 = 0x8000_0000;
const STAT_FLAGS: u64 = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE;

/// Whether syscall `nr` with arguments `a` has flags (or a mode) the kernel
/// refuses with `EINVAL` before any path lookup.
pub fn invalid_before_lookup(nr: i64, a: [u64; 6]) -> bool {
    let flags32 = |i: usize| a[i] & 0xffff_ffff;
    match nr {
        sys::SYS_access | sys::SYS_faccessat => {
            let mode = if nr == sys::SYS_access { a[1] } else { a[2] };
            mode & 0xffff_ffff & !0o7 != 0
        }
        sys::SYS_faccessat2 => {
            flags32(2) & !0o7 != 0
                || flags32(3) & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0
        }
        sys::SYS_newfstatat => flags32(3) & !STAT_FLAGS != 0,
        sys::SYS_statx => {
            let flags = flags32(2);
            flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
                || flags32(3) & STATX_RESERVED != 0
                || flags & !STAT_FLAGS != 0
        }
        sys::SYS_fchownat => flags32(4) & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0,
        sys::SYS_fchmodat2 | sys::SYS_utimensat => {
            flags32(3) & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0
        }
        sys::SYS_linkat => flags32(4) & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0,
        sys::SYS_unlinkat => flags32(2) & !AT_REMOVEDIR != 0,
        sys::SYS_renameat2 => {
            let f = flags32(4);
            let (noreplace, exchange, whiteout) = (
                libc::RENAME_NOREPLACE as u64,
                libc::RENAME_EXCHANGE as u64,
                libc::RENAME_WHITEOUT as u64,
            );
            f & !(noreplace | exchange | whiteout) != 0
                || (f & (noreplace | whiteout) != 0 && f & exchange != 0)
        }
        sys::SYS_setxattr | sys::SYS_lsetxattr => flags32(4) & !3 != 0,
        _ => false,
    }
}

/// [`invalid_before_lookup`] on a tracee's registers.
pub fn invalid(regs: &crate::arch::Regs) -> bool {
    invalid_before_lookup(regs.sysno(), regs.args())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[(usize, u64)]) -> [u64; 6] {
        let mut a = [0u64; 6];
        for &(i, x) in v {
            a[i] = x;
        }
        a
    }

    #[test]
    fn bad_modes_and_flags_are_invalid() {
        assert!(invalid_before_lookup(sys::SYS_access, args(&[(1, 0x10)])));
        assert!(!invalid_before_lookup(sys::SYS_access, args(&[(1, 7)])));
        assert!(invalid_before_lookup(sys::SYS_faccessat2, args(&[(3, 1)])));
        assert!(!invalid_before_lookup(
            sys::SYS_faccessat2,
            args(&[(2, 4), (3, AT_EACCESS | AT_EMPTY_PATH)])
        ));
        assert!(invalid_before_lookup(sys::SYS_newfstatat, args(&[(3, 1)])));
        assert!(!invalid_before_lookup(
            sys::SYS_newfstatat,
            args(&[(3, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)])
        ));
        assert!(invalid_before_lookup(sys::SYS_statx, args(&[(2, 0x6000)])));
        assert!(invalid_before_lookup(
            sys::SYS_statx,
            args(&[(3, STATX_RESERVED)])
        ));
        assert!(!invalid_before_lookup(
            sys::SYS_statx,
            args(&[(2, 0x2000), (3, 0xfff)])
        ));
        assert!(invalid_before_lookup(sys::SYS_fchownat, args(&[(4, 1)])));
        assert!(invalid_before_lookup(sys::SYS_linkat, args(&[(4, 0x100)])));
        assert!(!invalid_before_lookup(sys::SYS_linkat, args(&[(4, 0x400)])));
        assert!(invalid_before_lookup(sys::SYS_unlinkat, args(&[(2, 1)])));
        assert!(invalid_before_lookup(sys::SYS_renameat2, args(&[(4, 3)])));
        assert!(invalid_before_lookup(sys::SYS_renameat2, args(&[(4, 8)])));
        assert!(!invalid_before_lookup(sys::SYS_renameat2, args(&[(4, 2)])));
        assert!(invalid_before_lookup(sys::SYS_lsetxattr, args(&[(4, 4)])));
        assert!(!invalid_before_lookup(
            sys::SYS_open,
            args(&[(1, u64::MAX)])
        ));
    }

    #[test]
    fn upper_bits_of_32_bit_arguments_are_ignored() {
        assert!(!invalid_before_lookup(
            sys::SYS_unlinkat,
            args(&[(2, 0xffff_ffff_0000_0000)])
        ));
    }
}
