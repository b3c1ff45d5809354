//! `getdents64` under `-H` and `-l`: the guest's directory listings without
//! `.proot*` (`-H`) or `.l2s.*` (`-l`) entries, and with the names of an
//! emulated hard link shown as its final file (see
//! [`rewrite_dirents`]).
//!
//! The tracer reads the directory itself, at the syscall's entry, through
//! a duplicate of the guest's fd (`pidfd_getfd`: the same open file, so the
//! same position), filters the entries and writes them to the guest's
//! buffer: one stop per call, and a batch made only of hidden entries is
//! followed by the next one rather than read as the end of the directory.
//! Where `pidfd_getfd` is not available (Linux < 5.6, or < 6.9 for a
//! thread that is not its process's leader) the call runs in the guest and
//! its result is filtered at the exit stop instead.

use super::exit_hook::ExitHook;
use super::{Ctx, Outcome};
use nix::errno::Errno;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, Ordering};

/// Cleared once `pidfd_getfd` proved unavailable on this kernel.
static PIDFD_GETFD: AtomicBool = AtomicBool::new(true);

/// The largest buffer read at once (the guest's may be larger).
const MAX_READ: usize = 1 << 20;

/// What to hide and rewrite.
#[derive(Clone, Copy)]
pub struct Filter {
    pub proot: bool,
    pub l2s: bool,
    /// Binding points missing from their parent directory are listed.
    pub points: bool,
}

impl Filter {
    /// The decision for one entry of host directory `dir`.
    pub fn decide(self, dir: Option<&std::path::Path>, name: &[u8], d_type: u8) -> Dirent {
        if self.proot && name.starts_with(b".proot") {
            return Dirent::Hide;
        }
        if !self.l2s {
            return Dirent::Keep;
        }
        if crate::ext::link2symlink::is_l2s_name(name) {
            // An intermediate or final file of a group; a file the guest
            // itself named `.l2s.*` stays visible.
            return match dir {
                Some(dir)
                    if crate::ext::link2symlink::group_of(
                        &dir.join(std::ffi::OsStr::from_bytes(name)),
                    )
                    .is_none() =>
                {
                    Dirent::Keep
                }
                _ => Dirent::Hide,
            };
        }
        match dir {
            Some(dir) if d_type == libc::DT_LNK => l2s_entry(dir, name),
            _ => Dirent::Keep,
        }
    }
}

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
        enter(ctx, self.0).map(Some)
    }

    fn exit(&self, ctx: &mut Ctx, hook: &ExitHook) -> bool {
        match hook.of::<ListingExit>() {
            Some(&ListingExit { fd, buf }) => exit(ctx, self.0, fd, buf),
            None => false,
        }
    }
}

/// The host directory an fd of the tracee refers to (for `-l`'s lookups
/// and the binding points to list).
pub fn dir_of_fd(ctx: &Ctx, fd: i32, filter: Filter) -> Option<std::path::PathBuf> {
    if !filter.l2s && !filter.points {
        return None;
    }
    std::fs::read_link(ctx.fd_path(fd).ok()?).ok()
}

/// Handle a `getdents64` at its entry.
pub fn enter(ctx: &mut Ctx, filter: Filter) -> Result<Outcome, Errno> {
    let (fd, buf, count) = (ctx.arg(0) as i32, ctx.arg(1), ctx.arg(2) as usize);
    let exit_instead = Outcome::WithExit {
        rewritten: false,
        hook: ExitHook::extension(ListingExit { fd, buf }),
    };
    if !PIDFD_GETFD.load(Ordering::Relaxed) || fd < 0 {
        return Ok(fallback(filter, exit_instead));
    }
    // Only binding points to add, and none in this directory: the kernel's
    // listing is the guest's.
    let dir = dir_of_fd(ctx, fd, filter);
    let points = match &dir {
        Some(d) if filter.points => ctx.env.view.missing_points(d.as_os_str().as_bytes()),
        _ => Vec::new(),
    };
    if points.is_empty() && !filter.proot && !filter.l2s {
        return Ok(Outcome::Pass);
    }
    let tid = ctx.pid.as_raw();
    let thread = ctx.proc.pid() != tid;
    let dup = match crate::host::pidfd_getfd(tid, thread, fd) {
        Ok(d) => d,
        // Not open: the kernel says EBADF itself.
        Err(Errno::EBADF) => return Ok(Outcome::Pass),
        Err(Errno::ENOSYS) | Err(Errno::EPERM) if !thread => {
            PIDFD_GETFD.store(false, Ordering::Relaxed);
            return Ok(fallback(filter, exit_instead));
        }
        Err(_) => return Ok(fallback(filter, exit_instead)),
    };
    // The binding points this directory lacks come first, in the call that
    // reads from its start (a rewind lists them again).
    let mut head = Vec::new();
    if !points.is_empty()
        && nix::unistd::lseek(dup.as_fd().as_raw_fd(), 0, nix::unistd::Whence::SeekCur) == Ok(0)
    {
        head = point_entries(&points);
    }
    let count = count.min(MAX_READ);
    if count < head.len() + MAX_ENTRY {
        // No room for them and a real entry: listed as the kernel would.
        head.clear();
    }
    let mut data = vec![0u8; count - head.len()];
    loop {
        let n = crate::host::getdents64(dup.as_fd(), &mut data)?;
        if n == 0 {
            return Ok(Outcome::Emulated(0));
        }
        let (kept, _) = rewrite_dirents(&mut data[..n], |name, d_type| {
            filter.decide(dir.as_deref(), name, d_type)
        });
        if kept > 0 || !head.is_empty() {
            head.extend_from_slice(&data[..kept]);
            ctx.to_guest(buf, &head)?;
            return Ok(Outcome::Emulated(head.len() as i64));
        }
        // Only hidden entries: read on rather than answer "the end".
    }
}

