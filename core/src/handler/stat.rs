//! Stat results rewritten for the PRoot extensions: fake owners (`-0`,
//! `-i`, and owners a fake root's `chown` recorded), link counts of
//! emulated hard links (`-l`), symlink sizes (`-L`).
//!
//! Stats are emulated: the handler makes the same call on the translated
//! host path (or on `/proc/<tid>/fd/<n>` for a descriptor) through the
//! host, fixes the kernel's structure and writes it into the guest's
//! buffer, so a stat costs one stop with or without these extensions.

use super::ctx::PATH_MAX;
use super::{Ctx, Outcome};
use crate::Errno;
use crate::backend::SyscallRegs;
use crate::ext::link2symlink::is_l2s_name;
use crate::fs::Kind as FileKind;
use crate::prelude::*;
use crate::table::{AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW};

/// `-0`/`-i`: files owned by the real user (group) are shown as owned by
/// the fake ids.
#[derive(Clone, Copy, Debug)]
pub struct OwnerMap {
    pub real_uid: u32,
    pub real_gid: u32,
    pub fake_uid: u32,
    pub fake_gid: u32,
}

impl OwnerMap {
    pub fn map_owner(&self, uid: u32, gid: u32) -> (u32, u32) {
        (
            if uid == self.real_uid {
                self.fake_uid
            } else {
                uid
            },
            if gid == self.real_gid {
                self.fake_gid
            } else {
                gid
            },
        )
    }
}

/// What a run rewrites in stat results.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rewrites {
    /// `-0`/`-i`: the thread's mapping of the real ids.
    pub owner: Option<OwnerMap>,
    /// `--persist-ownership`: owners kept in the files themselves.
    pub persist_ownership: bool,
    /// `-l`: link counts of emulated hard links.
    pub link2symlink: bool,
    /// `-L`: a symlink's size is its guest target's length.
    pub symlink_sizes: bool,
}

/// Where the fields this module rewrites lie in the kernel's `struct stat`
/// of the architecture (x86_64's own layout, arm64's the generic one).
struct Layout {
    dev: usize,
    ino: usize,
    /// Offset and width (4 or 8 bytes).
    nlink: (usize, usize),
    mode: usize,
    uid: usize,
    gid: usize,
    size: usize,
}

#[cfg(not(target_arch = "aarch64"))]
const STAT: Layout = Layout {
    dev: 0,
    ino: 8,
    nlink: (16, 8),
    mode: 24,
    uid: 28,
    gid: 32,
    size: 48,
};
#[cfg(target_arch = "aarch64")]
const STAT: Layout = Layout {
    dev: 0,
    ino: 8,
    nlink: (20, 4),
    mode: 16,
    uid: 24,
    gid: 28,
    size: 48,
};

/// The same fields in `struct statx` (one layout everywhere); its device
/// is a major and a minor number at 136 and 140, `mode` is 16 bits.
const STATX: Layout = Layout {
    dev: 136,
    ino: 32,
    nlink: (16, 4),
    mode: 28,
    uid: 20,
    gid: 24,
    size: 40,
};

/// The length of the kernel's `struct statx`.
pub const STATX_LEN: usize = 256;

fn get(b: &[u8], at: usize, width: usize) -> u64 {
    let mut v = [0u8; 8];
    v[..width].copy_from_slice(&b[at..at + width]);
    if cfg!(target_endian = "big") {
        u64::from_be_bytes(v) >> (64 - 8 * width)
    } else {
        u64::from_le_bytes(v)
    }
}

fn put(b: &mut [u8], at: usize, width: usize, value: u64) {
    let bytes = value.to_ne_bytes();
    if cfg!(target_endian = "big") {
        b[at..at + width].copy_from_slice(&bytes[8 - width..]);
    } else {
        b[at..at + width].copy_from_slice(&bytes[..width]);
    }
}

/// glibc's `makedev`: the `st_dev` a major and a minor number make.
pub fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (u64::from(major), u64::from(minor));
    ((major & 0xffff_f000) << 32)
        | ((major & 0xfff) << 8)
        | ((minor & 0xffff_ff00) << 12)
        | (minor & 0xff)
}

/// The fields of a kernel stat structure, read and rewritten in place.
struct Fields<'b> {
    bytes: &'b mut [u8],
    statx: bool,
}

