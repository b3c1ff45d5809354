//! Handlers run against an in-memory tracee: the registers of a syscall
//! entry, its strings and buffers in a [`FakeMemory`], a real rootfs in a
//! temporary directory. What a handler writes (new paths below the stack
//! pointer, results in the guest's buffers) is read back from the fake.

use super::*;
use crate::arch::{Regs, sys};
use crate::config::Ext;
use crate::ext::fake_id::Creds;
use crate::fs::{Binding, GuestView, TracerProc};
use nix::errno::Errno;
use nix::unistd::Pid;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where the fake tracee's memory starts, and its size.
const BASE: u64 = 0x7000_0000;
const SIZE: usize = 1 << 16;

/// One mapped region of a fake tracee; everything else is unmapped.
struct FakeMemory {
    bytes: Vec<u8>,
}

impl FakeMemory {
    fn range(&self, addr: u64, len: usize) -> Result<std::ops::Range<usize>, Errno> {
        let start = addr.checked_sub(BASE).ok_or(Errno::EFAULT)? as usize;
        let end = start.checked_add(len).ok_or(Errno::EFAULT)?;
        if end > self.bytes.len() {
            return Err(Errno::EFAULT);
        }
        Ok(start..end)
    }

    fn slice(&self, addr: u64, len: usize) -> &[u8] {
        &self.bytes[self.range(addr, len).unwrap()]
    }

    fn cstr(&self, addr: u64) -> Vec<u8> {
        let start = self.range(addr, 0).unwrap().start;
        let rest = &self.bytes[start..];
        rest[..rest.iter().position(|&b| b == 0).unwrap()].to_vec()
    }

    fn u32_at(&self, addr: u64) -> u32 {
        u32::from_ne_bytes(self.slice(addr, 4).try_into().unwrap())
    }
}

impl Memory for FakeMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), sproot_core::Errno> {
        buf.copy_from_slice(&self.bytes[self.range(addr, buf.len())?]);
        Ok(())
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), sproot_core::Errno> {
        let r = self.range(addr, data.len())?;
        self.bytes[r].copy_from_slice(data);
        Ok(())
    }
}

/// A syscall about to be handled: its arguments and the guest's memory.
struct Call {
    nr: i64,
    args: [u64; 6],
    mem: FakeMemory,
    /// Next free byte for the caller's data (upwards from `BASE`).
    data: u64,
    regs: Option<Regs>,
}

impl Call {
    fn new(nr: i64) -> Self {
        Call {
            nr,
            args: [0; 6],
            mem: FakeMemory {
                bytes: vec![0; SIZE],
            },
            data: BASE,
            regs: None,
        }
    }

    /// Argument `i` is `v`.
    fn arg(mut self, i: usize, v: u64) -> Self {
        self.args[i] = v;
        self
    }

    /// Put `bytes` in the guest's memory; their address.
    fn put(&mut self, bytes: &[u8]) -> u64 {
        let at = self.data;
        self.mem.write(at, bytes).unwrap();
        self.data = (at + bytes.len() as u64 + 15) & !15;
        at
    }

    /// Argument `i` points at the string `s`.
    fn str(mut self, i: usize, s: &str) -> Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.args[i] = self.put(&v);
        self
    }

    /// Argument `i` points at `len` zero bytes of room.
    fn room(mut self, i: usize, len: usize) -> Self {
        self.args[i] = self.put(&vec![0; len]);
        self
    }

    /// Run the entry handlers; the outcome (registers kept in `self.regs`).
    fn enter(&mut self, env: &Env, creds: Option<&mut Creds>) -> Outcome {
        let regs = Regs::entry(self.nr, self.args, BASE + SIZE as u64);
        let proc = TracerProc;
        let mut ctx = Ctx::new(env, &proc, Pid::this(), regs, creds, &mut self.mem);
        let out = enter(&mut ctx);
        self.regs = Some(ctx.regs);
        out
    }

    /// Run an exit hook with the syscall's result `ret`; the registers after.
    fn exit(&mut self, env: &Env, hook: exit_hook::ExitHook, ret: i64) -> Regs {
        let mut regs = self.regs.expect("entered first");
        regs.set_ret(ret);
        let proc = TracerProc;
        let mut ctx = Ctx::new(env, &proc, Pid::this(), regs, None, &mut self.mem);
        super::exit(&mut ctx, hook);
        ctx.regs
    }

    /// The string argument `i` points at after the handler ran.
    fn path_arg(&self, i: usize) -> Vec<u8> {
        self.mem.cstr(self.regs.expect("entered first").arg(i))
    }

    fn out_arg(&self, i: usize) -> u64 {
        self.regs.expect("entered first").arg(i)
    }
}

/// A rootfs in a temporary directory, removed on drop.
struct Root(PathBuf);

