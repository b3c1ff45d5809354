//! `-l/--link2symlink`: `link`, `unlink` and `rename` of emulated hard links
//! (the core's `handler::link2symlink`, on the layout in
//! `ext::link2symlink` through `TracerHost`), as an extension.

use super::{Ctx, Outcome};
use nix::errno::Errno;
use std::os::unix::ffi::OsStrExt;

/// `-l/--link2symlink`.
pub struct Link2Symlink;

impl super::extension::Extension for Link2Symlink {
    fn name(&self) -> &'static str {
        "link2symlink"
    }

    fn enter(&self, ctx: &mut Ctx) -> Result<Option<Outcome>, Errno> {
        let l2s_dir = ctx.env.l2s_dir.map(|d| d.as_os_str().as_bytes());
        let o = sproot_core::handler::link2symlink::enter(ctx.core(), l2s_dir)?;
        Ok(o.map(super::outcome_of))
    }
}
