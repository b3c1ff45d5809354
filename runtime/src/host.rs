//! The host as the runtime reaches it: its own raw syscalls (made from
//! this program's code, so the filter lets them through), the guest's
//! memory (its own), and the run's state set up at start.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, Ordering};

use sproot_core::backend::{Memory, SyscallRegs};
use sproot_core::ext::fake_id::Creds;
use sproot_core::ext::link2symlink::{self as layout, LayoutFs};
use sproot_core::fs::long_path;
use sproot_core::fs::{GuestView, HostFs, Kind, ProcContext};
use sproot_core::handler::{FileMeta, Host};
use sproot_core::inproc::Handoff;
use sproot_core::shared::mapped::BYTES;
use sproot_core::shared::MappedState;
use sproot_core::Errno;

use crate::nr;
use crate::sys::syscall6;

/// A raw syscall: its result, or `-errno`.
pub fn sc(n: usize, a: [usize; 6]) -> isize {
    // SAFETY: every caller passes arguments valid for `n` (pointers to live
    // buffers of the sizes given); none of these calls unmaps or remaps
    // memory the runtime uses.
    unsafe { syscall6(n, a) }
}

pub fn res(r: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&r) {
        Err(Errno::from_raw(-r as i32))
    } else {
        Ok(r as usize)
    }
}

pub fn sched_yield() {
    sc(nr::SCHED_YIELD, [0; 6]);
}

pub fn getpid() -> i32 {
    sc(nr::GETPID, [0; 6]) as i32
}

pub fn gettid() -> i32 {
    sc(nr::GETTID, [0; 6]) as i32
}

/// Whether thread `tid` no longer runs in this process's memory: gone,
/// or its `execve` replaced its image (`kcmp(KCMP_VM)`; where `kcmp` is
/// not available, only a thread that is gone counts).
pub fn left_this_memory(tid: i32) -> bool {
    const KCMP_VM: usize = 1;
    const ESRCH: isize = 3;
    let r = sc(
        nr::KCMP,
        [getpid() as usize, tid as usize, KCMP_VM, 0, 0, 0],
    );
    match r {
        0 => false,
        r if r > 0 => true,
        r if r == -ESRCH => true,
        _ => sc(nr::KILL, [tid as usize, 0, 0, 0, 0, 0]) == -ESRCH,
    }
}

/// `AT_EMPTY_PATH`: the call is on the descriptor itself.
const AT_EMPTY_PATH: usize = 0x1000;

/// The descriptor `path` names if it is this thread's `/proc/<tid>/fd/<n>`
/// (or its process's).
fn own_fd(path: &[u8]) -> Option<usize> {
    let rest = path.strip_prefix(b"/proc/")?;
    let slash = rest.iter().position(|&b| b == b'/')?;
    let id = number(&rest[..slash])? as i32;
    let fd = rest[slash..].strip_prefix(b"/fd/")?;
    let fd = number(fd)? as usize;
    (id == gettid() || id == getpid()).then_some(fd)
}

/// A decimal number.
fn number(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 10 {
        return None;
    }
    b.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(u32::from(d - b'0')))?
    })
}

/// Write `parts` on stderr as one line.
pub fn say(parts: &[&[u8]]) {
    let mut line: Vec<u8> = Vec::new();
    for p in parts {
        line.extend_from_slice(p);
    }
    line.push(b'\n');
    crate::sys::write_all(2, &line);
}

/// Report `what` and end the process (status 127, as the loader does).
pub fn fatal(what: &[u8]) -> ! {
    crate::sys::write_all(2, b"sproot-runtime: ");
    crate::sys::write_all(2, what);
    crate::sys::write_all(2, b"\n");
    loop {
        sc(nr::EXIT_GROUP, [127, 0, 0, 0, 0, 0]);
    }
}

/// A path with its NUL, for the kernel.
pub struct CPath {
    buf: Vec<u8>,
}

impl CPath {
    pub fn new(p: &[u8]) -> Result<CPath, Errno> {
        if p.contains(&0) {
            return Err(Errno::EINVAL);
        }
        let mut buf = Vec::with_capacity(p.len() + 1);
        buf.extend_from_slice(p);
        buf.push(0);
        Ok(CPath { buf })
    }

    pub fn ptr(&self) -> usize {
        self.buf.as_ptr() as usize
    }
}

const AT_FDCWD: usize = -100isize as usize;
const AT_SYMLINK_NOFOLLOW: usize = 0x100;
const O_RDONLY_CLOEXEC: usize = 0o2_000_000;
// struct stat as the kernel lays it out here.
#[cfg(target_arch = "x86_64")]
const STAT_SIZE: usize = 144;
#[cfg(target_arch = "aarch64")]
const STAT_SIZE: usize = 128;
const STATX_SIZE: usize = 256;
#[cfg(target_arch = "x86_64")]
const ST_MODE: usize = 24;
#[cfg(target_arch = "aarch64")]
const ST_MODE: usize = 16;
const ST_INO: usize = 8;
#[cfg(target_arch = "x86_64")]
const ST_UID: usize = 28;
#[cfg(target_arch = "aarch64")]
const ST_UID: usize = 24;
/// The `user.*` attribute `--persist-ownership` keeps owners in.
const OWNER_XATTR: &[u8] = b"user.sproot.owner\0";

