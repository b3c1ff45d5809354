//! `getdents64` under `-H` and `-l`, and with binding points missing from
//! the rootfs: the guest's directory listings without `.proot*` (`-H`) or
//! `.l2s.*` (`-l`) entries, with the names of an emulated hard link shown
//! as its final file, and with the binding points the directory lacks.
//!
//! The host reads the directory itself, at the syscall's entry, through a
//! duplicate of the guest's fd ([`Host::dup_guest_fd`]: the same open file,
//! so the same position); the entries are filtered and written to the
//! guest's buffer: one stop per call, and a batch made only of hidden
//! entries is followed by the next one rather than read as the end of the
//! directory. Where the host cannot duplicate the guest's fds, the call
//! runs in the guest and its result is filtered at the exit instead.

use super::{Ctx, Host};
use crate::Errno;
use crate::backend::SyscallRegs;
use crate::fs::{Point, dt_of_mode};
use crate::prelude::*;

/// The largest buffer read at once (the guest's may be larger).
const MAX_READ: usize = 1 << 20;

/// The longest `struct linux_dirent64` (a name of `NAME_MAX` bytes).
const MAX_ENTRY: usize = (19 + 256usize).div_ceil(8) * 8;

const DT_LNK: u8 = 10;

/// What to hide and rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Filter {
    pub proot: bool,
    pub l2s: bool,
    /// Binding points missing from their parent directory are listed.
    pub points: bool,
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

impl Filter {
    /// The decision for one entry of host directory `dir`.
    pub fn decide(self, host: &dyn Host, dir: &mut DirPath, name: &[u8], d_type: u8) -> Dirent {
        if self.proot && name.starts_with(b".proot") {
            return Dirent::Hide;
        }
        if !self.l2s {
            return Dirent::Keep;
        }
        if crate::ext::link2symlink::is_l2s_name(name) {
            // An intermediate or final file of a group; a file the guest
            // itself named `.l2s.*` stays visible.
            return match dir.get() {
                Some(dir) if !host.is_link_group_file(&in_dir(dir, name)) => Dirent::Keep,
                _ => Dirent::Hide,
            };
        }
        if d_type != DT_LNK {
            return Dirent::Keep;
        }
        match dir.get() {
            Some(dir) => l2s_entry(host, dir, name),
            None => Dirent::Keep,
        }
    }
}

/// `dir/name`.
fn in_dir(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut path = dir.to_vec();
    if !path.ends_with(b"/") {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

/// `-l`: a symlink entry `name` of host directory `dir` that is a name of
/// an emulated hard link is shown as its final file.
pub fn l2s_entry(host: &dyn Host, dir: &[u8], name: &[u8]) -> Dirent {
    let Some(fin) = host.link_final_file(&in_dir(dir, name)) else {
        return Dirent::Keep;
    };
    match host.meta(&fin, false) {
        Ok(st) => Dirent::As {
            ino: st.ino,
            d_type: dt_of_mode(st.mode),
        },
        Err(_) => Dirent::Keep,
    }
}

/// What a `getdents64` entry decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Listed {
    /// The kernel's listing is the guest's.
    Pass,
    /// Answered: this many bytes of entries written to the guest's buffer.
    Answered(i64),
    /// Run the call, then filter its result with [`exit`].
    AtExit,
}

/// The host directory fd `fd` of the thread refers to (for `-l`'s lookups
/// and the binding points to list).
fn dir_of_fd<'h, R: SyscallRegs>(ctx: &Ctx<'h, R>, fd: i32, filter: Filter) -> DirPath<'h> {
    let link = (filter.l2s || filter.points) && fd >= 0;
    DirPath {
        host: Some(ctx.host),
        link: link.then(|| ctx.fd_link(fd)),
        path: None,
    }
}

/// The host path of the directory being listed, read (from its
/// descriptor's `/proc` link) the first time an entry needs it: most
/// listings under `-l` hold no symlink and no `.l2s.` name, and that read
/// costs as much as the rest of the filtering.
pub struct DirPath<'h> {
    host: Option<&'h dyn Host>,
    link: Option<Vec<u8>>,
    path: Option<Option<Vec<u8>>>,
}

impl<'h> DirPath<'h> {
    /// A directory whose path is known already (or unknown: `None`).
    pub fn known(path: Option<Vec<u8>>) -> Self {
        DirPath {
            host: None,
            link: None,
            path: Some(path),
        }
    }

