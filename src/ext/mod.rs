//! Extensions that PRoot options enable: pure logic, no ptrace. The ones
//! that need no host files are in the core (`sproot_core::ext`).
//!
//! * [`kernel_release`]: `-k/--kernel-release`, the `uname` view;
//! * [`fake_id`]: `-0` and `-i uid:gid`, per-process fake credentials;
//! * [`fake_xattr`]: fake root's `trusted.*` and `security.*` attributes;
//! * [`link2symlink`]: `-l/--link2symlink`, hard links as symlinks in
//!   PRoot's on-disk layout;
//! * [`net`]: `-p` (port switch or port map) and `-n/--netcoop`;
//! * [`sysvipc`]: `--sysvipc`, System V IPC emulated for one run.

pub use sproot_core::ext::{fake_id, fake_xattr, kernel_release, net};
pub mod link2symlink;
pub mod sysvipc;
