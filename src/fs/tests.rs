use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sproot_core::Errno;

use super::*;

/// A unique temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("sproot-fs-{}-{}-{}", std::process::id(), name, n));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir.canonicalize().unwrap())
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn mkdir(&self, rel: &str) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    fn file(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.0.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        p
    }

    fn link(&self, rel: &str, target: &str) {
        let p = self.0.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        symlink(target, p).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fake tracee context.
struct FakeProc {
    pid: i32,
    tid: i32,
    exe: Option<(i32, PathBuf)>,
}

impl FakeProc {
    fn me() -> Self {
        FakeProc {
            pid: std::process::id() as i32,
            tid: nix::unistd::gettid().as_raw(),
            exe: None,
        }
    }
}

impl ProcContext for FakeProc {
    fn pid(&self) -> i32 {
        self.pid
    }
    fn tid(&self) -> i32 {
        self.tid
    }
    fn exe_host(&self, pid: i32) -> Option<Vec<u8>> {
        self.exe
            .as_ref()
            .filter(|(p, _)| *p == pid)
            .map(|(_, e)| e.as_os_str().as_bytes().to_vec())
    }
}

fn bind(host: &Path, guest: &str) -> Binding {
    Binding {
        host: host.as_os_str().as_bytes().to_vec(),
        guest: guest.as_bytes().to_vec(),
    }
}

/// A guest path's host path, as a `PathBuf`.
fn to_host_path(view: &GuestView, guest: &[u8]) -> PathBuf {
    bytes_to_path(view.to_host(guest))
}

/// A view of host directory `root` through the tracer's host.
fn view_of(root: impl AsRef<Path>, bindings: Vec<Binding>) -> GuestView {
    super::view(root.as_ref().as_os_str().as_bytes(), bindings)
}

fn res(view: &GuestView, path: &str, follow: bool) -> Result<Resolved, Errno> {
    view.resolve(&FakeProc::me(), b"/", path.as_bytes(), follow)
}

fn host_of(view: &GuestView, path: &str) -> PathBuf {
    bytes_to_path(res(view, path, true).unwrap().host)
}

fn guest_of(view: &GuestView, path: &str) -> String {
    String::from_utf8(res(view, path, true).unwrap().guest).unwrap()
}

#[test]
fn absolute_symlink_resolves_inside_guest() {
    let outer = TempDir::new("abs");
    let root = outer.mkdir("root");
    // The same absolute path exists on the host and in the guest, with
    // different contents.
    let target = outer.path().join("target");
    outer.file("target/file", "host");
    let in_guest = format!("{}/target/file", outer.path().display());
    outer.file(&format!("root{in_guest}"), "guest");
    outer.link("root/link", &format!("{}/target", outer.path().display()));
    let view = view_of(root.clone(), vec![]);
    let r = res(&view, "/link/file", true).unwrap();
    assert_eq!(r.guest, in_guest.as_bytes());
    assert_eq!(std::fs::read_to_string(r.host.as_path()).unwrap(), "guest");
    assert_ne!(r.host.as_path(), target.join("file"));
}

#[test]
fn relative_symlink_resolves_relative_to_its_directory() {
    let t = TempDir::new("rel");
    t.mkdir("a/c");
    t.file("a/c/f", "x");
    t.link("a/b/rel", "../c");
    let view = view_of(t.path(), vec![]);
    assert_eq!(guest_of(&view, "/a/b/rel/f"), "/a/c/f");
    assert_eq!(host_of(&view, "/a/b/rel/f"), t.path().join("a/c/f"));
    // Relative to a base directory.
    let r = view
        .resolve(&FakeProc::me(), b"/a/b", b"rel/./f", true)
        .unwrap();
    assert_eq!(r.guest, b"/a/c/f");
}

#[test]
fn dotdot_cannot_climb_above_root() {
    let t = TempDir::new("dotdot");
    t.mkdir("etc");
    t.link("a/up", "../../../..");
    let view = view_of(t.path(), vec![]);
    assert_eq!(guest_of(&view, "/../../etc"), "/etc");
    assert_eq!(host_of(&view, "/../../etc"), t.path().join("etc"));
    assert_eq!(guest_of(&view, "/a/up/etc"), "/etc");
    assert_eq!(host_of(&view, "/a/up/../.."), t.path());
    let r = view.resolve(&FakeProc::me(), b"/a", b"../../..", true);
    assert_eq!(r.unwrap().guest, b"/");
}

#[test]
fn longest_prefix_binding_wins() {
    let t = TempDir::new("longest");
    let root = t.mkdir("root");
    let h1 = t.mkdir("h1");
    let h2 = t.mkdir("h2");
    t.mkdir("h1/sub");
    t.file("h2/f", "h2");
    t.file("h1/other", "h1");
    let view = view_of(root, vec![bind(&h1, "/mnt"), bind(&h2, "/mnt/sub")]);
    assert_eq!(host_of(&view, "/mnt/sub/f"), h2.join("f"));
    assert_eq!(host_of(&view, "/mnt/other"), h1.join("other"));
    assert_eq!(host_of(&view, "/mnt/sub/.."), h1);
    assert_eq!(to_host_path(&view, b"/mnt/sub/f"), h2.join("f"));
    assert_eq!(to_host_path(&view, b"/mnt/subx"), h1.join("subx"));
}

#[test]
fn later_binding_with_same_guest_path_wins() {
    let t = TempDir::new("later");
    let root = t.mkdir("root");
    let h1 = t.mkdir("h1");
    let h2 = t.mkdir("h2");
    let view = view_of(root, vec![bind(&h1, "/mnt"), bind(&h2, "/mnt")]);
    assert_eq!(to_host_path(&view, b"/mnt/x"), h2.join("x"));
    assert_eq!(view.bindings().len(), 1);
}

#[test]
fn binding_of_a_file() {
    let t = TempDir::new("file");
    let root = t.mkdir("root");
    t.mkdir("root/etc");
    let f = t.file("hosts", "127.0.0.1");
    let view = view_of(root, vec![bind(&f, "/etc/hosts")]);
    assert_eq!(host_of(&view, "/etc/hosts"), f);
    assert_eq!(res(&view, "/etc/hosts/x", true), Err(Errno::ENOTDIR));
    assert_eq!(
        view.to_guest(f.as_os_str().as_bytes()).unwrap(),
        b"/etc/hosts"
    );
}

#[test]
fn binding_to_guest_path_missing_from_rootfs() {
    let t = TempDir::new("missing");
    let root = t.mkdir("root");
    let h = t.mkdir("h");
    t.file("h/f", "x");
    let view = view_of(root.clone(), vec![bind(&h, "/not/there/deep")]);
    assert_eq!(host_of(&view, "/not/there/deep/f"), h.join("f"));
    assert_eq!(host_of(&view, "/not/there/deep"), h);
    // Virtual ancestors: a missing final component under them is fine,
    // a missing intermediate is not.
    assert_eq!(
        host_of(&view, "/not/there/nope"),
        root.join("not/there/nope")
    );
    assert_eq!(res(&view, "/not/nope/x", true), Err(Errno::ENOENT));
}

#[test]
fn literal_binding_guest_path_is_not_dereferenced() {
    let t = TempDir::new("literal");
    let root = t.mkdir("root");
    t.mkdir("root/real");
    t.link("root/lnk", "/real");
    let view = view_of(root, vec![]);
    assert_eq!(
        view.canonical_guest_for_binding(&TracerProc, b"/lnk/x", false)
            .unwrap(),
        b"/lnk/x"
    );
    assert_eq!(
        view.canonical_guest_for_binding(&TracerProc, b"/lnk//./x/", true)
            .unwrap(),
        b"/real/x"
    );
    assert_eq!(
        view.canonical_guest_for_binding(&TracerProc, b"/lnk/missing/../deeper/x", true)
            .unwrap(),
        b"/real/deeper/x"
    );
    assert_eq!(
        view.canonical_guest_for_binding(&TracerProc, b"/a/../b/./c", false)
            .unwrap(),
        b"/b/c"
    );
}

#[test]
fn symlink_loop_is_eloop() {
    let t = TempDir::new("loop");
    t.link("a", "b");
    t.link("b", "a");
    let view = view_of(t.path(), vec![]);
    assert_eq!(res(&view, "/a", true), Err(Errno::ELOOP));
    assert_eq!(res(&view, "/a/x", false), Err(Errno::ELOOP));
    // Not followed: fine.
    assert_eq!(host_of_nofollow(&view, "/a"), t.path().join("a"));
}

#[test]
fn forty_symlinks_resolve_and_forty_one_are_eloop() {
    let t = TempDir::new("chain");
    t.mkdir("end");
    for i in 0..41 {
        let target = if i == 40 {
            "end".to_string()
        } else {
            format!("l{}", i + 1)
        };
        t.link(&format!("l{i}"), &target);
    }
    let view = view_of(t.path(), vec![]);
    assert_eq!(guest_of(&view, "/l1"), "/end");
    assert_eq!(res(&view, "/l0", true), Err(Errno::ELOOP));
}

fn host_of_nofollow(view: &GuestView, path: &str) -> PathBuf {
    bytes_to_path(res(view, path, false).unwrap().host)
}

#[test]
fn non_directory_intermediate_is_enotdir() {
    let t = TempDir::new("enotdir");
    t.file("f", "x");
    t.link("lf", "f");
    let view = view_of(t.path(), vec![]);
    assert_eq!(res(&view, "/f/x", true), Err(Errno::ENOTDIR));
    assert_eq!(res(&view, "/lf/x", false), Err(Errno::ENOTDIR));
    assert_eq!(res(&view, "/f/.", true), Err(Errno::ENOTDIR));
}

#[test]
fn missing_intermediate_is_enoent_and_missing_final_is_fine() {
    let t = TempDir::new("enoent");
    t.mkdir("d");
    t.link("dangling", "/nowhere");
    let view = view_of(t.path(), vec![]);
    assert_eq!(res(&view, "/nope/x", true), Err(Errno::ENOENT));
    assert_eq!(res(&view, "/dangling/x", true), Err(Errno::ENOENT));
    assert_eq!(host_of(&view, "/d/new"), t.path().join("d/new"));
    // creat() through a dangling final symlink creates its target.
    assert_eq!(host_of(&view, "/dangling"), t.path().join("nowhere"));
}

#[test]
fn empty_and_too_long_paths() {
    let t = TempDir::new("long");
    let view = view_of(t.path(), vec![]);
    assert_eq!(res(&view, "", true), Err(Errno::ENOENT));
    let long = "/a".repeat(PATH_MAX / 2);
    assert_eq!(res(&view, &long, true), Err(Errno::ENAMETOOLONG));
    let name = format!("/{}", "n".repeat(NAME_MAX + 1));
    assert_eq!(res(&view, &name, true), Err(Errno::ENAMETOOLONG));
}

#[test]
fn trailing_slash_is_kept_and_follows_final_symlink() {
    let t = TempDir::new("slash");
    t.mkdir("d");
    t.link("ld", "d");
    let view = view_of(t.path(), vec![]);
    let r = res(&view, "/ld/", false).unwrap();
    assert_eq!(r.guest, b"/d");
    assert_eq!(
        r.host.as_slice(),
        format!("{}/d/", t.path().display()).as_bytes()
    );
    let r = res(&view, "/ld/.", false).unwrap();
    assert_eq!(r.guest, b"/d");
    assert!(r.host.as_slice().ends_with(b"/d/."));
    let r = res(&view, "/new//", false).unwrap();
    assert!(r.host.as_slice().ends_with(b"/new/"));
    assert_eq!(res(&view, "/", true).unwrap().host.as_path(), t.path());
}

#[test]
fn final_symlink_not_followed_when_follow_last_false() {
    let t = TempDir::new("nofollow");
    t.mkdir("d");
    t.link("sub/ld", "../d");
    let view = view_of(t.path(), vec![]);
    let r = res(&view, "/sub/ld", false).unwrap();
    assert_eq!(r.guest, b"/sub/ld");
    assert_eq!(r.host.as_path(), t.path().join("sub/ld"));
    let r = res(&view, "/sub/ld", true).unwrap();
    assert_eq!(r.guest, b"/d");
}

#[test]
fn to_guest_and_to_host_round_trip() {
    let t = TempDir::new("round");
    let root = t.mkdir("root");
    let h = t.mkdir("h");
    let view = view_of(root.clone(), vec![bind(&h, "/mnt/h")]);
    for g in ["/", "/etc/passwd", "/mnt/h", "/mnt/h/a/b", "/mnt/hx"] {
        let host = to_host_path(&view, g.as_bytes());
        assert_eq!(
            view.to_guest(host.as_os_str().as_bytes()).unwrap(),
            g.as_bytes(),
            "{g}"
        );
    }
    assert_eq!(to_host_path(&view, b"/"), root);
    assert_eq!(view.to_guest(b"/definitely/outside"), None);
    assert_eq!(view.to_guest(t.path().as_os_str().as_bytes()), None);
    let mut rootx = root.as_os_str().as_bytes().to_vec();
    rootx.push(b'x');
    assert_eq!(view.to_guest(&rootx), None);
    // With root "/" everything maps, bindings still win.
    let view = view_of(PathBuf::from("/"), vec![bind(&h, "/mnt/h")]);
    assert_eq!(view.to_guest(b"/usr/bin").unwrap(), b"/usr/bin");
    assert_eq!(to_host_path(&view, b"/usr/bin"), PathBuf::from("/usr/bin"));
    let mut hf = h.as_os_str().as_bytes().to_vec();
    hf.extend_from_slice(b"/f");
    assert_eq!(view.to_guest(&hf).unwrap(), b"/mnt/h/f");
}

/// A view of `root` with the host's /proc bound at /proc.
fn view_with_proc(root: &Path) -> GuestView {
    view_of(root, vec![bind(Path::new("/proc"), "/proc")])
}

#[test]
fn proc_self_is_substituted_with_tracee_pid() {
    let t = TempDir::new("procself");
    let view = view_with_proc(t.path());
    let me = FakeProc::me();
    let pid = me.pid;
    let r = view.resolve(&me, b"/", b"/proc/self/cwd", false).unwrap();
    assert_eq!(r.host.as_path(), PathBuf::from(format!("/proc/{pid}/cwd")));
    assert_eq!(r.guest, format!("/proc/{pid}/cwd").as_bytes());
    // Followed final magic link: the /proc path itself.
    let r = view.resolve(&me, b"/", b"/proc/self/cwd", true).unwrap();
    assert_eq!(r.host.as_path(), PathBuf::from(format!("/proc/{pid}/cwd")));
    // thread-self.
    let r = view
        .resolve(&me, b"/", b"/proc/thread-self/fd", true)
        .unwrap();
    assert_eq!(
        r.host.as_path(),
        PathBuf::from(format!("/proc/{pid}/task/{}/fd", me.tid))
    );
    // Final /proc/self not followed stays literal (the kernel reads it in
    // the tracee).
    let r = view.resolve(&me, b"/", b"/proc/self", false).unwrap();
    assert_eq!(r.host.as_path(), PathBuf::from("/proc/self"));
    // root → the guest root; exe of a traced pid → its program.
    let r = view.resolve(&me, b"/", b"/proc/self/root", true).unwrap();
    assert_eq!(r.host.as_path(), t.path());
    assert_eq!(r.guest, b"/");
    let prog = t.file("bin/prog", "");
    let traced = FakeProc {
        exe: Some((pid, prog.clone())),
        ..FakeProc::me()
    };
    let r = view
        .resolve(&traced, b"/", b"/proc/self/exe", true)
        .unwrap();
    assert_eq!(r.host.as_path(), prog);
    assert_eq!(r.guest, b"/bin/prog");
    let r = view
        .resolve(&traced, b"/", b"/proc/self/exe", false)
        .unwrap();
    assert_eq!(r.host.as_path(), PathBuf::from(format!("/proc/{pid}/exe")));
    assert_eq!(view.readlink_guest(&traced, &r.host).unwrap(), b"/bin/prog");
    assert_eq!(
        view.readlink_guest(&traced, b"/proc/self/exe").unwrap(),
        b"/bin/prog"
    );
    assert_eq!(
        view.readlink_guest(&traced, b"/proc/self").unwrap(),
        pid.to_string().as_bytes()
    );
    assert_eq!(
        view.readlink_guest(&traced, b"/proc/self/root").unwrap(),
        b"/"
    );
}

#[test]
fn intermediate_magic_links_are_mapped_into_the_guest() {
    let t = TempDir::new("procfd");
    t.file("home/f", "x");
    let view = view_with_proc(t.path());
    let me = FakeProc::me();
    let dir = std::fs::File::open(t.path().join("home")).unwrap();
    let path = format!("/proc/self/fd/{}/f", dir.as_raw_fd());
    let r = view.resolve(&me, b"/", path.as_bytes(), true).unwrap();
    assert_eq!(r.guest, b"/home/f");
    assert_eq!(r.host.as_path(), t.path().join("home/f"));
    let path = format!("/proc/self/fd/{}/..", dir.as_raw_fd());
    assert_eq!(
        view.resolve(&me, b"/", path.as_bytes(), true)
            .unwrap()
            .guest,
        b"/"
    );
    let r = view
        .resolve(&me, b"/", b"/proc/self/root/home/f", true)
        .unwrap();
    assert_eq!(r.host.as_path(), t.path().join("home/f"));
    let (rd, _wr) = std::io::pipe().unwrap();
    let path = format!("/proc/self/fd/{}/x", rd.as_raw_fd());
    assert_eq!(
        view.resolve(&me, b"/", path.as_bytes(), true),
        Err(Errno::ENOTDIR)
    );
    let path = format!("/proc/self/fd/{}", rd.as_raw_fd());
    let r = view.resolve(&me, b"/", path.as_bytes(), true).unwrap();
    assert_eq!(
        r.host.as_path(),
        PathBuf::from(format!("/proc/{}/fd/{}", me.pid, rd.as_raw_fd()))
    );
    let content = view.readlink_guest(&me, &r.host).unwrap();
    assert!(content.starts_with(b"pipe:["), "{content:?}");
    let link = PathBuf::from(format!("/proc/{}/fd/{}", me.pid, dir.as_raw_fd()));
    assert_eq!(
        view.readlink_guest(&me, link.as_os_str().as_bytes())
            .unwrap(),
        b"/home"
    );
}

/// A child process whose cwd is `dir`, killed on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn readlink_guest_maps_proc_cwd_into_guest() {
    let t = TempDir::new("cwd");
    let home = t.mkdir("home/user");
    t.link("lnk", "/x/y");
    let view = view_with_proc(t.path());
    let child = Child(
        std::process::Command::new("sleep")
            .arg("30")
            .current_dir(&home)
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id() as i32;
    let ctx = FakeProc {
        pid,
        tid: pid,
        exe: None,
    };
    let r = view.resolve(&ctx, b"/", b"/proc/self/cwd", false).unwrap();
    assert_eq!(r.host.as_path(), PathBuf::from(format!("/proc/{pid}/cwd")));
    assert_eq!(view.readlink_guest(&ctx, &r.host).unwrap(), b"/home/user");
    assert_eq!(view.dir_of(pid, None).unwrap(), b"/home/user");
    // Intermediate cwd link.
    let r = view
        .resolve(&ctx, b"/", b"/proc/self/cwd/..", true)
        .unwrap();
    assert_eq!(r.guest, b"/home");
    // Ordinary symlinks are returned unchanged.
    assert_eq!(
        view.readlink_guest(&ctx, t.path().join("lnk").as_os_str().as_bytes())
            .unwrap(),
        b"/x/y"
    );
}

/// A tracee for which only `guest` is a guest process.
struct OnlyGuest {
    me: FakeProc,
    guest: i32,
}

impl ProcContext for OnlyGuest {
    fn pid(&self) -> i32 {
        self.me.pid
    }
    fn tid(&self) -> i32 {
        self.me.tid
    }
    fn exe_host(&self, pid: i32) -> Option<Vec<u8>> {
        self.me.exe_host(pid)
    }
    fn is_guest(&self, pid: i32) -> bool {
        pid == self.guest
    }
}

#[test]
fn magic_links_of_other_processes_lead_only_inside_the_view() {
    let t = TempDir::new("foreign");
    let home = t.mkdir("home/user");
    let view = view_with_proc(t.path());
    let spawn = |dir: &Path| {
        Child(
            std::process::Command::new("sleep")
                .arg("30")
                .current_dir(dir)
                .spawn()
                .unwrap(),
        )
    };
    let inside = spawn(&home);
    let outside = spawn(Path::new("/"));
    let (pin, pout) = (inside.0.id() as i32, outside.0.id() as i32);
    let ctx = OnlyGuest {
        me: FakeProc::me(),
        guest: -1,
    };
    let link = |pid: i32, what: &str| PathBuf::from(format!("/proc/{pid}/{what}"));
    // Inside the view: the guest path, and it can be followed.
    assert_eq!(
        view.readlink_guest(&ctx, link(pin, "cwd").as_os_str().as_bytes())
            .unwrap(),
        b"/home/user"
    );
    let path = format!("/proc/{pin}/cwd");
    assert!(view.resolve(&ctx, b"/", path.as_bytes(), true).is_ok());
    let path = format!("/proc/{pin}/cwd/..");
    assert_eq!(
        view.resolve(&ctx, b"/", path.as_bytes(), true)
            .unwrap()
            .guest,
        b"/home"
    );
    // Outside: EACCES for reading, following, and going through.
    for what in ["cwd", "root", "exe"] {
        assert_eq!(
            view.readlink_guest(&ctx, link(pout, what).as_os_str().as_bytes()),
            Err(Errno::EACCES),
            "{what}"
        );
        let path = format!("/proc/{pout}/{what}");
        assert_eq!(
            view.resolve(&ctx, b"/", path.as_bytes(), true).map(|_| ()),
            Err(Errno::EACCES),
            "{what}"
        );
    }
    let path = format!("/proc/{pout}/cwd/etc");
    assert_eq!(
        view.resolve(&ctx, b"/", path.as_bytes(), true).map(|_| ()),
        Err(Errno::EACCES)
    );
    // The same links of a guest keep the guest's rules (root is guest /).
    let guest = OnlyGuest {
        me: FakeProc::me(),
        guest: pout,
    };
    assert_eq!(
        view.readlink_guest(&guest, link(pout, "root").as_os_str().as_bytes())
            .unwrap(),
        b"/"
    );
}

#[test]
fn dir_of_own_process() {
    let view = view_of(PathBuf::from("/"), vec![]);
    let pid = std::process::id() as i32;
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(view.dir_of(pid, None).unwrap(), cwd.as_os_str().as_bytes());
    let t = TempDir::new("dirof");
    let f = t.file("f", "x");
    let dir = std::fs::File::open(t.path()).unwrap();
    let file = std::fs::File::open(&f).unwrap();
    assert_eq!(
        view.dir_of(pid, Some(dir.as_raw_fd())).unwrap(),
        t.path().as_os_str().as_bytes()
    );
    assert_eq!(
        view.dir_of(pid, Some(file.as_raw_fd())),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(view.dir_of(pid, Some(999_999)), Err(Errno::EBADF));
    assert_eq!(view.dir_of(pid, Some(-5)), Err(Errno::EBADF));
    // Under a root: mapped; outside the view: the host path as-is.
    let view = view_of(t.path(), vec![]);
    assert_eq!(view.dir_of(pid, Some(dir.as_raw_fd())).unwrap(), b"/");
    let outside = std::fs::File::open("/").unwrap();
    assert_eq!(view.dir_of(pid, Some(outside.as_raw_fd())).unwrap(), b"/");
}

#[test]
fn magic_link_paths_are_parsed() {
    let m = parse_magic_link(b"/proc/12/task/13/fd/4").unwrap();
    assert_eq!((m.pid, m.tid, m.kind), (12, Some(13), MagicKind::Fd(4)));
    assert_eq!(
        parse_magic_link(b"/proc/1/exe").unwrap().kind,
        MagicKind::Exe
    );
    assert_eq!(parse_magic_link(b"/proc/1/fd"), None);
    assert_eq!(parse_magic_link(b"/proc/1/fd/x"), None);
    assert_eq!(parse_magic_link(b"/proc/self/cwd"), None);
    assert_eq!(parse_magic_link(b"/proc/99999999999/cwd"), None);
    assert_eq!(parse_magic_link(b"/proc/1/cwdx"), None);
}

#[test]
fn lexical_normalisation() {
    assert_eq!(normalize_lexical(b""), b"/");
    assert_eq!(normalize_lexical(b"//a/./b/../c/"), b"/a/c");
    assert_eq!(normalize_lexical(b"/../.."), b"/");
    assert_eq!(normalize_lexical(b"a/b"), b"/a/b");
}

#[test]
fn dotdot_leaves_a_binding_from_a_relative_base() {
    let t = TempDir::new("leave");
    let root = t.mkdir("root");
    t.mkdir("root/mnt/x");
    let h = t.mkdir("h");
    t.mkdir("h/d");
    let view = view_of(root.clone(), vec![bind(&h, "/mnt/h")]);
    let me = FakeProc::me();
    let r = view.resolve(&me, b"/mnt/h/d", b"../../x", true).unwrap();
    assert_eq!(r.guest, b"/mnt/x");
    assert_eq!(r.host.as_path(), root.join("mnt/x"));
    let r = view.resolve(&me, b"/", b"/mnt/h/d/../../x", true).unwrap();
    assert_eq!(r.host.as_path(), root.join("mnt/x"));
    let r = view.resolve(&me, b"/mnt/h", b"d", true).unwrap();
    assert_eq!(r.host.as_path(), h.join("d"));
}

#[test]
fn binding_points_missing_from_their_parent_are_listed_until_made() {
    let t = TempDir::new("points");
    let root = t.mkdir("root");
    let data = t.mkdir("data");
    let file = t.file("file", "x");
    let view = view_of(
        root.clone(),
        vec![
            Binding {
                host: data.as_os_str().as_bytes().to_vec(),
                guest: b"/newdir".to_vec(),
            },
            Binding {
                host: file.as_os_str().as_bytes().to_vec(),
                guest: b"/newfile".to_vec(),
            },
        ],
    );
    assert!(view.lists_points());
    let root_b = root.as_os_str().as_bytes();
    let mut found: Vec<(Vec<u8>, u8)> = view
        .missing_points(root_b)
        .into_iter()
        .map(|p| (p.name, p.d_type))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            (b"newdir".to_vec(), libc::DT_DIR),
            (b"newfile".to_vec(), libc::DT_REG)
        ]
    );
    // Present in the rootfs: the directory lists it itself.
    std::fs::create_dir(root.join("newdir")).unwrap();
    assert_eq!(view.missing_points(root_b).len(), 1);
    assert!(view.missing_points(b"/elsewhere").is_empty());
}