/// `st_nlink`: 64 bits at 16 on x86_64, 32 bits at 20 on aarch64.
fn nlink_of(st: &[u8]) -> u64 {
    if cfg!(target_arch = "aarch64") {
        u64::from(u32_at(st, 20))
    } else {
        u64_at(st, 16)
    }
}

/// `fstatat(AT_FDCWD, path)`: the kernel's `struct stat`.
pub fn stat_raw(path: &[u8], follow: bool) -> Result<[u8; STAT_SIZE], Errno> {
    let c = CPath::new(path)?;
    let mut st = [0u8; STAT_SIZE];
    let flags = if follow { 0 } else { AT_SYMLINK_NOFOLLOW };
    let r = sc(
        nr::NEWFSTATAT,
        [AT_FDCWD, c.ptr(), st.as_mut_ptr() as usize, flags, 0, 0],
    );
    res(r)?;
    Ok(st)
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_ne_bytes(a)
}

pub fn mode_of(st: &[u8]) -> u32 {
    u32_at(st, ST_MODE)
}

/// Open a host file read-only.
pub fn open_read(path: &[u8]) -> Result<i32, Errno> {
    let c = CPath::new(path)?;
    let r = sc(nr::OPENAT, [AT_FDCWD, c.ptr(), O_RDONLY_CLOEXEC, 0, 0, 0]);
    Ok(res(r)? as i32)
}

pub fn close(fd: i32) {
    sc(nr::CLOSE, [fd as usize, 0, 0, 0, 0, 0]);
}

/// `pread` at `off`: how many bytes.
pub fn pread(fd: i32, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    let r = sc(
        nr::PREAD64,
        [
            fd as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
            off as usize,
            0,
            0,
        ],
    );
    res(r)
}

/// `faccessat(AT_FDCWD, path, mode)`.
pub fn access(path: &[u8], mode: usize) -> Result<(), Errno> {
    let c = CPath::new(path)?;
    res(sc(nr::FACCESSAT, [AT_FDCWD, c.ptr(), mode, 0, 0, 0])).map(drop)
}

fn read_all(fd: i32) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let r = sc(
            nr::READ,
            [
                fd as usize,
                chunk.as_mut_ptr() as usize,
                chunk.len(),
                0,
                0,
                0,
            ],
        );
        match res(r) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

fn readlink(path: &[u8]) -> Result<Vec<u8>, Errno> {
    let c = CPath::new(path)?;
    let mut buf = alloc::vec![0u8; 4096];
    let r = sc(
        nr::READLINKAT,
        [
            AT_FDCWD,
            c.ptr(),
            buf.as_mut_ptr() as usize,
            buf.len(),
            0,
            0,
        ],
    );
    let n = res(r)?;
    buf.truncate(n);
    Ok(buf)
}

/// The threads of this process (1 when unknown).
pub fn threads() -> usize {
    let Ok(text) = RtHost.read_file(b"/proc/self/status") else {
        return 1;
    };
    text.split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"Threads:"))
        .and_then(|v| core::str::from_utf8(v).ok()?.trim().parse().ok())
        .unwrap_or(1)
}

/// The host, through the runtime's own syscalls.
#[derive(Debug)]
pub struct RtHost;

impl HostFs for RtHost {
    fn lstat_kind(&self, path: &[u8]) -> Result<Kind, Errno> {
        let st = long_path::with_short(&RtHost, path, |p| stat_raw(p, false))?;
        Ok(Kind::of_mode(mode_of(&st)))
    }

    fn stat_kind(&self, path: &[u8]) -> Result<Kind, Errno> {
        Ok(Kind::of_mode(mode_of(&stat_raw(path, true)?)))
    }

    fn lstat_mode_ino(&self, path: &[u8]) -> Result<(u32, u64), Errno> {
        let st = long_path::with_short(&RtHost, path, |p| stat_raw(p, false))?;
        Ok((mode_of(&st), u64_at(&st, ST_INO)))
    }

    fn readlink(&self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        long_path::with_short(&RtHost, path, readlink)
    }

    fn read_magic(&self, link: &[u8]) -> Result<Vec<u8>, Errno> {
        long_path::read_magic(&RtHost, link)
    }

    fn for_kernel(&self, path: Vec<u8>) -> Result<Vec<u8>, Errno> {
        if path.len() < sproot_core::fs::PATH_MAX {
            return Ok(path);
        }
        HELD_DIRS.with(|held| long_path::for_kernel(&RtHost, held, path))
    }

    fn process_ids(&self, id: i32) -> Option<(i32, i32)> {
        let p = alloc::format!("/proc/{id}/status").into_bytes();
        let text = RtHost.read_file(&p).ok()?;
        let field = |name: &[u8]| -> Option<i32> {
            let line = text.split(|&b| b == b'\n').find(|l| l.starts_with(name))?;
            let v = core::str::from_utf8(&line[name.len()..]).ok()?;
            v.trim().parse().ok()
        };
        Some((field(b"Tgid:")?, field(b"PPid:")?))
    }
}

