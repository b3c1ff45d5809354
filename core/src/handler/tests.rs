//! The core's handlers against a fake backend: registers and memory held
//! in the test, the host in memory (`fs::testing::MemHost`), no std and
//! no ptrace.

use super::*;
use crate::Errno;
use crate::backend::{Memory, Scratch, SyscallRegs};
use crate::fs::testing::{MemHost, OneProcess};
use crate::fs::{Binding, GuestView, HostFs};
use crate::shared::SharedState;
use crate::sysno as sys;
use crate::table::{self, Kind};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicI32, Ordering};

extern crate std;
use std::sync::Mutex;

/// An owner kept in a file: path, owner, followed.
type Stored = (Vec<u8>, (u32, u32), bool);

/// The real user of the fake host.
const UID: u32 = 1000;

const BASE: u64 = 0x1000;
const SIZE: usize = 1 << 14;
const TOP: u64 = BASE + SIZE as u64;
const AT_FDCWD: u64 = -100i64 as u64;

#[derive(Clone, Copy, Debug)]
struct Regs {
    nr: i64,
    args: [u64; 6],
    ret: i64,
}

impl SyscallRegs for Regs {
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
        TOP
    }
    fn ret(&self) -> i64 {
        self.ret
    }
}

struct Mem(Vec<u8>);

impl Mem {
    fn range(&self, addr: u64, len: usize) -> Result<core::ops::Range<usize>, Errno> {
        let start = addr.checked_sub(BASE).ok_or(Errno::EFAULT)? as usize;
        let end = start + len;
        if end > self.0.len() {
            return Err(Errno::EFAULT);
        }
        Ok(start..end)
    }
    fn cstr(&self, addr: u64) -> Vec<u8> {
        let rest = &self.0[self.range(addr, 0).unwrap().start..];
        rest[..rest.iter().position(|&b| b == 0).unwrap()].to_vec()
    }
}

impl Memory for Mem {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        buf.copy_from_slice(&self.0[self.range(addr, buf.len())?]);
        Ok(())
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        let r = self.range(addr, data.len())?;
        self.0[r].copy_from_slice(data);
        Ok(())
    }
}

/// The host's side of the handlers, in memory: `/proc` text to rewrite,
/// and the snapshot handed out and given back.
#[derive(Debug, Default)]
struct Host {
    fs: MemHost,
    closed: AtomicI32,
    /// Files' owners and modes (others: root's, `0o755`/`0o644`).
    metas: Mutex<BTreeMap<Vec<u8>, FileMeta>>,
    /// Every `chmod`: path, mode, followed.
    chmods: Mutex<Vec<(Vec<u8>, u32, bool)>>,
    /// Every owner kept in a file: path, owner, followed.
    stored: Mutex<Vec<Stored>>,
    /// `-l`: each name of an emulated hard link, with its final file.
    link_names: BTreeMap<Vec<u8>, Vec<u8>>,
    /// `getdents64`'s batches on the duplicate of the guest's fd 5, and
    /// the duplicates closed.
    batches: Mutex<Vec<Vec<u8>>>,
    batches_read: AtomicI32,
    dups_closed: AtomicI32,
    /// `-l`'s operations on the layout, as text.
    l2s_ops: Mutex<Vec<String>>,
}

impl Host {
    /// `path`, of type `kind` (`S_IF*`), owned by `uid` with `mode`.
    fn own(&self, path: &str, kind: u32, uid: u32, mode: u32) {
        let ino = 10 + self.metas.lock().unwrap().len() as u64;
        let meta = FileMeta {
            dev: 1,
            ino,
            mode: kind | mode,
            uid,
            gid: uid,
        };
        self.metas
            .lock()
            .unwrap()
            .insert(path.as_bytes().to_vec(), meta);
    }
    fn l2s_op(&self, op: String) -> Result<(), Errno> {
        self.l2s_ops.lock().unwrap().push(op);
        Ok(())
    }
    fn mode(&self, path: &str) -> u32 {
        self.metas.lock().unwrap()[path.as_bytes()].mode & 0o7777
    }
}

impl crate::fs::HostFs for Host {
    fn lstat_kind(&self, p: &[u8]) -> Result<crate::fs::Kind, Errno> {
        self.fs.lstat_kind(p)
    }
    fn stat_kind(&self, p: &[u8]) -> Result<crate::fs::Kind, Errno> {
        self.fs.stat_kind(p)
    }
    fn lstat_mode_ino(&self, p: &[u8]) -> Result<(u32, u64), Errno> {
        self.fs.lstat_mode_ino(p)
    }
    fn readlink(&self, p: &[u8]) -> Result<Vec<u8>, Errno> {
        self.fs.readlink(p)
    }
    fn read_magic(&self, p: &[u8]) -> Result<Vec<u8>, Errno> {
        self.fs.read_magic(p)
    }
    fn for_kernel(&self, p: Vec<u8>) -> Result<Vec<u8>, Errno> {
        Ok(p)
    }
    fn process_ids(&self, _: i32) -> Option<(i32, i32)> {
        None
    }
}

