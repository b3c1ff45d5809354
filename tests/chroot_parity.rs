//! What a guest sees under sproot is what a real chroot of the same rootfs
//! shows: small C programs run under `sproot -r ROOTFS -b /proc -b /dev` and
//! under `unshare -m` + `mount --rbind` + `chroot ROOTFS`, outputs compared
//! line by line. The programs print facts (errno names, "same file as ...",
//! paths), never raw inode numbers, so both sides must print the same text.
//!
//! The chroot side needs root or an unprivileged user namespace
//! (`unshare -r`); without either a test says so and checks only the
//! properties its program asserts itself.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// A tiny rootfs with one compiled C program installed at `/prog`.
struct Guest {
    rootfs: TinyRootfs,
    /// `(host, guest)` bindings, given to both sides.
    bindings: Vec<(String, String)>,
}

impl Guest {
    /// `None` when the host has no C compiler.
    fn new(src: &str) -> Option<Guest> {
        let bin = compile_c(src, &[])?;
        let rootfs = tiny_rootfs();
        rootfs.install(&bin, "/prog");
        if let Some(dir) = bin.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
        Some(Guest {
            rootfs,
            bindings: Vec::new(),
        })
    }

    /// Bind host `host` at guest `guest` on both sides (the mount point is
    /// created in the rootfs, as a real bind mount needs it).
    fn bind(&mut self, host: &str, guest: &str) {
        let point = self.rootfs.host_path(guest);
        if Path::new(host).is_dir() {
            std::fs::create_dir_all(&point).expect("mkdir mount point");
        } else {
            if let Some(p) = point.parent() {
                std::fs::create_dir_all(p).expect("mkdir mount point parent");
            }
            std::fs::write(&point, "").expect("create mount point file");
        }
        self.bindings.push((host.to_string(), guest.to_string()));
    }

    fn sproot(&self, args: &[&str]) -> Output {
        self.sproot_with(&[], args)
    }