/// Filter the entries `getdents64` on `fd` wrote at `buf` (where the
/// entry could not read the directory itself); whether the registers
/// changed. Binding points are not listed this way.
fn exit(ctx: &mut Ctx, filter: Filter, fd: i32, buf: u64) -> bool {
    let n = ctx.regs.ret();
    if n <= 0 {
        return false;
    }
    let mut data = vec![0u8; n as usize];
    if ctx.read(buf, &mut data).is_err() {
        return false;
    }
    let filter = Filter {
        points: false,
        ..filter
    };
    let dir = dir_of_fd(ctx, fd, filter);
    let (kept, changed) = rewrite_dirents(&mut data, |name, d_type| {
        filter.decide(dir.as_deref(), name, d_type)
    });
    // (Only without pidfd_getfd: an answer made only of hidden entries
    // reads as the end of the directory; with the kernel's batches of
    // hundreds of entries that needs a run that long.)
    if !changed || ctx.write(buf, &data[..kept]).is_err() {
        return false;
    }
    ctx.regs.set_ret(kept as i64);
    true
}

/// Without `pidfd_getfd`, only the exit-stop filtering is left: binding
/// points are not listed.
fn fallback(filter: Filter, exit_instead: Outcome) -> Outcome {
    if filter.proot || filter.l2s {
        exit_instead
    } else {
        Outcome::Pass
    }
}

/// The longest `struct linux_dirent64` (a name of `NAME_MAX` bytes).
const MAX_ENTRY: usize = (19 + 256usize).div_ceil(8) * 8;

/// `struct linux_dirent64` records for binding points. Their `d_off` is 0:
/// a `seekdir` to one of them starts the listing over.
fn point_entries(points: &[crate::fs::Point]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in points {
        let reclen = (19 + p.name.len() + 1).div_ceil(8) * 8;
        let start = out.len();
        out.resize(start + reclen, 0);
        let rec = &mut out[start..];
        rec[0..8].copy_from_slice(&p.ino.to_ne_bytes());
        rec[16..18].copy_from_slice(&(reclen as u16).to_ne_bytes());
        rec[18] = p.d_type;
        rec[19..19 + p.name.len()].copy_from_slice(&p.name);
    }
    out
}

/// What to do with one directory entry.
#[derive(Debug, PartialEq, Eq)]
pub enum Dirent {
    Keep,
    Hide,
    /// Show it with this inode number and type.
    As {
        ino: u64,
        d_type: u8,
    },
}

/// `-l`: a symlink entry `name` of host directory `dir` that is a name of
/// an emulated hard link is shown as its final file.
pub fn l2s_entry(dir: &std::path::Path, name: &[u8]) -> Dirent {
    let path = dir.join(std::ffi::OsStr::from_bytes(name));
    let Some(fin) = crate::ext::link2symlink::resolve(&path) else {
        return Dirent::Keep;
    };
    match nix::sys::stat::lstat(&fin) {
        Ok(st) => Dirent::As {
            ino: st.st_ino,
            d_type: crate::fs::dt_of_mode(st.st_mode),
        },
        Err(_) => Dirent::Keep,
    }
}

