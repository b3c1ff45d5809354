//! Fake root's extended attributes in the privileged namespaces.
//!
//! Real root may set `trusted.*` and `security.*` attributes on any file,
//! symlinks included (`cp -a`, `rsync -X`, `setcap` do); the unprivileged
//! user sproot runs as gets `EPERM`. Under `-0` those two namespaces are kept
//! here, per file (device, inode), for the run; every other namespace
//! (`user.*`, `system.*`) is the kernel's, with the kernel's answers (a
//! `user.*` attribute on a symlink is refused with `EPERM` for root too).
//!
//! The checks follow `fs/xattr.c`: flags, then the name, then the value
//! size; `XATTR_CREATE`/`XATTR_REPLACE` against what is stored; a read with
//! size 0 returns the length, a smaller buffer gives `ERANGE`.

use crate::Errno;
#[allow(unused_imports)]
use crate::prelude::*;
use alloc::collections::BTreeMap;

/// `XATTR_NAME_MAX`.
pub const NAME_MAX: usize = 255;
/// `XATTR_SIZE_MAX`.
pub const SIZE_MAX: usize = 65536;
/// `XATTR_LIST_MAX`.
pub const LIST_MAX: usize = 65536;

const XATTR_CREATE: u32 = 1;
const XATTR_REPLACE: u32 = 2;

/// Whether sproot keeps attribute `name` itself under fake root.
pub fn is_privileged(name: &[u8]) -> bool {
    name.starts_with(b"trusted.") || name.starts_with(b"security.")
}

/// The kernel's checks of a `setxattr` call's flags, name and value size,
/// in its order.
pub fn check_set(flags: u32, name: &[u8], size: usize) -> Result<(), Errno> {
    if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    check_name(name)?;
    if size > SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    Ok(())
}