impl Fields<'_> {
    fn layout(&self) -> &'static Layout {
        if self.statx { &STATX } else { &STAT }
    }
    fn dev(&self) -> u64 {
        let l = self.layout();
        if self.statx {
            makedev(
                get(self.bytes, l.dev, 4) as u32,
                get(self.bytes, l.dev + 4, 4) as u32,
            )
        } else {
            get(self.bytes, l.dev, 8)
        }
    }
    fn ino(&self) -> u64 {
        get(self.bytes, self.layout().ino, 8)
    }
    fn mode(&self) -> u32 {
        let width = if self.statx { 2 } else { 4 };
        get(self.bytes, self.layout().mode, width) as u32
    }
    fn owner(&self) -> (u32, u32) {
        let l = self.layout();
        (
            get(self.bytes, l.uid, 4) as u32,
            get(self.bytes, l.gid, 4) as u32,
        )
    }
    fn set_owner(&mut self, (uid, gid): (u32, u32)) {
        let l = self.layout();
        put(self.bytes, l.uid, 4, uid.into());
        put(self.bytes, l.gid, 4, gid.into());
    }
    fn set_nlink(&mut self, n: u64) {
        let (at, width) = self.layout().nlink;
        put(self.bytes, at, width, n);
    }
    fn size(&self) -> u64 {
        get(self.bytes, self.layout().size, 8)
    }
    fn set_size(&mut self, size: u64) {
        let at = self.layout().size;
        put(self.bytes, at, 8, size);
    }
}

/// The (device, inode) of the kernel's `struct stat` `bytes`.
pub fn file_key(bytes: &[u8]) -> crate::ext::fake_xattr::FileKey {
    (get(bytes, STAT.dev, 8), get(bytes, STAT.ino, 8))
}

/// How a stat-family call names its file.
enum Target {
    /// A translated host path, and whether to follow a final symlink.
    Path(Vec<u8>, bool),
    /// The file a descriptor of the thread refers to.
    Fd(i32),
}

/// What was asked, in the kernel's terms.
struct StatCall {
    target: Target,
    buf: u64,
    /// `statx`: (flags, mask).
    statx: Option<(u32, u32)>,
}

/// Decode a stat-family call; `None` if the call is not one.
fn stat_call<R: SyscallRegs>(ctx: &Ctx<R>) -> Result<Option<StatCall>, Errno> {
    // The stat family is what has a buffer the kernel fills (the table's
    // `out` role).
    let call = ctx.call();
    let Some(buf) = call.out() else {
        return Ok(None);
    };
    let statx = call.mask().map(|mask| (call.flags() as u32, mask));
    let call_on = |target| Ok(Some(StatCall { target, buf, statx }));
    if let Some(fd) = call.fd() {
        return call_on(Target::Fd(fd));
    }
    let Some(arg) = call.entry.paths().first() else {
        return Ok(None);
    };
    let empty_path = call.empty_path(arg);
    let follow = call.follows(arg);
    let dirfd = arg.dirfd;
    let ptr = ctx.arg(arg.path);
    // The kernel reads the path first; with AT_EMPTY_PATH an empty (or
    // NULL) one names the fd, whose stat ignores the other flags.
    let path = if ptr == 0 && empty_path {
        Ok(Vec::new())
    } else {
        ctx.read_cstring(ptr, PATH_MAX)
    };
    let fd = dirfd.map_or(AT_FDCWD, |d| ctx.arg(d) as i32);
    if empty_path && fd >= 0 && path.as_ref().is_ok_and(Vec::is_empty) {
        return call_on(Target::Fd(fd));
    }
    if ctx.invalid_flags() {
        return Err(Errno::EINVAL);
    }
    let path = path?;
    if path.is_empty() {
        if !empty_path {
            return Err(Errno::ENOENT);
        }
        if fd != AT_FDCWD {
            return Err(Errno::EBADF);
        }
        let cwd = ctx.view.dir_of(ctx.proc.tid(), None)?;
        return call_on(Target::Path(ctx.view.to_host(&cwd), true));
    }
    let host = ctx.resolve_full(dirfd, &path, follow)?.host;
    // (-l: a name of an emulated hard link, not followed, is its final
    // file: `emulate` looks when the name is a symlink.)
    call_on(Target::Path(host, follow))
}

/// Emulate a stat-family call with `rewrites`; `None` when the call is
/// not of the stat family.
pub fn stat<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
    rewrites: &Rewrites,
) -> Option<Result<Outcome, Errno>> {
    let call = match stat_call(ctx) {
        Ok(Some(c)) => c,
        Ok(None) => return None,
        Err(e) => return Some(Err(e)),
    };
    Some(emulate(ctx, rewrites, call).map(|()| Outcome::Emulated(0)))
}

