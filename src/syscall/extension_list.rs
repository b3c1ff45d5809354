//! The PRoot extensions a run uses, as one ordered list: built once from
//! the configuration; adding an extension means one module that
//! implements [`Extension`] and one line in [`Extensions::new`].

use super::exit_hook::ExitHook;
use super::extension::Extension;
use super::{Ctx, Outcome};
use crate::config::Ext;
use nix::errno::Errno;

/// The extensions in use, in the order their entry hooks run.
pub struct Extensions(Vec<Box<dyn Extension>>);

impl Extensions {
    /// The list the configuration asks for: fake ids and `uname` first
    /// (credential calls, root's view of modes, xattrs), then
    /// link2symlink's `link`/`unlink`/`rename`, then rewritten stats, then
    /// filtered listings (also for binding points missing from the rootfs).
    pub fn new(ext: &Ext, view: &crate::fs::GuestView) -> Self {
        let mut list: Vec<Box<dyn Extension>> = Vec::new();
        if ext.fake_id.is_some() || ext.kernel_release.is_some() {
            list.push(Box::new(super::ids::FakeIds));
        }
        if ext.link2symlink {
            list.push(Box::new(super::l2s::Link2Symlink));
        }
        if ext.rewrites_stat() {
            list.push(Box::new(super::stat_rewrite::StatRewrite));
        }
        if ext.hide_proot || ext.link2symlink || view.lists_points() {
            list.push(Box::new(super::dirents::Listings(super::dirents::Filter {
                proot: ext.hide_proot,
                l2s: ext.link2symlink,
                points: view.lists_points(),
            })));
        }
        Extensions(list)
    }

    /// Run the entry hooks in order until one answers.
    pub fn enter(&self, ctx: &mut Ctx) -> Result<Option<Outcome>, Errno> {
        for e in &self.0 {
            if let Some(o) = e.enter(ctx)? {
                return Ok(Some(o));
            }
        }
        Ok(None)
    }

    /// Run every exit hook; whether the registers changed.
    pub fn exit(&self, ctx: &mut Ctx, hook: &ExitHook) -> bool {
        let mut changed = false;
        for e in &self.0 {
            changed |= e.exit(ctx, hook);
        }
        changed
    }

    /// The names of the extensions in use, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|e| e.name()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_follows_the_configuration_in_order() {
        let view = crate::fs::view(b"/", vec![]);
        assert!(Extensions::new(&Ext::default(), &view).is_empty());
        let distro = Ext {
            fake_id: Some((0, 0)),
            link2symlink: true,
            symlink_sizes: true,
            ..Ext::default()
        };
        assert_eq!(
            Extensions::new(&distro, &view).names(),
            ["fake ids", "link2symlink", "stat rewrite", "listings"]
        );
        let hide = Ext {
            hide_proot: true,
            ..Ext::default()
        };
        assert_eq!(Extensions::new(&hide, &view).names(), ["listings"]);
        let sizes = Ext {
            symlink_sizes: true,
            ..Ext::default()
        };
        assert_eq!(Extensions::new(&sizes, &view).names(), ["stat rewrite"]);
    }
}