/// Host paths of `PATH_MAX` bytes or more, looked at with the process's
/// own syscalls; the guest's kernel names them through a directory the
/// process holds (`/proc/self/fd/<n>/<name>`: the process making the call
/// is the one holding it).
impl long_path::PathOps for RtHost {
    fn open_path(&self, path: &[u8], directory: bool) -> Result<i32, Errno> {
        const O_PATH: usize = 0o10_000_000;
        const O_DIRECTORY: usize = 0o200_000;
        let c = CPath::new(path)?;
        let flags = O_PATH | O_RDONLY_CLOEXEC | if directory { O_DIRECTORY } else { 0 };
        let fd = res(sc(nr::OPENAT, [AT_FDCWD, c.ptr(), flags, 0, 0, 0]))? as i32;
        Ok(out_of_the_way(fd))
    }

    fn close(&self, fd: i32) {
        close(fd);
    }

    fn readlink(&self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        readlink(path)
    }

    fn dev_ino(&self, path: &[u8], follow: bool) -> Result<(u64, u64), Errno> {
        let st = stat_raw(path, follow)?;
        Ok((u64_at(&st, 0), u64_at(&st, ST_INO)))
    }

    fn entries(&self, path: &[u8]) -> Result<Vec<(Vec<u8>, u64)>, Errno> {
        const O_DIRECTORY: usize = 0o200_000;
        let c = CPath::new(path)?;
        let fd = res(sc(
            nr::OPENAT,
            [AT_FDCWD, c.ptr(), O_RDONLY_CLOEXEC | O_DIRECTORY, 0, 0, 0],
        ))? as i32;
        let mut out = Vec::new();
        let mut buf = alloc::vec![0u8; 16 << 10];
        let r = loop {
            let n = match self.getdents(fd, &mut buf) {
                Ok(0) => break Ok(out),
                Ok(n) => n,
                Err(e) => break Err(e),
            };
            // struct linux_dirent64: ino at 0, reclen at 16, name at 19.
            let mut at = 0;
            while at + 19 < n {
                let reclen = usize::from(u16::from_ne_bytes([buf[at + 16], buf[at + 17]]));
                if reclen == 0 || at + reclen > n {
                    break;
                }
                let name = &buf[at + 19..at + reclen];
                let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                out.push((name[..len].to_vec(), u64_at(&buf, at)));
                at += reclen;
            }
        };
        close(fd);
        r
    }

    fn fd_for_kernel(&self, fd: i32) -> Vec<u8> {
        alloc::format!("/proc/self/fd/{fd}").into_bytes()
    }

    /// The runtime's held descriptors are `O_PATH` and close-on-exec: a
    /// guest's descriptor of the same directory at that number (`dup2`
    /// clears close-on-exec) is not taken for one, nor closed as one.
    fn is_held(&self, fd: i32, id: (u64, u64)) -> bool {
        const F_GETFD: usize = 1;
        const F_GETFL: usize = 3;
        const O_PATH: usize = 0o10_000_000;
        let fdflags = sc(nr::FCNTL, [fd as usize, F_GETFD, 0, 0, 0, 0]);
        let flags = sc(nr::FCNTL, [fd as usize, F_GETFL, 0, 0, 0, 0]);
        fdflags == 1
            && flags >= 0
            && flags as usize & O_PATH != 0
            && self.dev_ino(&long_path::under(fd, b""), true) == Ok(id)
    }
}

/// The directories held for the guest's kernel (long host paths).
static HELD_DIRS: Locked<long_path::Held> = Locked::new(long_path::Held::new());

impl Host for RtHost {
    fn link_final_file(&self, path: &[u8]) -> Option<Vec<u8>> {
        layout::resolve(self, path)
    }

    fn nlink(&self, path: &[u8]) -> Result<u64, Errno> {
        Ok(nlink_of(&stat_raw(path, true)?))
    }

    fn read_file(&self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        let fd = open_read(path)?;
        let r = read_all(fd);
        close(fd);
        r
    }

    // A memfd whose name tells the guest path it stands for (the guest's
    // descriptor's link reads back as that path, `fs::snapshot_path`).
    fn snapshot(&self, text: &[u8], guest: &[u8]) -> Result<(Vec<u8>, i32), Errno> {
        let mut name = sproot_core::fs::SNAPSHOT_NAME.to_vec();
        name.extend_from_slice(guest);
        name.truncate(240);
        name.push(0);
        let fd = res(sc(
            nr::MEMFD_CREATE,
            [name.as_ptr() as usize, 1, 0, 0, 0, 0],
        ))? as i32;
        let mut done = 0;
        while done < text.len() {
            let r = sc(
                nr::WRITE,
                [
                    fd as usize,
                    text[done..].as_ptr() as usize,
                    text.len() - done,
                    0,
                    0,
                    0,
                ],
            );
            match res(r) {
                Ok(n) => done += n,
                Err(e) => {
                    close(fd);
                    return Err(e);
                }
            }
        }
        let fd = out_of_the_way(fd);
        Ok((alloc::format!("/proc/self/fd/{fd}").into_bytes(), fd))
    }