impl Root {
    fn new(tag: &str) -> Root {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sproot-ctx-{}-{tag}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        std::fs::write(dir.join("etc/hostname"), "guest\n").unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("lnk")).unwrap();
        std::os::unix::fs::symlink("hostname", dir.join("etc/rel")).unwrap();
        Root(dir.canonicalize().unwrap())
    }

    fn host(&self, guest: &str) -> PathBuf {
        self.0.join(guest.trim_start_matches('/'))
    }

    fn host_bytes(&self, guest: &str) -> Vec<u8> {
        self.host(guest).into_os_string().into_encoded_bytes()
    }

    fn view(&self, bindings: Vec<Binding>) -> GuestView {
        crate::fs::view(self.0.as_os_str().as_bytes(), bindings)
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn env<'a>(view: &'a GuestView, ext: &'a Ext) -> Env<'a> {
    Env::new(view, ext, PathBuf::from("/sproot-loader"), None)
}

fn emulated(o: &Outcome) -> Option<i64> {
    match o {
        Outcome::Emulated(v) => Some(*v),
        _ => None,
    }
}

fn errno(e: Errno) -> Option<i64> {
    Some(-(e as i64))
}

fn bind(host: &Path, guest: &str) -> Binding {
    Binding {
        host: host.canonicalize().unwrap().into_os_string().into_vec(),
        guest: guest.as_bytes().to_vec(),
    }
}

fn stat_field(mem: &FakeMemory, buf: u64, off: usize) -> u32 {
    mem.u32_at(buf + off as u64)
}

const ST_UID: usize = std::mem::offset_of!(libc::stat, st_uid);
const ST_INO: usize = std::mem::offset_of!(libc::stat, st_ino);
const ST_NLINK: usize = std::mem::offset_of!(libc::stat, st_nlink);

// --- path translation ---------------------------------------------------

#[test]
fn absolute_path_is_rewritten_to_the_host_path_below_the_stack() {
    let root = Root::new("abs");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_openat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/etc/hostname");
    assert!(matches!(c.enter(&env, None), Outcome::Rewritten));
    assert_eq!(c.path_arg(1), root.host_bytes("/etc/hostname"));
    let sp = BASE + SIZE as u64;
    assert!(c.out_arg(1) < sp - crate::arch::RED_ZONE);
}

#[test]
fn dotdot_never_climbs_above_the_guest_root() {
    let root = Root::new("dotdot");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_newfstatat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/../../../etc/hostname")
        .room(2, 256);
    assert!(matches!(c.enter(&env, None), Outcome::Rewritten));
    assert_eq!(c.path_arg(1), root.host_bytes("/etc/hostname"));
}

#[test]
fn absolute_symlinks_resolve_inside_the_guest() {
    let root = Root::new("symlink");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_openat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/lnk/hostname");
    assert!(matches!(c.enter(&env, None), Outcome::Rewritten));
    assert_eq!(c.path_arg(1), root.host_bytes("/etc/hostname"));
}

#[test]
fn a_binding_maps_its_guest_path_to_its_host_directory() {
    let root = Root::new("bind");
    let other = Root::new("bound");
    let (view, ext) = (
        root.view(vec![bind(&other.host("/etc"), "/mnt/data")]),
        Ext::default(),
    );
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_openat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/mnt/data/hostname");
    assert!(matches!(c.enter(&env, None), Outcome::Rewritten));
    assert_eq!(c.path_arg(1), other.host_bytes("/etc/hostname"));
}

#[test]
fn a_symlink_to_a_host_absolute_path_stays_in_the_guest() {
    let root = Root::new("escape");
    std::os::unix::fs::symlink("/etc/passwd", root.host("/tmp/pw")).unwrap();
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_openat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/tmp/pw");
    assert!(matches!(c.enter(&env, None), Outcome::Rewritten));
    assert_eq!(c.path_arg(1), root.host_bytes("/etc/passwd"));
}

#[test]
fn relative_path_starts_from_the_directory_fd() {
    let root = Root::new("dirfd");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let dir = std::fs::File::open(&root.0).unwrap();
    let mut c = Call::new(sys::SYS_openat)
        .arg(0, dir.as_raw_fd() as u64)
        .str(1, "etc/hostname");
    assert!(matches!(c.enter(&env, None), Outcome::Rewritten));
    assert_eq!(c.path_arg(1), root.host_bytes("/etc/hostname"));
}

#[test]
fn one_plain_name_under_a_directory_fd_is_left_to_the_kernel() {
    let root = Root::new("name");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let dir = std::fs::File::open(root.host("/etc")).unwrap();
    let mut c = Call::new(sys::SYS_openat)
        .arg(0, dir.as_raw_fd() as u64)
        .str(1, "hostname");
    assert!(matches!(c.enter(&env, None), Outcome::Pass));
    // A symlink that is followed must resolve in the guest: not passed.
    let mut c = Call::new(sys::SYS_openat)
        .arg(0, dir.as_raw_fd() as u64)
        .str(1, "rel");
    assert!(matches!(c.enter(&env, None), Outcome::Rewritten));
    assert_eq!(c.path_arg(1), root.host_bytes("/etc/hostname"));
}

#[test]
fn empty_path_is_enoent_unless_at_empty_path() {
    let root = Root::new("empty");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_newfstatat)
        .arg(0, 0)
        .str(1, "")
        .room(2, 256);
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::ENOENT));
    let mut c = Call::new(sys::SYS_newfstatat)
        .arg(0, 0)
        .str(1, "")
        .room(2, 256)
        .arg(3, libc::AT_EMPTY_PATH as u64);
    assert!(matches!(c.enter(&env, None), Outcome::Pass));
}

#[test]
fn unreadable_path_is_efault_and_bad_flags_come_first() {
    let root = Root::new("fault");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_newfstatat)
        .arg(0, libc::AT_FDCWD as u64)
        .arg(1, 0x10)
        .room(2, 256);
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::EFAULT));
    let mut c = Call::new(sys::SYS_newfstatat)
        .arg(0, libc::AT_FDCWD as u64)
        .arg(1, 0x10)
        .room(2, 256)
        .arg(3, 0x4000_0000);
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::EINVAL));
}

#[test]
fn special_last_names_get_the_kernels_errno() {
    let root = Root::new("special");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_mkdirat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/tmp/..");
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::EEXIST));
    let mut c = Call::new(sys::SYS_unlinkat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/tmp/.")
        .arg(2, libc::AT_REMOVEDIR as u64);
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::EINVAL));
}

#[test]
fn removing_a_binding_point_is_ebusy() {
    let root = Root::new("busy");
    let other = Root::new("busy-host");
    let (view, ext) = (
        root.view(vec![bind(&other.host("/etc"), "/tmp/point")]),
        Ext::default(),
    );
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_unlinkat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/tmp/point")
        .arg(2, libc::AT_REMOVEDIR as u64);
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::EBUSY));
}

