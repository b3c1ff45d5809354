//! What the guest view asks of the host's file system. The ptrace backend
//! answers with the tracer's own syscalls (`lstat`, `readlink`, `/proc`);
//! a backend inside a guest process would answer with that process's.

use super::Kind;
use crate::Errno;
#[allow(unused_imports)]
use crate::prelude::*;

/// The host operations path translation needs. Paths are host paths, of
/// any length (an implementation reaches paths of `PATH_MAX` or more
/// through their directories).
pub trait HostFs: core::fmt::Debug + Send + Sync {
    /// The type of `path`, a final symlink not followed (`lstat`).
    fn lstat_kind(&self, path: &[u8]) -> Result<Kind, Errno>;
    /// The type of `path`, symlinks followed (`stat`).
    fn stat_kind(&self, path: &[u8]) -> Result<Kind, Errno>;
    /// The mode and inode number of `path`, not followed.
    fn lstat_mode_ino(&self, path: &[u8]) -> Result<(u32, u64), Errno>;
    /// The target of the symlink `path`.
    fn readlink(&self, path: &[u8]) -> Result<Vec<u8>, Errno>;
    /// The target of the `/proc` magic link `link` (`cwd`, `fd/N`), also
    /// when it is longer than the kernel can print.
    fn read_magic(&self, link: &[u8]) -> Result<Vec<u8>, Errno>;
    /// `path` as the kernel takes it in a syscall: unchanged below
    /// `PATH_MAX`, else a shorter path to the same file.
    fn for_kernel(&self, path: Vec<u8>) -> Result<Vec<u8>, Errno>;
    /// The thread group and parent of process (or thread) `id`.
    fn process_ids(&self, id: i32) -> Option<(i32, i32)>;
}
