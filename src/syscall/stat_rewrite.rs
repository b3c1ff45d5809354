//! Stat results rewritten for the PRoot extensions (`-0`/`-i` owners, `-l`
//! link counts, `-L` symlink sizes): the core's handler
//! (`sproot_core::handler::stat`), run for every stat-family call when the
//! run rewrites stats.

use super::{Ctx, Outcome};
use nix::errno::Errno;
use sproot_core::handler::stat::{OwnerMap, Rewrites};

/// Stat results rewritten: every stat-family call is emulated.
pub struct StatRewrite;

impl super::extension::Extension for StatRewrite {
    fn name(&self) -> &'static str {
        "stat rewrite"
    }

    fn enter(&self, ctx: &mut Ctx) -> Result<Option<Outcome>, Errno> {
        stat(ctx)
    }
}

/// Emulate a stat-family call if the extensions rewrite stat results.
pub fn stat(ctx: &mut Ctx) -> Result<Option<Outcome>, Errno> {
    let env = ctx.env;
    let rewrites = Rewrites {
        owner: ctx.creds.as_ref().map(|c| OwnerMap {
            real_uid: env.real_ids.0,
            real_gid: env.real_ids.1,
            fake_uid: c.suid,
            fake_gid: c.sgid,
        }),
        persist_ownership: env.ext.persist_ownership,
        link2symlink: env.ext.link2symlink,
        symlink_sizes: env.ext.symlink_sizes,
    };
    match sproot_core::handler::stat::stat(ctx.core(), &rewrites) {
        None => Ok(None),
        Some(r) => Ok(Some(super::outcome_of(r?))),
    }
}