#[test]
fn unknown_syscall_numbers_are_enosys_and_untrapped_ones_pass() {
    let root = Root::new("nosys");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(crate::seccomp::LAST_KNOWN_SYSNO as i64 + 100);
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::ENOSYS));
    let mut c = Call::new(sys::SYS_getpid);
    assert!(matches!(c.enter(&env, None), Outcome::Pass));
}

// --- readlink and getcwd: host paths back to guest paths -----------------

#[test]
fn readlink_of_a_guest_symlink_gives_its_target() {
    let root = Root::new("readlink");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_readlinkat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/lnk")
        .room(2, 64)
        .arg(3, 64);
    assert_eq!(emulated(&c.enter(&env, None)), Some(4));
    assert_eq!(c.mem.slice(c.args[2], 4), b"/etc");
    // Truncated to the buffer, as the kernel does.
    let mut c = Call::new(sys::SYS_readlinkat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/lnk")
        .room(2, 64)
        .arg(3, 2);
    assert_eq!(emulated(&c.enter(&env, None)), Some(2));
    assert_eq!(c.mem.slice(c.args[2], 3), b"/e\0");
}

#[test]
fn readlink_errors_are_the_kernels() {
    let root = Root::new("readlink-err");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_readlinkat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/lnk")
        .room(2, 64)
        .arg(3, 0);
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::EINVAL));
    let mut c = Call::new(sys::SYS_readlinkat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/etc/hostname")
        .room(2, 64)
        .arg(3, 64);
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::EINVAL));
    let mut c = Call::new(sys::SYS_readlinkat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/missing")
        .room(2, 64)
        .arg(3, 64);
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::ENOENT));
}

#[test]
fn readlink_of_a_proc_fd_link_names_the_guest_path() {
    let root = Root::new("procfd");
    let (view, ext) = (
        root.view(vec![bind(Path::new("/proc"), "/proc")]),
        Ext::default(),
    );
    let env = env(&view, &ext);
    let dir = std::fs::File::open(root.host("/etc")).unwrap();
    let link = format!("/proc/self/fd/{}", dir.as_raw_fd());
    let mut c = Call::new(sys::SYS_readlinkat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, &link)
        .room(2, 256)
        .arg(3, 256);
    assert_eq!(emulated(&c.enter(&env, None)), Some(4));
    assert_eq!(c.mem.slice(c.args[2], 4), b"/etc");
}

#[test]
fn getcwd_writes_the_guest_cwd_or_erange() {
    // A view whose root is the host's: the guest cwd is the host one.
    let view = crate::fs::view(b"/", vec![]);
    let ext = Ext::default();
    let env = env(&view, &ext);
    let cwd = std::fs::read_link(format!("/proc/{}/cwd", std::process::id())).unwrap();
    let want = cwd.into_os_string().into_encoded_bytes();
    let mut c = Call::new(sys::SYS_getcwd).room(0, 4096).arg(1, 4096);
    assert_eq!(emulated(&c.enter(&env, None)), Some(want.len() as i64 + 1));
    assert_eq!(c.mem.cstr(c.args[0]), want);
    let mut c = Call::new(sys::SYS_getcwd).room(0, 4096).arg(1, 1);
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::ERANGE));
}

// --- fake ids -----------------------------------------------------------

fn fake_root_ext() -> Ext {
    Ext {
        fake_id: Some((0, 0)),
        ..Ext::default()
    }
}

#[test]
fn id_calls_answer_from_the_fake_credentials() {
    let root = Root::new("ids");
    let (view, ext) = (root.view(vec![]), fake_root_ext());
    let env = env(&view, &ext);
    let mut creds = Creds::new(0, 0);
    for nr in [sys::SYS_getuid, sys::SYS_geteuid, sys::SYS_getgid] {
        assert_eq!(
            emulated(&Call::new(nr).enter(&env, Some(&mut creds))),
            Some(0)
        );
    }
    let mut c = Call::new(sys::SYS_setresuid)
        .arg(0, 1000)
        .arg(1, 1001)
        .arg(2, 1002);
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(0));
    let mut c = Call::new(sys::SYS_getresuid)
        .room(0, 4)
        .room(1, 4)
        .room(2, 4);
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(0));
    let got: Vec<u32> = (0..3).map(|i| c.mem.u32_at(c.args[i])).collect();
    assert_eq!(got, [1000, 1001, 1002]);
    // No longer root: setuid(0) is refused as the kernel refuses it.
    let mut c = Call::new(sys::SYS_setuid).arg(0, 0);
    assert_eq!(
        emulated(&c.enter(&env, Some(&mut creds))),
        errno(Errno::EPERM)
    );
}

#[test]
fn getgroups_and_setgroups_keep_the_fake_list() {
    let root = Root::new("groups");
    let (view, ext) = (root.view(vec![]), fake_root_ext());
    let env = env(&view, &ext);
    let mut creds = Creds::new(0, 0);
    let mut c = Call::new(sys::SYS_setgroups).arg(0, 2);
    let list = c.put(&[7u32.to_ne_bytes(), 9u32.to_ne_bytes()].concat());
    c = c.arg(1, list);
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(0));
    let mut c = Call::new(sys::SYS_getgroups).arg(0, 0);
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(2));
    let mut c = Call::new(sys::SYS_getgroups).arg(0, 8).room(1, 32);
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(2));
    assert_eq!(
        (c.mem.u32_at(c.args[1]), c.mem.u32_at(c.args[1] + 4)),
        (7, 9)
    );
    let mut c = Call::new(sys::SYS_setgroups).arg(0, u64::MAX);
    assert_eq!(
        emulated(&c.enter(&env, Some(&mut creds))),
        errno(Errno::EINVAL)
    );
}

#[test]
fn stat_shows_the_real_users_files_as_the_fake_users() {
    let root = Root::new("statids");
    let ext = Ext {
        fake_id: Some((1234, 1234)),
        ..Ext::default()
    };
    let view = root.view(vec![]);
    let env = env(&view, &ext);
    let mut creds = Creds::new(1234, 1234);
    let mut c = Call::new(sys::SYS_newfstatat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/etc/hostname")
        .room(2, 256);
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(0));
    assert_eq!(stat_field(&c.mem, c.args[2], ST_UID), 1234);
}

