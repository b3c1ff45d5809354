//! The kernel's answers for calls that add, remove or move names
//! (`unlink`, `rmdir`, `rename`, `link`, `mkdir`, `mknod`, `symlink` and
//! their `at` forms) where a translated path would hide them:
//!
//! - a final `.`, `..` or `/` is refused before resolution collapses it
//!   (`rmdir("d/..")` must not remove `d`'s parent, `rename("/", ...)` must
//!   not move the rootfs): `rmdir` `EINVAL`/`ENOTEMPTY`/`EBUSY`, `unlink`
//!   `EISDIR`, `rename` `EBUSY`, creations `EEXIST`;
//! - binding points are mount points: removing or renaming one is `EBUSY`,
//!   renaming or linking across bindings is `EXDEV`. A binding's host path
//!   is never moved or deleted by a guest.
//!
//! `rename` keeps the kernel's order: the mounts of the two directories its
//! parent lookups end in are compared first (`EXDEV`, also for a final
//! `.`, `..` or `/`), then the final components (`EBUSY`).

use crate::Errno;
use crate::fs::GuestView;
#[allow(unused_imports)]
use crate::prelude::*;
use crate::sysno as sys;
use crate::table::{AT_REMOVEDIR, Call};

/// How a path ends, lexically.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Last {
    Normal,
    Dot,
    DotDot,
    /// Only slashes: the root.
    Root,
}

impl Last {
    pub fn of(path: &[u8]) -> Last {
        let end = path.iter().rposition(|&c| c != b'/').map_or(0, |i| i + 1);
        if end == 0 {
            return if path.is_empty() {
                Last::Normal
            } else {
                Last::Root
            };
        }
        let start = path[..end]
            .iter()
            .rposition(|&c| c == b'/')
            .map_or(0, |i| i + 1);
        match &path[start..end] {
            b"." => Last::Dot,
            b".." => Last::DotDot,
            _ => Last::Normal,
        }
    }
}

/// What a name-changing syscall does with its path arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Rmdir,
    Unlink,
    /// `rename` family: (old, new), or `link` family when `link`.
    Move {
        link: bool,
    },
    /// `mkdir`, `mknod`, `symlink`: the path is created.
    Create,
}

/// The operation of a call (`unlinkat`: by its flags).
pub fn op_of(call: &Call) -> Option<Op> {
    let (nr, unlinkat_flags) = (call.nr, call.flags());
    Some(match nr {
        sys::SYS_rmdir => Op::Rmdir,
        sys::SYS_unlink => Op::Unlink,
        sys::SYS_unlinkat if unlinkat_flags & AT_REMOVEDIR != 0 => Op::Rmdir,
        sys::SYS_unlinkat => Op::Unlink,
        sys::SYS_rename | sys::SYS_renameat | sys::SYS_renameat2 => Op::Move { link: false },
        sys::SYS_link | sys::SYS_linkat => Op::Move { link: true },
        sys::SYS_mkdir
        | sys::SYS_mkdirat
        | sys::SYS_mknod
        | sys::SYS_mknodat
        | sys::SYS_symlink
        | sys::SYS_symlinkat => Op::Create,
        _ => return None,
    })
}

/// The kernel's errno for a final `.`, `..` or `/` of argument `index`
/// (0: the only or old path, 1: the new one).
pub fn last_errno(op: Op, index: usize, last: Last) -> Option<Errno> {
    if last == Last::Normal {
        return None;
    }
    Some(match op {
        Op::Rmdir => match last {
            Last::Dot => Errno::EINVAL,
            Last::DotDot => Errno::ENOTEMPTY,
            _ => Errno::EBUSY,
        },
        Op::Unlink => Errno::EISDIR,
        Op::Move { link: false } => Errno::EBUSY,
        Op::Move { link: true } if index == 0 => return None,
        Op::Move { link: true } | Op::Create => Errno::EEXIST,
    })
}

/// The mount-point rules, on the canonical guest paths of the arguments
/// (`None`: a plain name the kernel looked up itself, not a binding point).
pub fn binding_errno(view: &GuestView, op: Op, guests: &[Option<Vec<u8>>]) -> Option<Errno> {
    let is_point = |g: &Option<Vec<u8>>| g.as_deref().is_some_and(|g| view.is_binding_point(g));
    match op {
        Op::Rmdir | Op::Unlink if guests.first().is_some_and(is_point) => Some(Errno::EBUSY),
        Op::Move { link } => {
            if !link && guests.iter().any(is_point) {
                return Some(Errno::EBUSY);
            }
            if let [Some(old), Some(new)] = guests
                && view.binding_index(old) != view.binding_index(new)
            {
                return Some(Errno::EXDEV);
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::Binding;
    use crate::fs::testing::NoHost;

    #[test]
    fn final_components_are_classified_lexically() {
        assert_eq!(Last::of(b"d/.."), Last::DotDot);
        assert_eq!(Last::of(b"d/../"), Last::DotDot);
        assert_eq!(Last::of(b"."), Last::Dot);
        assert_eq!(Last::of(b"//"), Last::Root);
        assert_eq!(Last::of(b"a/..b"), Last::Normal);
    }

    #[test]
    fn the_kernels_errnos_for_special_final_components() {
        assert_eq!(
            last_errno(Op::Rmdir, 0, Last::DotDot),
            Some(Errno::ENOTEMPTY)
        );
        assert_eq!(last_errno(Op::Rmdir, 0, Last::Root), Some(Errno::EBUSY));
        assert_eq!(last_errno(Op::Unlink, 0, Last::DotDot), Some(Errno::EISDIR));
        assert_eq!(
            last_errno(Op::Move { link: false }, 0, Last::Root),
            Some(Errno::EBUSY)
        );
        assert_eq!(last_errno(Op::Create, 0, Last::DotDot), Some(Errno::EEXIST));
    }

    #[test]
    fn bindings_are_mount_points() {
        let view = GuestView::new(
            alloc::sync::Arc::new(NoHost),
            b"/srv/root",
            vec![Binding {
                host: b"/home/me/src".to_vec(),
                guest: b"/src".to_vec(),
            }],
        );
        let g = |s: &str| Some(s.as_bytes().to_vec());
        assert_eq!(
            binding_errno(&view, Op::Rmdir, &[g("/src")]),
            Some(Errno::EBUSY)
        );
        assert_eq!(binding_errno(&view, Op::Rmdir, &[g("/src/x")]), None);
        assert_eq!(
            binding_errno(&view, Op::Move { link: false }, &[g("/src/a"), g("/tmp/a")]),
            Some(Errno::EXDEV)
        );
        assert_eq!(
            binding_errno(&view, Op::Move { link: true }, &[g("/src/a"), g("/src/b")]),
            None
        );
        assert_eq!(
            binding_errno(&view, Op::Move { link: false }, &[g("/tmp/a"), g("/src")]),
            Some(Errno::EBUSY)
        );
    }
}
