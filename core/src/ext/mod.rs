//! Extensions that PRoot options enable, as pure logic:
//!
//! * [`kernel_release`]: `-k/--kernel-release`, the `uname` view;
//! * [`fake_id`]: `-0` and `-i uid:gid`, per-process fake credentials;
//! * [`fake_xattr`]: fake root's `trusted.*` and `security.*` attributes;
//! * [`link2symlink`]: the names of `-l`'s on-disk layout;
//! * [`net`]: `-p` (port switch or port map) and `-n/--netcoop`.

pub mod fake_id;
pub mod fake_xattr;
pub mod kernel_release;
pub mod link2symlink;
pub mod net;