/// The stat emulation rewrites the owner in the kernel's own structures
/// of this architecture and leaves every other byte as the kernel gave it.
#[test]
fn emulated_stats_are_the_kernels_with_the_owner_rewritten() {
    let root = Root::new("statlayout");
    let ext = Ext {
        fake_id: Some((0, 0)),
        ..Ext::default()
    };
    let view = root.view(vec![]);
    let env = env(&view, &ext);
    let host = std::ffi::CString::new(root.host_bytes("/etc/hostname")).unwrap();
    let mut creds = Creds::new(0, 0);
    let me = (
        nix::unistd::getuid().as_raw(),
        nix::unistd::getgid().as_raw(),
    );
    // newfstatat: struct stat.
    let st = crate::host::stat(&host, 0).unwrap();
    assert_eq!((st.st_uid, st.st_gid), me);
    let mut want = st;
    (want.st_uid, want.st_gid) = (0, 0);
    let mut c = Call::new(sys::SYS_newfstatat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/etc/hostname")
        .room(2, std::mem::size_of::<libc::stat>());
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(0));
    let got = c.mem.slice(c.args[2], std::mem::size_of::<libc::stat>());
    assert_eq!(got, crate::host::as_bytes(&want));
    // statx: struct statx, and its device numbers make the stat's st_dev.
    let mask = libc::STATX_BASIC_STATS;
    let stx = crate::host::statx(&host, 0, mask).unwrap();
    let mut want = stx;
    (want.stx_uid, want.stx_gid) = (0, 0);
    let mut c = Call::new(sys::SYS_statx)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/etc/hostname")
        .arg(3, mask as u64)
        .room(4, std::mem::size_of::<libc::statx>());
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(0));
    let got = c.mem.slice(c.args[4], std::mem::size_of::<libc::statx>());
    assert_eq!(got, crate::host::as_bytes(&want));
    for (major, minor) in [(8, 1), (259, 3), (0x1234, 0x5678)] {
        assert_eq!(
            sproot_core::handler::stat::makedev(major, minor),
            libc::makedev(major, minor)
        );
    }
}

/// The core's `struct msghdr`/`mmsghdr` offsets are this target's.
#[test]
fn message_header_layouts_are_the_targets() {
    use std::mem::{offset_of, size_of};
    assert_eq!(
        sproot_core::handler::net::MSG_NAME.start,
        offset_of!(libc::msghdr, msg_name)
    );
    assert_eq!(
        sproot_core::handler::net::MSG_NAMELEN.start,
        offset_of!(libc::msghdr, msg_namelen)
    );
    assert_eq!(
        sproot_core::handler::net::MSG_NAMELEN.len(),
        size_of::<libc::socklen_t>()
    );
    assert_eq!(sproot_core::handler::net::MSGHDR, size_of::<libc::msghdr>());
    assert_eq!(
        sproot_core::handler::net::MMSGHDR,
        size_of::<libc::mmsghdr>()
    );
    assert_eq!(
        sproot_core::handler::net::SOCKADDR_UN_LEN,
        size_of::<libc::sockaddr_un>()
    );
}

#[test]
fn chown_as_fake_root_is_remembered_by_stat() {
    let root = Root::new("chown");
    let (view, ext) = (root.view(vec![]), fake_root_ext());
    let env = env(&view, &ext);
    let mut creds = Creds::new(0, 0);
    let mut c = Call::new(sys::SYS_fchownat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/etc/hostname")
        .arg(2, 42)
        .arg(3, 43);
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(0));
    let mut c = Call::new(sys::SYS_newfstatat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/lnk/hostname")
        .room(2, 256);
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(0));
    assert_eq!(stat_field(&c.mem, c.args[2], ST_UID), 42);
    // Missing files: the host kernel's error.
    let mut c = Call::new(sys::SYS_fchownat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/etc/missing")
        .arg(2, 1)
        .arg(3, 1);
    assert_eq!(
        emulated(&c.enter(&env, Some(&mut creds))),
        errno(Errno::ENOENT)
    );
}

#[test]
fn access_as_fake_root_ignores_modes_but_not_missing_exec_bits() {
    let root = Root::new("access");
    let (view, ext) = (root.view(vec![]), fake_root_ext());
    let env = env(&view, &ext);
    let mut creds = Creds::new(0, 0);
    std::fs::set_permissions(
        root.host("/etc/hostname"),
        std::os::unix::fs::PermissionsExt::from_mode(0o000),
    )
    .unwrap();
    let mut c = Call::new(sys::SYS_faccessat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/etc/hostname")
        .arg(2, (libc::R_OK | libc::W_OK) as u64);
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(0));
    let mut c = Call::new(sys::SYS_faccessat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/etc/hostname")
        .arg(2, libc::X_OK as u64);
    assert_eq!(
        emulated(&c.enter(&env, Some(&mut creds))),
        errno(Errno::EACCES)
    );
}

#[test]
fn chmod_as_fake_root_turns_eperm_into_success_at_exit() {
    let root = Root::new("chmod");
    let (view, ext) = (root.view(vec![]), fake_root_ext());
    let env = env(&view, &ext);
    let mut creds = Creds::new(0, 0);
    let mut c = Call::new(sys::SYS_fchmodat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/etc/hostname")
        .arg(2, 0o644);
    let hook = match c.enter(&env, Some(&mut creds)) {
        Outcome::WithExit {
            rewritten: true,
            hook,
        } => hook,
        _ => panic!("expected an exit hook"),
    };
    assert_eq!(c.path_arg(1), root.host_bytes("/etc/hostname"));
    assert_eq!(
        hook.of::<ids::FakeRootExit>(),
        Some(&ids::FakeRootExit::EpermIsSuccess)
    );
    let regs = c.exit(&env, hook, -(Errno::EPERM as i64));
    assert_eq!(regs.ret(), 0);
    let hook = exit_hook::ExitHook::extension(ids::FakeRootExit::EpermIsSuccess);
    let regs = c.exit(&env, hook, -(Errno::ENOENT as i64));
    assert_eq!(regs.ret(), -(Errno::ENOENT as i64));
}

#[test]
fn fake_root_lifts_a_read_only_parent_for_one_call() {
    let root = Root::new("lift");
    let (view, ext) = (root.view(vec![]), fake_root_ext());
    let env = env(&view, &ext);
    let mut creds = Creds::new(0, 0);
    let dir = root.host("/tmp/ro");
    std::fs::create_dir(&dir).unwrap();
    let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
    std::fs::set_permissions(&dir, mode(0o500)).unwrap();
    let mut c = Call::new(sys::SYS_mkdirat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/tmp/ro/new")
        .arg(2, 0o755);
    let out = c.enter(&env, Some(&mut creds));
    let Outcome::WithExit { hook, .. } = out else {
        panic!("expected the mode to be put back at exit");
    };
    assert_eq!(
        hook.of::<ids::FakeRootExit>(),
        Some(&ids::FakeRootExit::RestoreModes)
    );
    let lifted = std::fs::metadata(&dir).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&lifted.permissions()) & 0o777,
        0o700
    );
    c.exit(&env, hook, 0);
    let back = std::fs::metadata(&dir).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&back.permissions()) & 0o777,
        0o500
    );
}