    fn close_snapshot(&self, handle: i32) {
        close(handle);
    }

    // A descriptor's `/proc` name (the core's `Ctx::fd_link`) is this
    // thread's descriptor: stat'ed through it, not through /proc (the
    // magic link leads to the very same file).
    fn stat(&self, path: &[u8], follow: bool) -> Result<Vec<u8>, Errno> {
        if let Some(fd) = own_fd(path) {
            let mut st = [0u8; STAT_SIZE];
            res(sc(
                nr::NEWFSTATAT,
                [
                    fd,
                    c"".as_ptr() as usize,
                    st.as_mut_ptr() as usize,
                    AT_EMPTY_PATH,
                    0,
                    0,
                ],
            ))?;
            return Ok(st.to_vec());
        }
        Ok(stat_raw(path, follow)?.to_vec())
    }

    fn statx(&self, path: &[u8], flags: u32, mask: u32) -> Result<Vec<u8>, Errno> {
        let mut b = alloc::vec![0u8; STATX_SIZE];
        let r = match own_fd(path) {
            Some(fd) => sc(
                nr::STATX,
                [
                    fd,
                    c"".as_ptr() as usize,
                    (flags as usize) | AT_EMPTY_PATH,
                    mask as usize,
                    b.as_mut_ptr() as usize,
                    0,
                ],
            ),
            None => {
                let c = CPath::new(path)?;
                sc(
                    nr::STATX,
                    [
                        AT_FDCWD,
                        c.ptr(),
                        flags as usize,
                        mask as usize,
                        b.as_mut_ptr() as usize,
                        0,
                    ],
                )
            }
        };
        res(r)?;
        Ok(b)
    }

    /// Read from the file's `user.sproot.owner` (`uid:gid`).
    fn stored_owner(&self, path: &[u8]) -> Option<(u32, u32)> {
        let c = CPath::new(path).ok()?;
        let mut b = [0u8; 32];
        let n = res(sc(
            nr::GETXATTR,
            [
                c.ptr(),
                OWNER_XATTR.as_ptr() as usize,
                b.as_mut_ptr() as usize,
                b.len(),
                0,
                0,
            ],
        ))
        .ok()?;
        let text = &b[..n];
        let colon = text.iter().position(|&c| c == b':')?;
        Some((number(&text[..colon])?, number(&text[colon + 1..])?))
    }

    fn link_count(&self, path: &[u8]) -> Option<u64> {
        layout::nlink_of(self, path)
    }

    fn short_socket_path(&self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        let cut = path
            .iter()
            .rposition(|&c| c == b'/')
            .ok_or(Errno::ENAMETOOLONG)?;
        let (dir, name) = (&path[..cut.max(1)], &path[cut + 1..]);
        let fd = with_short_dirs(|d| -> Result<i32, Errno> {
            use long_path::PathOps;
            // Checked before use: a guest that closed the descriptor may
            // have its number for another file now.
            if let Some((_, fd, _)) = d
                .iter()
                .find(|(p, fd, id)| p == dir && RtHost.is_held(*fd, *id))
            {
                return Ok(*fd);
            }
            // Entries whose descriptors are no longer the runtime's go.
            d.retain(|(_, fd, id)| RtHost.is_held(*fd, *id));
            if d.len() >= SHORT_DIRS_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            let fd = RtHost.open_path(dir, true)?;
            match RtHost.dev_ino(&long_path::under(fd, b""), true) {
                Ok(id) => d.push((dir.to_vec(), fd, id)),
                Err(e) => {
                    close(fd);
                    return Err(e);
                }
            }
            Ok(fd)
        })?;
        let mut out = alloc::format!("{SHORT_PREFIX}{fd}/").into_bytes();
        out.extend_from_slice(name);
        if out.len() >= sproot_core::handler::net::SUN_PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(out)
    }

    fn long_socket_path(&self, name: &[u8]) -> Option<Vec<u8>> {
        let rest = name.strip_prefix(SHORT_PREFIX.as_bytes())?;
        let slash = rest.iter().position(|&c| c == b'/')?;
        let fd: i32 = core::str::from_utf8(&rest[..slash]).ok()?.parse().ok()?;
        with_short_dirs(|d| {
            let (dir, _, _) = d.iter().find(|(_, f, _)| *f == fd)?;
            Some(sproot_core::fs::normalize_lexical(
                &[&dir[..], &rest[slash..]].concat(),
            ))
        })
    }

    fn fd_is_o_path(&self, _tid: i32, fd: i32) -> Result<bool, Errno> {
        const F_GETFL: usize = 3;
        const O_PATH: usize = 0o10_000_000;
        let fl = res(sc(nr::FCNTL, [fd as usize, F_GETFL, 0, 0, 0, 0]))?;
        Ok(fl & O_PATH != 0)
    }

    fn meta(&self, path: &[u8], follow: bool) -> Result<FileMeta, Errno> {
        let st = stat_raw(path, follow)?;
        Ok(FileMeta {
            dev: u64_at(&st, 0),
            ino: u64_at(&st, ST_INO),
            mode: u32_at(&st, ST_MODE),
            uid: u32_at(&st, ST_UID),
            gid: u32_at(&st, ST_UID + 4),
        })
    }