    /// The program under sproot with the options `opts` too.
    fn sproot_with(&self, opts: &[&str], args: &[&str]) -> Output {
        let mut all: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        all.extend(["-b", "/proc", "-b", "/dev"].map(String::from));
        for (h, g) in &self.bindings {
            all.push("-b".into());
            all.push(format!("{h}:{g}"));
        }
        all.push("-w".into());
        all.push("/".into());
        all.push("/prog".into());
        all.extend(args.iter().map(|s| s.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        self.rootfs.run(&all)
    }

    /// The same program in a real chroot, or `None` if none can be made.
    fn chroot(&self, args: &[&str]) -> Option<Output> {
        let mut binds = vec![("/proc", "/proc"), ("/dev", "/dev")];
        binds.extend(self.bindings.iter().map(|(h, g)| (h.as_str(), g.as_str())));
        let mut argv = vec!["/prog"];
        argv.extend_from_slice(args);
        chroot_with_binds(self.rootfs.root(), &binds, &argv)
    }

    /// Run under both and compare; returns sproot's stdout.
    #[track_caller]
    fn same_as_chroot(&self, args: &[&str]) -> String {
        self.same_as_chroot_with(&[], args)
    }

    /// [`Guest::same_as_chroot`] with the sproot options `opts`.
    #[track_caller]
    fn same_as_chroot_with(&self, opts: &[&str], args: &[&str]) -> String {
        let ours = self.sproot_with(opts, args);
        assert_success(&ours, "the program under sproot");
        let text = stdout_str(&ours);
        if let Some(theirs) = self.chroot(args) {
            assert_success(&theirs, "the program in a chroot");
            assert_eq!(
                text,
                stdout_str(&theirs),
                "sproot (left) and chroot (right) differ"
            );
        }
        text
    }

    fn host_path(&self, guest: &str) -> PathBuf {
        self.rootfs.host_path(guest)
    }

    /// The same program under proot-distro's options (`-0 --link2symlink
    /// -L`) as an unprivileged user owning the rootfs (as a phone user owns
    /// theirs) must print `want`, what it printed as root. Run as root only
    /// (it needs to become `nobody`).
    #[track_caller]
    fn same_as_distro_user(&self, args: &[&str], want: &str) {
        if !nix_is_root() {
            return;
        }
        let root = self.rootfs.root();
        let chown = Command::new("chown")
            .args(["-R", "65534:65534", root])
            .status()
            .expect("run chown");
        assert!(chown.success(), "chown -R nobody {root}");
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        cmd.arg(sproot_bin());
        cmd.args(["-r", root, "-0", "--link2symlink", "-L"]);
        cmd.args(["-b", "/proc", "-b", "/dev"]);
        for (h, g) in &self.bindings {
            cmd.args(["-b", &format!("{h}:{g}")]);
        }
        cmd.args(["-w", "/", "/prog"]);
        cmd.args(args);
        let out = output_with_timeout(cmd, Duration::from_secs(60), "sproot as nobody");
        assert_success(&out, "the program under proot-distro's options as nobody");
        assert_eq!(
            stdout_str(&out),
            want,
            "as nobody with -0 --link2symlink -L (left) and as root (right) differ"
        );
    }
}

/// A host directory for a test's bindings, removed on drop (also when the
/// test fails).
struct HostDir(PathBuf);

impl HostDir {
    fn new(tag: &str) -> HostDir {
        HostDir(unique_temp_dir(tag))
    }
}

impl std::ops::Deref for HostDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Common C helpers: `report(what, r)` prints "what: ok" or the errno name.
const C_PRELUDE: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static const char *ename(int e) {
    switch (e) {
    case ENOENT: return "ENOENT"; case EACCES: return "EACCES"; case EPERM: return "EPERM";
    case ENOTDIR: return "ENOTDIR"; case EBUSY: return "EBUSY"; case EXDEV: return "EXDEV";
    case ENOTEMPTY: return "ENOTEMPTY"; case EINVAL: return "EINVAL"; case EFAULT: return "EFAULT";
    case ELOOP: return "ELOOP"; case EBADF: return "EBADF"; case EISDIR: return "EISDIR";
    case EEXIST: return "EEXIST"; case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS"; case EAGAIN: return "EAGAIN";
    default: { static char b[32]; snprintf(b, sizeof b, "errno %d", e); return b; }
    }
}
static void report(const char *what, long r) {
    if (r < 0) printf("%s: %s\n", what, ename(errno)); else printf("%s: ok\n", what);
}
__attribute__((unused)) static int same(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}
"#;

fn program(body: &str) -> String {
    format!("{C_PRELUDE}\n{body}")
}

// ---------------------------------------------------------------------------
// AT_EMPTY_PATH with a path
// ---------------------------------------------------------------------------

const EMPTY_PATH_C: &str = r#"
#include <sys/syscall.h>
static void cmp(const char *what, int r, struct stat *st, const char *ref) {
    struct stat want;
    if (r < 0) { printf("%s: %s\n", what, ename(errno)); return; }
    if (lstat(ref, &want) < 0) { printf("%s: reference %s missing\n", what, ref); return; }
    printf("%s: %s\n", what, same(st, &want) ? "same as stat" : "another file");
}
int main(void) {
    struct stat st;
    int root = open("/", O_PATH | O_DIRECTORY);
    int etc = open("/etc", O_RDONLY | O_DIRECTORY);
    cmp("absolute", syscall(SYS_newfstatat, AT_FDCWD, "/etc/sproot-guest", &st, AT_EMPTY_PATH), &st, "/etc/sproot-guest");
    cmp("climbing", syscall(SYS_newfstatat, root, "../../../../../etc/sproot-guest", &st, AT_EMPTY_PATH), &st, "/etc/sproot-guest");
    cmp("dotdot of root", syscall(SYS_newfstatat, root, "..", &st, AT_EMPTY_PATH), &st, "/");
    cmp("relative to dirfd", syscall(SYS_newfstatat, etc, "sproot-guest", &st, AT_EMPTY_PATH), &st, "/etc/sproot-guest");
    cmp("nofollow symlink", syscall(SYS_newfstatat, AT_FDCWD, "/bin", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), &st, "/bin");
    cmp("empty names the fd", syscall(SYS_newfstatat, etc, "", &st, AT_EMPTY_PATH), &st, "/etc");
    cmp("empty with AT_FDCWD", syscall(SYS_newfstatat, AT_FDCWD, "", &st, AT_EMPTY_PATH), &st, "/");
    cmp("fstat", fstat(etc, &st), &st, "/etc");
    struct statx sx;
    int r = syscall(SYS_statx, AT_FDCWD, "/etc/sproot-guest", AT_EMPTY_PATH, STATX_INO, &sx);
    if (r < 0) printf("statx absolute: %s\n", ename(errno));
    else { stat("/etc/sproot-guest", &st); printf("statx absolute: %s\n", sx.stx_ino == st.st_ino ? "same as stat" : "another file"); }
    r = syscall(SYS_statx, root, "../../..", AT_EMPTY_PATH, STATX_INO, &sx);
    if (r < 0) printf("statx climbing: %s\n", ename(errno));
    else { stat("/", &st); printf("statx climbing: %s\n", sx.stx_ino == st.st_ino ? "same as stat" : "another file"); }
    r = syscall(SYS_statx, etc, "", AT_EMPTY_PATH, STATX_INO, &sx);
    if (r < 0) printf("statx empty: %s\n", ename(errno));
    else { stat("/etc", &st); printf("statx empty: %s\n", sx.stx_ino == st.st_ino ? "same as stat" : "another file"); }
    return 0;
}
"#;

#[test]
fn stat_with_empty_path_flag_and_a_path_is_translated() {
    let Some(g) = Guest::new(&program(EMPTY_PATH_C)) else {
        return;
    };
    let out = g.same_as_chroot(&[]);
    // Whatever the chroot said, none of these may name another file.
    assert!(!out.contains("another file"), "{out}");
    assert!(out.contains("absolute: same as stat"), "{out}");
    assert!(out.contains("climbing: same as stat"), "{out}");
    assert!(out.contains("statx absolute: same as stat"), "{out}");
}

// ---------------------------------------------------------------------------
// /proc magic links of processes that are not guests
// ---------------------------------------------------------------------------

const FOREIGN_PROC_C: &str = r#"
static void show_link(const char *fmt, int pid) {
    char p[64], buf[4096];
    snprintf(p, sizeof p, fmt, pid);
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    const char *name = strrchr(p, '/') + 1;
    if (n < 0) printf("readlink %s: %s\n", name, ename(errno));
    else { buf[n] = 0; printf("readlink %s: %s\n", name, buf); }
}
int main(int argc, char **argv) {
    int pid = getppid();
    char p[128];
    show_link("/proc/%d/cwd", pid);
    show_link("/proc/%d/exe", pid);
    show_link("/proc/%d/root", pid);
    show_link("/proc/%d/fd/0", pid);
    snprintf(p, sizeof p, "/proc/%d/cwd", pid);
    report("chdir cwd", chdir(p));
    snprintf(p, sizeof p, "/proc/%d/cwd/.", pid);
    report("open cwd/.", open(p, O_RDONLY));
    snprintf(p, sizeof p, "/proc/%d/root/etc", pid);
    report("open root/etc", open(p, O_RDONLY));
    snprintf(p, sizeof p, "/proc/%d/exe", pid);
    report("open exe", open(p, O_RDONLY));
    show_link("/proc/%d/cwd", getpid());
    return 0;
}
"#;

/// The kernel itself shows a chroot the host's paths here (`d_path` of a
/// path it cannot reach) and lets it follow them: sproot does not. The
/// links of sproot and of host processes lead only inside the view.
#[test]
fn proc_links_of_processes_outside_the_guest_do_not_reach_the_host() {
    let Some(g) = Guest::new(&program(FOREIGN_PROC_C)) else {
        return;
    };
    // sproot's cwd (the test's) is outside the rootfs.
    let out = g.sproot(&[]);
    assert_success(&out, "foreign /proc links");
    let text = stdout_str(&out);
    for line in [
        "readlink cwd: EACCES",
        "readlink exe: EACCES",
        "readlink root: EACCES",
        "readlink 0: /dev/null",
        "chdir cwd: EACCES",
        "open cwd/.: EACCES",
        "open root/etc: EACCES",
        "open exe: EACCES",
        "readlink cwd: /",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    // sproot's cwd inside the rootfs: its guest path.
    let mut cmd = g
        .rootfs
        .sproot_cmd(&["-b", "/proc", "-b", "/dev", "-w", "/", "/prog"]);
    cmd.current_dir(g.host_path("/tmp"));
    let out = output_with_timeout(cmd, Duration::from_secs(60), "sproot in the rootfs");
    assert_success(&out, "foreign /proc links, cwd inside");
    let text = stdout_str(&out);
    assert!(text.starts_with("readlink cwd: /tmp\n"), "{text}");
    assert!(text.contains("chdir cwd: ok\n"), "{text}");
    assert!(!text.contains(g.rootfs.root()), "{text}");
}

// ---------------------------------------------------------------------------
// Socket addresses going out in structures and coming back
// ---------------------------------------------------------------------------

const SOCKETS_C: &str = r#"
#include <sys/socket.h>
#include <sys/un.h>
static socklen_t mkaddr(struct sockaddr_un *a, const char *p) {
    memset(a, 0, sizeof *a); a->sun_family = AF_UNIX; strcpy(a->sun_path, p);
    return offsetof(struct sockaddr_un, sun_path) + strlen(p) + 1;
}
static void show(const char *what, long r, struct sockaddr_un *a, socklen_t len) {
    if (r < 0) { printf("%s: %s\n", what, ename(errno)); return; }
    printf("%s: len %u path \"%.*s\"\n", what, (unsigned)len,
           len > 2 ? (int)(len - 2) : 0, len > 2 ? a->sun_path : "");
}
static int bound(int type, const char *p) {
    struct sockaddr_un a; int s = socket(AF_UNIX, type, 0);
    unlink(p);
    if (bind(s, (struct sockaddr *)&a, mkaddr(&a, p)) < 0) { printf("bind %s: %s\n", p, ename(errno)); exit(1); }
    return s;
}
int main(void) {
    struct sockaddr_un a, b; socklen_t len; long r;
    int srv = bound(SOCK_STREAM, "/tmp/srv.sock");
    listen(srv, 4);
    len = sizeof a; r = getsockname(srv, (struct sockaddr *)&a, &len); show("getsockname", r, &a, len);
    len = 8; memset(&a, 'x', sizeof a);
    r = getsockname(srv, (struct sockaddr *)&a, &len);
    printf("getsockname short: %ld len %u bytes \"%.6s\" then '%c'\n", r, (unsigned)len, a.sun_path, a.sun_path[6]);
    int cli = bound(SOCK_STREAM, "/tmp/cli.sock");
    report("connect", connect(cli, (struct sockaddr *)&b, mkaddr(&b, "/tmp/srv.sock")));
    len = sizeof a; r = getpeername(cli, (struct sockaddr *)&a, &len); show("getpeername", r, &a, len);
    len = sizeof a; int c = accept(srv, (struct sockaddr *)&a, &len); show("accept", c, &a, len);
    len = sizeof a; r = getpeername(c, (struct sockaddr *)&a, &len); show("getpeername accepted", r, &a, len);
    int anon = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(anon, (struct sockaddr *)&b, mkaddr(&b, "/tmp/srv.sock"));
    len = sizeof a; c = accept4(srv, (struct sockaddr *)&a, &len, SOCK_CLOEXEC); show("accept4 unnamed", c, &a, len);

    int d1 = bound(SOCK_DGRAM, "/tmp/d1.sock"), d2 = bound(SOCK_DGRAM, "/tmp/d2.sock");
    struct mmsghdr mm[2]; struct iovec io[2]; char m1[] = "one", m2[] = "two";
    memset(mm, 0, sizeof mm);
    socklen_t dl = mkaddr(&b, "/tmp/d1.sock");
    io[0].iov_base = m1; io[0].iov_len = 3; io[1].iov_base = m2; io[1].iov_len = 3;
    for (int i = 0; i < 2; i++) { mm[i].msg_hdr.msg_name = &b; mm[i].msg_hdr.msg_namelen = dl; mm[i].msg_hdr.msg_iov = &io[i]; mm[i].msg_hdr.msg_iovlen = 1; }
    r = sendmmsg(d2, mm, 2, 0);
    printf("sendmmsg: %ld sent, lens %u %u\n", r, mm[0].msg_len, mm[1].msg_len);
    char buf[16];
    len = sizeof a; r = recvfrom(d1, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&a, &len);
    show("recvfrom", r, &a, len);
    struct msghdr mh; struct iovec iv = { buf, sizeof buf };
    memset(&mh, 0, sizeof mh); mh.msg_name = &a; mh.msg_namelen = sizeof a; mh.msg_iov = &iv; mh.msg_iovlen = 1;
    r = recvmsg(d1, &mh, MSG_DONTWAIT); show("recvmsg", r, &a, mh.msg_namelen);
    sendto(d2, m1, 3, 0, (struct sockaddr *)&b, dl);
    sendto(d2, m2, 3, 0, (struct sockaddr *)&b, dl);
    struct sockaddr_un ra[2]; struct iovec ri[2]; char rb[2][8];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 2; i++) { ri[i].iov_base = rb[i]; ri[i].iov_len = 8; mm[i].msg_hdr.msg_name = &ra[i]; mm[i].msg_hdr.msg_namelen = sizeof ra[i]; mm[i].msg_hdr.msg_iov = &ri[i]; mm[i].msg_hdr.msg_iovlen = 1; }
    r = recvmmsg(d1, mm, 2, MSG_DONTWAIT, NULL);
    printf("recvmmsg: %ld\n", r);
    for (int i = 0; i < r; i++) show("recvmmsg from", 0, &ra[i], mm[i].msg_hdr.msg_namelen);
    return 0;
}
"#;

#[test]
fn socket_addresses_in_structures_and_coming_back_are_the_guests() {
    let Some(g) = Guest::new(&program(SOCKETS_C)) else {
        return;
    };
    let out = g.same_as_chroot(&[]);
    assert!(
        out.contains("getsockname: len 16 path \"/tmp/srv.sock\""),
        "{out}"
    );
    assert!(out.contains("sendmmsg: 2 sent, lens 3 3"), "{out}");
    assert!(out.contains("recvmmsg: 2"), "{out}");
    assert!(!out.contains(g.rootfs.root()), "{out}");
}

const BPF_OBJ_C: &str = r#"
#include <linux/bpf.h>
#include <sys/syscall.h>
static void get(const char *p) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.pathname = (unsigned long)p;
    long r = syscall(SYS_bpf, BPF_OBJ_GET, &attr, sizeof attr);
    char what[64]; snprintf(what, sizeof what, "BPF_OBJ_GET %s", p);
    report(what, r);
}
int main(void) {
    get("/etc/sproot-guest");
    get("/etc/no-such-file");
    return 0;
}
"#;

/// The path inside `union bpf_attr` is the guest's: an existing guest file
/// that is not a pinned object gives the kernel's own error, not `ENOENT`.
#[test]
fn bpf_object_paths_are_translated() {
    let Some(g) = Guest::new(&program(BPF_OBJ_C)) else {
        return;
    };
    let out = g.same_as_chroot(&[]);
    assert!(
        out.contains("BPF_OBJ_GET /etc/no-such-file: ENOENT"),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// /proc files that name paths: maps, smaps, map_files, mountinfo, mounts
// ---------------------------------------------------------------------------

const PROC_FILES_C: &str = r#"
#include <dirent.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
/* Files are opened with open(), or with openat2() from `how_dirfd` with
   `how_resolve` when `use_openat2`. */
static int use_openat2, how_dirfd = AT_FDCWD; static unsigned long long how_resolve;
static FILE *openf(const char *file) {
    if (!use_openat2) return fopen(file, "r");
    struct open_how how; memset(&how, 0, sizeof how);
    how.flags = O_RDONLY; how.resolve = how_resolve;
    long fd = syscall(SYS_openat2, how_dirfd, file, &how, sizeof how);
    return fd < 0 ? NULL : fdopen(fd, "r");
}
static char *seen[512]; static int nseen;
static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }
static void add(const char *s) {
    for (int i = 0; i < nseen; i++) if (!strcmp(seen[i], s)) return;
    if (nseen < 512) seen[nseen++] = strdup(s);
}
static void flush(const char *what) {
    qsort(seen, nseen, sizeof *seen, cmp);
    for (int i = 0; i < nseen; i++) { printf("%s%s: %s\n", use_openat2 ? "openat2 " : "", what, seen[i]); free(seen[i]); }
    nseen = 0;
}
/* Paths of the mapping lines of maps/smaps. */
static void mapped(const char *file, const char *label) {
    FILE *f = openf(file); char line[4096];
    if (!f) { printf("%s: %s\n", file, ename(errno)); return; }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *p = strchr(line, '/');
        if (p && strchr(line, '-') < p && line[0] != ' ' && strchr("0123456789abcdef", line[0])) add(p);
    }
    fclose(f);
    flush(label);
}
/* "mount point fstype" of a mount table; field numbers from 1. */
static void mounts(const char *file, int point, int fstype_after_dash) {
    FILE *f = openf(file); char line[4096];
    if (!f) { printf("%s: %s\n", file, ename(errno)); return; }
    while (fgets(line, sizeof line, f)) {
        char *fld[64]; int n = 0;
        for (char *t = strtok(line, " \n"); t && n < 64; t = strtok(NULL, " \n")) fld[n++] = t;
        char buf[4200];
        if (fstype_after_dash) {
            int d = 0; while (d < n && strcmp(fld[d], "-")) d++;
            snprintf(buf, sizeof buf, "%s %s", fld[point - 1], d + 1 < n ? fld[d + 1] : "?");
        } else snprintf(buf, sizeof buf, "%s %s", fld[point - 1], fld[2]);
        add(buf);
    }
    fclose(f);
    flush(file);
}
int main(void) {
    mapped("/proc/self/maps", "/proc/self/maps");
    mapped("/proc/self/smaps", "/proc/self/smaps");
    char p[64]; snprintf(p, sizeof p, "/proc/%d/maps", getpid());
    mapped(p, "/proc/PID/maps");
    DIR *d = opendir("/proc/self/map_files"); struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char l[300], t[4096]; snprintf(l, sizeof l, "/proc/self/map_files/%s", e->d_name);
        ssize_t n = readlink(l, t, sizeof t - 1);
        if (n > 0) { t[n] = 0; add(t); }
    }
    if (d) closedir(d);
    flush("map_files");
    mounts("/proc/self/mountinfo", 5, 1);
    mounts("/proc/self/mounts", 2, 0);
    mounts("/proc/mounts", 2, 0);
    int fd = open("/proc/self/maps", O_RDONLY);
    char t[256]; ssize_t n = readlink("/proc/self/fd/3", t, sizeof t - 1);
    if (fd == 3 && n > 0) { t[n] = 0; char want[64]; snprintf(want, sizeof want, "/proc/%d/maps", getpid());
        printf("fd link: %s\n", strcmp(t, want) ? t : "/proc/PID/maps"); }
    use_openat2 = 1;
    mapped("/proc/self/maps", "/proc/self/maps");
    how_resolve = RESOLVE_NO_SYMLINKS;
    mapped(p, "/proc/PID/maps no symlinks");
    how_resolve = RESOLVE_NO_MAGICLINKS;
    mounts("/proc/self/mountinfo", 5, 1);
    how_resolve = RESOLVE_BENEATH; how_dirfd = open("/proc", O_RDONLY | O_DIRECTORY);
    mounts("self/mounts", 2, 0);
    return 0;
}
"#;