#[test]
fn uname_and_sethostname_show_the_runs_names() {
    let root = Root::new("uname");
    let (view, ext) = (root.view(vec![]), fake_root_ext());
    let env = env(&view, &ext);
    let mut creds = Creds::new(0, 0);
    // No -k and no name set: the kernel's uname.
    let mut c = Call::new(sys::SYS_uname).room(0, 390);
    assert!(matches!(c.enter(&env, Some(&mut creds)), Outcome::Pass));
    let mut c = Call::new(sys::SYS_sethostname).str(0, "box").arg(1, 3);
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(0));
    let mut c = Call::new(sys::SYS_uname).room(0, 390);
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(0));
    // struct utsname: six 65-byte fields; nodename is the second.
    assert_eq!(c.mem.cstr(c.args[0] + 65), b"box");
    let mut c = Call::new(sys::SYS_sethostname).str(0, "x").arg(1, 65);
    assert_eq!(
        emulated(&c.enter(&env, Some(&mut creds))),
        errno(Errno::EINVAL)
    );
}

#[test]
fn chroot_only_to_the_guests_own_root_and_only_as_root() {
    let root = Root::new("chroot");
    let (view, ext) = (root.view(vec![]), fake_root_ext());
    let env = env(&view, &ext);
    let mut creds = Creds::new(0, 0);
    let mut c = Call::new(sys::SYS_chroot).str(0, "/etc/..");
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(0));
    let mut c = Call::new(sys::SYS_chroot).str(0, "/etc");
    assert_eq!(
        emulated(&c.enter(&env, Some(&mut creds))),
        errno(Errno::EPERM)
    );
    let mut user = Creds::new(1000, 1000);
    let mut c = Call::new(sys::SYS_chroot).str(0, "/");
    assert_eq!(
        emulated(&c.enter(&env, Some(&mut user))),
        errno(Errno::EPERM)
    );
}

// --- extended attributes of a fake root ---------------------------------

#[test]
fn trusted_xattrs_are_kept_by_sproot_and_read_back() {
    let root = Root::new("xattr");
    let (view, ext) = (root.view(vec![]), fake_root_ext());
    let env = env(&view, &ext);
    let mut creds = Creds::new(0, 0);
    let mut c = Call::new(sys::SYS_setxattr)
        .str(0, "/etc/hostname")
        .str(1, "trusted.note")
        .str(2, "hello")
        .arg(3, 5);
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(0));
    // Size 0 asks for the length; a short buffer is ERANGE.
    let mut c = Call::new(sys::SYS_getxattr)
        .str(0, "/lnk/hostname")
        .str(1, "trusted.note")
        .room(2, 16)
        .arg(3, 0);
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(5));
    let mut c = Call::new(sys::SYS_getxattr)
        .str(0, "/etc/hostname")
        .str(1, "trusted.note")
        .room(2, 16)
        .arg(3, 2);
    assert_eq!(
        emulated(&c.enter(&env, Some(&mut creds))),
        errno(Errno::ERANGE)
    );
    let mut c = Call::new(sys::SYS_getxattr)
        .str(0, "/etc/hostname")
        .str(1, "trusted.note")
        .room(2, 16)
        .arg(3, 16);
    assert_eq!(emulated(&c.enter(&env, Some(&mut creds))), Some(5));
    assert_eq!(c.mem.slice(c.args[2], 5), b"hello");
    let mut c = Call::new(sys::SYS_listxattr)
        .str(0, "/etc/hostname")
        .room(1, 256)
        .arg(2, 256);
    let n = emulated(&c.enter(&env, Some(&mut creds))).unwrap();
    let list = c.mem.slice(c.args[1], n as usize).to_vec();
    assert!(list.split(|&b| b == 0).any(|n| n == b"trusted.note"));
}

#[test]
fn user_xattrs_and_bad_names_are_the_kernels() {
    let root = Root::new("xattr-user");
    let (view, ext) = (root.view(vec![]), fake_root_ext());
    let env = env(&view, &ext);
    let mut creds = Creds::new(0, 0);
    let mut c = Call::new(sys::SYS_getxattr)
        .str(0, "/etc/hostname")
        .str(1, "user.x")
        .room(2, 16)
        .arg(3, 16);
    assert!(matches!(
        c.enter(&env, Some(&mut creds)),
        Outcome::Rewritten
    ));
    assert_eq!(c.path_arg(0), root.host_bytes("/etc/hostname"));
    let mut c = Call::new(sys::SYS_getxattr)
        .str(0, "/etc/hostname")
        .str(1, "")
        .room(2, 16)
        .arg(3, 16);
    assert_eq!(
        emulated(&c.enter(&env, Some(&mut creds))),
        errno(Errno::ERANGE)
    );
}

