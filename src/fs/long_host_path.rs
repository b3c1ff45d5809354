//! Host paths of `PATH_MAX` bytes or more, for the tracer: the core's
//! [`sproot_core::fs::long_path`] over the tracer's own syscalls. The
//! path handed to a guest's kernel is `/proc/<tracer>/fd/<n>/<name>`.

use std::cell::RefCell;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::DirEntryExt;

use nix::errno::Errno;
use sproot_core::fs::long_path::{self as core_long, Held, PathOps};

use super::bytes_to_path;
use crate::host::errno_of;

thread_local! {
    static HELD: RefCell<Held> = RefCell::new(Held::default());
}

/// The tracer's own syscalls.
struct TracerOps;

fn core_errno(e: Errno) -> sproot_core::Errno {
    sproot_core::Errno::from_raw(e as i32)
}

impl PathOps for TracerOps {
    fn open_path(&self, path: &[u8], directory: bool) -> Result<i32, sproot_core::Errno> {
        let mut flags = nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC;
        if directory {
            flags |= nix::fcntl::OFlag::O_DIRECTORY;
        }
        nix::fcntl::open(path, flags, nix::sys::stat::Mode::empty()).map_err(core_errno)
    }
    fn close(&self, fd: i32) {
        let _ = nix::unistd::close(fd);
    }
    fn readlink(&self, path: &[u8]) -> Result<Vec<u8>, sproot_core::Errno> {
        nix::fcntl::readlink(path)
            .map(|t| t.into_vec())
            .map_err(core_errno)
    }
    fn dev_ino(&self, path: &[u8], follow: bool) -> Result<(u64, u64), sproot_core::Errno> {
        let st = if follow {
            nix::sys::stat::stat(path)
        } else {
            nix::sys::stat::lstat(path)
        };
        st.map(|st| (st.st_dev, st.st_ino)).map_err(core_errno)
    }
    fn entries(&self, path: &[u8]) -> Result<Vec<(Vec<u8>, u64)>, sproot_core::Errno> {
        Ok(std::fs::read_dir(bytes_to_path(path.to_vec()))
            .map_err(|e| core_errno(errno_of(&e)))?
            .filter_map(Result::ok)
            .map(|e| (e.file_name().into_vec(), e.ino()))
            .collect())
    }
    fn fd_for_kernel(&self, fd: i32) -> Vec<u8> {
        format!("/proc/{}/fd/{fd}", std::process::id()).into_bytes()
    }
}

fn nix_errno(e: sproot_core::Errno) -> Errno {
    Errno::from_raw(e.raw())
}

/// Run `f` on a name of host path `host` that the tracer's kernel accepts:
/// `host` itself when short enough.
pub(crate) fn with_short<T>(
    host: &[u8],
    f: impl FnOnce(&[u8]) -> Result<T, Errno>,
) -> Result<T, Errno> {
    core_long::with_short(&TracerOps, host, |p| Ok(f(p))).map_err(nix_errno)?
}

/// A name of host path `host` for the guest's kernel: itself when shorter
/// than `PATH_MAX`, else through a directory the tracer holds.
pub fn for_kernel(host: Vec<u8>) -> Result<Vec<u8>, Errno> {
    HELD.with(|h| core_long::for_kernel(&TracerOps, &mut h.borrow_mut(), host))
        .map_err(nix_errno)
}

/// Read a `/proc/<pid>/{cwd,fd/<n>}` link (a short host path), whatever
/// the length of its target when it is a directory.
pub fn read_magic(link: &[u8]) -> Result<Vec<u8>, Errno> {
    core_long::read_magic(&TracerOps, link).map_err(nix_errno)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sproot_core::fs::PATH_MAX;
    use std::fs::File;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;

    fn under(dir: &File, rest: &[u8]) -> Vec<u8> {
        let mut p = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
        p.extend_from_slice(rest);
        p
    }

    #[test]
    fn long_paths_are_reached_and_named_in_pieces() {
        let base = std::env::temp_dir().join(format!("sproot-long-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let comp = "d".repeat(200);
        let mut deep = base.clone();
        std::fs::create_dir_all(&base).unwrap();
        let mut file = File::open(&base).unwrap();
        // Build past PATH_MAX relative to the last directory.
        while deep.as_os_str().len() < PATH_MAX + 300 {
            let p = under(&file, comp.as_bytes());
            std::fs::create_dir(bytes_to_path(p.clone())).unwrap();
            file = File::open(bytes_to_path(p)).unwrap();
            deep.push(&comp);
        }
        let deep_b = deep.as_os_str().as_bytes().to_vec();
        assert!(nix::sys::stat::lstat(deep_b.as_slice()).is_err());
        let st = with_short(&deep_b, nix::sys::stat::lstat).unwrap();
        assert_eq!(st.st_mode & libc::S_IFMT, libc::S_IFDIR);
        let k = for_kernel(deep_b.clone()).unwrap();
        assert!(k.len() < 300);
        assert!(nix::sys::stat::stat(k.as_slice()).is_ok());
        let link = format!("/proc/self/fd/{}", file.as_raw_fd()).into_bytes();
        assert_eq!(read_magic(&link).unwrap(), deep_b);
        // Clean up from the bottom.
        let mut dir = deep_b;
        while dir.len() > base.as_os_str().len() {
            with_short(&dir, |p| {
                nix::unistd::unlinkat(None, p, nix::unistd::UnlinkatFlags::RemoveDir)
            })
            .unwrap();
            let cut = dir.iter().rposition(|&c| c == b'/').unwrap();
            dir.truncate(cut);
        }
        std::fs::remove_dir_all(&base).unwrap();
    }
}