#[test]
fn proc_maps_and_mount_tables_show_the_guest_view() {
    let Some(mut g) = Guest::new(&program(PROC_FILES_C)) else {
        return;
    };
    let data = HostDir::new("parity-data");
    g.bind(data.to_str().expect("utf-8 temp dir"), "/mnt/data");
    let out = g.same_as_chroot(&[]);
    assert!(out.contains("/proc/self/maps: /prog\n"), "{out}");
    assert!(
        out.contains("map_files: /prog\n") || !nix_is_root(),
        "{out}"
    );
    assert!(out.contains("/proc/self/mountinfo: /mnt/data "), "{out}");
    assert!(out.contains("/proc/self/mountinfo: /proc proc\n"), "{out}");
    // -b is recursive, as an rbind: the mounts under a bound /dev are
    // reached, and listed (the comparison above is with `mount --rbind`).
    if std::path::Path::new("/dev/pts/ptmx").exists() {
        assert!(
            out.contains("/proc/self/mountinfo: /dev/pts devpts\n"),
            "{out}"
        );
    }
    assert!(out.contains("fd link: /proc/PID/maps\n"), "{out}");
    // openat2 gets the same rewritten files, whatever its RESOLVE_* flags.
    assert!(out.contains("openat2 /proc/self/maps: /prog\n"), "{out}");
    assert!(
        out.contains("openat2 /proc/PID/maps no symlinks: /prog\n"),
        "{out}"
    );
    assert!(
        out.contains("openat2 /proc/self/mountinfo: /mnt/data "),
        "{out}"
    );
    assert!(out.contains("openat2 self/mounts: /mnt/data "), "{out}");
    assert!(
        !out.contains(g.rootfs.root()) && !out.contains("sproot-loader"),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// openat2's RESOLVE_* flags
// ---------------------------------------------------------------------------

const OPENAT2_C: &str = r#"
#include <linux/openat2.h>
#include <sys/syscall.h>
static void try(const char *what, int dirfd, const char *path, unsigned long long resolve) {
    struct open_how how; memset(&how, 0, sizeof how);
    how.flags = O_RDONLY; how.resolve = resolve;
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd < 0) { printf("%s: %s\n", what, ename(errno)); return; }
    struct stat a, b; fstat(fd, &a); close(fd);
    /* Which guest file it opened. */
    const char *names[] = { "/etc/sproot-guest", "/etc/passwd", "/etc/hostname", "/proc/self/status", "/", "/etc", 0 };
    for (int i = 0; names[i]; i++) if (stat(names[i], &b) == 0 && same(&a, &b)) { printf("%s: %s\n", what, names[i]); return; }
    printf("%s: another file\n", what);
}
int main(void) {
    int etc = open("/etc", O_RDONLY | O_DIRECTORY), root = open("/", O_RDONLY | O_DIRECTORY);
    unlink("/etc/lnk"); symlink("/etc/passwd", "/etc/lnk");
    unlink("/etc/rlnk"); symlink("passwd", "/etc/rlnk");
    try("etc beneath name", etc, "passwd", RESOLVE_BENEATH);
    try("etc beneath dotdot", etc, "../etc/passwd", RESOLVE_BENEATH);
    try("etc beneath absolute", etc, "/etc/passwd", RESOLVE_BENEATH);
    try("etc beneath abs symlink", etc, "lnk", RESOLVE_BENEATH);
    try("etc in_root absolute", etc, "/passwd", RESOLVE_IN_ROOT);
    try("etc in_root dotdot", etc, "../../hostname", RESOLVE_IN_ROOT);
    try("etc in_root abs symlink", etc, "lnk", RESOLVE_IN_ROOT);
    try("etc no_symlinks", etc, "rlnk", RESOLVE_NO_SYMLINKS);
    try("etc relative", etc, "rlnk", 0);
    try("root beneath", root, "etc/sproot-guest", RESOLVE_BENEATH);
    try("root beneath absolute", root, "/etc/sproot-guest", RESOLVE_BENEATH);
    try("root beneath dotdot", root, "../etc/sproot-guest", RESOLVE_BENEATH);
    try("root in_root", root, "/etc/sproot-guest", RESOLVE_IN_ROOT);
    try("root in_root dotdot", root, "../../etc/sproot-guest", RESOLVE_IN_ROOT);
    try("root in_root abs symlink", root, "etc/lnk", RESOLVE_IN_ROOT);
    try("cwd no_symlinks abs", AT_FDCWD, "/etc/lnk", RESOLVE_NO_SYMLINKS);
    try("cwd no_symlinks intermediate", AT_FDCWD, "/proc/self/status", RESOLVE_NO_SYMLINKS);
    try("cwd no_magiclinks", AT_FDCWD, "/proc/self/root/etc/passwd", RESOLVE_NO_MAGICLINKS);
    try("cwd plain", AT_FDCWD, "/etc/sproot-guest", 0);
    try("root no_xdev same", root, "etc/passwd", RESOLVE_NO_XDEV);
    try("root no_xdev into proc", root, "proc/self/status", RESOLVE_NO_XDEV);
    try("root beneath into proc", root, "proc/self/status", RESOLVE_BENEATH);
    unlink("/etc/lnk"); unlink("/etc/rlnk");
    return 0;
}
"#;

#[test]
fn openat2_resolve_flags_hold_in_the_guest_view() {
    let Some(g) = Guest::new(&program(OPENAT2_C)) else {
        return;
    };
    let out = g.same_as_chroot(&[]);
    assert!(out.contains("root in_root: /etc/sproot-guest\n"), "{out}");
    assert!(out.contains("etc beneath absolute: EXDEV\n"), "{out}");
}

// ---------------------------------------------------------------------------
// Special final components and binding points as mount points
// ---------------------------------------------------------------------------

const NAMES_C: &str = r#"
int main(void) {
    mkdir("/tmp/d", 0755);
    report("rmdir d/..", rmdir("/tmp/d/.."));
    report("rmdir d/.", rmdir("/tmp/d/."));
    report("rmdir /", rmdir("/"));
    report("unlinkat d/.. REMOVEDIR", unlinkat(AT_FDCWD, "/tmp/d/..", AT_REMOVEDIR));
    report("unlink d/..", unlink("/tmp/d/.."));
    report("rename / away", rename("/", "/tmp/x"));
    report("rename d/.. away", rename("/tmp/d/..", "/tmp/y"));
    report("rename onto d/..", rename("/tmp/d", "/tmp/d/.."));
    report("mkdir d/..", mkdir("/tmp/d/..", 0755));
    report("symlink at /", symlink("x", "/"));
    report("rmdir binding", rmdir("/mnt/b"));
    report("rename binding", rename("/mnt/b", "/tmp/z"));
    report("rename onto binding", rename("/tmp/d", "/mnt/b"));
    report("unlink bound file", unlink("/mnt/f"));
    report("rename bound file", rename("/mnt/f", "/tmp/f2"));
    report("rmdir glue parent", rmdir("/mnt"));
    int fd = open("/mnt/b/x", O_CREAT | O_WRONLY, 0644); close(fd);
    report("rename out of binding", rename("/mnt/b/x", "/tmp/x"));
    report("link out of binding", link("/mnt/b/x", "/tmp/x"));
    report("rename into binding", rename("/tmp/d", "/mnt/b/d"));
    report("rename inside binding", rename("/mnt/b/x", "/mnt/b/y"));
    report("unlink inside binding", unlink("/mnt/b/y"));
    report("tmp still there", access("/tmp", F_OK));
    report("d still there", rmdir("/tmp/d"));
    return 0;
}
"#;

#[test]
fn final_dots_and_binding_points_get_the_kernels_answers() {
    let Some(mut g) = Guest::new(&program(NAMES_C)) else {
        return;
    };
    let dir = HostDir::new("parity-names");
    let file = dir.join("file");
    std::fs::create_dir(dir.join("b")).expect("mkdir b");
    std::fs::write(&file, "bound\n").expect("write bound file");
    g.bind(dir.join("b").to_str().expect("utf-8"), "/mnt/b");
    g.bind(file.to_str().expect("utf-8"), "/mnt/f");
    let out = g.same_as_chroot(&[]);
    let file_kept = std::fs::read_to_string(&file).is_ok();
    let b_kept = dir.join("b").is_dir();
    assert!(
        file_kept && b_kept,
        "a binding's host path was removed\n{out}"
    );
    for line in [
        "rmdir d/..: ENOTEMPTY",
        "rename / away: EBUSY",
        "rmdir binding: EBUSY",
        "unlink bound file: EBUSY",
        "rename out of binding: EXDEV",
        "d still there: ok",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
    }
}

// ---------------------------------------------------------------------------
// Smaller kernel answers: getcwd of a removed directory, fd/N/.. of a file,
// readlinkat(fd, ""), quotactl, open_tree
// ---------------------------------------------------------------------------

const MISC_C: &str = r#"
#include <sys/quota.h>
#include <sys/syscall.h>
int main(void) {
    char buf[4096];
    mkdir("/tmp/gone", 0755);
    chdir("/tmp/gone");
    rmdir("/tmp/gone");
    report("getcwd of a removed directory", getcwd(buf, sizeof buf) ? 0 : -1);
    chdir("/");
    int f = open("/etc/sproot-guest", O_RDONLY);
    char p[64]; snprintf(p, sizeof p, "/proc/self/fd/%d/..", f);
    struct stat st;
    report("stat fd-of-a-file/..", stat(p, &st));
    unlink("/tmp/sl"); symlink("/etc/sproot-guest", "/tmp/sl");
    int l = open("/tmp/sl", O_PATH | O_NOFOLLOW);
    ssize_t n = readlinkat(l, "", buf, sizeof buf - 1);
    if (n < 0) printf("readlinkat fd empty: %s\n", ename(errno));
    else { buf[n] = 0; printf("readlinkat fd empty: %s\n", buf); }
    report("readlinkat file fd empty", readlinkat(f, "", buf, sizeof buf));
    unlink("/tmp/sl");
    report("quotactl missing device", quotactl(QCMD(Q_SYNC, USRQUOTA), "/dev/no-such-device", 0, NULL));
    report("quotactl not a device", quotactl(QCMD(Q_SYNC, USRQUOTA), "/etc/sproot-guest", 0, NULL));
    long t = syscall(SYS_open_tree, AT_FDCWD, "/etc/sproot-guest", 0);
    struct stat a, b;
    if (t < 0) printf("open_tree: %s\n", ename(errno));
    else { fstat(t, &a); stat("/etc/sproot-guest", &b); printf("open_tree: %s\n", same(&a, &b) ? "the guest file" : "another file"); }
    return 0;
}
"#;

#[test]
fn small_kernel_answers_match_a_chroot() {
    let Some(g) = Guest::new(&program(MISC_C)) else {
        return;
    };
    let out = g.same_as_chroot(&[]);
    for line in [
        "getcwd of a removed directory: ENOENT",
        "stat fd-of-a-file/..: ENOTDIR",
        "readlinkat fd empty: /etc/sproot-guest",
        "open_tree: the guest file",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
    }
}

const CHROOT_C: &str = r#"
int main(void) {
    report("chroot /", chroot("/"));
    return 0;
}
"#;

/// chroot(2) needs CAP_SYS_CHROOT: a fake non-root user gets EPERM, fake
/// root succeeds (only to the guest's own root, which changes nothing).
#[test]
fn chroot_needs_a_root_user() {
    let Some(g) = Guest::new(&program(CHROOT_C)) else {
        return;
    };
    let out = g.rootfs.run(&["-i", "1000:1000", "/prog"]);
    assert_eq!(stdout_str(&out), "chroot /: EPERM\n", "{}", describe(&out));
    let out = g.rootfs.run(&["-0", "/prog"]);
    assert_eq!(stdout_str(&out), "chroot /: ok\n", "{}", describe(&out));
    if !nix_is_root() {
        let out = g.rootfs.run(&["/prog"]);
        assert_eq!(stdout_str(&out), "chroot /: EPERM\n", "{}", describe(&out));
    }
}

// ---------------------------------------------------------------------------
// Absolute symlinks written with host paths inside a binding
// ---------------------------------------------------------------------------

const LINKS_C: &str = r#"
static void show(const char *p) {
    char buf[4096]; ssize_t n = readlink(p, buf, sizeof buf - 1);
    if (n < 0) printf("readlink %s: %s\n", p, ename(errno));
    else { buf[n] = 0; printf("readlink %s: %s\n", p, buf); }
    int fd = open(p, O_RDONLY);
    if (fd < 0) { printf("read %s: %s\n", p, ename(errno)); return; }
    n = read(fd, buf, sizeof buf - 1); buf[n > 0 ? n : 0] = 0; close(fd);
    printf("read %s: %s", p, buf);
}
int main(void) {
    show("/proj/lnk");
    show("/proj/lnk2");
    show("/proj/outside");
    return 0;
}
"#;

/// A real chroot would look the host path up inside the rootfs and find
/// nothing: sproot, like PRoot, reads such links as the guest paths they
/// mean, the deepest binding winning; targets under no binding stay as
/// they are.
#[test]
fn host_path_symlinks_inside_a_binding_read_as_guest_paths() {
    let Some(g) = Guest::new(&program(LINKS_C)) else {
        return;
    };
    let h = HostDir::new("parity-links");
    let hs = h.to_str().expect("utf-8").to_string();
    std::fs::create_dir(h.join("sub")).expect("mkdir");
    std::fs::write(h.join("file"), "top\n").expect("write");
    std::fs::write(h.join("sub/x"), "deep\n").expect("write");
    std::os::unix::fs::symlink(h.join("file"), h.join("lnk")).expect("symlink");
    std::os::unix::fs::symlink(h.join("sub/x"), h.join("lnk2")).expect("symlink");
    std::os::unix::fs::symlink("/etc/sproot-guest", h.join("outside")).expect("symlink");
    let proj = format!("{hs}:/proj");
    let deep = format!("{hs}/sub:/deep");
    let out = g.rootfs.run(&["-b", &proj, "-b", &deep, "/prog"]);
    assert_success(&out, "symlinks in a binding");
    assert_eq!(
        stdout_str(&out),
        "readlink /proj/lnk: /proj/file\nread /proj/lnk: top\n\
         readlink /proj/lnk2: /deep/x\nread /proj/lnk2: deep\n\
         readlink /proj/outside: /etc/sproot-guest\nread /proj/outside: guest\n"
    );
}

// ---------------------------------------------------------------------------
// AF_UNIX paths whose host path is longer than sun_path
// ---------------------------------------------------------------------------

const LONG_SOCKET_C: &str = r#"
#include <sys/socket.h>
#include <sys/un.h>
static void show(const char *what, long r, struct sockaddr_un *a, socklen_t len) {
    if (r < 0) { printf("%s: %s\n", what, ename(errno)); return; }
    printf("%s: len %u path \"%.*s\"\n", what, (unsigned)len, len > 2 ? (int)(len - 3) : 0, a->sun_path);
}
int main(void) {
    struct sockaddr_un a, b; socklen_t len; long r;
    memset(&b, 0, sizeof b); b.sun_family = AF_UNIX; strcpy(b.sun_path, "/mnt/s/long.sock");
    socklen_t bl = offsetof(struct sockaddr_un, sun_path) + strlen(b.sun_path) + 1;
    unlink(b.sun_path);
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    report("bind", bind(srv, (struct sockaddr *)&b, bl));
    report("listen", listen(srv, 1));
    len = sizeof a; r = getsockname(srv, (struct sockaddr *)&a, &len); show("getsockname", r, &a, len);
    int cli = socket(AF_UNIX, SOCK_STREAM, 0);
    report("connect", connect(cli, (struct sockaddr *)&b, bl));
    len = sizeof a; r = getpeername(cli, (struct sockaddr *)&a, &len); show("getpeername", r, &a, len);
    struct stat st;
    report("socket file visible", stat("/mnt/s/long.sock", &st) == 0 && S_ISSOCK(st.st_mode) ? 0 : -1);
    unlink(b.sun_path);
    return 0;
}
"#;

#[test]
fn unix_sockets_with_host_paths_longer_than_sun_path_work() {
    let Some(mut g) = Guest::new(&program(LONG_SOCKET_C)) else {
        return;
    };
    let top = HostDir::new("parity-long-socket");
    let long = top.join("a".repeat(60)).join("b".repeat(60));
    std::fs::create_dir_all(&long).expect("mkdir long dir");
    g.bind(long.to_str().expect("utf-8"), "/mnt/s");
    let out = g.same_as_chroot(&[]);
    assert!(out.contains("bind: ok\n"), "{out}");
    assert!(
        out.contains("getsockname: len 19 path \"/mnt/s/long.sock\"\n"),
        "{out}"
    );
    assert!(out.contains("socket file visible: ok\n"), "{out}");
}

// ---------------------------------------------------------------------------
// A 32-bit syscall from a 64-bit guest
// ---------------------------------------------------------------------------

const INT80_C: &str = r#"
int main(void) {
    long ret = 20; /* getpid in the i386 table */
    __asm__ volatile ("int $0x80" : "+a"(ret) : : "memory");
    printf("int 0x80: %s\n", ret == -ENOSYS ? "ENOSYS" : ret > 0 ? "ran" : "other error");
    return 0;
}
"#;

/// A kernel without 32-bit emulation answers ENOSYS; sproot's filter does
/// not handle the i386 table, so it answers the same rather than killing.
#[test]
fn a_32_bit_syscall_from_a_64_bit_guest_gets_enosys() {
    let Some(g) = Guest::new(&program(INT80_C)) else {
        return;
    };
    let out = g.rootfs.run(&["/prog"]);
    assert_success(&out, "int $0x80");
    assert_eq!(stdout_str(&out), "int 0x80: ENOSYS\n");
}

// ---------------------------------------------------------------------------
// Programs run through a descriptor: fexecve, execveat(fd, ""), /proc/self/fd/N
// ---------------------------------------------------------------------------

const FEXECVE_C: &str = r#"
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/syscall.h>
static void copy(int from, int to) {
    char b[65536]; ssize_t n;
    while ((n = read(from, b, sizeof b)) > 0) if (write(to, b, n) != n) exit(3);
}
static void run(const char *what, int how, int fd) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        char *argv[] = { "prog", "child", (char *)what, NULL };
        char path[64]; snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        if (how == 0) fexecve(fd, argv, environ);
        else if (how == 1) syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
        else execve(path, argv, environ);
        printf("%s: %s\n", what, ename(errno));
        exit(0);
    }
    int st; waitpid(p, &st, 0);
}
int main(int argc, char **argv) {
    if (argc > 2) {
        char b[256]; ssize_t n = readlink("/proc/self/exe", b, sizeof b - 1);
        b[n > 0 ? n : 0] = 0;
        printf("%s: ran, exe %s\n", argv[2], b);
        return 0;
    }
    int self = open("/prog", O_RDONLY);
    int m = memfd_create("prog-copy", MFD_CLOEXEC);
    copy(self, m);
    run("fexecve memfd", 0, m);
    lseek(self, 0, SEEK_SET);
    int t = open("/tmp/prog-unlinked", O_CREAT | O_TRUNC | O_WRONLY, 0755);
    copy(self, t); close(t);
    int u = open("/tmp/prog-unlinked", O_RDONLY);
    unlink("/tmp/prog-unlinked");
    run("execveat unlinked", 1, u);
    int r = open("/prog", O_RDONLY);
    run("execve /proc/self/fd/N", 2, r);
    return 0;
}
"#;