// --- link2symlink -------------------------------------------------------

fn l2s_ext() -> Ext {
    Ext {
        link2symlink: true,
        ..Ext::default()
    }
}

#[test]
fn link2symlink_links_share_inode_and_count() {
    let root = Root::new("l2s");
    let ext = l2s_ext();
    let mut view = root.view(vec![]);
    view.set_link2symlink(true);
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_linkat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/etc/hostname")
        .arg(2, libc::AT_FDCWD as u64)
        .str(3, "/tmp/second");
    assert_eq!(emulated(&c.enter(&env, None)), Some(0));
    let stat = |path: &str| {
        let mut c = Call::new(sys::SYS_newfstatat)
            .arg(0, libc::AT_FDCWD as u64)
            .str(1, path)
            .room(2, 256)
            .arg(3, libc::AT_SYMLINK_NOFOLLOW as u64);
        assert_eq!(emulated(&c.enter(&env, None)), Some(0));
        let ino = u64::from_ne_bytes(
            c.mem
                .slice(c.args[2] + ST_INO as u64, 8)
                .try_into()
                .unwrap(),
        );
        (ino, stat_field(&c.mem, c.args[2], ST_NLINK))
    };
    let (a, b) = (stat("/etc/hostname"), stat("/tmp/second"));
    assert_eq!(a, b);
    assert_eq!(a.1, 2);
    // A name of a "hard link" is not a symlink to the guest.
    let mut c = Call::new(sys::SYS_readlinkat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/tmp/second")
        .room(2, 64)
        .arg(3, 64);
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::EINVAL));
    // Unlinking one name leaves the other with the content.
    let mut c = Call::new(sys::SYS_unlinkat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/etc/hostname")
        .arg(2, 0);
    assert_eq!(emulated(&c.enter(&env, None)), Some(0));
    let mut c = Call::new(sys::SYS_openat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/tmp/second")
        .arg(2, libc::O_RDONLY as u64);
    assert!(matches!(c.enter(&env, None), Outcome::Rewritten));
    let host = PathBuf::from(std::ffi::OsString::from_vec(c.path_arg(1)));
    assert_eq!(std::fs::read_to_string(host).unwrap(), "guest\n");
}

// --- socket addresses ---------------------------------------------------

fn sockaddr_un(path: &str) -> Vec<u8> {
    let mut v = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    v.extend_from_slice(path.as_bytes());
    v.push(0);
    v
}

#[test]
fn unix_socket_paths_are_translated_for_connect() {
    let root = Root::new("connect");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_connect).arg(0, 3);
    let addr = sockaddr_un("/tmp/s");
    let at = c.put(&addr);
    c = c.arg(1, at).arg(2, addr.len() as u64);
    assert!(matches!(c.enter(&env, None), Outcome::Rewritten));
    let new = c.out_arg(1);
    assert_eq!(c.mem.cstr(new + 2), root.host_bytes("/tmp/s"));
    assert_eq!(c.out_arg(2), 2 + root.host_bytes("/tmp/s").len() as u64 + 1);
    // Abstract names are not paths.
    let mut c = Call::new(sys::SYS_connect).arg(0, 3);
    let addr = sockaddr_un("\0abstract");
    let at = c.put(&addr);
    c = c.arg(1, at).arg(2, addr.len() as u64);
    assert!(matches!(c.enter(&env, None), Outcome::Pass));
}

#[test]
fn port_map_moves_inet_ports() {
    let root = Root::new("ports");
    let view = root.view(vec![]);
    let ext = Ext {
        ports: crate::ext::net::Ports {
            map: vec![(80, 8080)],
            ..Default::default()
        },
        ..Ext::default()
    };
    let env = env(&view, &ext);
    let mut sin = (libc::AF_INET as u16).to_ne_bytes().to_vec();
    sin.extend_from_slice(&80u16.to_be_bytes());
    sin.extend_from_slice(&[127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut c = Call::new(sys::SYS_connect).arg(0, 3);
    let at = c.put(&sin);
    c = c.arg(1, at).arg(2, sin.len() as u64);
    assert!(matches!(c.enter(&env, None), Outcome::Rewritten));
    let new = c.mem.slice(c.out_arg(1), 4).to_vec();
    assert_eq!(u16::from_be_bytes([new[2], new[3]]), 8080);
}

#[test]
fn sendmsg_translates_the_address_inside_msghdr() {
    let root = Root::new("sendmsg");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_sendmsg).arg(0, 3);
    let addr = sockaddr_un("/tmp/s");
    let name = c.put(&addr);
    let mut hdr = vec![0u8; std::mem::size_of::<libc::msghdr>()];
    hdr[sproot_core::handler::net::MSG_NAME].copy_from_slice(&name.to_ne_bytes());
    hdr[sproot_core::handler::net::MSG_NAMELEN].copy_from_slice(&(addr.len() as u32).to_ne_bytes());
    let msg = c.put(&hdr);
    c = c.arg(1, msg);
    assert!(matches!(c.enter(&env, None), Outcome::Rewritten));
    let new_hdr = c.mem.slice(c.out_arg(1), hdr.len()).to_vec();
    let (new_name, len) = sproot_core::handler::net::parse_name(&new_hdr);
    assert_eq!(c.mem.cstr(new_name + 2), root.host_bytes("/tmp/s"));
    assert_eq!(len as usize, 2 + root.host_bytes("/tmp/s").len() + 1);
    // The guest's own header is untouched.
    assert_eq!(c.mem.slice(msg, hdr.len()), hdr.as_slice());
}

#[test]
fn getsockname_gives_back_the_guest_path_in_a_short_buffer() {
    let root = Root::new("sockname");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_getsockname).arg(0, 3).room(1, 8);
    let len = c.put(&8u32.to_ne_bytes());
    c = c.arg(2, len);
    let hook = match c.enter(&env, None) {
        Outcome::WithExit {
            rewritten: true,
            hook,
        } => hook,
        _ => panic!("expected an exit hook"),
    };
    // The kernel writes the host address to the full-size scratch copy.
    let host = [
        (libc::AF_UNIX as u16).to_ne_bytes().to_vec(),
        root.host_bytes("/tmp/s"),
        vec![0],
    ]
    .concat();
    let (big, big_len) = (c.out_arg(1), c.out_arg(2));
    c.mem.write(big, &host).unwrap();
    c.mem
        .write(big_len, &(host.len() as u32).to_ne_bytes())
        .unwrap();
    let regs = c.exit(&env, hook, 0);
    // The guest's arguments are back, its buffer holds the start of the
    // guest's address and its length is the full one.
    assert_eq!((regs.arg(1), regs.arg(2)), (c.args[1], len));
    let want = sockaddr_un("/tmp/s");
    assert_eq!(c.mem.slice(c.args[1], 8), &want[..8]);
    assert_eq!(c.mem.u32_at(len), want.len() as u32);
}

