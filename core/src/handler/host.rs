//! The host operations the core's handlers perform, beyond the file-system
//! view's own ([`HostFs`]): a backend provides them with its syscalls (the
//! tracer's, or a guest's own from inside it).

use crate::Errno;
use crate::fs::HostFs;
use crate::prelude::*;

/// What the handlers read of a file's `stat`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileMeta {
    pub dev: u64,
    pub ino: u64,
    /// `st_mode`: the type and permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

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
    // The operations below have defaults for a host that does not do them
    // (`ENOSYS`; nothing owned, no duplicates, no group): the handlers
    // that need them then leave the call to the kernel or fail it.

    /// The owner, mode and identity of `path` (`stat`, or `lstat` when not
    /// `follow`).
    fn meta(&self, _path: &[u8], _follow: bool) -> Result<FileMeta, Errno> {
        Err(Errno::ENOSYS)
    }
    /// Set the permission bits of `path` (`fchmodat`, with
    /// `AT_SYMLINK_NOFOLLOW` when not `follow`).
    fn chmod(&self, _path: &[u8], _mode: u32, _follow: bool) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }
    /// The real uid of the user running sproot (`u32::MAX`: unknown, no
    /// file is the user's).
    fn uid(&self) -> u32 {
        u32::MAX
    }
    /// `--persist-ownership`: keep `owner` in the file itself (read back by
    /// [`Host::stored_owner`]).
    fn store_owner(&self, _path: &[u8], _owner: (u32, u32), _follow: bool) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }
    /// `-l`: whether `path` (not followed) is a name, the intermediate or
    /// the final file of an emulated hard link.
    fn is_link_group_file(&self, _path: &[u8]) -> bool {
        false
    }
    /// Whether [`Host::dup_guest_fd`] may work (it did not prove
    /// unavailable).
    fn dups_guest_fds(&self) -> bool {
        false
    }
    /// A duplicate, on the host's side, of fd `fd` of thread `tid` (the
    /// same open file: it shares the position); `thread`: `tid` is not its
    /// process's leader. `EBADF`: the fd is not open.
    fn dup_guest_fd(&self, _tid: i32, _thread: bool, _fd: i32) -> Result<i32, Errno> {
        Err(Errno::ENOSYS)
    }
    /// Whether the directory open as `dup` is read from its start.
    fn dir_at_start(&self, _dup: i32) -> bool {
        false
    }
    /// `getdents64` on `dup`: the bytes of entries read into `buf`.
    fn getdents(&self, _dup: i32, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::ENOSYS)
    }
    /// Close a duplicate from [`Host::dup_guest_fd`].
    fn close_dup(&self, _dup: i32) {}
    /// `-l`: emulate `link(old, new)` in the layout of emulated hard links
    /// (host paths, `old` not followed), its intermediate and final files
    /// in `l2s_dir` (`None`: next to the file). On error nothing changed.
    fn link_name(&self, _old: &[u8], _new: &[u8], _l2s_dir: Option<&[u8]>) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }
    /// `-l`: remove the name `path` (not followed), lowering its group's
    /// link count.
    fn unlink_name(&self, _path: &[u8]) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }
    /// `-l`: `renameat2(old, new, flags)` where either is a name of an
    /// emulated hard link (a name replaced leaves its group).
    fn rename_names(&self, _old: &[u8], _new: &[u8], _flags: u32) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }
    /// `-n`: `bind(fd, addr)` on process `pid`'s socket `fd` (`ENOSYS`:
    /// it cannot be reached; `EBADF`: not open).
    fn bind_guest_fd(&self, _pid: i32, _fd: i32, _addr: &[u8]) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }
    /// `-n`: `getsockname` of process `pid`'s socket `fd`.
    fn guest_sockname(&self, _pid: i32, _fd: i32) -> Result<Vec<u8>, Errno> {
        Err(Errno::ENOSYS)
    }
    /// The host's `struct utsname` (`uname`), six fields of 65 bytes.
    fn uname(&self) -> Result<[u8; crate::ext::kernel_release::UTSNAME_LEN], Errno> {
        Err(Errno::ENOSYS)
    }
    /// Give a file with no name its first, real one through its `/proc`
    /// magic link `magic` (`linkat` with `AT_SYMLINK_FOLLOW`).
    fn link_unnamed(&self, _magic: &[u8], _new: &[u8]) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }
}