    fn chmod(&self, path: &[u8], mode: u32, follow: bool) -> Result<(), Errno> {
        // fchmodat has no flags argument: a symlink's own mode cannot be
        // set, and what the handlers lift are directories and files.
        let _ = follow;
        let c = CPath::new(path)?;
        res(sc(
            nr::FCHMODAT,
            [AT_FDCWD, c.ptr(), mode as usize, 0, 0, 0],
        ))
        .map(drop)
    }

    fn uid(&self) -> u32 {
        // The user running sproot: the runtime never changes its real ids.
        state().handoff.ext.real.0
    }

    fn store_owner(&self, path: &[u8], (uid, gid): (u32, u32), follow: bool) -> Result<(), Errno> {
        let c = CPath::new(path)?;
        let value = alloc::format!("{uid}:{gid}");
        let n = if follow { nr::SETXATTR } else { nr::LSETXATTR };
        res(sc(
            n,
            [
                c.ptr(),
                OWNER_XATTR.as_ptr() as usize,
                value.as_ptr() as usize,
                value.len(),
                0,
                0,
            ],
        ))
        .map(drop)
    }

    fn is_link_group_file(&self, path: &[u8]) -> bool {
        layout::group_of(self, path).is_some()
    }

    fn link_name(&self, old: &[u8], new: &[u8], l2s_dir: Option<&[u8]>) -> Result<(), Errno> {
        layout::link(self, old, new, l2s_dir)
    }

    fn unlink_name(&self, path: &[u8]) -> Result<(), Errno> {
        layout::unlink(self, path)
    }

    fn rename_names(&self, old: &[u8], new: &[u8], flags: u32) -> Result<(), Errno> {
        layout::rename(self, old, new, flags)
    }

    fn link_unnamed(&self, magic: &[u8], new: &[u8]) -> Result<(), Errno> {
        const AT_SYMLINK_FOLLOW: usize = 0x400;
        let (m, n) = (CPath::new(magic)?, CPath::new(new)?);
        res(sc(
            nr::LINKAT,
            [AT_FDCWD, m.ptr(), AT_FDCWD, n.ptr(), AT_SYMLINK_FOLLOW, 0],
        ))
        .map(drop)
    }

    // The guest's descriptors are this process's own: the listing reads
    // the guest's descriptor itself (a duplicate would show in a listing
    // of /proc/self/fd).
    fn dups_guest_fds(&self) -> bool {
        true
    }

    fn dup_guest_fd(&self, _tid: i32, _thread: bool, fd: i32) -> Result<i32, Errno> {
        // The guest's own descriptor, in its own process: a call on it
        // fails as the guest's would (EBADF, ENOTDIR).
        Ok(fd)
    }

    fn dir_at_start(&self, dup: i32) -> bool {
        const SEEK_CUR: usize = 1;
        sc(nr::LSEEK, [dup as usize, 0, SEEK_CUR, 0, 0, 0]) == 0
    }

    fn getdents(&self, dup: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        res(sc(
            nr::GETDENTS64,
            [dup as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0],
        ))
    }

    fn close_dup(&self, _dup: i32) {
        // The guest's own descriptor stays open.
    }

    // The guest's sockets are this process's own.
    fn bind_guest_fd(&self, _pid: i32, fd: i32, addr: &[u8]) -> Result<(), Errno> {
        res(sc(
            nr::BIND,
            [fd as usize, addr.as_ptr() as usize, addr.len(), 0, 0, 0],
        ))
        .map(drop)
    }

    fn guest_sockname(&self, _pid: i32, fd: i32) -> Result<Vec<u8>, Errno> {
        let mut b = alloc::vec![0u8; 128];
        let mut len: u32 = 128;
        res(sc(
            nr::GETSOCKNAME,
            [
                fd as usize,
                b.as_mut_ptr() as usize,
                &mut len as *mut u32 as usize,
                0,
                0,
                0,
            ],
        ))?;
        b.truncate((len as usize).min(128));
        Ok(b)
    }

    fn uname(&self) -> Result<[u8; 390], Errno> {
        let mut b = [0u8; 390];
        res(sc(nr::UNAME, [b.as_mut_ptr() as usize, 0, 0, 0, 0, 0]))?;
        Ok(b)
    }

    fn listxattr(&self, path: &[u8], follow: bool) -> Result<Vec<u8>, Errno> {
        let c = CPath::new(path)?;
        let n = if follow {
            nr::LISTXATTR
        } else {
            nr::LLISTXATTR
        };
        let mut b = alloc::vec![0u8; 65536];
        let len = res(sc(n, [c.ptr(), b.as_mut_ptr() as usize, b.len(), 0, 0, 0]))?;
        b.truncate(len);
        Ok(b)
    }
}

/// `-l`'s layout, with the runtime's own calls.
impl LayoutFs for RtHost {
    fn lstat_mode(&self, path: &[u8]) -> Result<u32, Errno> {
        Ok(mode_of(&stat_raw(path, false)?))
    }