impl super::Host for Host {
    fn link_final_file(&self, path: &[u8]) -> Option<Vec<u8>> {
        self.link_names.get(path).cloned()
    }
    /// The guest's fd 7 is a file with no name.
    fn nlink(&self, path: &[u8]) -> Result<u64, Errno> {
        Ok(if path == b"/proc/100/fd/7" { 0 } else { 1 })
    }
    fn read_file(&self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        match path {
            b"/proc/100/mounts" => Ok(b"/dev/sda1 /r/etc ext4 rw 0 0\n".to_vec()),
            _ => Err(Errno::ENOENT),
        }
    }
    fn snapshot(&self, text: &[u8], guest: &[u8]) -> Result<(Vec<u8>, i32), Errno> {
        assert_eq!(text, b"/dev/sda1 /etc ext4 rw 0 0\n");
        assert_eq!(guest, b"/proc/100/mounts");
        Ok((b"/snapshot/7".to_vec(), 7))
    }
    fn close_snapshot(&self, handle: i32) {
        self.closed.store(handle, Ordering::SeqCst);
    }
    /// A `struct stat` with the inode number alone (the only field
    /// the handlers tested here read).
    fn stat(&self, path: &[u8], _: bool) -> Result<Vec<u8>, Errno> {
        let (_, ino) = self.fs.lstat_mode_ino(path)?;
        let mut st = vec![0u8; 144];
        st[8..16].copy_from_slice(&ino.to_ne_bytes());
        Ok(st)
    }
    fn statx(&self, _: &[u8], _: u32, _: u32) -> Result<Vec<u8>, Errno> {
        Err(Errno::ENOSYS)
    }
    fn stored_owner(&self, _: &[u8]) -> Option<(u32, u32)> {
        None
    }
    fn link_count(&self, _: &[u8]) -> Option<u64> {
        None
    }
    fn short_socket_path(&self, _: &[u8]) -> Result<Vec<u8>, Errno> {
        Err(Errno::ENAMETOOLONG)
    }
    fn long_socket_path(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn fd_is_o_path(&self, _: i32, _: i32) -> Result<bool, Errno> {
        Ok(false)
    }
    fn listxattr(&self, _: &[u8], _: bool) -> Result<Vec<u8>, Errno> {
        Ok(Vec::new())
    }
    fn meta(&self, path: &[u8], _: bool) -> Result<FileMeta, Errno> {
        if let Some(m) = self.metas.lock().unwrap().get(path) {
            return Ok(*m);
        }
        let (mode, ino) = match self.fs.lstat_kind(path)? {
            crate::fs::Kind::Dir => (0o040755, 2),
            _ => (0o100644, 3),
        };
        Ok(FileMeta {
            dev: 1,
            ino,
            mode,
            ..FileMeta::default()
        })
    }
    fn chmod(&self, path: &[u8], mode: u32, follow: bool) -> Result<(), Errno> {
        let mut metas = self.metas.lock().unwrap();
        let m = metas.get_mut(path).ok_or(Errno::EPERM)?;
        m.mode = (m.mode & !0o7777) | mode;
        self.chmods
            .lock()
            .unwrap()
            .push((path.to_vec(), mode, follow));
        Ok(())
    }
    fn uid(&self) -> u32 {
        UID
    }
    fn is_link_group_file(&self, path: &[u8]) -> bool {
        self.link_names.contains_key(path) || self.link_names.values().any(|f| f == path)
    }
    fn dups_guest_fds(&self) -> bool {
        true
    }
    fn dup_guest_fd(&self, tid: i32, thread: bool, fd: i32) -> Result<i32, Errno> {
        assert_eq!((tid, thread), (100, false));
        if fd == 5 { Ok(50) } else { Err(Errno::EBADF) }
    }
    fn dir_at_start(&self, dup: i32) -> bool {
        assert_eq!(dup, 50);
        self.batches_read.load(Ordering::SeqCst) == 0
    }
    fn getdents(&self, dup: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        assert_eq!(dup, 50);
        let mut batches = self.batches.lock().unwrap();
        if batches.is_empty() {
            return Ok(0);
        }
        let batch = batches.remove(0);
        self.batches_read.fetch_add(1, Ordering::SeqCst);
        buf[..batch.len()].copy_from_slice(&batch);
        Ok(batch.len())
    }
    fn close_dup(&self, dup: i32) {
        self.dups_closed.store(dup, Ordering::SeqCst);
    }
    fn link_name(&self, old: &[u8], new: &[u8], dir: Option<&[u8]>) -> Result<(), Errno> {
        let dir = String::from_utf8_lossy(dir.unwrap_or(b"-"));
        self.l2s_op(format!("link {} {dir}", text(&[old, new])))
    }
    fn unlink_name(&self, path: &[u8]) -> Result<(), Errno> {
        self.l2s_op(format!("unlink {}", text(&[path])))
    }
    fn rename_names(&self, old: &[u8], new: &[u8], flags: u32) -> Result<(), Errno> {
        self.l2s_op(format!("rename {} {flags}", text(&[old, new])))
    }
    fn link_unnamed(&self, magic: &[u8], new: &[u8]) -> Result<(), Errno> {
        self.l2s_op(format!("first link {}", text(&[magic, new])))
    }
    fn store_owner(&self, path: &[u8], owner: (u32, u32), follow: bool) -> Result<(), Errno> {
        self.stored
            .lock()
            .unwrap()
            .push((path.to_vec(), owner, follow));
        Ok(())
    }
}

/// A guest rooted at `/r`, `/data` bound at `/mnt`, `/proc` at `/proc`;
/// its cwd is `/etc`.
fn setup() -> (Arc<Host>, GuestView) {
    setup_with(|fs| fs)
}

/// [`setup`]'s, with more of the host's files.
fn setup_with(more: impl FnOnce(MemHost) -> MemHost) -> (Arc<Host>, GuestView) {
    let fs = MemHost::default()
        .dir("/r")
        .dir("/r/etc")
        .dir("/r/proc")
        .dir("/r/mnt")
        .file("/r/etc/hosts")
        .link("/r/etc/abs", "/etc/hosts")
        .dir("/data")
        .file("/data/f")
        .dir("/proc")
        .dir("/proc/100")
        .file("/proc/100/mounts")
        .link("/proc/100/cwd", "/r/etc");
    let host = Arc::new(Host {
        fs: more(fs),
        ..Default::default()
    });
    let bind = |h: &str, g: &str| Binding {
        host: h.as_bytes().to_vec(),
        guest: g.as_bytes().to_vec(),
    };
    let view = GuestView::new(
        host.clone(),
        b"/r",
        vec![bind("/data", "/mnt"), bind("/proc", "/proc")],
    );
    (host, view)
}

/// A call in the making: its registers and the guest's memory.
struct Call {
    regs: Regs,
    mem: Mem,
    data: u64,
}

impl Call {
    fn new(nr: i64, args: [u64; 6]) -> Self {
        Call {
            regs: Regs { nr, args, ret: 0 },
            mem: Mem(vec![0; SIZE]),
            data: BASE,
        }
    }
    /// Argument `i` points at the string `s`.
    fn str(mut self, i: usize, s: &str) -> Self {
        let at = self.data;
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.mem.write(at, &v).unwrap();
        self.data += v.len() as u64 + 16;
        self.regs.args[i] = at;
        self
    }
    /// Run `f` on the call's context; its result and the registers after.
    fn run<T>(&mut self, host: &Host, view: &GuestView, f: impl FnOnce(&mut Ctx<Regs>) -> T) -> T {
        with_ctx(self, host, view, &crate::shared::LocalState::default(), f)
    }
    /// The table's handler for the call.
    fn enter(&mut self, host: &Host, view: &GuestView) -> Result<Outcome, Errno> {
        let entry = table::classify(self.regs.nr).unwrap();
        self.run(host, view, |ctx| match entry.kind {
            Kind::Paths(args) => paths::translate(ctx, args),
            Kind::Getcwd => paths::getcwd(ctx),
            Kind::Readlink {
                dirfd,
                path,
                buf,
                size,
            } => paths::readlink(ctx, dirfd, path, buf, size),
            k => panic!("not a core handler: {k:?}"),
        })
    }
}

#[test]
fn an_absolute_path_becomes_its_host_path_in_the_scratch_space() {
    let (host, view) = setup();
    let mut c = Call::new(sys::SYS_openat, [AT_FDCWD, 0, 0, 0, 0, 0]).str(1, "/etc/../mnt/f");
    assert!(matches!(c.enter(&host, &view), Ok(Outcome::Rewritten)));
    let at = c.regs.args[1];
    assert!((BASE + 64..TOP).contains(&at), "{at:#x}");
    assert_eq!(c.mem.cstr(at), b"/data/f");
}

#[test]
fn one_name_in_a_plain_directory_is_left_to_the_kernel() {
    let (host, view) = setup();
    let mut c = Call::new(sys::SYS_openat, [AT_FDCWD, 0, 0, 0, 0, 0]).str(1, "hosts");
    let before = c.regs.args[1];
    assert!(matches!(c.enter(&host, &view), Ok(Outcome::Pass)));
    assert_eq!(c.regs.args[1], before);
    // Followed, a symlink must resolve inside the guest.
    let mut c = Call::new(sys::SYS_openat, [AT_FDCWD, 0, 0, 0, 0, 0]).str(1, "abs");
    assert!(matches!(c.enter(&host, &view), Ok(Outcome::Rewritten)));
    assert_eq!(c.mem.cstr(c.regs.args[1]), b"/r/etc/hosts");
}

#[test]
fn the_kernels_answers_for_what_translation_would_hide() {
    let (host, view) = setup();
    // A rename between bindings.
    let args = [AT_FDCWD, 0, AT_FDCWD, 0, 0, 0];
    let mut c = Call::new(sys::SYS_renameat, args)
        .str(1, "/etc/hosts")
        .str(3, "/mnt/g");
    assert_eq!(c.enter(&host, &view).unwrap_err(), Errno::EXDEV);
    // Removing a binding point.
    let mut c = Call::new(
        sys::SYS_unlinkat,
        [AT_FDCWD, 0, table::AT_REMOVEDIR, 0, 0, 0],
    )
    .str(1, "/mnt");
    assert_eq!(c.enter(&host, &view).unwrap_err(), Errno::EBUSY);
    // A missing path, unless the flags were bad first.
    let mut c = Call::new(sys::SYS_openat, [AT_FDCWD, 0, 0, 0, 0, 0]).str(1, "/no/such");
    assert_eq!(c.enter(&host, &view).unwrap_err(), Errno::ENOENT);
    let mut c = Call::new(sys::SYS_fchmodat2, [AT_FDCWD, 0, 0o644, !0, 0, 0]).str(1, "/no/such");
    assert_eq!(c.enter(&host, &view).unwrap_err(), Errno::EINVAL);
}

#[test]
fn getcwd_and_readlink_answer_from_the_view() {
    let (host, view) = setup();
    let buf = BASE + 0x800;
    let mut c = Call::new(sys::SYS_getcwd, [buf, 64, 0, 0, 0, 0]);
    assert!(matches!(c.enter(&host, &view), Ok(Outcome::Emulated(5))));
    assert_eq!(c.mem.cstr(buf), b"/etc");
    let mut c = Call::new(sys::SYS_getcwd, [buf, 4, 0, 0, 0, 0]);
    assert_eq!(c.enter(&host, &view).unwrap_err(), Errno::ERANGE);
    let mut c = Call::new(sys::SYS_readlinkat, [AT_FDCWD, 0, buf, 5, 0, 0]).str(1, "/etc/abs");
    assert!(matches!(c.enter(&host, &view), Ok(Outcome::Emulated(5))));
    assert_eq!(&c.mem.0[0x800..0x806], b"/etc/\0");
    let mut c = Call::new(sys::SYS_readlinkat, [AT_FDCWD, 0, buf, 0, 0, 0]).str(1, "/etc/abs");
    assert_eq!(c.enter(&host, &view).unwrap_err(), Errno::EINVAL);
}

#[test]
fn a_proc_file_is_opened_from_its_snapshot_given_back_at_the_exit() {
    let (host, view) = setup();
    let flags = table::O_NOFOLLOW;
    let mut c =
        Call::new(sys::SYS_openat, [AT_FDCWD, 0, flags, 0, 0, 0]).str(1, "/proc/self/mounts");
    let hook = match c.enter(&host, &view) {
        Ok(Outcome::WithExit {
            rewritten: true,
            hook,
        }) => hook,
        o => panic!("{o:?}"),
    };
    assert_eq!(hook, ExitHook::CloseSnapshot(7));
    assert_eq!(c.mem.cstr(c.regs.args[1]), b"/snapshot/7");
    assert_eq!(
        c.regs.args[2] & table::O_NOFOLLOW,
        0,
        "a magic link is followed"
    );
    assert_eq!(host.closed.load(Ordering::SeqCst), 0);
    c.regs.ret = 3;
    c.run(&host, &view, |ctx| exit(ctx, hook));
    assert_eq!(host.closed.load(Ordering::SeqCst), 7);
}

#[test]
fn credential_calls_answer_from_the_fake_credentials() {
    use crate::ext::fake_id::Creds;
    let (host, view) = setup();
    let mut creds = Creds::new(0, 0);
    let ids = BASE + 0x800;
    let run = |nr: i64, args: [u64; 6], creds: &mut Creds| {
        let mut c = Call::new(nr, args);
        let out = c.run(&host, &view, |ctx| ids::credentials(ctx, creds));
        (out, c.mem)
    };
    let (out, mem) = run(
        sys::SYS_getresuid,
        [ids, ids + 4, ids + 8, 0, 0, 0],
        &mut creds,
    );
    assert!(matches!(out, Some(Ok(Outcome::Emulated(0)))));
    assert_eq!(&mem.0[0x800..0x80c], &[0; 12]);
    let (out, _) = run(sys::SYS_setresuid, [1000, 1000, !0, 0, 0, 0], &mut creds);
    assert!(matches!(out, Some(Ok(Outcome::Emulated(0)))));
    let (out, mem) = run(
        sys::SYS_getresuid,
        [ids, ids + 4, ids + 8, 0, 0, 0],
        &mut creds,
    );
    assert!(matches!(out, Some(Ok(Outcome::Emulated(0)))));
    let got: Vec<u32> = mem.0[0x800..0x80c]
        .chunks(4)
        .map(|b| u32::from_ne_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(got, [1000, 1000, 0]);
    // No longer root: the kernel's EPERM.
    let (out, _) = run(sys::SYS_setgroups, [0, 0, 0, 0, 0, 0], &mut creds);
    assert!(matches!(out, Some(Err(Errno::EPERM))));
    let (out, _) = run(sys::SYS_getresuid, [0, ids, ids, 0, 0, 0], &mut creds);
    assert!(matches!(out, Some(Err(Errno::EFAULT))));
    // Not a credential call.
    let (out, _) = run(sys::SYS_getpid, [0; 6], &mut creds);
    assert!(out.is_none());
}

#[test]
fn a_unix_address_comes_back_as_the_guest_path_or_unnamed() {
    use super::net::{SOCKADDR_UN_LEN, SockExit};
    let (host, view) = setup();
    let (addr, len) = (BASE + 0x800, BASE + 0x900);
    // The kernel reports `host_path` (getsockname(fd, addr, &len)).
    let back = |host_path: &[u8]| {
        let mut c = Call::new(sys::SYS_getsockname, [3, addr, len, 0, 0, 0]);
        c.mem
            .write(len, &(SOCKADDR_UN_LEN as u32).to_ne_bytes())
            .unwrap();
        let hook = match c.run(&host, &view, |ctx| net::addr_out(ctx, 1, 2)) {
            Ok(Outcome::WithExit {
                rewritten: false,
                hook,
            }) => hook,
            o => panic!("{o:?}"),
        };
        assert!(matches!(hook, ExitHook::Sockets(SockExit::Addr { .. })));
        let mut kernel = 1u16.to_ne_bytes().to_vec();
        kernel.extend_from_slice(host_path);
        kernel.push(0);
        c.mem.write(addr, &kernel).unwrap();
        c.mem
            .write(len, &(kernel.len() as u32).to_ne_bytes())
            .unwrap();
        c.run(&host, &view, |ctx| exit(ctx, hook));
        let mut n = [0u8; 4];
        c.mem.read(len, &mut n).unwrap();
        let n = u32::from_ne_bytes(n) as usize;
        let mut got = vec![0u8; n];
        c.mem.read(addr, &mut got).unwrap();
        got
    };
    let mut want = 1u16.to_ne_bytes().to_vec();
    want.extend_from_slice(b"/etc/s\0");
    assert_eq!(back(b"/r/etc/s"), want);
    assert_eq!(back(b"/data/s")[2..], b"/mnt/s\0"[..]);
    // Outside the view: an unnamed address, the family alone.
    assert_eq!(back(b"/run/host.sock"), 1u16.to_ne_bytes());
}

#[test]
fn openat2_applies_resolve_rules_in_the_guests_view() {
    const RESOLVE_NO_XDEV: u64 = 1;
    let (host, view) = setup();
    let how = BASE + 0x800;
    let open = |path: &str| {
        let mut c = Call::new(sys::SYS_openat2, [AT_FDCWD, 0, how, 24, 0, 0]).str(1, path);
        let mut h = [0u8; 24];
        h[16..24].copy_from_slice(&RESOLVE_NO_XDEV.to_ne_bytes());
        c.mem.write(how, &h).unwrap();
        let out = c.run(&host, &view, openat2::enter);
        (out, c)
    };
    // Into a binding: another mount to the guest.
    assert_eq!(open("/mnt/f").0.unwrap_err(), Errno::EXDEV);
    // Within the root: the host path, RESOLVE_NO_XDEV dropped (checked).
    let (out, c) = open("/etc/hosts");
    assert!(matches!(out, Ok(Outcome::Rewritten)), "{out:?}");
    assert_eq!(c.mem.cstr(c.regs.args[1]), b"/r/etc/hosts");
    let mut kept = [0u8; 8];
    c.mem.read(c.regs.args[2] + 16, &mut kept).unwrap();
    assert_eq!(u64::from_ne_bytes(kept), 0);
}

#[test]
fn fake_root_keeps_privileged_xattrs_and_leaves_the_rest_to_the_kernel() {
    let (host, view) = setup();
    let shared = crate::shared::LocalState::default();
    let buf = BASE + 0x800;
    let xattr = |nr: i64, name: &str, value: &[u8], size: u64| {
        let mut c = Call::new(nr, [0, 0, buf, size, 0, 0])
            .str(0, "/etc/hosts")
            .str(1, name);
        c.mem.write(buf, value).unwrap();
        let mut ctx = Ctx::new(
            &view,
            &OneProcess,
            &*host,
            &shared,
            c.regs,
            &mut c.mem,
            Scratch::below(TOP),
        );
        let out = xattr::enter(&mut ctx);
        let mut got = vec![0u8; 8];
        c.mem.read(buf, &mut got).unwrap();
        (out, got)
    };
    let (out, _) = xattr(sys::SYS_setxattr, "trusted.a", b"v", 1);
    assert!(matches!(out, Ok(Some(Outcome::Emulated(0)))), "{out:?}");
    let (out, got) = xattr(sys::SYS_getxattr, "trusted.a", &[0; 8], 8);
    assert!(matches!(out, Ok(Some(Outcome::Emulated(1)))), "{out:?}");
    assert_eq!(got[0], b'v');
    // Too small a buffer, and no buffer (the size asked).
    let (out, _) = xattr(sys::SYS_getxattr, "trusted.a", &[], 0);
    assert!(matches!(out, Ok(Some(Outcome::Emulated(1)))), "{out:?}");
    // Not kept by sproot: the kernel's.
    let (out, _) = xattr(sys::SYS_getxattr, "trusted.b", &[], 8);
    assert!(matches!(out, Ok(None)), "{out:?}");
    let (out, _) = xattr(sys::SYS_setxattr, "user.a", b"v", 1);
    assert!(matches!(out, Ok(None)), "{out:?}");
    let (out, _) = xattr(sys::SYS_removexattr, "trusted.a", &[], 0);
    assert!(matches!(out, Ok(Some(Outcome::Emulated(0)))), "{out:?}");
    assert!(!shared.xattr_has_any((0, 1)));
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;

/// A context on `c` sharing `shared`, run through `f`.
fn with_ctx<T>(
    c: &mut Call,
    host: &Host,
    view: &GuestView,
    shared: &dyn SharedState,
    f: impl FnOnce(&mut Ctx<Regs>) -> T,
) -> T {
    let mut ctx = Ctx::new(
        view,
        &OneProcess,
        host,
        shared,
        c.regs,
        &mut c.mem,
        Scratch::below(TOP),
    );
    let out = f(&mut ctx);
    c.regs = ctx.regs;
    out
}

#[test]
fn fake_roots_chown_is_recorded_and_kept_in_the_file() {
    use crate::ext::fake_id::Creds;
    let (host, view) = setup();
    host.own("/r/etc/hosts", S_IFREG, UID, 0o644);
    let shared = crate::shared::LocalState::default();
    let creds = Creds::new(0, 0);
    let key = (
        1,
        super::Host::meta(&*host, b"/r/etc/hosts", true)
            .unwrap()
            .ino,
    );
    let chown = |args: [u64; 6], path: &str, persist: bool| {
        let mut c = Call::new(sys::SYS_fchownat, args).str(1, path);
        with_ctx(&mut c, &host, &view, &shared, |ctx| {
            owners::chown(ctx, &creds, (UID, UID), persist)
        })
    };
    // The group kept (-1): the real user's shows as the fake root's.
    assert_eq!(
        chown([AT_FDCWD, 0, 5, !0, 0, 0], "/etc/hosts", false),
        Ok(0)
    );
    assert_eq!(shared.owner(key), Some((5, 0)));
    // Then the uid kept: the recorded one, not the file's.
    assert_eq!(chown([AT_FDCWD, 0, !0, 7, 0, 0], "hosts", true), Ok(0));
    assert_eq!(shared.owner(key), Some((5, 7)));
    assert_eq!(
        *host.stored.lock().unwrap(),
        [(b"/r/etc/hosts".to_vec(), (5, 7), true)]
    );
    // Not followed with AT_SYMLINK_NOFOLLOW; the kernel's errors.
    let nofollow = table::AT_SYMLINK_NOFOLLOW;
    assert_eq!(chown([AT_FDCWD, 0, 1, 1, nofollow, 0], "abs", true), Ok(0));
    assert!(!host.stored.lock().unwrap()[1].2);
    assert_eq!(
        chown([AT_FDCWD, 0, 1, 1, 0, 0], "/no/such", false),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        chown([AT_FDCWD, 0, 1, 1, !0, 0], "/etc/hosts", false),
        Err(Errno::EINVAL)
    );
}

#[test]
fn fake_roots_access_passes_but_needs_an_execute_bit() {
    let (host, view) = setup();
    host.own("/r/etc/hosts", S_IFREG, UID, 0o000);
    let shared = crate::shared::LocalState::default();
    let access = |path: &str, mode: u64| {
        let mut c = Call::new(sys::SYS_faccessat, [AT_FDCWD, 0, mode, 0, 0, 0]).str(1, path);
        with_ctx(&mut c, &host, &view, &shared, owners::access)
    };
    // Read and write on a mode-0 file of the real user's.
    assert_eq!(access("/etc/hosts", 6), Ok(0));
    assert_eq!(access("/etc/hosts", 1), Err(Errno::EACCES));
    assert_eq!(access("/etc", 1), Ok(0));
    assert_eq!(access("/etc/none", 0), Err(Errno::ENOENT));
}

#[test]
fn fake_roots_open_lifts_only_the_owner_bits_it_needs() {
    let (host, view) = setup();
    host.own("/r/etc/hosts", S_IFREG, UID, 0o040);
    host.own("/data/f", S_IFREG, 0, 0o000);
    let shared = crate::shared::LocalState::default();
    let open = |path: &str, flags: u64| {
        let mut c = Call::new(sys::SYS_openat, [AT_FDCWD, 0, flags, 0, 0, 0]).str(1, path);
        with_ctx(&mut c, &host, &view, &shared, |ctx| {
            owners::open_as_root(ctx)
        })
    };
    // O_RDWR: read and write for the owner, the mode to put back.
    assert_eq!(
        open("/etc/hosts", 2),
        Some((b"/r/etc/hosts".to_vec(), 0o040))
    );
    assert_eq!(host.mode("/r/etc/hosts"), 0o640);
    // Enough already; not the real user's.
    assert_eq!(open("/etc/hosts", 0), None);
    assert_eq!(open("/mnt/f", 0), None);
    assert_eq!(host.mode("/data/f"), 0);
}

/// The core's context seen through a backend's own (which derefs to it).
struct Backend<'a>(Ctx<'a, Regs>);

impl<'a> core::ops::Deref for Backend<'a> {
    type Target = Ctx<'a, Regs>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl core::ops::DerefMut for Backend<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

#[test]
fn modes_are_lifted_for_a_new_name_and_on_the_way_after_eacces() {
    let (host, view) = setup_with(|fs| fs.dir("/").dir("/r/etc/a").dir("/r/etc/a/b"));
    // /etc/a/b/c to make: `a` not searchable, `b` not writable, both the
    // real user's; `/r/etc` root's.
    host.own("/r/etc", S_IFDIR, 0, 0o500);
    host.own("/r/etc/a", S_IFDIR, UID, 0o600);
    host.own("/r/etc/a/b", S_IFDIR, UID, 0o500);
    let shared = crate::shared::LocalState::default();
    let mkdir = |answers: &[i64]| {
        let mut c = Call::new(sys::SYS_mkdirat, [AT_FDCWD, 0, 0o755, 0, 0, 0]).str(1, "a/b/c");
        let path = c.regs.args[1];
        let mut ctx = Backend(Ctx::new(
            &view,
            &OneProcess,
            &*host,
            &shared,
            c.regs,
            &mut c.mem,
            Scratch::below(TOP),
        ));
        // Each try sees the call's own registers and the modes as lifted.
        let mut tries = Vec::new();
        let (out, lifted) = owners::with_lifted_modes(&mut ctx, |ctx: &mut Backend| {
            assert_eq!(ctx.arg(1), path);
            ctx.regs.args[1] = 0;
            tries.push((host.mode("/r/etc/a"), host.mode("/r/etc/a/b")));
            match answers[tries.len() - 1] {
                0 => Outcome::Pass,
                v => Outcome::Emulated(v),
            }
        });
        (out, lifted, tries)
    };
    // Refused once (`a` could not be searched), then run by the kernel.
    let (out, lifted, tries) = mkdir(&[Errno::EACCES.ret(), 0]);
    assert!(matches!(out, Outcome::Pass), "{out:?}");
    assert_eq!(tries, [(0o600, 0o700), (0o700, 0o700)]);
    let want: owners::Lifted = vec![
        (b"/r/etc/a/b".to_vec(), 0o500),
        (b"/r/etc/a".to_vec(), 0o600),
    ];
    assert_eq!(lifted, want);
    // Root's directories are left alone; put back, the last lifted first.
    assert_eq!(host.mode("/r/etc"), 0o500);
    owners::put_back(&*host, lifted);
    assert_eq!(
        (host.mode("/r/etc/a"), host.mode("/r/etc/a/b")),
        (0o600, 0o500)
    );
    let order: Vec<Vec<u8>> = host.chmods.lock().unwrap()[2..]
        .iter()
        .map(|(p, _, follow)| {
            assert!(!follow);
            p.clone()
        })
        .collect();
    assert_eq!(order, [b"/r/etc/a".to_vec(), b"/r/etc/a/b".to_vec()]);
    // Answered without the kernel: put back at once, nothing left to do.
    let (out, lifted, tries) = mkdir(&[Errno::EEXIST.ret()]);
    assert!(matches!(out, Outcome::Emulated(_)));
    assert_eq!(tries, [(0o600, 0o700)]);
    assert!(lifted.is_empty());
    assert_eq!(host.mode("/r/etc/a/b"), 0o500);
}

/// A `struct linux_dirent64` for `name`, of type `d_type`.
fn dirent(name: &str, d_type: u8) -> Vec<u8> {
    let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
    let mut v = vec![0u8; reclen];
    v[0..8].copy_from_slice(&(name.len() as u64).to_ne_bytes());
    v[16..18].copy_from_slice(&(reclen as u16).to_ne_bytes());
    v[18] = d_type;
    v[19..19 + name.len()].copy_from_slice(name.as_bytes());
    v
}

/// The (name, inode, type) of each entry of a `getdents64` result.
fn entries(mut buf: &[u8]) -> Vec<(String, u64, u8)> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let reclen = u16::from_ne_bytes([buf[16], buf[17]]) as usize;
        let raw = &buf[19..reclen];
        let name = &raw[..raw.iter().position(|&b| b == 0).unwrap()];
        let ino = u64::from_ne_bytes(buf[0..8].try_into().unwrap());
        out.push((String::from_utf8(name.to_vec()).unwrap(), ino, buf[18]));
        buf = &buf[reclen..];
    }
    out
}

#[test]
fn a_listing_gets_its_binding_point_and_shows_l2s_names_as_their_file() {
    use listings::{Filter, Listed};
    const DT_REG: u8 = 8;
    const DT_LNK: u8 = 10;
    let (host, _) = setup_with(|fs| fs.link("/proc/100/fd/5", "/r/etc"));
    // `-l`: /etc/b is a name of the final file .l2s.a0001.0002.
    let fin = b"/r/etc/.l2s.a0001.0002".to_vec();
    let mut host = Arc::into_inner(host).unwrap();
    host.link_names.insert(b"/r/etc/b".to_vec(), fin.clone());
    host.link_names.insert(b"/r/etc/.l2s.a0001".to_vec(), fin);
    host.own("/r/etc/.l2s.a0001.0002", S_IFREG, UID, 0o644);
    // A batch; one of hidden entries alone, read past; the last.
    let first = [
        dirent(".proot-x", DT_REG),
        dirent(".l2s.a0001", DT_LNK),
        dirent(".l2s.mine", DT_REG),
        dirent("b", DT_LNK),
    ];
    let batches = [
        first.concat(),
        dirent(".l2s.a0001.0002", DT_REG),
        dirent("hosts", DT_REG),
    ];
    *host.batches.lock().unwrap() = batches.to_vec();
    let host = Arc::new(host);
    // /data bound at /etc/data, which the rootfs lacks.
    let view = GuestView::new(
        host.clone(),
        b"/r",
        vec![Binding {
            host: b"/data".to_vec(),
            guest: b"/etc/data".to_vec(),
        }],
    );
    assert!(view.lists_points());
    let filter = Filter {
        proot: true,
        l2s: true,
        points: true,
    };
    let buf = BASE + 0x800;
    let mut c = Call::new(sys::SYS_getdents64, [5, buf, 1024, 0, 0, 0]);
    let mut list = || {
        let out = c.run(&host, &view, |ctx| listings::enter(ctx, filter));
        let Ok(Listed::Answered(n)) = out else {
            panic!("{out:?}")
        };
        let mut got = vec![0u8; n as usize];
        c.mem.read(buf, &mut got).unwrap();
        entries(&got)
    };
    let fin_ino = super::Host::meta(&*host, b"/r/etc/.l2s.a0001.0002", false)
        .unwrap()
        .ino;
    let listed = |want: &[(&str, u64, u8)]| -> Vec<(String, u64, u8)> {
        want.iter()
            .map(|&(n, i, t)| (String::from(n), i, t))
            .collect()
    };
    // The binding point first (what is bound there: a file); the guest's
    // own `.l2s.` file stays; a name shows as its final file.
    assert_eq!(
        list(),
        listed(&[
            ("data", 1, DT_REG),
            (".l2s.mine", 9, DT_REG),
            ("b", fin_ino, DT_REG)
        ])
    );
    // Not from the start: no point; a batch of hidden entries read past.
    assert_eq!(list(), listed(&[("hosts", 5, DT_REG)]));
    assert_eq!(list(), listed(&[]));
    assert_eq!(host.dups_closed.load(Ordering::SeqCst), 50);
    // A closed fd is the kernel's to answer.
    let mut c = Call::new(sys::SYS_getdents64, [6, buf, 1024, 0, 0, 0]);
    let out = c.run(&host, &view, |ctx| listings::enter(ctx, filter));
    assert_eq!(out, Ok(Listed::Pass));
}

/// Host paths, as one line.
fn text(paths: &[&[u8]]) -> String {
    let paths: Vec<String> = paths
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    paths.join(" ")
}

#[test]
fn link2symlink_acts_on_names_and_leaves_other_files_to_the_kernel() {
    let (host, _) = setup_with(|fs| {
        fs.dir("/proc/100/fd")
            .link("/proc/100/fd/7", "/tmp/#1 (deleted)")
            .link("/proc/100/fd/8", "/r/etc/hosts")
    });
    let mut host = Arc::into_inner(host).unwrap();
    // /etc/b is a name of an emulated hard link.
    host.link_names
        .insert(b"/r/etc/b".to_vec(), b"/r/etc/.l2s.b0001.0002".to_vec());
    let host = Arc::new(host);
    let proc = Binding {
        host: b"/proc".to_vec(),
        guest: b"/proc".to_vec(),
    };
    let view = GuestView::new(host.clone(), b"/r", vec![proc]);
    let run = |nr: i64, args: [u64; 6], paths: &[(usize, &str)]| {
        let mut c = Call::new(nr, args);
        for &(i, p) in paths {
            c = c.str(i, p);
        }
        c.run(&host, &view, |ctx| link2symlink::enter(ctx, Some(b"/l2s")))
    };
    let emulated = |r: Result<Option<Outcome>, Errno>| match r {
        Ok(Some(Outcome::Emulated(v))) => Some(v),
        Ok(None) => None,
        r => panic!("{r:?} after {:?}", host.l2s_ops.lock().unwrap()),
    };
    let (cwd, empty) = (AT_FDCWD, table::AT_EMPTY_PATH);
    let follow = table::AT_SYMLINK_FOLLOW;
    let linkat = [cwd, 0, cwd, 0, 0, 0];
    assert_eq!(
        emulated(run(sys::SYS_linkat, linkat, &[(1, "hosts"), (3, "/h2")])),
        Some(0)
    );
    // An fd's file, or a first real link for a file without a name.
    let by_fd = |fd: u64, flags: u64| {
        run(
            sys::SYS_linkat,
            [fd, 0, cwd, 0, flags, 0],
            &[(1, ""), (3, "/h3")],
        )
    };
    assert_eq!(emulated(by_fd(8, empty)), Some(0));
    assert_eq!(emulated(by_fd(7, empty)), Some(0));
    assert_eq!(by_fd(-1i64 as u64, empty).unwrap_err(), Errno::EBADF);
    assert_eq!(by_fd(8, !0).unwrap_err(), Errno::EINVAL);
    // Followed to a magic link: the same.
    let magic = |fd: &str, new: &str| {
        let args = [cwd, 0, cwd, 0, follow, 0];
        emulated(run(sys::SYS_linkat, args, &[(1, fd), (3, new)]))
    };
    assert_eq!(magic("/proc/self/fd/8", "/h4"), Some(0));
    assert_eq!(magic("/proc/self/fd/7", "/h5"), Some(0));
    // Only names are the extension's to remove or rename.
    assert_eq!(
        emulated(run(
            sys::SYS_unlinkat,
            [cwd, 0, 0, 0, 0, 0],
            &[(1, "hosts")]
        )),
        None
    );
    assert_eq!(
        emulated(run(sys::SYS_unlinkat, [cwd, 0, 0, 0, 0, 0], &[(1, "b")])),
        Some(0)
    );
    let rmdir = [cwd, 0, table::AT_REMOVEDIR, 0, 0, 0];
    assert_eq!(emulated(run(sys::SYS_unlinkat, rmdir, &[(1, "b")])), None);
    let renameat2 = |flags: u64, from: &str, to: &str| {
        let args = [cwd, 0, cwd, 0, flags, 0];
        emulated(run(sys::SYS_renameat2, args, &[(1, from), (3, to)]))
    };
    assert_eq!(renameat2(0, "/etc/hosts", "/h5"), None);
    assert_eq!(renameat2(1, "/etc/hosts", "/etc/b"), Some(0));
    let ops = host.l2s_ops.lock().unwrap().clone();
    assert_eq!(
        ops,
        [
            "link /r/etc/hosts /r/h2 /l2s",
            "link /r/etc/hosts /r/h3 /l2s",
            "first link /proc/100/fd/7 /r/h3",
            "link /r/etc/hosts /r/h4 /l2s",
            "first link /proc/100/fd/7 /r/h5",
            "unlink /r/etc/b",
            "rename /r/etc/hosts /r/etc/b 1",
        ]
    );
}