/// Apply `decide(name, d_type)` to every entry of a `getdents64` result in
/// place (`struct linux_dirent64`: u64 ino, i64 off, u16 reclen, u8 type,
/// name); returns the new length and whether anything changed.
pub fn rewrite_dirents(
    buf: &mut [u8],
    mut decide: impl FnMut(&[u8], u8) -> Dirent,
) -> (usize, bool) {
    let mut read = 0;
    let mut write = 0;
    let mut changed = false;
    while read + 19 <= buf.len() {
        let reclen = u16::from_ne_bytes([buf[read + 16], buf[read + 17]]) as usize;
        if reclen < 19 || read + reclen > buf.len() {
            break;
        }
        let raw = &buf[read + 19..read + reclen];
        let name = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
        match decide(name, buf[read + 18]) {
            Dirent::Hide => {
                changed = true;
                read += reclen;
                continue;
            }
            Dirent::Keep => {}
            Dirent::As { ino, d_type } => {
                buf[read..read + 8].copy_from_slice(&ino.to_ne_bytes());
                buf[read + 18] = d_type;
                changed = true;
            }
        }
        if write != read {
            buf.copy_within(read..read + reclen, write);
        }
        write += reclen;
        read += reclen;
    }
    (write, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let d = Some(dir.as_path());
        assert_eq!(both.decide(d, b".l2s.a0001", libc::DT_LNK), Dirent::Hide);
        assert_eq!(
            both.decide(d, b".l2s.a0001.0002", libc::DT_REG),
            Dirent::Hide
        );
        assert_eq!(both.decide(d, b".l2s.mine", libc::DT_REG), Dirent::Keep);
        assert_eq!(both.decide(d, b".proot-x", libc::DT_REG), Dirent::Hide);
        assert!(matches!(
            both.decide(d, b"b", libc::DT_LNK),
            Dirent::As {
                d_type: libc::DT_REG,
                ..
            }
        ));
        // Without the directory (it could not be named): by prefix.
        assert_eq!(both.decide(None, b".l2s.mine", libc::DT_REG), Dirent::Hide);
        let proot_only = Filter {
            proot: true,
            l2s: false,
            points: false,
        };
        assert_eq!(
            proot_only.decide(d, b".l2s.a0001", libc::DT_LNK),
            Dirent::Keep
        );
        assert_eq!(proot_only.decide(d, b"b", libc::DT_LNK), Dirent::Keep);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod entry_tests {
    use super::*;

    fn dirent(name: &str) -> Vec<u8> {
        let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
        let mut v = vec![0u8; reclen];
        v[16..18].copy_from_slice(&(reclen as u16).to_ne_bytes());
        v[19..19 + name.len()].copy_from_slice(name.as_bytes());
        v
    }

    #[test]
    fn hidden_entries_are_dropped_and_others_keep_their_bytes() {
        let mut buf: Vec<u8> = ["a", ".proot-meta", "b", ".l2s.b0001"]
            .iter()
            .flat_map(|n| dirent(n))
            .collect();
        let (n, changed) = rewrite_dirents(&mut buf, |name, _| {
            if name.starts_with(b".proot") || name.starts_with(b".l2s.") {
                Dirent::Hide
            } else {
                Dirent::Keep
            }
        });
        assert!(changed);
        let kept: Vec<u8> = ["a", "b"].iter().flat_map(|n| dirent(n)).collect();
        assert_eq!(&buf[..n], kept.as_slice());
        let (m, changed) = rewrite_dirents(&mut buf[..n], |_, _| Dirent::Keep);
        assert_eq!((m, changed), (n, false));
    }

    #[test]
    fn entries_can_take_another_inode_and_type() {
        let mut buf: Vec<u8> = ["a", "b"].iter().flat_map(|n| dirent(n)).collect();
        let (n, changed) = rewrite_dirents(&mut buf, |name, _| {
            if name == b"b" {
                Dirent::As {
                    ino: 77,
                    d_type: libc::DT_REG,
                }
            } else {
                Dirent::Keep
            }
        });
        assert!(changed);
        assert_eq!(n, buf.len());
        let second = dirent("a").len();
        assert_eq!(
            u64::from_ne_bytes(buf[second..second + 8].try_into().unwrap()),
            77
        );
        assert_eq!(buf[second + 18], libc::DT_REG);
        assert_eq!(u64::from_ne_bytes(buf[0..8].try_into().unwrap()), 0);
    }

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
        assert_eq!(l2s_entry(&dir, b"a"), want);
        assert_eq!(l2s_entry(&dir, b"b"), want);
        std::os::unix::fs::symlink("a", dir.join("plain")).unwrap();
        assert_eq!(l2s_entry(&dir, b"plain"), Dirent::Keep);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