#[test]
fn programs_run_through_a_descriptor() {
    let Some(g) = Guest::new(&program(FEXECVE_C)) else {
        return;
    };
    let out = g.same_as_chroot(&[]);
    for line in [
        "fexecve memfd: ran, exe /memfd:prog-copy (deleted)",
        "execveat unlinked: ran, exe /tmp/prog-unlinked (deleted)",
        "execve /proc/self/fd/N: ran, exe /prog",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
    }
}

// ---------------------------------------------------------------------------
// Glue: directories that exist only to lead to a binding
// ---------------------------------------------------------------------------

const GLUE_C: &str = r#"
int main(void) {
    struct stat st;
    report("stat glue", stat("/glue1/glue2", &st));
    report("mkdir in glue", mkdir("/glue1/new", 0755));
    report("create in glue", open("/glue1/glue2/f", O_CREAT | O_WRONLY, 0644));
    int g = open("/glue1", O_RDONLY | O_DIRECTORY);
    report("create at glue fd", openat(g, "f", O_CREAT | O_WRONLY, 0644));
    report("symlink in glue", symlink("x", "/glue1/lnk"));
    report("rmdir glue", rmdir("/glue1/glue2"));
    report("rename glue", rename("/glue1/glue2", "/glue1/other"));
    report("mkdir in the binding", mkdir("/glue1/glue2/b/ok", 0755));
    report("rmdir in the binding", rmdir("/glue1/glue2/b/ok"));
    return 0;
}
"#;