/// The kernel's check of an attribute name (`import_xattr_name`).
pub fn check_name(name: &[u8]) -> Result<(), Errno> {
    if name.is_empty() || name.len() > NAME_MAX {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

/// What a read of `len` bytes into a buffer of `size` returns: `Ok(true)`
/// copy, `Ok(false)` only report the length (`size` 0), or `ERANGE`.
pub fn fits(len: usize, size: usize) -> Result<bool, Errno> {
    if size == 0 {
        Ok(false)
    } else if len > size {
        Err(Errno::ERANGE)
    } else {
        Ok(true)
    }
}

/// A file, as the kernel names it: (device, inode).
pub type FileKey = (u64, u64);

/// The stored attributes of every file.
#[derive(Default, Debug)]
pub struct FakeXattrs {
    files: BTreeMap<FileKey, BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl FakeXattrs {
    /// `setxattr` with `XATTR_CREATE`/`XATTR_REPLACE` semantics (flags
    /// already checked by [`check_set`]).
    pub fn set(
        &mut self,
        file: FileKey,
        name: &[u8],
        value: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        let attrs = self.files.entry(file).or_default();
        let exists = attrs.contains_key(name);
        if flags & XATTR_CREATE != 0 && exists {
            return Err(Errno::EEXIST);
        }
        if flags & XATTR_REPLACE != 0 && !exists {
            if attrs.is_empty() {
                self.files.remove(&file);
            }
            return Err(Errno::ENODATA);
        }
        attrs.insert(name.to_vec(), value.to_vec());
        Ok(())
    }

    pub fn get(&self, file: FileKey, name: &[u8]) -> Result<&[u8], Errno> {
        self.files
            .get(&file)
            .and_then(|a| a.get(name))
            .map(Vec::as_slice)
            .ok_or(Errno::ENODATA)
    }

    pub fn remove(&mut self, file: FileKey, name: &[u8]) -> Result<(), Errno> {
        let attrs = self.files.get_mut(&file).ok_or(Errno::ENODATA)?;
        attrs.remove(name).ok_or(Errno::ENODATA)?;
        if attrs.is_empty() {
            self.files.remove(&file);
        }
        Ok(())
    }

    /// Whether `file` has stored attributes.
    pub fn has_any(&self, file: FileKey) -> bool {
        self.files.contains_key(&file)
    }

    /// The kernel's `listxattr` list (names, each NUL-terminated) with the
    /// stored names of `file` appended (each name once).
    pub fn list(&self, file: FileKey, kernel: &[u8]) -> Result<Vec<u8>, Errno> {
        let attrs = self.files.get(&file);
        let mut out = Vec::with_capacity(kernel.len());
        for name in kernel.split(|&b| b == 0).filter(|n| !n.is_empty()) {
            if !attrs.is_some_and(|a| a.contains_key(name)) {
                out.extend_from_slice(name);
                out.push(0);
            }
        }
        for name in attrs.into_iter().flat_map(BTreeMap::keys) {
            out.extend_from_slice(name);
            out.push(0);
        }
        if out.len() > LIST_MAX {
            return Err(Errno::E2BIG);
        }
        Ok(out)
    }

    /// Forget a file whose last name is gone (its inode may be reused).
    pub fn forget(&mut self, file: FileKey) {
        self.files.remove(&file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: FileKey = (1, 2);

    #[test]
    fn only_trusted_and_security_are_kept_here() {
        assert!(is_privileged(b"trusted.overlay.opaque"));
        assert!(is_privileged(b"security.capability"));
        assert!(!is_privileged(b"user.mime_type"));
        assert!(!is_privileged(b"system.posix_acl_access"));
        assert!(!is_privileged(b"trusted"));
    }

    #[test]
    fn checks_come_in_the_kernel_s_order() {
        assert_eq!(check_set(0x10, b"", 0), Err(Errno::EINVAL));
        assert_eq!(check_set(0, b"", 0), Err(Errno::ERANGE));
        assert_eq!(check_set(0, &[b'a'; 256], 0), Err(Errno::ERANGE));
        assert_eq!(check_set(0, b"trusted.a", SIZE_MAX + 1), Err(Errno::E2BIG));
        assert_eq!(check_set(3, b"trusted.a", SIZE_MAX), Ok(()));
    }

    #[test]
    fn create_and_replace_follow_setxattr() {
        let mut x = FakeXattrs::default();
        assert_eq!(
            x.set(F, b"trusted.a", b"v", XATTR_REPLACE),
            Err(Errno::ENODATA)
        );
        assert!(!x.has_any(F));
        x.set(F, b"trusted.a", b"v", XATTR_CREATE).unwrap();
        assert_eq!(
            x.set(F, b"trusted.a", b"w", XATTR_CREATE),
            Err(Errno::EEXIST)
        );
        x.set(F, b"trusted.a", b"w", XATTR_REPLACE).unwrap();
        assert_eq!(x.get(F, b"trusted.a"), Ok(&b"w"[..]));
        assert_eq!(x.get(F, b"trusted.b"), Err(Errno::ENODATA));
        assert_eq!(x.get((9, 9), b"trusted.a"), Err(Errno::ENODATA));
    }

    #[test]
    fn list_appends_stored_names_and_remove_forgets() {
        let mut x = FakeXattrs::default();
        x.set(F, b"trusted.b", b"", 0).unwrap();
        x.set(F, b"security.c", b"1", 0).unwrap();
        assert_eq!(
            x.list(F, b"user.a\0").unwrap(),
            b"user.a\0security.c\0trusted.b\0"
        );
        // A name the file system has too (set on the host) is listed once.
        assert_eq!(
            x.list(F, b"security.c\0user.a\0").unwrap(),
            b"user.a\0security.c\0trusted.b\0"
        );
        x.remove(F, b"trusted.b").unwrap();
        assert_eq!(x.remove(F, b"trusted.b"), Err(Errno::ENODATA));
        x.remove(F, b"security.c").unwrap();
        assert!(!x.has_any(F));
        assert_eq!(x.list(F, b"").unwrap(), b"");
    }

    #[test]
    fn reads_report_length_or_erange() {
        assert_eq!(fits(5, 0), Ok(false));
        assert_eq!(fits(5, 4), Err(Errno::ERANGE));
        assert_eq!(fits(5, 5), Ok(true));
        assert_eq!(fits(0, 1), Ok(true));
    }
}