// --- openat2 --------------------------------------------------------------

fn open_how(flags: u64, resolve: u64) -> Vec<u8> {
    [flags, 0, resolve]
        .iter()
        .flat_map(|w| w.to_ne_bytes())
        .collect()
}

const RESOLVE_BENEATH: u64 = 0x08;
const RESOLVE_IN_ROOT: u64 = 0x10;

#[test]
fn openat2_in_root_resolves_in_the_guest_across_bindings() {
    let root = Root::new("openat2");
    let other = Root::new("openat2-host");
    let (view, ext) = (
        root.view(vec![bind(&other.host("/etc"), "/mnt/b")]),
        Ext::default(),
    );
    let env = env(&view, &ext);
    let dir = std::fs::File::open(&root.0).unwrap();
    let mut c = Call::new(sys::SYS_openat2)
        .arg(0, dir.as_raw_fd() as u64)
        .str(1, "../../mnt/b/hostname");
    let how = c.put(&open_how(0, RESOLVE_IN_ROOT));
    c = c.arg(2, how).arg(3, 24);
    assert!(matches!(c.enter(&env, None), Outcome::Rewritten));
    assert_eq!(c.path_arg(1), other.host_bytes("/etc/hostname"));
    let new_how = c.mem.slice(c.out_arg(2), 24).to_vec();
    assert_eq!(&new_how[16..24], &0u64.to_ne_bytes());
}

#[test]
fn openat2_beneath_refuses_an_escape_and_passes_a_plain_walk() {
    let root = Root::new("beneath");
    let other = Root::new("beneath-host");
    let (view, ext) = (
        root.view(vec![bind(&other.host("/etc"), "/mnt/b")]),
        Ext::default(),
    );
    let env = env(&view, &ext);
    let dir = std::fs::File::open(&root.0).unwrap();
    let mut c = Call::new(sys::SYS_openat2)
        .arg(0, dir.as_raw_fd() as u64)
        .str(1, "../etc/hostname");
    let how = c.put(&open_how(0, RESOLVE_BENEATH));
    c = c.arg(2, how).arg(3, 24);
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::EXDEV));
    // No binding below the start: the kernel's own walk is the guest's.
    let etc = std::fs::File::open(root.host("/etc")).unwrap();
    let mut c = Call::new(sys::SYS_openat2)
        .arg(0, etc.as_raw_fd() as u64)
        .str(1, "hostname");
    let how = c.put(&open_how(0, RESOLVE_BENEATH));
    c = c.arg(2, how).arg(3, 24);
    assert!(matches!(c.enter(&env, None), Outcome::Pass));
    // A struct too small for the kernel: its EINVAL.
    let mut c = Call::new(sys::SYS_openat2)
        .arg(0, etc.as_raw_fd() as u64)
        .str(1, "hostname");
    let how = c.put(&open_how(0, 0));
    c = c.arg(2, how).arg(3, 8);
    assert!(matches!(c.enter(&env, None), Outcome::Pass));
}

// --- /proc files, exec, directory listings, prctl ------------------------

#[test]
fn proc_mounts_is_opened_from_a_rewritten_copy() {
    let root = Root::new("procfile");
    let (view, ext) = (
        root.view(vec![bind(Path::new("/proc"), "/proc")]),
        Ext::default(),
    );
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_openat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/proc/self/mountinfo")
        .arg(2, (libc::O_RDONLY | libc::O_NOFOLLOW) as u64);
    let hook = match c.enter(&env, None) {
        Outcome::WithExit {
            rewritten: true,
            hook,
        } => hook,
        _ => panic!("expected the copy to be closed at exit"),
    };
    let path = String::from_utf8(c.path_arg(1)).unwrap();
    let prefix = format!("/proc/{}/fd/", std::process::id());
    assert!(path.starts_with(&prefix), "{path}");
    assert_eq!(c.out_arg(2) & libc::O_NOFOLLOW as u64, 0);
    let exit_hook::ExitHook::Core(sproot_core::handler::ExitHook::CloseSnapshot(fd)) = hook else {
        panic!("expected CloseSnapshot");
    };
    assert_eq!(path, format!("{prefix}{fd}"));
    // The snapshot, until the exit gives it back (the number may then be
    // reused at once by another test's descriptor: only the name tells).
    let snapshot =
        |p: &str| std::fs::read_link(p).is_ok_and(|t| t.to_string_lossy().contains("sproot-proc:"));
    assert!(snapshot(&path));
    c.exit(&env, hook, 5);
    assert!(!snapshot(&path));
    // Opened for writing: the kernel's file.
    let mut c = Call::new(sys::SYS_openat)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/proc/self/mountinfo")
        .arg(2, libc::O_WRONLY as u64);
    assert!(matches!(c.enter(&env, None), Outcome::Rewritten));
}