/// A real mount point's missing parents cannot exist in a chroot; sproot's
/// stand-ins for them are read-only (EACCES), while the binding itself is
/// writable.
#[test]
fn glue_directories_are_read_only() {
    let Some(g) = Guest::new(&program(GLUE_C)) else {
        return;
    };
    let host = HostDir::new("parity-glue");
    let spec = format!("{}:/glue1/glue2/b", host.to_str().expect("utf-8"));
    let out = g.rootfs.run(&["-b", &spec, "/prog"]);
    assert_success(&out, "glue");
    assert_eq!(
        stdout_str(&out),
        "stat glue: ok\nmkdir in glue: EACCES\ncreate in glue: EACCES\n\
         create at glue fd: EACCES\nsymlink in glue: EACCES\nrmdir glue: EACCES\n\
         rename glue: EACCES\nmkdir in the binding: ok\nrmdir in the binding: ok\n"
    );
}

// ---------------------------------------------------------------------------
// Binding points missing from the rootfs are listed by their parent
// ---------------------------------------------------------------------------

const LISTING_C: &str = r#"
#include <dirent.h>
static char type_of_mode(mode_t m) {
    return S_ISDIR(m) ? 'd' : S_ISREG(m) ? 'f' : S_ISLNK(m) ? 'l' : '?';
}
static char type_of_dt(unsigned char t) {
    return t == DT_DIR ? 'd' : t == DT_REG ? 'f' : t == DT_LNK ? 'l' : t == DT_UNKNOWN ? 'u' : '?';
}
static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }
/* Each entry of `dir` (sorted): its readdir type, its lstat type and mode. */
static void list(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) { printf("%s: %s\n", dir, ename(errno)); return; }
    char *lines[256]; int n = 0, first = 0, again = 0; struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        first++;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[4096], line[4400]; struct stat st;
        snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name);
        if (lstat(path, &st) < 0) snprintf(line, sizeof line, "%s: %s readdir %c, lstat %s", dir, e->d_name, type_of_dt(e->d_type), ename(errno));
        else snprintf(line, sizeof line, "%s: %s readdir %c, lstat %c %o", dir, e->d_name, type_of_dt(e->d_type), type_of_mode(st.st_mode), st.st_mode & 07777);
        lines[n++] = strdup(line);
    }
    rewinddir(d);
    while (readdir(d)) again++;
    closedir(d);
    qsort(lines, n, sizeof *lines, cmp);
    for (int i = 0; i < n; i++) { printf("%s\n", lines[i]); free(lines[i]); }
    printf("%s: %s after rewinddir\n", dir, first == again ? "same count" : "another count");
}
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) list(argv[i]);
    return 0;
}
"#;

/// A binding at a name missing from the rootfs (`/newdir`, `/newfile`) and
/// one under missing directories (`/glue1/glue2/b`, reached through glue):
/// readdir of their parents lists them with the type `stat` gives, as a
/// chroot lists mount points (made in the rootfs, as mount needs).
#[test]
fn binding_points_missing_from_the_rootfs_are_listed() {
    let Some(mut g) = Guest::new(&program(LISTING_C)) else {
        return;
    };
    let dir = HostDir::new("parity-listing");
    std::fs::write(dir.join("file"), "x").expect("write host file");
    let d = dir.to_str().expect("utf-8").to_string();
    let file = format!("{d}/file");
    g.bindings = vec![
        (d.clone(), "/newdir".into()),
        (file, "/newfile".into()),
        (d.clone(), "/glue1/glue2/b".into()),
    ];
    let args = ["/", "/glue1", "/glue1/glue2", "/newdir"];
    let ours = g.sproot(&args);
    assert_success(&ours, "listing under sproot");
    let text = stdout_str(&ours);
    g.same_as_distro_user(&args, &text);
    for line in [
        "/: glue1 readdir d, lstat d 755",
        "/: newdir readdir d, lstat d",
        "/: newfile readdir f, lstat f",
        "/glue1: glue2 readdir d, lstat d 755",
        "/glue1/glue2: b readdir d, lstat d",
        "/: same count after rewinddir",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "no {line:?} in\n{text}"
        );
    }
    // The chroot needs the mount points in the rootfs; sproot ran without.
    for dir in ["/newdir", "/glue1/glue2/b"] {
        std::fs::create_dir_all(g.host_path(dir)).expect("mkdir mount point");
    }
    std::fs::write(g.host_path("/newfile"), "").expect("create mount point");
    if let Some(theirs) = g.chroot(&args) {
        assert_success(&theirs, "listing in a chroot");
        assert_eq!(
            text,
            stdout_str(&theirs),
            "sproot (left) and chroot (right) differ"
        );
    }
}

// ---------------------------------------------------------------------------
// One host directory with several guest names
// ---------------------------------------------------------------------------

const ALIASES_C: &str = r#"
#include <sys/wait.h>
static void link_of(const char *what, const char *link) {
    char b[4096]; ssize_t n = readlink(link, b, sizeof b - 1);
    if (n < 0) { printf("%s: %s\n", what, ename(errno)); return; }
    b[n] = 0; printf("%s: %s\n", what, b);
}
static void cwd(const char *what) {
    char b[4096], w[300];
    if (getcwd(b, sizeof b)) printf("%s getcwd: %s\n", what, b);
    else printf("%s getcwd: %s\n", what, ename(errno));
    snprintf(w, sizeof w, "%s cwd link", what);
    link_of(w, "/proc/self/cwd");
}
static void fd_link(const char *what, int fd) {
    char l[64]; snprintf(l, sizeof l, "/proc/self/fd/%d", fd);
    link_of(what, l);
}
int main(void) {
    chdir("/y"); cwd("cd /y");
    chdir("sub"); cwd("cd sub");
    chdir("/x/sub"); cwd("cd /x/sub");
    chdir(".."); cwd("cd ..");
    int fy = open("/y/sub/f", O_RDONLY), fx = open("/x/sub/f", O_RDONLY);
    int dy = open("/y/sub", O_RDONLY | O_DIRECTORY);
    fd_link("fd /y/sub/f", fy);
    fd_link("fd /x/sub/f", fx);
    fd_link("fd /y/sub", dy);
    int fz = openat(dy, "f", O_RDONLY);
    fd_link("fd at /y/sub: f", fz);
    chdir("/y/sub");
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) { cwd("child"); fd_link("child fd /y/sub/f", fy); fflush(stdout); _exit(0); }
    waitpid(p, NULL, 0);
    chdir("/data"); cwd("cd /data");
    chdir("/alias"); cwd("cd /alias");
    chdir("/data/in"); cwd("cd /data/in");
    return 0;
}
"#;

/// `-b D:/x -b D:/y` and a rootfs directory `/data` also bound at `/alias`:
/// the working directory and descriptors read back with the name the
/// process used, as in a chroot with the same bind mounts.
#[test]
fn a_directory_bound_twice_reads_back_by_the_name_used() {
    let Some(mut g) = Guest::new(&program(ALIASES_C)) else {
        return;
    };
    let d = HostDir::new("parity-aliases");
    std::fs::create_dir_all(d.join("sub")).expect("mkdir sub");
    std::fs::write(d.join("sub/f"), "f").expect("write f");
    let ds = d.to_str().expect("utf-8").to_string();
    g.bind(&ds, "/x");
    g.bind(&ds, "/y");
    std::fs::create_dir_all(g.host_path("/data/in")).expect("mkdir /data/in");
    let data = g.host_path("/data").to_str().expect("utf-8").to_string();
    g.bind(&data, "/alias");
    let out = g.same_as_chroot(&[]);
    g.same_as_distro_user(&[], &out);
    for line in [
        "cd /y getcwd: /y",
        "cd /y cwd link: /y",
        "cd sub getcwd: /y/sub",
        "cd /x/sub getcwd: /x/sub",
        "cd .. getcwd: /x",
        "fd /y/sub/f: /y/sub/f",
        "fd /x/sub/f: /x/sub/f",
        "fd at /y/sub: f: /y/sub/f",
        "child getcwd: /y/sub",
        "child fd /y/sub/f: /y/sub/f",
        "cd /data getcwd: /data",
        "cd /alias cwd link: /alias",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
    }
}

// ---------------------------------------------------------------------------
// Guest paths whose host path is longer than PATH_MAX
// ---------------------------------------------------------------------------

const LONG_PATHS_C: &str = r#"
#include <sys/syscall.h>
static char path[8192], buf[8192];
static void is(const char *what, const char *got, const char *want) {
    if (!got) printf("%s: %s\n", what, ename(errno));
    else printf("%s: %s\n", what, strcmp(got, want) ? "another path" : "the guest path");
}
static void link_is(const char *what, const char *link, const char *want) {
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    if (n >= 0) buf[n] = 0;
    is(what, n < 0 ? NULL : buf, want);
}
int main(int argc, char **argv) {
    int want = atoi(argv[1]);
    char comp[201]; memset(comp, 'd', 200); comp[200] = 0;
    strcpy(path, "/tmp/deep"); mkdir(path, 0755); chdir(path);
    int depth = 0;
    while (strlen(path) + 201 < (size_t)want) {
        if (mkdir(comp, 0755) < 0 || chdir(comp) < 0) { printf("grow: %s\n", ename(errno)); return 1; }
        strcat(path, "/"); strcat(path, comp); depth++;
    }
    /* The last directory brings the path to `want` bytes. */
    size_t last_len = want - strlen(path) - 1;
    char last[256]; memset(last, 'e', last_len); last[last_len] = 0;
    if (mkdir(last, 0755) < 0 || chdir(last) < 0) { printf("grow: %s\n", ename(errno)); return 1; }
    strcat(path, "/"); strcat(path, last);
    printf("guest path: %zu bytes\n", strlen(path));
    is("getcwd", getcwd(buf, sizeof buf), path);
    link_is("cwd link", "/proc/self/cwd", path);
    char f[8192], g[8192], s[8192], l[8192];
    snprintf(f, sizeof f, "%s/file", path); snprintf(g, sizeof g, "%s/file2", path);
    snprintf(s, sizeof s, "%s/sub", path); snprintf(l, sizeof l, "%s/lnk", path);
    int fd = open(f, O_CREAT | O_WRONLY, 0644);
    report("create absolute", fd);
    report("write", write(fd, "abc", 3)); close(fd);
    struct stat st, st2;
    report("stat absolute", stat(f, &st));
    printf("size: %ld\n", (long)st.st_size);
    report("mkdir absolute", mkdir(s, 0755));
    report("stat dir", stat(s, &st2));
    int dfd = open(s, O_RDONLY | O_DIRECTORY);
    report("open dir", dfd);
    char dl[64]; snprintf(dl, sizeof dl, "/proc/self/fd/%d", dfd);
    link_is("dir fd link", dl, s);
    report("openat dirfd", fd = openat(dfd, "x", O_CREAT | O_WRONLY, 0644)); close(fd);
    report("unlinkat dirfd", unlinkat(dfd, "x", 0)); close(dfd);
    report("symlink absolute", symlink("file", l));
    link_is("readlink absolute", l, "file");
    report("stat through symlink", stat(l, &st2));
    report("rename absolute", rename(f, g));
    report("access relative", access("file2", R_OK));
    report("chmod absolute", chmod(g, 0600));
    report("truncate absolute", truncate(g, 1));
    /* The kernel's own limit on the guest path: 4095 bytes and a NUL. */
    size_t room = 4095 - strlen(path) - 1;
    if (room >= 1 && room <= 255) {
        char at[8192], over[8192], name[300];
        memset(name, 'n', room); name[room] = 0;
        snprintf(at, sizeof at, "%s/%s", path, name);
        report("stat 4095 bytes", stat(at, &st2));
        report("create 4095 bytes", fd = open(at, O_CREAT | O_WRONLY, 0644)); close(fd);
        report("unlink 4095 bytes", unlink(at));
        snprintf(over, sizeof over, "%s/%sn", path, name);
        report("stat 4096 bytes", stat(over, &st2));
    } else printf("room: %zu\n", room);
    unlink(l); unlink(g); rmdir(s);
    chdir(".."); rmdir(last);
    for (int i = 0; i < depth; i++) { chdir(".."); rmdir(comp); }
    chdir("/"); report("cleaned", rmdir("/tmp/deep"));
    return 0;
}
"#;