#[test]
fn a_host_path_with_two_guest_names_reads_back_as_the_name_used() {
    let t = TempDir::new("aliases");
    let root = t.mkdir("root");
    let d = t.mkdir("d");
    t.mkdir("d/sub");
    let bind = |g: &[u8]| Binding {
        host: d.as_os_str().as_bytes().to_vec(),
        guest: g.to_vec(),
    };
    let view = view_of(root.clone(), vec![bind(b"/x"), bind(b"/y")]);
    let d_b = d.as_os_str().as_bytes();
    let sub = [d_b, b"/sub"].concat();
    assert!(view.is_ambiguous(&sub));
    assert!(!view.is_ambiguous(root.as_os_str().as_bytes()));
    // Nothing remembered: the reverse table (the first binding).
    assert_eq!(
        view.to_guest_for(100, NameUse::Cwd, &sub).unwrap(),
        b"/x/sub"
    );
    view.remember_name(100, 100, NameUse::Cwd, b"/y", d_b);
    assert_eq!(
        view.to_guest_for(100, NameUse::Cwd, &sub).unwrap(),
        b"/y/sub"
    );
    // A thread of it learnt at an open; a descriptor by its own name.
    view.remember_name(100, 101, NameUse::Fd(5), b"/x/sub", &sub);
    assert_eq!(
        view.to_guest_for(101, NameUse::Fd(5), &sub).unwrap(),
        b"/x/sub"
    );
    assert_eq!(
        view.to_guest_for(101, NameUse::Cwd, &sub).unwrap(),
        b"/y/sub"
    );
    // A name that does not map back to the host path is never used.
    view.remember_name(200, 200, NameUse::Cwd, b"/elsewhere", d_b);
    assert_eq!(view.to_guest_for(200, NameUse::Cwd, d_b).unwrap(), b"/x");
}
