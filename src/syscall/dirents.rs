//! `getdents64` under `-H` and `-l`, and with binding points missing from
//! the rootfs: the core's listings (`sproot_core::handler::listings`) as
//! an extension, the exit's filtering where the entry could not read the
//! directory itself (no `pidfd_getfd`).

use super::exit_hook::ExitHook;
use super::{Ctx, Outcome};
use nix::errno::Errno;
use sproot_core::handler::listings::{self, Listed};
pub use sproot_core::handler::listings::{DirPath, Dirent, Filter, l2s_entry, rewrite_dirents};

/// The exit work of a `getdents64` whose entries are filtered at its exit:
/// the fd and the guest's buffer.
struct ListingExit {
    fd: i32,
    buf: u64,
}

/// `-H`, `-l` and binding points missing from the rootfs: directory
/// listings as the guest must see them.
pub struct Listings(pub Filter);

impl super::extension::Extension for Listings {
    fn name(&self) -> &'static str {
        "listings"
    }

    fn enter(&self, ctx: &mut Ctx) -> Result<Option<Outcome>, Errno> {
        if ctx.sysno() != crate::arch::sys::SYS_getdents64 {
            return Ok(None);
        }
        let (fd, buf) = (ctx.arg(0) as i32, ctx.arg(1));
        Ok(Some(match listings::enter(ctx.core(), self.0)? {
            Listed::Pass => Outcome::Pass,
            Listed::Answered(n) => Outcome::Emulated(n),
            Listed::AtExit => Outcome::WithExit {
                rewritten: false,
                hook: ExitHook::extension(ListingExit { fd, buf }),
            },
        }))
    }

    fn exit(&self, ctx: &mut Ctx, hook: &ExitHook) -> bool {
        match hook.of::<ListingExit>() {
            Some(&ListingExit { fd, buf }) => {
                let Some(n) = listings::exit(ctx.core(), self.0, fd, buf) else {
                    return false;
                };
                ctx.regs.set_ret(n);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::TracerHost;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn l2s_files_are_hidden_and_names_show_their_final_file() {
        let dir = std::env::temp_dir().join(format!("sproot-dirents-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a"), "x").unwrap();
        std::fs::write(dir.join(".l2s.mine"), "the guest's own file").unwrap();
        std::fs::write(dir.join(".proot-x"), "").unwrap();
        crate::ext::link2symlink::link(&dir.join("a"), &dir.join("b"), None).unwrap();
        let both = Filter {
            proot: true,
            l2s: true,
            points: false,
        };
        let d = Some(dir.as_os_str().as_bytes().to_vec());
        let decide = |f: Filter, name: &[u8], d_type| {
            f.decide(&TracerHost, &mut DirPath::known(d.clone()), name, d_type)
        };
        assert_eq!(decide(both, b".l2s.a0001", libc::DT_LNK), Dirent::Hide);
        assert_eq!(decide(both, b".l2s.a0001.0002", libc::DT_REG), Dirent::Hide);
        assert_eq!(decide(both, b".l2s.mine", libc::DT_REG), Dirent::Keep);
        assert_eq!(decide(both, b".proot-x", libc::DT_REG), Dirent::Hide);
        assert!(matches!(
            decide(both, b"b", libc::DT_LNK),
            Dirent::As {
                d_type: libc::DT_REG,
                ..
            }
        ));
        // Without the directory (it could not be named): by prefix.
        assert_eq!(
            both.decide(
                &TracerHost,
                &mut DirPath::known(None),
                b".l2s.mine",
                libc::DT_REG
            ),
            Dirent::Hide
        );
        let proot_only = Filter {
            proot: true,
            l2s: false,
            points: false,
        };
        assert_eq!(
            decide(proot_only, b".l2s.a0001", libc::DT_LNK),
            Dirent::Keep
        );
        assert_eq!(decide(proot_only, b"b", libc::DT_LNK), Dirent::Keep);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod entry_tests {
    use super::*;
    use crate::fs::TracerHost;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn l2s_names_show_as_their_final_file_entry() {
        let dir = std::env::temp_dir().join(format!("sproot-dirent-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a"), "x").unwrap();
        crate::ext::link2symlink::link(&dir.join("a"), &dir.join("b"), None).unwrap();
        let fin = crate::ext::link2symlink::resolve(&dir.join("b")).unwrap();
        let ino = nix::sys::stat::stat(&fin).unwrap().st_ino;
        let want = Dirent::As {
            ino,
            d_type: libc::DT_REG,
        };
        let d = dir.as_os_str().as_bytes();
        assert_eq!(l2s_entry(&TracerHost, d, b"a"), want);
        assert_eq!(l2s_entry(&TracerHost, d, b"b"), want);
        std::os::unix::fs::symlink("a", dir.join("plain")).unwrap();
        assert_eq!(l2s_entry(&TracerHost, d, b"plain"), Dirent::Keep);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