/// A guest path under 4,096 bytes whose host path (the rootfs in front)
/// is longer: reached through pieces, as a chroot reaches it; the kernel's
/// own limit on the guest path stays.
#[test]
fn guest_paths_with_host_paths_longer_than_path_max_work() {
    let Some(g) = Guest::new(&program(LONG_PATHS_C)) else {
        return;
    };
    std::fs::create_dir_all(g.host_path("/tmp")).expect("mkdir /tmp");
    let root_len = g.rootfs.root().len();
    // Host path past PATH_MAX (by 10 bytes at least, whatever the length of
    // the rootfs's temporary path); the guest's leaves room for a name.
    let want = (4096 - 30).max(4096 + 11 - root_len);
    assert!(want <= 4096 - 16, "rootfs path too short: {root_len}");
    let out = g.same_as_chroot(&[&want.to_string()]);
    g.same_as_distro_user(&[&want.to_string()], &out);
    for line in [
        "getcwd: the guest path",
        "cwd link: the guest path",
        "create absolute: ok",
        "dir fd link: the guest path",
        "readlink absolute: the guest path",
        "rename absolute: ok",
        "stat 4096 bytes: ENAMETOOLONG",
        "cleaned: ok",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
    }
    let length = format!("guest path: {want} bytes");
    assert!(out.lines().any(|l| l == length), "no {length:?} in\n{out}");
}

// ---------------------------------------------------------------------------
// A rewritten syscall restarted after a signal
// ---------------------------------------------------------------------------