#[test]
fn exec_of_a_missing_or_non_executable_file_fails_like_the_kernel() {
    let root = Root::new("exec");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_execve).str(0, "/bin/missing");
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::ENOENT));
    let mut c = Call::new(sys::SYS_execve).str(0, "/etc");
    assert_eq!(emulated(&c.enter(&env, None)), errno(Errno::EACCES));
}

#[test]
fn exec_of_a_script_starts_the_loader_with_its_interpreter() {
    let root = Root::new("script");
    std::fs::create_dir_all(root.host("/bin")).unwrap();
    std::fs::copy("/bin/sh", root.host("/bin/sh")).unwrap();
    // Its dynamic linker, where the guest looks for it.
    let sh = crate::exec::open_exec(Path::new("/bin/sh")).unwrap();
    let head = crate::exec::elf::read_upto(&*sh, 0, 4096).unwrap();
    if let Some(interp) = crate::exec::elf::parse(&*sh, &head).unwrap().interp {
        let interp = String::from_utf8(interp).unwrap();
        std::fs::create_dir_all(root.host(&interp).parent().unwrap()).unwrap();
        std::fs::copy(&interp, root.host(&interp)).unwrap();
    }
    let script = root.host("/tmp/run");
    std::fs::write(&script, "#!/bin/sh -e\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_execve).str(0, "/tmp/run");
    let argv0 = c.put(b"run\0");
    let argv = c.put(&[argv0.to_ne_bytes(), 0u64.to_ne_bytes()].concat());
    c = c.arg(1, argv);
    match c.enter(&env, None) {
        Outcome::Exec(plan) => {
            assert_eq!(
                plan.program.host_path,
                root.host("/bin/sh").into_os_string().into_vec()
            );
            assert!(plan.argv_changed);
        }
        Outcome::Emulated(e) => panic!("exec failed: {e}"),
        _ => panic!("expected an exec plan"),
    }
    assert_eq!(c.regs.unwrap().sysno(), sys::SYS_execve);
    assert_eq!(c.path_arg(0), b"/sproot-loader");
    // The new argv: interpreter, its option, the script's guest path.
    let new_argv = c.out_arg(1);
    let args: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let p = u64::from_ne_bytes(c.mem.slice(new_argv + 8 * i, 8).try_into().unwrap());
            c.mem.cstr(p)
        })
        .collect();
    assert_eq!(
        args,
        [b"/bin/sh".to_vec(), b"-e".to_vec(), b"/tmp/run".to_vec()]
    );
}

#[test]
fn hidden_proot_entries_are_dropped_from_listings() {
    let root = Root::new("dirents");
    std::fs::write(root.host("/tmp/.proot-meta"), "").unwrap();
    std::fs::write(root.host("/tmp/kept"), "").unwrap();
    let view = root.view(vec![]);
    let ext = Ext {
        hide_proot: true,
        ..Ext::default()
    };
    let env = env(&view, &ext);
    let dir = std::fs::File::open(root.host("/tmp")).unwrap();
    let mut names = Vec::new();
    loop {
        let mut c = Call::new(sys::SYS_getdents64)
            .arg(0, dir.as_raw_fd() as u64)
            .room(1, 4096)
            .arg(2, 4096);
        let n = match c.enter(&env, None) {
            Outcome::Emulated(n) => n,
            // Without pidfd_getfd the filter runs at the exit instead.
            Outcome::WithExit { .. } => return,
            _ => panic!("unexpected outcome"),
        };
        assert!(n >= 0);
        if n == 0 {
            break;
        }
        let buf = c.mem.slice(c.args[1], n as usize).to_vec();
        dirents::rewrite_dirents(&mut buf.clone(), |name, _| {
            names.push(name.to_vec());
            dirents::Dirent::Keep
        });
    }
    assert!(names.contains(&b"kept".to_vec()));
    assert!(!names.iter().any(|n| n.starts_with(b".proot")));
}

#[test]
fn prctl_set_dumpable_zero_succeeds_without_effect() {
    let root = Root::new("prctl");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_prctl)
        .arg(0, libc::PR_SET_DUMPABLE as u64)
        .arg(1, 0);
    assert_eq!(emulated(&c.enter(&env, None)), Some(0));
    let mut c = Call::new(sys::SYS_prctl).arg(0, libc::PR_SET_NAME as u64);
    assert!(matches!(c.enter(&env, None), Outcome::Pass));
}

#[test]
fn scratch_data_never_lands_in_the_red_zone_or_overlaps() {
    let root = Root::new("scratch");
    let (view, ext) = (root.view(vec![]), Ext::default());
    let env = env(&view, &ext);
    let mut c = Call::new(sys::SYS_renameat2)
        .arg(0, libc::AT_FDCWD as u64)
        .str(1, "/etc/hostname")
        .arg(2, libc::AT_FDCWD as u64)
        .str(3, "/tmp/moved");
    assert!(matches!(c.enter(&env, None), Outcome::Rewritten));
    let (a, b) = (c.out_arg(1), c.out_arg(3));
    assert_eq!(c.path_arg(1), root.host_bytes("/etc/hostname"));
    assert_eq!(c.path_arg(3), root.host_bytes("/tmp/moved"));
    let top = BASE + SIZE as u64 - crate::arch::RED_ZONE;
    assert!(a < top && b < top && a % 16 == 0 && b % 16 == 0);
    let (lo, hi) = (a.min(b), a.max(b));
    let lo_len = if lo == a {
        c.path_arg(1).len()
    } else {
        c.path_arg(3).len()
    };
    assert!(lo + (lo_len as u64) < hi);
}
