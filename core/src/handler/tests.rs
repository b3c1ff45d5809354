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
use alloc::sync::Arc;
use core::sync::atomic::{AtomicI32, Ordering};

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
    fn link_final_file(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn nlink(&self, _: &[u8]) -> Result<u64, Errno> {
        Ok(1)
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
}

/// A guest rooted at `/r`, `/data` bound at `/mnt`, `/proc` at `/proc`;
/// its cwd is `/etc`.
fn setup() -> (Arc<Host>, GuestView) {
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
        fs,
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
        let shared = crate::shared::LocalState::default();
        let mut ctx = Ctx::new(
            view,
            &OneProcess,
            host,
            &shared,
            self.regs,
            &mut self.mem,
            Scratch::below(TOP),
        );
        let out = f(&mut ctx);
        self.regs = ctx.regs;
        out
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