const RESTART_C: &str = r#"
#include <signal.h>
#include <sys/wait.h>
static volatile int alarms;
static void on_alarm(int s) {
    /* A deep frame: what lies below the stack pointer is overwritten. */
    volatile char junk[8192]; memset((char *)junk, 'x', sizeof junk); (void)s; alarms++;
}
int main(void) {
    unlink("/tmp/fifo");
    report("mkfifo", mkfifo("/tmp/fifo", 0600));
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    fflush(stdout);
    pid_t writer = fork();
    if (writer == 0) {
        /* After the reader's open was interrupted and restarted. */
        usleep(600 * 1000);
        int w = open("/tmp/fifo", O_WRONLY);
        if (w >= 0) { write(w, "hi", 2); close(w); }
        _exit(w < 0);
    }
    ualarm(200 * 1000, 0);
    int fd = open("/tmp/fifo", O_RDONLY);
    report("open fifo through a signal", fd);
    char b[3] = {0};
    if (fd >= 0) { read(fd, b, 2); printf("read: %s\n", b); }
    printf("alarms: %d\n", alarms);
    int st; waitpid(writer, &st, 0);
    printf("writer: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    unlink("/tmp/fifo");
    return 0;
}
"#;

/// `open` of a FIFO, rewritten to the host path, is interrupted by a
/// signal whose `SA_RESTART` handler runs on the stack, and restarted by
/// the kernel: it opens the guest's FIFO, as in a chroot.
#[test]
fn a_rewritten_syscall_restarted_after_a_signal_is_translated_once() {
    let Some(g) = Guest::new(&program(RESTART_C)) else {
        return;
    };
    std::fs::create_dir_all(g.host_path("/tmp")).expect("mkdir /tmp");
    let out = g.same_as_chroot(&[]);
    g.same_as_distro_user(&[], &out);
    assert_eq!(
        out,
        "mkfifo: ok\nopen fifo through a signal: ok\nread: hi\nalarms: 1\nwriter: 0\n"
    );
}

// ---------------------------------------------------------------------------
// New user namespaces
// ---------------------------------------------------------------------------

const USERNS_C: &str = r#"
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
static void clone_with(const char *what, long flags) {
    long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(pid, NULL, 0);
    report(what, pid);
}
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
/* "raw": clone3's own answer; "libc": on ENOSYS, clone, as glibc does. */
static int raw;
/* clone3 with a struct clone_args of the third size (88 bytes). */
static void clone3_with(const char *what, unsigned long long flags, unsigned long long sig) {
    unsigned long long args[11] = {0};
    args[0] = flags;
    args[4] = sig;
    long pid = syscall(SYS_clone3, args, sizeof args);
    if (pid < 0 && errno == ENOSYS && !raw)
        pid = syscall(SYS_clone, (long)(flags | sig), 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(pid, NULL, 0);
    report(what, pid);
}
int main(int argc, char **argv) {
    raw = argc > 1 && strcmp(argv[1], "raw") == 0;
    if (!raw) {
        clone_with("clone CLONE_NEWUSER", CLONE_NEWUSER);
        clone_with("clone CLONE_NEWUSER|CLONE_FS", CLONE_NEWUSER | CLONE_FS);
        clone_with("clone", 0);
        clone3_with("clone3 CLONE_NEWUSER", CLONE_NEWUSER, SIGCHLD);
        clone3_with("clone3 CLONE_NEWUSER|CLONE_NEWNS", CLONE_NEWUSER | CLONE_NEWNS, SIGCHLD);
        clone3_with("clone3 CLONE_NEWUSER|CLONE_FS", CLONE_NEWUSER | CLONE_FS, SIGCHLD);
        clone3_with("clone3", 0, SIGCHLD);
        report("unshare 0", syscall(SYS_unshare, 0));
        report("unshare CLONE_NEWUSER|CLONE_NEWNS", syscall(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNS));
        report("unshare CLONE_NEWUSER", syscall(SYS_unshare, CLONE_NEWUSER));
        return 0;
    }
    clone3_with("clone3 CLONE_NEWUSER", CLONE_NEWUSER, SIGCHLD);
    clone3_with("clone3 CLONE_NEWUSER|CLONE_NEWNS", CLONE_NEWUSER | CLONE_NEWNS, SIGCHLD);
    clone3_with("clone3 CLONE_NEWUSER|CLONE_FS", CLONE_NEWUSER | CLONE_FS, SIGCHLD);
    clone3_with("clone3 CLONE_NEWUSER|CLONE_PARENT", CLONE_NEWUSER | CLONE_PARENT, SIGCHLD);
    clone3_with("clone3 CLONE_NEWUSER, exit signal 256", CLONE_NEWUSER, 256);
    clone3_with("clone3 CLONE_NEWUSER|SIGCHLD in the flags", CLONE_NEWUSER | SIGCHLD, 0);
    clone3_with("clone3 CLONE_NEWUSER|CLONE_CLEAR_SIGHAND|CLONE_SIGHAND",
                CLONE_NEWUSER | (1ULL << 32) | CLONE_SIGHAND | CLONE_VM, SIGCHLD);
    clone3_with("clone3", 0, SIGCHLD);
    unsigned long long big[12] = {CLONE_NEWUSER, 0, 0, 0, SIGCHLD};
    big[11] = 1;
    long pid = syscall(SYS_clone3, big, sizeof big);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(pid, NULL, 0);
    report("clone3 CLONE_NEWUSER, a field past the known ones set", pid);
    return 0;
}
"#;

/// A chrooted process may not create a user namespace (the kernel answers
/// `EPERM`), and a guest is one: `unshare`, `clone` and (through glibc's
/// fallback to `clone`) `clone3` with `CLONE_NEWUSER` are refused, after
/// the kernel's own `EINVAL` checks; other namespaces and flags are not.
/// With seccomp, `clone3` itself answers `ENOSYS` (its flags are out of the
/// filter's reach); without, it gets the kernel's own answers, struct
/// checks included.
#[test]
fn a_new_user_namespace_is_refused_as_in_a_chroot() {
    let Some(g) = Guest::new(&program(USERNS_C)) else {
        return;
    };
    let out = g.same_as_chroot(&[]);
    assert!(out.contains("clone CLONE_NEWUSER: EPERM\n"), "{out}");
    assert!(
        out.contains("clone CLONE_NEWUSER|CLONE_FS: EINVAL\n"),
        "{out}"
    );
    assert!(out.contains("unshare 0: ok\n"), "{out}");
    assert!(out.contains("unshare CLONE_NEWUSER: EPERM\n"), "{out}");
    assert!(out.contains("clone3 CLONE_NEWUSER: EPERM\n"), "{out}");
    assert!(out.contains("clone3: ok\n"), "{out}");
    g.same_as_distro_user(&[], &out);
    // clone3's own answers: the kernel's without seccomp...
    let exact = g.same_as_chroot_with(&["--no-seccomp"], &["raw"]);
    assert!(exact.contains("clone3 CLONE_NEWUSER: EPERM\n"), "{exact}");
    assert!(
        exact.contains("clone3 CLONE_NEWUSER, exit signal 256: EINVAL\n"),
        "{exact}"
    );
    assert!(exact.contains("clone3: ok\n"), "{exact}");
    // ... and ENOSYS with it, for every call.
    let fast = g.sproot(&["raw"]);
    assert_success(&fast, "raw clone3 under sproot");
    let fast = stdout_str(&fast);
    assert_eq!(fast.lines().count(), exact.lines().count(), "{fast}");
    assert!(fast.lines().all(|l| l.ends_with(": ENOSYS")), "{fast}");
}

// ---------------------------------------------------------------------------
// Relative AF_UNIX names
// ---------------------------------------------------------------------------

const UNIX_RELATIVE_C: &str = r#"
#include <sys/socket.h>
#include <sys/un.h>
static void show_name(const char *what, int fd) {
    struct sockaddr_un a; socklen_t l = sizeof a;
    memset(&a, 0, sizeof a);
    if (getsockname(fd, (struct sockaddr *)&a, &l) < 0) { printf("%s: %s\n", what, ename(errno)); return; }
    size_t n = l > offsetof(struct sockaddr_un, sun_path) ? l - offsetof(struct sockaddr_un, sun_path) : 0;
    printf("%s: length %u, %.*s\n", what, (unsigned)l, (int)strnlen(a.sun_path, n), a.sun_path);
}
static int bound(const char *what, const char *name, size_t n) {
    struct sockaddr_un a; memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX; memcpy(a.sun_path, name, n);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    int r = bind(fd, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + n);
    report(what, r);
    if (r == 0) { listen(fd, 16); show_name(what, fd); }
    return fd;
}
static void connect_to(const char *what, const char *name, size_t n) {
    struct sockaddr_un a; memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX; memcpy(a.sun_path, name, n);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    report(what, connect(fd, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + n));
    close(fd);
}
int main(void) {
    mkdir("/tmp/sock", 0755);
    report("chdir", chdir("/tmp/sock"));
    char full[108];
    memset(full, 'f', sizeof full);
    unlink("rel.sock"); unlink("up.sock"); unlink(strndup(full, sizeof full));
    bound("bind rel.sock", "rel.sock", strlen("rel.sock") + 1);
    connect_to("connect rel.sock", "rel.sock", strlen("rel.sock") + 1);
    connect_to("connect ./rel.sock", "./rel.sock", strlen("./rel.sock") + 1);
    connect_to("connect absolute", "/tmp/sock/rel.sock", strlen("/tmp/sock/rel.sock") + 1);
    bound("bind ../sock/up.sock", "../sock/up.sock", strlen("../sock/up.sock") + 1);
    bound("bind 108 bytes", full, sizeof full);
    connect_to("connect 108 bytes", full, sizeof full);
    struct stat st;
    report("stat 108 bytes", stat("/tmp/sock/ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &st));
    report("stat rel.sock", stat("/tmp/sock/rel.sock", &st));
    return 0;
}
"#;

/// A relative `AF_UNIX` name is the kernel's to take from the cwd: it is
/// bound where the guest's cwd is, reported back as it was given (not as
/// the absolute guest path), and may fill all of `sun_path` without a
/// terminator, however long the host path of the cwd.
#[test]
fn relative_unix_socket_names_are_the_kernels() {
    let Some(g) = Guest::new(&program(UNIX_RELATIVE_C)) else {
        return;
    };
    std::fs::create_dir_all(g.host_path("/tmp")).expect("mkdir /tmp");
    let out = g.same_as_chroot(&[]);
    g.same_as_distro_user(&[], &out);
    for line in [
        "bind rel.sock: length 11, rel.sock",
        "connect rel.sock: ok",
        "connect absolute: ok",
        "bind ../sock/up.sock: length 18, ../sock/up.sock",
        "bind 108 bytes: ok",
        "connect 108 bytes: ok",
        "stat 108 bytes: ok",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
    }
}

// ---------------------------------------------------------------------------
// Renaming the root or a final dot across a binding
// ---------------------------------------------------------------------------

const RENAME_ROOT_C: &str = r#"
int main(void) {
    mkdir("/tmp/d", 0755);
    report("chdir /", chdir("/"));
    report("rename / into binding", rename("/", "/mnt/b/x"));
    report("rename . into binding", rename(".", "/mnt/b/x"));
    report("rename .. into binding", rename("..", "/mnt/b/x"));
    report("rename / in place", rename("/", "/x"));
    report("rename . in place", rename(".", "/x"));
    report("rename tmp/d/.. into binding", rename("/tmp/d/..", "/mnt/b/x"));
    report("rename tmp/d/.. in place", rename("/tmp/d/..", "/tmp/x"));
    report("rename binding/. out", rename("/mnt/b/.", "/x"));
    report("rename binding/.. in it", rename("/mnt/b/..", "/mnt/b/x"));
    report("rename binding into itself", rename("/mnt/b", "/mnt/b/x"));
    report("rename binding in place", rename("/mnt/b", "/mnt/x"));
    report("rename from binding over /", rename("/mnt/b/y", "/"));
    report("rename over / in place", rename("/tmp/d", "/"));
    report("chdir /mnt/b", chdir("/mnt/b"));
    report("rename . of binding out", rename(".", "/tmp/x"));
    report("rename . of binding in it", rename(".", "y"));
    report("d still there", rmdir("/tmp/d"));
    return 0;
}
"#;

/// The kernel compares the mounts of the two parents before it looks at
/// the last components: renaming `/`, `.` or `..` across a mount (a
/// binding) is `EXDEV`, within one `EBUSY`.
#[test]
fn renaming_the_root_or_a_dot_across_a_binding_is_exdev() {
    let Some(mut g) = Guest::new(&program(RENAME_ROOT_C)) else {
        return;
    };
    let dir = HostDir::new("parity-rename-root");
    std::fs::write(dir.join("y"), "y\n").expect("write y");
    g.bind(dir.to_str().expect("utf-8"), "/mnt/b");
    std::fs::create_dir_all(g.host_path("/tmp")).expect("mkdir /tmp");
    let out = g.same_as_chroot(&[]);
    g.same_as_distro_user(&[], &out);
    for line in [
        "rename / into binding: EXDEV",
        "rename . into binding: EXDEV",
        "rename / in place: EBUSY",
        "rename binding/. out: EXDEV",
        "rename binding into itself: EXDEV",
        "rename from binding over /: EXDEV",
        "rename over / in place: EBUSY",
        "d still there: ok",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
    }
    assert!(dir.join("y").is_file(), "a bound file moved\n{out}");
}

// ---------------------------------------------------------------------------
// Signal dispositions the guest starts with
// ---------------------------------------------------------------------------

const SIGPIPE_C: &str = r#"
#include <signal.h>
#include <sys/wait.h>
int main(void) {
    struct sigaction sa;
    sigaction(SIGPIPE, NULL, &sa);
    printf("SIGPIPE: %s\n", sa.sa_handler == SIG_IGN ? "ignored" : sa.sa_handler == SIG_DFL ? "default" : "handled");
    int p[2];
    if (pipe(p) < 0) { perror("pipe"); return 1; }
    /* Like `yes | head -1`: the reader is gone. */
    close(p[0]);
    fflush(stdout);
    pid_t w = fork();
    if (w == 0) {
        long r = write(p[1], "y\n", 2);
        printf("write: %s\n", r < 0 ? ename(errno) : "ok");
        fflush(stdout);
        _exit(0);
    }
    close(p[1]);
    int st; waitpid(w, &st, 0);
    if (WIFSIGNALED(st)) printf("writer: killed by signal %d\n", WTERMSIG(st));
    else printf("writer: exit %d\n", WEXITSTATUS(st));
    return 0;
}
"#;

/// sproot's own runtime ignores `SIGPIPE`; the guest starts with the
/// default, so a writer to a closed pipe dies of it as in a chroot.
#[test]
fn the_guest_starts_with_sigpipe_at_its_default() {
    let Some(g) = Guest::new(&program(SIGPIPE_C)) else {
        return;
    };
    let out = g.same_as_chroot(&[]);
    assert_eq!(
        out,
        format!(
            "SIGPIPE: default\nwriter: killed by signal {}\n",
            libc::SIGPIPE
        )
    );
}

// ---------------------------------------------------------------------------
// Linking an O_TMPFILE file through /proc/self/fd
// ---------------------------------------------------------------------------

const TMPFILE_LINK_C: &str = r#"
static void link_tmpfile(const char *what, const char *dir, const char *to, int flags) {
    int fd = open(dir, O_TMPFILE | O_WRONLY, 0600);
    if (fd < 0) { printf("%s: open O_TMPFILE: %s\n", what, ename(errno)); return; }
    write(fd, "x", 1);
    char p[64]; snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    unlink(to);
    report(what, linkat(AT_FDCWD, p, AT_FDCWD, to, flags));
    struct stat st;
    if (stat(to, &st) == 0) printf("%s: %lld bytes\n", what, (long long)st.st_size);
    unlink(to);
    close(fd);
}
int main(void) {
    link_tmpfile("link followed", "/tmp", "/tmp/linked", AT_SYMLINK_FOLLOW);
    link_tmpfile("link not followed", "/tmp", "/tmp/linked", 0);
    link_tmpfile("link followed within a binding", "/mnt/b", "/mnt/b/linked", AT_SYMLINK_FOLLOW);
    link_tmpfile("link followed out of a binding", "/mnt/b", "/tmp/linked", AT_SYMLINK_FOLLOW);
    return 0;
}
"#;

/// `linkat` of `/proc/self/fd/N` with `AT_SYMLINK_FOLLOW` links the file
/// the descriptor names (an `O_TMPFILE` file gets its name): the mount that
/// counts is that file's, not `/proc`'s.
#[test]
fn linking_an_open_tmpfile_through_proc_self_fd_works() {
    let Some(mut g) = Guest::new(&program(TMPFILE_LINK_C)) else {
        return;
    };
    let dir = HostDir::new("parity-tmpfile");
    g.bind(dir.to_str().expect("utf-8"), "/mnt/b");
    std::fs::create_dir_all(g.host_path("/tmp")).expect("mkdir /tmp");
    let out = g.same_as_chroot(&[]);
    for line in [
        "link followed: ok",
        "link followed: 1 bytes",
        "link not followed: EXDEV",
        "link followed within a binding: ok",
        "link followed out of a binding: EXDEV",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
    }
}

// ---------------------------------------------------------------------------
// readlink of the rootfs's own symlinks with the host's `/` bound in the
// guest (`-b /:/host-rootfs`, as proot-distro users do): their content, as
// written, whatever else is bound.
// ---------------------------------------------------------------------------

const READLINK_C: &str = r#"
int main(int argc, char **argv) {
    char buf[4096];
    for (int i = 1; i < argc; i++) {
        ssize_t n = readlink(argv[i], buf, sizeof buf - 1);
        if (n < 0) { printf("%s: %s\n", argv[i], ename(errno)); continue; }
        buf[n] = 0;
        printf("%s -> %s\n", argv[i], buf);
    }
    return 0;
}
"#;

#[test]
fn the_rootfs_symlinks_read_as_written_with_the_host_root_bound() {
    let links = ["/abs", "/rel", "/etc/deep", "/tmp-link"];
    for extra in [&[][..], &[("/tmp", "/tmp")], &[("/tmp", "/foo")]] {
        let Some(mut g) = Guest::new(&program(READLINK_C)) else {
            return;
        };
        for (name, target) in [
            ("/abs", "/etc/sproot-guest"),
            ("/rel", "etc/sproot-guest"),
            ("/etc/deep", "/usr/bin/env"),
            ("/tmp-link", "/tmp/x"),
        ] {
            std::os::unix::fs::symlink(target, g.host_path(name)).expect("make a symlink");
        }
        g.bind("/", "/host-rootfs");
        for (h, guest) in extra {
            g.bind(h, guest);
        }
        let out = g.same_as_chroot(&links);
        g.same_as_distro_user(&links, &out);
        for (name, target) in [("/abs", "/etc/sproot-guest"), ("/etc/deep", "/usr/bin/env")] {
            assert!(
                out.lines().any(|l| l == format!("{name} -> {target}")),
                "with {extra:?}: {name} does not read {target}:\n{out}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// A child made with CLONE_UNTRACED sees the guest's files like any other.
// ---------------------------------------------------------------------------

const UNTRACED_C: &str = r#"
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
static void sees(const char *what, long pid) {
    if (pid == 0)
        _exit(access("/etc/sproot-guest", F_OK) == 0 ? 0 : 1);
    int st = -1;
    if (pid < 0) { printf("%s: %s\n", what, ename(errno)); return; }
    waitpid(pid, &st, 0);
    printf("%s sees the guest's files: %s\n", what,
           WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
}
int main(void) {
    sees("untraced child", syscall(SYS_clone, SIGCHLD | CLONE_UNTRACED, 0, 0, 0, 0));
    unsigned long long args[8] = {CLONE_UNTRACED, 0, 0, 0, SIGCHLD, 0, 0, 0};
    long pid = syscall(SYS_clone3, args, sizeof args);
    if (pid < 0 && errno == ENOSYS) /* as glibc falls back */
        pid = syscall(SYS_clone, SIGCHLD | CLONE_UNTRACED, 0, 0, 0, 0);
    sees("untraced clone3 child", pid);
    printf("clone3's flags afterwards: %s\n",
           args[0] == CLONE_UNTRACED ? "as given" : "changed");
    return 0;
}
"#;

/// A child made with `CLONE_UNTRACED` (by `clone` or `clone3`, which
/// falls back to `clone` where it answers `ENOSYS`) is traced all the
/// same: its paths are the guest's. The guest's `struct clone_args` is
/// left as it was. Without seccomp `clone3` itself runs, on a copy of the
/// structure without the flag.
#[test]
fn a_child_made_untraced_is_translated_like_any_other() {
    let Some(g) = Guest::new(&program(UNTRACED_C)) else {
        return;
    };
    let out = g.same_as_chroot(&[]);
    assert_eq!(
        out,
        "untraced child sees the guest's files: yes\n\
         untraced clone3 child sees the guest's files: yes\n\
         clone3's flags afterwards: as given\n"
    );
    g.same_as_distro_user(&[], &out);
    assert_eq!(g.same_as_chroot_with(&["--no-seccomp"], &[]), out);
}

// ---------------------------------------------------------------------------
// Symlinks followed by `/`, `/.`, `/..`, `/./..` inside a binding whose
// guest path lies inside its own host path.
// ---------------------------------------------------------------------------

const SELF_BIND_C: &str = r#"
int main(int argc, char **argv) {
    struct stat dir, top, st;
    if (stat("/b/dir", &dir) || stat("/b", &top)) { printf("setup: %s\n", ename(errno)); return 1; }
    for (int i = 1; i < argc; i++) {
        if (stat(argv[i], &st)) { printf("%s: %s\n", argv[i], ename(errno)); continue; }
        printf("%s: %s\n", argv[i], same(&st, &dir) ? "dir" : same(&st, &top) ? "the binding's host dir" : "another file");
    }
    return 0;
}
"#;

#[test]
fn symlinks_with_dots_resolve_as_the_kernel_does_in_a_binding_inside_its_own_host_path() {
    let Some(mut g) = Guest::new(&program(SELF_BIND_C)) else {
        return;
    };
    let top = g.host_path("/b");
    std::fs::create_dir_all(top.join("dir/inner")).expect("mkdir");
    std::fs::write(top.join("file"), "x\n").expect("write");
    std::os::unix::fs::symlink("dir/./.", top.join("d")).expect("symlink");
    std::os::unix::fs::symlink("file", top.join("f")).expect("symlink");
    std::os::unix::fs::symlink("/b/sub/dir/./.", top.join("da")).expect("symlink");
    g.bind(top.to_str().expect("utf-8"), "/b/sub");
    let paths = [
        "/b/sub/d/",
        "/b/sub/d/.",
        "/b/sub/d/..",
        "/b/sub/d/./..",
        "/b/sub/f/",
        "/b/sub/f/.",
        "/b/sub/d/inner/..",
        "/b/sub/da/",
        "/b/sub/da/..",
        "/b/sub/da/./..",
    ];
    let out = g.same_as_chroot(&paths);
    assert!(out.contains("/b/sub/f/: ENOTDIR"), "{out}");
    g.same_as_distro_user(&paths, &out);
}

// ---------------------------------------------------------------------------
// Path syscalls newer than the table once was: the xattr calls relative to
// a directory fd (Linux 6.13), open_tree_attr (6.15), file_getattr (6.17).
// ---------------------------------------------------------------------------

const NEWER_PATH_CALLS_C: &str = r#"
#include <stdint.h>
#include <sys/syscall.h>
struct xattr_args { uint64_t value; uint32_t size; uint32_t flags; };
struct file_attr { uint64_t xflags; uint32_t extsize, nextents, projid, cowextsize; };
enum { SETXATTRAT = 463, GETXATTRAT, LISTXATTRAT, REMOVEXATTRAT, OPEN_TREE_ATTR, FILE_GETATTR };
static void value(const char *what, long r, const char *buf) {
    if (r < 0) printf("%s: %s\n", what, ename(errno)); else printf("%s: %.*s\n", what, (int)r, buf);
}
int main(void) {
    char buf[256] = "";
    struct xattr_args set = { (uint64_t)(uintptr_t)"v1", 2, 0 };
    struct xattr_args get = { (uint64_t)(uintptr_t)buf, sizeof buf, 0 };
    int etc = open("/etc", O_RDONLY | O_DIRECTORY);
    int file = open("/etc/sproot-x", O_RDONLY);
    if (etc < 0 || file < 0) { printf("setup: %s\n", ename(errno)); return 1; }
    report("setxattrat absolute", syscall(SETXATTRAT, AT_FDCWD, "/etc/sproot-x", 0, "user.t", &set, sizeof set));
    value("getxattrat relative to a dirfd", syscall(GETXATTRAT, etc, "sproot-x", 0, "user.t", &get, sizeof get), buf);
    value("listxattrat", syscall(LISTXATTRAT, AT_FDCWD, "/etc/../etc/sproot-x", 0, buf, sizeof buf), buf);
    value("getxattrat of a symlink, not followed", syscall(GETXATTRAT, AT_FDCWD, "/etc/sproot-link", AT_SYMLINK_NOFOLLOW, "user.t", &get, sizeof get), buf);
    value("getxattrat of a symlink, followed", syscall(GETXATTRAT, AT_FDCWD, "/etc/sproot-link", 0, "user.t", &get, sizeof get), buf);
    value("getxattrat with bad flags", syscall(GETXATTRAT, AT_FDCWD, "/etc/sproot-x", AT_SYMLINK_FOLLOW, "user.t", &get, sizeof get), buf);
    value("getxattrat of an empty path", syscall(GETXATTRAT, file, "", AT_EMPTY_PATH, "user.t", &get, sizeof get), buf);
    value("getxattrat of a missing file", syscall(GETXATTRAT, AT_FDCWD, "/etc/sproot-none", 0, "user.t", &get, sizeof get), buf);
    report("removexattrat", syscall(REMOVEXATTRAT, etc, "sproot-x", 0, "user.t"));
    value("getxattrat after removal", syscall(GETXATTRAT, etc, "sproot-x", 0, "user.t", &get, sizeof get), buf);
    /* A privileged namespace: root's (a fake root's, under -0). */
    struct xattr_args priv = { (uint64_t)(uintptr_t)"p1", 2, 0 };
    report("setxattrat trusted", syscall(SETXATTRAT, etc, "sproot-x", 0, "trusted.t", &priv, sizeof priv));
    value("getxattrat trusted", syscall(GETXATTRAT, AT_FDCWD, "/etc/sproot-link", 0, "trusted.t", &get, sizeof get), buf);
    struct xattr_args excl = { (uint64_t)(uintptr_t)"p2", 2, 1 /* XATTR_CREATE */ };
    report("setxattrat trusted, XATTR_CREATE again", syscall(SETXATTRAT, AT_FDCWD, "/etc/sproot-x", 0, "trusted.t", &excl, sizeof excl));
    report("setxattrat with a short struct", syscall(SETXATTRAT, AT_FDCWD, "/etc/sproot-x", 0, "trusted.t", &priv, 8));
    long n = syscall(LISTXATTRAT, file, "", AT_EMPTY_PATH, buf, sizeof buf);
    printf("listxattrat has trusted.t: %s\n", n > 0 && memmem(buf, n, "trusted.t", 10) ? "yes" : "no");
    report("removexattrat trusted", syscall(REMOVEXATTRAT, AT_FDCWD, "/etc/sproot-x", 0, "trusted.t"));
    value("getxattrat trusted after removal", syscall(GETXATTRAT, AT_FDCWD, "/etc/sproot-x", 0, "trusted.t", &get, sizeof get), buf);
    struct file_attr fa;
    report("file_getattr", syscall(FILE_GETATTR, AT_FDCWD, "/etc/sproot-x", &fa, sizeof fa, 0));
    report("file_getattr of a missing file", syscall(FILE_GETATTR, AT_FDCWD, "/etc/sproot-none", &fa, sizeof fa, 0));
    int tree = syscall(OPEN_TREE_ATTR, AT_FDCWD, "/etc/sproot-x", 0, NULL, 0);
    struct stat a, b;
    if (tree < 0) printf("open_tree_attr: %s\n", ename(errno));
    else if (fstat(tree, &a) || fstat(file, &b)) printf("open_tree_attr: fstat %s\n", ename(errno));
    else printf("open_tree_attr: %s\n", same(&a, &b) ? "the file" : "another file");
    return 0;
}
"#;

#[test]
fn newer_path_syscalls_are_translated() {
    let Some(g) = Guest::new(&program(NEWER_PATH_CALLS_C)) else {
        return;
    };
    g.rootfs.write("/etc/sproot-x", "x\n");
    std::os::unix::fs::symlink("sproot-x", g.host_path("/etc/sproot-link")).expect("symlink");
    let out = g.same_as_chroot(&[]);
    if out.contains("setxattrat absolute: ENOSYS") {
        // A kernel older than 6.13 answers ENOSYS natively too; the
        // comparison above is all there is to check.
        eprintln!("note: this kernel has no *xattrat calls");
        return;
    }
    assert!(
        out.contains("getxattrat relative to a dirfd: v1\n"),
        "{out}"
    );
    assert!(out.contains("listxattrat: user.t"), "{out}");
    assert!(out.contains("of a symlink, followed: v1\n"), "{out}");
    assert!(out.contains("with bad flags: EINVAL\n"), "{out}");
    assert!(out.contains("getxattrat of an empty path: v1\n"), "{out}");
    assert!(
        out.contains("getxattrat of a missing file: ENOENT\n"),
        "{out}"
    );
    assert!(!out.contains("another file"), "{out}");
    assert!(out.contains("getxattrat trusted: p1\n"), "{out}");
    assert!(out.contains("listxattrat has trusted.t: yes\n"), "{out}");
    // As nobody with -0: the trusted.* attribute is fake root's, kept by
    // sproot, and every answer is the same as real root's.
    g.same_as_distro_user(&[], &out);
}