    /// The directory's host path, if it can be read.
    pub fn get(&mut self) -> Option<&[u8]> {
        if self.path.is_none() {
            let read = match (self.host, &self.link) {
                (Some(h), Some(l)) => h.read_magic(l).ok(),
                _ => None,
            };
            self.path = Some(read);
        }
        self.path.as_ref().and_then(|p| p.as_deref())
    }
}

/// A duplicate of a guest's fd, closed when dropped.
struct Dup<'h> {
    host: &'h dyn Host,
    fd: i32,
}

impl Drop for Dup<'_> {
    fn drop(&mut self) {
        self.host.close_dup(self.fd);
    }
}

/// Handle a `getdents64(fd, buf, count)` at its entry.
pub fn enter<R: SyscallRegs>(ctx: &mut Ctx<R>, filter: Filter) -> Result<Listed, Errno> {
    let (fd, buf, count) = (ctx.arg(0) as i32, ctx.arg(1), ctx.arg(2) as usize);
    // Without duplicates, only the exit's filtering is left: binding points
    // are not listed.
    let fallback = if filter.proot || filter.l2s {
        Listed::AtExit
    } else {
        Listed::Pass
    };
    if !ctx.host.dups_guest_fds() || fd < 0 {
        return Ok(fallback);
    }
    // Only binding points to add, and none in this directory: the kernel's
    // listing is the guest's.
    let mut dir = dir_of_fd(ctx, fd, filter);
    let points = if filter.points {
        dir.get()
            .map(|d| ctx.view.missing_points(d))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    if points.is_empty() && !filter.proot && !filter.l2s {
        return Ok(Listed::Pass);
    }
    let tid = ctx.proc.tid();
    let thread = ctx.proc.pid() != tid;
    let host = ctx.host;
    let dup = match host.dup_guest_fd(tid, thread, fd) {
        Ok(d) => Dup { host, fd: d },
        // Not open: the kernel says EBADF itself.
        Err(Errno::EBADF) => return Ok(Listed::Pass),
        Err(_) => return Ok(fallback),
    };
    // The binding points this directory lacks come first, in the call that
    // reads from its start (a rewind lists them again).
    let mut head = Vec::new();
    if !points.is_empty() && host.dir_at_start(dup.fd) {
        head = point_entries(&points);
    }
    let count = count.min(MAX_READ);
    if count < head.len() + MAX_ENTRY {
        // No room for them and a real entry: listed as the kernel would.
        head.clear();
    }
    let mut data = vec![0u8; count - head.len()];
    loop {
        let n = host.getdents(dup.fd, &mut data)?;
        if n == 0 {
            return Ok(Listed::Answered(0));
        }
        let (kept, _) = rewrite_dirents(&mut data[..n], |name, d_type| {
            filter.decide(host, &mut dir, name, d_type)
        });
        if kept > 0 || !head.is_empty() {
            head.extend_from_slice(&data[..kept]);
            ctx.to_guest(buf, &head)?;
            return Ok(Listed::Answered(head.len() as i64));
        }
        // Only hidden entries: read on rather than answer "the end".
    }
}

/// Filter the entries `getdents64` on `fd` wrote at `buf` (where the
/// entry could not read the directory itself); the call's new result,
/// if it changes. Binding points are not listed this way.
pub fn exit<R: SyscallRegs>(ctx: &mut Ctx<R>, filter: Filter, fd: i32, buf: u64) -> Option<i64> {
    let n = ctx.regs.ret();
    if n <= 0 {
        return None;
    }
    let mut data = vec![0u8; n as usize];
    ctx.read(buf, &mut data).ok()?;
    let filter = Filter {
        points: false,
        ..filter
    };
    let mut dir = dir_of_fd(ctx, fd, filter);
    let host = ctx.host;
    let (kept, changed) = rewrite_dirents(&mut data, |name, d_type| {
        filter.decide(host, &mut dir, name, d_type)
    });
    // (Only without duplicates: an answer made only of hidden entries
    // reads as the end of the directory; with the kernel's batches of
    // hundreds of entries that needs a run that long.)
    if !changed {
        return None;
    }
    ctx.write(buf, &data[..kept]).ok()?;
    Some(kept as i64)
}

/// `struct linux_dirent64` records for binding points. Their `d_off` is 0:
/// a `seekdir` to one of them starts the listing over.
pub fn point_entries(points: &[Point]) -> Vec<u8> {
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

    const DT_REG: u8 = 8;

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
                    d_type: DT_REG,
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
        assert_eq!(buf[second + 18], DT_REG);
        assert_eq!(u64::from_ne_bytes(buf[0..8].try_into().unwrap()), 0);
    }
}