    fn read_link(&self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        readlink(path)
    }

    fn symlink(&self, target: &[u8], link: &[u8]) -> Result<(), Errno> {
        let (t, l) = (CPath::new(target)?, CPath::new(link)?);
        res(sc(nr::SYMLINKAT, [t.ptr(), AT_FDCWD, l.ptr(), 0, 0, 0])).map(drop)
    }

    fn unlink(&self, path: &[u8]) -> Result<(), Errno> {
        let c = CPath::new(path)?;
        res(sc(nr::UNLINKAT, [AT_FDCWD, c.ptr(), 0, 0, 0, 0])).map(drop)
    }

    fn rename(&self, from: &[u8], to: &[u8], flags: u32) -> Result<(), Errno> {
        let (f, t) = (CPath::new(from)?, CPath::new(to)?);
        let r = if flags == 0 {
            sc(nr::RENAMEAT, [AT_FDCWD, f.ptr(), AT_FDCWD, t.ptr(), 0, 0])
        } else {
            sc(
                nr::RENAMEAT2,
                [AT_FDCWD, f.ptr(), AT_FDCWD, t.ptr(), flags as usize, 0],
            )
        };
        res(r).map(drop)
    }

    fn mkdir(&self, path: &[u8]) -> Result<(), Errno> {
        let c = CPath::new(path)?;
        res(sc(nr::MKDIRAT, [AT_FDCWD, c.ptr(), 0o777, 0, 0, 0])).map(drop)
    }

    fn canonical(&self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        const O_PATH_CLOEXEC: usize = 0o12_000_000;
        let c = CPath::new(path)?;
        let fd = res(sc(nr::OPENAT, [AT_FDCWD, c.ptr(), O_PATH_CLOEXEC, 0, 0, 0]))? as i32;
        let r = readlink(&alloc::format!("/proc/self/fd/{fd}").into_bytes());
        close(fd);
        r
    }

    fn cwd(&self) -> Result<Vec<u8>, Errno> {
        let mut b = alloc::vec![0u8; 4096];
        let n = res(sc(
            nr::GETCWD,
            [b.as_mut_ptr() as usize, b.len(), 0, 0, 0, 0],
        ))?;
        // The length counts the NUL.
        b.truncate(n.saturating_sub(1));
        Ok(b)
    }
}

/// The guest's memory: this process's own. Addresses in the first page
/// are `EFAULT`, as the kernel answers for a NULL pointer.
pub struct OwnMemory;

fn checked(addr: u64, len: usize) -> Result<usize, Errno> {
    if addr < 4096 || addr.checked_add(len as u64).is_none_or(|e| e > 1 << 56) {
        return Err(Errno::EFAULT);
    }
    Ok(addr as usize)
}

impl Memory for OwnMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let a = checked(addr, buf.len())?;
        // SAFETY: the guest passed this address for the syscall to read;
        // the runtime reads it as the kernel would (an unmapped address
        // faults here where the kernel would answer EFAULT).
        unsafe { core::ptr::copy_nonoverlapping(a as *const u8, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        let a = checked(addr, data.len())?;
        // SAFETY: as for read: a buffer the guest gave the syscall to fill.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), a as *mut u8, data.len()) };
        Ok(())
    }
}

/// A trapped syscall's registers, from the signal context.
#[derive(Clone, Copy, Debug)]
pub struct TrapRegs {
    pub nr: i64,
    pub args: [u64; 6],
    pub sp: u64,
    pub ret: i64,
}

impl SyscallRegs for TrapRegs {
    fn sysno(&self) -> i64 {
        self.nr
    }
    fn arg(&self, i: usize) -> u64 {
        self.args[i]
    }
    fn set_arg(&mut self, i: usize, value: u64) {
        self.args[i] = value;
    }
    fn sp(&self) -> u64 {
        self.sp
    }
    fn ret(&self) -> i64 {
        self.ret
    }
}

/// This thread, as `/proc/self` and its cwd resolve (its ids asked of
/// the kernel once per call).
#[derive(Default)]
pub struct OwnProcess {
    pid: core::cell::Cell<i32>,
    tid: core::cell::Cell<i32>,
}

fn once(cell: &core::cell::Cell<i32>, ask: fn() -> i32) -> i32 {
    if cell.get() == 0 {
        cell.set(ask());
    }
    cell.get()
}

impl ProcContext for OwnProcess {
    fn pid(&self) -> i32 {
        once(&self.pid, getpid)
    }
    fn tid(&self) -> i32 {
        once(&self.tid, gettid)
    }
    fn exe_host(&self, pid: i32) -> Option<Vec<u8>> {
        if pid == self.pid() {
            return Some(own_exe_host(pid));
        }
        // Another guest process: the program its runtime recorded at its
        // last execve; a fork child that has not run one since runs its
        // parent's (and so on up).
        let shared = state().shared.as_ref()?;
        let mut id = pid;
        for _ in 0..16 {
            if !self.is_guest(id) {
                return None;
            }
            if let Some(exe) = shared.exe(id, start_time(id)?) {
                return Some(exe);
            }
            id = RtHost.process_ids(id)?.1;
        }
        None
    }

