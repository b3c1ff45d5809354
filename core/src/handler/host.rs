//! The host operations the core's handlers perform, beyond the file-system
//! view's own ([`HostFs`]): a backend provides them with its syscalls (the
//! tracer's, or a guest's own from inside it).

use crate::Errno;
use crate::fs::HostFs;
use crate::prelude::*;

pub trait Host: HostFs {
    /// `-l`: the final file the name `path` of an emulated hard link stands
    /// for (`None`: not such a name).
    fn link_final_file(&self, path: &[u8]) -> Option<Vec<u8>>;
    /// The link count of `path`, symlinks followed (a removed directory
    /// has none).
    fn nlink(&self, path: &[u8]) -> Result<u64, Errno>;
    /// The whole content of the host file `path`.
    fn read_file(&self, path: &[u8]) -> Result<Vec<u8>, Errno>;
    /// A file holding `text`, for the guest to open in place of its
    /// `/proc` file `guest`: the path to open it by, and the handle to
    /// give back to [`Host::close_snapshot`] once the guest has opened it.
    fn snapshot(&self, text: &[u8], guest: &[u8]) -> Result<(Vec<u8>, i32), Errno>;
    /// Give back a snapshot's handle.
    fn close_snapshot(&self, handle: i32);
    /// The kernel's `struct stat` of `path` (`fstatat`), as it lays it out.
    fn stat(&self, path: &[u8], follow: bool) -> Result<Vec<u8>, Errno>;
    /// The kernel's `struct statx` of `path` (`statx(AT_FDCWD, ...)`).
    fn statx(&self, path: &[u8], flags: u32, mask: u32) -> Result<Vec<u8>, Errno>;
    /// `--persist-ownership`: the owner kept in the file itself.
    fn stored_owner(&self, path: &[u8]) -> Option<(u32, u32)>;
    /// `-l`: the link count of an emulated hard link's final file.
    fn link_count(&self, path: &[u8]) -> Option<u64>;
    /// A name no longer than `sun_path` for the host path `path` of a
    /// socket (`ENAMETOOLONG` when there is none).
    fn short_socket_path(&self, path: &[u8]) -> Result<Vec<u8>, Errno>;
    /// The host path a name from [`Host::short_socket_path`] stands for
    /// (`None`: not such a name).
    fn long_socket_path(&self, name: &[u8]) -> Option<Vec<u8>>;
    /// Whether fd `fd` of thread `tid` was opened `O_PATH` (`EBADF`: it is
    /// not open).
    fn fd_is_o_path(&self, tid: i32, fd: i32) -> Result<bool, Errno>;
    /// The names of `path`'s extended attributes (`listxattr`, or
    /// `llistxattr` when not `follow`), NUL-separated.
    fn listxattr(&self, path: &[u8], follow: bool) -> Result<Vec<u8>, Errno>;
}