fn emulate<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
    rewrites: &Rewrites,
    call: StatCall,
) -> Result<(), Errno> {
    let (host, follow, fd) = match call.target {
        Target::Path(p, follow) => (p, follow, false),
        // The host sees the thread's fd through /proc; stat follows the
        // magic link to the very file (pipes, sockets and O_PATH fds of
        // symlinks included).
        Target::Fd(fd) if fd < 0 => return Err(Errno::EBADF),
        Target::Fd(fd) => (ctx.fd_link(fd), true, true),
    };
    // A closed fd shows as ENOENT on its /proc name.
    let on_fd = |e: Errno| match e {
        Errno::ENOENT if fd => Errno::EBADF,
        e => e,
    };
    let nofollow = if follow {
        0
    } else {
        AT_SYMLINK_NOFOLLOW as u32
    };
    let stat_of = |host: &[u8], follow: bool| match call.statx {
        None => ctx.host.stat(host, follow).map_err(on_fd),
        Some((flags, mask)) => {
            let nofollow = if follow { 0 } else { nofollow };
            let flags =
                (flags & !(AT_EMPTY_PATH as u32) & !(AT_SYMLINK_NOFOLLOW as u32)) | nofollow;
            ctx.host.statx(host, flags, mask).map_err(on_fd)
        }
    };
    let mut bytes = stat_of(&host, follow)?;
    let mut host = host;
    // -l: a name of an emulated hard link (a symlink), not followed, is
    // its final file, even for lstat. (A followed name already led the
    // canonicaliser there.)
    if ctx.link2symlink
        && !follow
        && !fd
        && FileKind::of_mode(mode_in(&bytes, call.statx.is_some())) == FileKind::Symlink
        && let Some(fin) = ctx.host.link_final_file(&host)
    {
        bytes = stat_of(&fin, true)?;
        host = fin;
    }
    let mut f = Fields {
        bytes: &mut bytes,
        statx: call.statx.is_some(),
    };
    // The owner to show: a recorded fake `chown` first, then the one kept
    // in the file, then the mapping of the real user to the fake ids.
    let (uid, gid) = f.owner();
    let owner = ctx
        .shared
        .owner((f.dev(), f.ino()))
        .or_else(|| {
            (rewrites.persist_ownership && rewrites.owner.is_some())
                .then(|| ctx.host.stored_owner(&host))
                .flatten()
        })
        .unwrap_or_else(|| rewrites.owner.map_or((uid, gid), |m| m.map_owner(uid, gid)));
    f.set_owner(owner);
    // -l: names, intermediates (symlinks) and final files (`.l2s.`
    // names) have their group's count; a descriptor's file is looked at
    // unless it is a directory.
    let kind = FileKind::of_mode(f.mode());
    let may_be_l2s = match kind {
        FileKind::Dir => false,
        FileKind::Symlink => true,
        _ => fd || is_l2s_name(last_component(&host)),
    };
    if rewrites.link2symlink
        && may_be_l2s
        && let Some(n) = ctx.host.link_count(&host)
    {
        f.set_nlink(n);
    }
    if rewrites.symlink_sizes && FileKind::of_mode(f.mode()) == FileKind::Symlink {
        let size = symlink_size(ctx, &host, fd).unwrap_or(f.size());
        f.set_size(size);
    }
    ctx.to_guest(call.buf, &bytes)
}

/// The mode in stat-family bytes (`statx`'s layout or `struct stat`'s).
fn mode_in(bytes: &[u8], statx: bool) -> u32 {
    let (l, width) = if statx { (&STATX, 2) } else { (&STAT, 4) };
    get(bytes, l.mode, width) as u32
}

/// The last component of a host path.
fn last_component(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

/// `-L`: the length of a symlink's guest target. (An fd of a symlink,
/// `O_PATH|O_NOFOLLOW`, is read through the link's path.)
fn symlink_size<R: SyscallRegs>(ctx: &Ctx<R>, host: &[u8], fd: bool) -> Option<u64> {
    let link = if fd {
        ctx.host.readlink(host).ok()?
    } else {
        host.to_vec()
    };
    let target = ctx.view.readlink_guest(ctx.proc, &link).ok()?;
    Some(target.len() as u64)
}