    /// A guest process runs the runtime: `/proc/<pid>/exe` says so (one
    /// this process may not read is not a guest's).
    fn is_guest(&self, pid: i32) -> bool {
        if pid == self.pid() {
            return true;
        }
        let link = alloc::format!("/proc/{pid}/exe").into_bytes();
        readlink(&link).is_ok_and(|t| t == state().handoff.runtime)
    }
}

/// What the runtime knows for the whole process image.
pub struct State {
    /// The view every slot's own starts as (its caches unused).
    pub view: GuestView,
    /// The start's hand-off (the program's names; the template of the
    /// next exec's).
    pub handoff: Handoff,
    /// The run's shared state (`None`: the launcher made none).
    pub shared: Option<MappedState<'static>>,
    /// The run's count of changes to the guest's names, shared by every
    /// guest process (`None`: no directory cache).
    pub generation: Option<&'static core::sync::atomic::AtomicU64>,
}

/// A slot's view: its caches, and the generation they are true for; the
/// version of the process's names it holds.
pub struct SlotView {
    pub view: GuestView,
    pub seen: u64,
    pub names: u64,
}

/// The version of the names in the base view (`State::view`), which every
/// slot's view copies: the names the process used for host paths with
/// several guest names (`GuestView::remember_name`).
static NAMES: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
/// Held while the base view's cells are read or written.
static BASE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Before a call: the process's latest names in slot view `sv`.
pub fn names_in(sv: &mut SlotView) {
    let now = NAMES.load(Ordering::Acquire);
    if sv.names != now {
        alone(&BASE, || sv.view.copy_names_from(&state().view));
        sv.names = now;
    }
}

/// After a call that remembered names in `sv` (`before`: its count
/// then): they become the process's.
pub fn names_out(sv: &mut SlotView, before: u64) {
    if sv.view.names_remembered() != before {
        alone(&BASE, || state().view.copy_names_from(&sv.view));
        sv.names = NAMES.fetch_add(1, Ordering::AcqRel) + 1;
    }
}

static SLOT_VIEWS: [AtomicPtr<SlotView>; crate::heap::SLOTS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; crate::heap::SLOTS];

/// The running handler's view (slot `slot`'s, made on its first use, in
/// its heap), its caches emptied if another call changed the guest's
/// names since they were filled.
pub fn slot_view(slot: usize) -> &'static mut SlotView {
    let st = state();
    let mut p = SLOT_VIEWS[slot].load(Ordering::Relaxed);
    if p.is_null() {
        // Cloning reads the view's cells: one thread at a time.
        let names = NAMES.load(Ordering::Acquire);
        let mut view = alone(&BASE, || st.view.clone());
        view.set_cache(st.generation.is_some());
        let b = alloc::boxed::Box::new(SlotView {
            view,
            seen: 0,
            names,
        });
        p = alloc::boxed::Box::into_raw(b);
        SLOT_VIEWS[slot].store(p, Ordering::Relaxed);
    }
    // SAFETY: a slot's view is used only by the handler holding the slot;
    // it is never freed in this process image.
    let sv = unsafe { &mut *p };
    if let Some(g) = st.generation {
        let now = g.load(Ordering::Acquire);
        if now != sv.seen {
            sv.view.invalidate_cache();
            sv.seen = now;
        }
    }
    sv
}

/// Tell every guest process that names changed (after a rename, unlink...).
pub fn names_changed() {
    if let Some(g) = state().generation {
        g.fetch_add(1, Ordering::AcqRel);
    }
}

/// Map the run's shared state, if there is one and it can be opened.
pub fn map_shared(path: &[u8]) -> Option<MappedState<'static>> {
    if path.is_empty() {
        return None;
    }
    let c = CPath::new(path).ok()?;
    const O_RDWR_CLOEXEC: usize = 0o2_000_002;
    let fd = res(sc(nr::OPENAT, [AT_FDCWD, c.ptr(), O_RDWR_CLOEXEC, 0, 0, 0])).ok()?;
    const MAP_SHARED: usize = 1;
    let addr = sc(
        crate::sys::nr::MMAP,
        [
            0,
            BYTES,
            crate::sys::PROT_READ | crate::sys::PROT_WRITE,
            MAP_SHARED,
            fd,
            0,
        ],
    );
    close(fd as i32);
    let addr = res(addr).ok()?;
    // SAFETY: a shared mapping of `BYTES` bytes, page-aligned, never
    // unmapped; every word of it is only ever used atomically.
    let words = unsafe {
        core::slice::from_raw_parts(addr as *const core::sync::atomic::AtomicU64, BYTES / 8)
    };
    MappedState::new(words)
}

static STATE: AtomicPtr<State> = AtomicPtr::new(core::ptr::null_mut());

/// Set the state (once, at start, before the handler is installed).
pub fn set_state(s: State) {
    let b = alloc::boxed::Box::new(s);
    STATE.store(alloc::boxed::Box::into_raw(b), Ordering::Release);
}

pub fn state() -> &'static State {
    let p = STATE.load(Ordering::Acquire);
    if p.is_null() {
        fatal(b"trapped syscall before start-up");
    }
    // SAFETY: set once from a leaked Box before any handler runs, never
    // freed nor changed afterwards.
    unsafe { &*p }
}

/// The process's fake credentials (`-0`/`-i`): one copy for its threads
/// (the C library applies a `set*id` to every thread alike), copied by
/// `fork`, handed to the next program at `execve`.
static CREDS: Locked<Option<Creds>> = Locked::new(None);

/// Run `f` on the process's fake credentials, alone.
pub fn with_creds<T>(f: impl FnOnce(&mut Option<Creds>) -> T) -> T {
    CREDS.with(f)
}

/// A value of the process that its threads reach one at a time.
pub struct Locked<T> {
    busy: core::sync::atomic::AtomicBool,
    value: core::cell::UnsafeCell<T>,
}

// SAFETY: `value` is reached only while `busy` is held (`with`).
unsafe impl<T> Sync for Locked<T> {}

impl<T> Locked<T> {
    pub const fn new(value: T) -> Self {
        Locked {
            busy: core::sync::atomic::AtomicBool::new(false),
            value: core::cell::UnsafeCell::new(value),
        }
    }

    /// Run `f` on the value, alone.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: the turn is this thread's (taken, or taken over from a
        // holder that no longer runs).
        alone(&self.busy, || f(unsafe { &mut *self.value.get() }))
    }
}

/// Run `f` while holding `busy`. A holder that never lets go (a thread a
/// `fork` did not copy, caught in the middle of its turn) is taken over
/// after a while.
fn alone<T>(busy: &core::sync::atomic::AtomicBool, f: impl FnOnce() -> T) -> T {
    let mut spins = 0u32;
    while busy
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        spins += 1;
        if spins > 1 << 22 {
            break;
        }
        core::hint::spin_loop();
    }
    let r = f();
    busy.store(false, Ordering::Release);
    r
}

/// `fd` moved above the guest's numbers (the descriptor the guest opens
/// next gets the number it would get natively); `fd` itself if it cannot
/// be.
fn out_of_the_way(fd: i32) -> i32 {
    const F_DUPFD_CLOEXEC: usize = 1030;
    match res(sc(nr::FCNTL, [fd as usize, F_DUPFD_CLOEXEC, 512, 0, 0, 0])) {
        Ok(high) => {
            close(fd);
            high as i32
        }
        Err(_) => fd,
    }
}

/// How the process names a socket whose host path is too long for
/// `sun_path`: `/proc/self/fd/<n>/<name>`, `n` its descriptor of the
/// directory (the kernel resolves it in the calling process; a `fork`
/// child has the same descriptors and table).
const SHORT_PREFIX: &str = "/proc/self/fd/";

/// Most directories held open for long socket paths.
const SHORT_DIRS_MAX: usize = 64;

/// The directories (host path, descriptor) held open for long socket
/// paths, never closed while the process image lives.
static SHORT_DIRS: Locked<Vec<ShortDir>> = Locked::new(Vec::new());

/// A directory held for long socket paths: its host path, descriptor, and
/// device and inode when opened.
type ShortDir = (Vec<u8>, i32, (u64, u64));

fn with_short_dirs<T>(f: impl FnOnce(&mut Vec<ShortDir>) -> T) -> T {
    SHORT_DIRS.with(f)
}

/// The host path of the program this process runs (`pid`: its id). A
/// program run through a descriptor is `/proc/<pid>/fd/<n>`, the
/// runtime's copy of that descriptor, which a `fork` child has too: named
/// with the child's own id, so that it outlives the parent.
pub fn own_exe_host(pid: i32) -> Vec<u8> {
    let exe = &state().handoff.exe_host;
    match sproot_core::fs::parse_magic_link(exe) {
        Some(link) if link.pid != pid => match link.kind {
            sproot_core::fs::MagicKind::Fd(fd) => {
                alloc::format!("/proc/{pid}/fd/{fd}").into_bytes()
            }
            _ => exe.clone(),
        },
        _ => exe.clone(),
    }
}

/// Now, in the unit of the kernel's start times: clock ticks (`USER_HZ`,
/// 100 on every architecture sproot runs on) of `CLOCK_BOOTTIME`.
pub fn boot_ticks() -> u64 {
    const CLOCK_BOOTTIME: usize = 7;
    let mut ts = [0u64; 2];
    sc(
        nr::CLOCK_GETTIME,
        [CLOCK_BOOTTIME, ts.as_mut_ptr() as usize, 0, 0, 0, 0],
    );
    ts[0] * 100 + ts[1] / 10_000_000
}

/// The start time of process `pid` (`/proc/<pid>/stat`'s 22nd field):
/// kept by `execve`, new for each process.
pub fn start_time(pid: i32) -> Option<u64> {
    let text = RtHost
        .read_file(&alloc::format!("/proc/{pid}/stat").into_bytes())
        .ok()?;
    // After the command's closing parenthesis: the state is field 3.
    let close = text.iter().rposition(|&b| b == b')')?;
    let field = text[close + 1..]
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty())
        .nth(22 - 3)?;
    core::str::from_utf8(field).ok()?.trim().parse().ok()
}
