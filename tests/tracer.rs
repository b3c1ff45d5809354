//! Path translation and the command line, end to end: each test runs the
//! built `sproot` on its own tiny rootfs and checks one behaviour.
//!
//! Translation is always proven with a path whose contents differ between the
//! host and the guest (`/etc/sproot-guest` exists only in the guest,
//! `/etc/os-release` differs), so a tracer that let a syscall through
//! untranslated fails the test.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// Timeout for one guest run, in seconds.
const T: u64 = 30;

/// Runs `/bin/sh -c SCRIPT` in the guest with `extra` sproot options first.
fn sh_with(rootfs: &TinyRootfs, extra: &[&str], script: &str) -> Output {
    let mut args: Vec<&str> = extra.to_vec();
    args.extend_from_slice(&["/bin/sh", "-c", script]);
    rootfs.run_timeout(&args, T)
}

/// Runs `/bin/sh -c SCRIPT` in the guest.
fn sh(rootfs: &TinyRootfs, script: &str) -> Output {
    sh_with(rootfs, &[], script)
}

/// Asserts success and returns stdout.
#[track_caller]
fn ok_stdout(out: &Output, what: &str) -> String {
    assert_success(out, what);
    stdout_str(out)
}

#[track_caller]
fn assert_no_panic(out: &Output, what: &str) {
    assert!(
        !stderr_str(out).contains("panicked"),
        "{what}: sproot panicked\n{}",
        describe(out)
    );
    assert!(
        out.status.code().is_some(),
        "{what}: sproot died of a signal\n{}",
        describe(out)
    );
}

/// A host directory (removed on drop) holding one file `name` with `content`.
struct HostDir(PathBuf);

impl HostDir {
    fn with_file(tag: &str, name: &str, content: &str) -> HostDir {
        let dir = unique_temp_dir(tag);
        fs::write(dir.join(name), content).expect("write host file");
        HostDir(dir)
    }
    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp dir")
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------
// Guest view of files
// ---------------------------------------------------------------------------

#[test]
fn guest_file_contents_come_from_the_rootfs() {
    assert!(
        !Path::new("/etc/sproot-guest").exists(),
        "the host must not have /etc/sproot-guest for this test to prove anything"
    );
    let r = tiny_rootfs();
    let out = sh(&r, "cat /etc/sproot-guest; cat /etc/os-release");
    let text = ok_stdout(&out, "cat guest files");
    assert!(
        text.starts_with(GUEST_MARKER),
        "guest marker not read\n{}",
        describe(&out)
    );
    assert!(
        text.contains("ID=sproot-tiny"),
        "/etc/os-release is not the guest's\n{}",
        describe(&out)
    );
}

#[test]
fn absolute_symlink_resolves_inside_the_guest() {
    let r = tiny_rootfs();
    symlink("/etc/sproot-guest", r.host_path("/abs-file-link")).unwrap();
    symlink("/etc", r.host_path("/abs-dir-link")).unwrap();
    let out = sh(&r, "cat /abs-file-link; cat /abs-dir-link/os-release");
    let text = ok_stdout(&out, "cat through absolute symlinks");
    assert_eq!(
        text,
        format!("{GUEST_MARKER}ID=sproot-tiny\nNAME=\"sproot tiny test rootfs\"\n"),
        "{}",
        describe(&out)
    );
}

#[test]
fn dotdot_at_the_guest_root_stays_at_the_guest_root() {
    let r = tiny_rootfs();
    let out = sh(&r, "cat /../../etc/sproot-guest");
    assert_eq!(ok_stdout(&out, "cat /../../etc/sproot-guest"), GUEST_MARKER);
}

#[test]
fn listing_of_root_parent_equals_listing_of_root() {
    let r = tiny_rootfs();
    fs::create_dir(r.host_path("/sproot-guest-root-marker")).unwrap();
    let out = sh(&r, "ls /; echo ---; ls /..; echo ---; ls /../..");
    let text = ok_stdout(&out, "ls / and /..");
    let parts: Vec<&str> = text.split("---\n").collect();
    assert_eq!(parts.len(), 3, "{}", describe(&out));
    assert!(
        parts[0].contains("sproot-guest-root-marker"),
        "ls / is not the guest's root\n{}",
        describe(&out)
    );
    assert_eq!(parts[0], parts[1], "ls /.. differs from ls /");
    assert_eq!(parts[0], parts[2], "ls /../.. differs from ls /");
}

#[test]
fn cd_dotdot_from_the_guest_root_stays_inside() {
    let r = tiny_rootfs();
    let out = sh(
        &r,
        "cd / && cd ../../.. && /bin/pwd && cat etc/sproot-guest",
    );
    assert_eq!(
        ok_stdout(&out, "cd .. above /"),
        format!("/\n{GUEST_MARKER}")
    );
}

#[test]
fn relative_symlink_with_too_many_dotdots_stays_inside() {
    let r = tiny_rootfs();
    fs::create_dir_all(r.host_path("/a/b")).unwrap();
    symlink("../../../../etc/sproot-guest", r.host_path("/a/b/x")).unwrap();
    let out = sh(&r, "cat /a/b/x");
    assert_eq!(ok_stdout(&out, "cat /a/b/x"), GUEST_MARKER);
}

// ---------------------------------------------------------------------------
// Bindings
// ---------------------------------------------------------------------------

#[test]
fn bind_of_a_host_dir_at_the_same_path_shows_host_contents() {
    let r = tiny_rootfs();
    let host = HostDir::with_file("bind-same", "from", "host-side\n");
    // The rootfs has the same directory with different contents.
    r.write(&format!("{}/from", host.path()), "rootfs-side\n");
    let out = sh_with(
        &r,
        &["-b", host.path()],
        &format!("cat {}/from", host.path()),
    );
    assert_eq!(ok_stdout(&out, "cat through -b DIR"), "host-side\n");
}

#[test]
fn bind_to_a_guest_path_missing_from_the_rootfs_works() {
    let r = tiny_rootfs();
    let host = HostDir::with_file("bind-missing", "f", "bound\n");
    assert!(!r.host_path("/mnt").exists());
    let spec = format!("{}:/mnt/new/place", host.path());
    let out = sh_with(
        &r,
        &["-b", &spec],
        "cat /mnt/new/place/f; ls /mnt/new/place",
    );
    assert_eq!(
        ok_stdout(&out, "cat through -b to a new path"),
        "bound\nf\n"
    );
}

#[test]
fn bind_to_a_missing_guest_path_appears_in_its_parent_listing() {
    let r = tiny_rootfs();
    let host = HostDir::with_file("bind-glue", "f", "bound\n");
    let spec = format!("{}:/mnt/new/place", host.path());
    let out = sh_with(
        &r,
        &["-b", &spec],
        "ls /mnt/new; cd /mnt/new/place && /bin/pwd",
    );
    assert_eq!(
        ok_stdout(&out, "ls the parent of a new binding"),
        "place\n/mnt/new/place\n"
    );
}

#[test]
fn file_binding_replaces_a_guest_file() {
    let r = tiny_rootfs();
    let host = HostDir::with_file("bind-file", "marker", "host-file\n");
    let spec = format!("{}/marker:/etc/sproot-guest", host.path());
    let out = sh_with(&r, &["-b", &spec], "cat /etc/sproot-guest");
    assert_eq!(ok_stdout(&out, "cat a bound file"), "host-file\n");
    assert_eq!(
        fs::read_to_string(r.host_path("/etc/sproot-guest")).unwrap(),
        GUEST_MARKER,
        "the rootfs file must be untouched"
    );
}

#[test]
fn bind_with_trailing_slashes_works() {
    let r = tiny_rootfs();
    let host = HostDir::with_file("bind-slash", "f", "slashed\n");
    let spec = format!("{}/:/mnt/slashed/", host.path());
    let out = sh_with(&r, &["-b", &spec], "cat /mnt/slashed/f");
    assert_eq!(ok_stdout(&out, "cat through a/:b/"), "slashed\n");
}

#[test]
fn bind_with_a_relative_host_path_is_relative_to_sproot_cwd() {
    let r = tiny_rootfs();
    let host = HostDir::with_file("bind-rel", "f", "relative\n");
    fs::create_dir(host.0.join("sub")).unwrap();
    fs::write(host.0.join("sub/g"), "relative-sub\n").unwrap();
    let mut cmd = r.sproot_cmd(&[
        "-b",
        "sub:/mnt/rel",
        "-w",
        "/",
        "/bin/sh",
        "-c",
        "cat /mnt/rel/g",
    ]);
    cmd.current_dir(&host.0);
    let out = output_with_timeout(cmd, Duration::from_secs(T), "sproot -b sub:/mnt/rel");
    assert_eq!(
        ok_stdout(&out, "cat through a relative binding"),
        "relative-sub\n"
    );
}

#[test]
fn nested_bindings_longest_prefix_wins() {
    let r = tiny_rootfs();
    let outer = HostDir::with_file("bind-outer", "a", "outer\n");
    let inner = HostDir::with_file("bind-inner", "b", "inner\n");
    // The outer host dir also has an `inner/b`, which must be hidden.
    fs::create_dir(outer.0.join("inner")).unwrap();
    fs::write(outer.0.join("inner/b"), "outer-inner\n").unwrap();
    let o = format!("{}:/mnt/outer", outer.path());
    let i = format!("{}:/mnt/outer/inner", inner.path());
    let script = "cat /mnt/outer/a /mnt/outer/inner/b";
    // Both orders on the command line: the longest guest prefix wins either way.
    for order in [[&i, &o], [&o, &i]] {
        let out = sh_with(&r, &["-b", order[0], "-b", order[1]], script);
        assert_eq!(
            ok_stdout(&out, "nested bindings"),
            "outer\ninner\n",
            "order {order:?}\n{}",
            describe(&out)
        );
    }
}

/// A rootfs where `/linkdir` is a symlink to `/realdir`, which holds `orig`.
fn rootfs_with_symlinked_dir() -> TinyRootfs {
    let r = tiny_rootfs();
    r.write("/realdir/orig", "rootfs-orig\n");
    symlink("/realdir", r.host_path("/linkdir")).unwrap();
    r
}

#[test]
fn bind_onto_a_guest_symlink_lands_at_its_target() {
    let r = rootfs_with_symlinked_dir();
    let host = HostDir::with_file("bind-deref", "hf", "host-file\n");
    let spec = format!("{}:/linkdir", host.path());
    let out = sh_with(
        &r,
        &["-b", &spec],
        "ls /realdir; cat /realdir/hf; ls /linkdir/",
    );
    assert_eq!(
        ok_stdout(&out, "bind without !"),
        "hf\nhost-file\nhf\n",
        "{}",
        describe(&out)
    );
}

#[test]
fn bind_with_bang_suffix_lands_at_the_literal_guest_path() {
    let r = rootfs_with_symlinked_dir();
    let host = HostDir::with_file("bind-bang", "hf", "host-file\n");
    let spec = format!("{}:/linkdir!", host.path());
    let out = sh_with(
        &r,
        &["-b", &spec],
        "ls /linkdir/; cat /linkdir/hf; ls /realdir",
    );
    assert_eq!(
        ok_stdout(&out, "bind with !"),
        "hf\nhost-file\norig\n",
        "{}",
        describe(&out)
    );
}

// ---------------------------------------------------------------------------
// Working directory
// ---------------------------------------------------------------------------

#[test]
fn cwd_option_sets_the_guest_working_directory() {
    let r = tiny_rootfs();
    let out = sh_with(&r, &["-w", "/etc"], "pwd; /bin/pwd; cat sproot-guest");
    assert_eq!(
        ok_stdout(&out, "-w /etc"),
        format!("/etc\n/etc\n{GUEST_MARKER}")
    );
}

#[test]
fn getcwd_after_cd_through_a_symlinked_dir_is_the_physical_guest_path() {
    let r = tiny_rootfs();
    fs::create_dir_all(r.host_path("/data/real")).unwrap();
    symlink("/data/real", r.host_path("/shortcut")).unwrap();
    let out = sh(&r, "cd /shortcut && /bin/pwd -P");
    assert_eq!(
        ok_stdout(&out, "getcwd after cd via symlink"),
        "/data/real\n"
    );
}

#[test]
fn default_cwd_is_root_when_host_cwd_is_outside_the_rootfs() {
    let r = tiny_rootfs();
    let elsewhere = HostDir::with_file("cwd-outside", "f", "x\n");
    let mut cmd = r.sproot_cmd(&["/bin/sh", "-c", "/bin/pwd; cat etc/sproot-guest"]);
    cmd.current_dir(&elsewhere.0);
    let out = output_with_timeout(cmd, Duration::from_secs(T), "sproot from outside");
    assert_eq!(ok_stdout(&out, "default cwd"), format!("/\n{GUEST_MARKER}"));
}

// ---------------------------------------------------------------------------
// Paths returned by the kernel
// ---------------------------------------------------------------------------

#[test]
fn readlink_of_proc_self_exe_is_the_guest_path_of_readlink() {
    let r = tiny_rootfs();
    let out = sh_with(&r, &["-b", "/proc"], "/usr/bin/readlink /proc/self/exe");
    assert_eq!(
        ok_stdout(&out, "readlink /proc/self/exe"),
        "/usr/bin/readlink\n"
    );
}

#[test]
fn readlink_of_proc_self_cwd_is_the_guest_cwd() {
    let r = tiny_rootfs();
    let out = sh_with(&r, &["-b", "/proc"], "cd /etc && readlink /proc/self/cwd");
    assert_eq!(ok_stdout(&out, "readlink /proc/self/cwd"), "/etc\n");
}

// ---------------------------------------------------------------------------
// Changes made by the guest land in the rootfs
// ---------------------------------------------------------------------------

#[test]
fn mkdir_in_the_guest_creates_the_dir_in_the_rootfs() {
    let r = tiny_rootfs();
    let name = "/sproot-test-made-dir";
    assert!(!Path::new(name).exists());
    let out = sh(&r, &format!("mkdir {name} && ls -d {name}"));
    assert_eq!(ok_stdout(&out, "mkdir"), format!("{name}\n"));
    assert!(r.host_path(name).is_dir(), "not created in the rootfs");
    assert!(!Path::new(name).exists(), "created on the host!");
}

#[test]
fn rename_in_the_guest_renames_in_the_rootfs() {
    let r = tiny_rootfs();
    r.write("/etc/before", "moved\n");
    let out = sh(&r, "mv /etc/before /etc/after && cat /etc/after");
    assert_eq!(ok_stdout(&out, "mv"), "moved\n");
    assert!(!r.host_path("/etc/before").exists());
    assert_eq!(
        fs::read_to_string(r.host_path("/etc/after")).unwrap(),
        "moved\n"
    );
    assert!(!Path::new("/etc/after").exists(), "renamed onto the host!");
}

#[test]
fn symlink_in_the_guest_stores_the_guest_target_in_the_rootfs() {
    let r = tiny_rootfs();
    let out = sh(&r, "ln -s /etc/sproot-guest /made-link && cat /made-link");
    assert_eq!(ok_stdout(&out, "ln -s"), GUEST_MARKER);
    assert_eq!(
        fs::read_link(r.host_path("/made-link")).unwrap(),
        PathBuf::from("/etc/sproot-guest"),
        "the symlink's target must be stored as the guest wrote it"
    );
    assert!(
        fs::symlink_metadata("/made-link").is_err(),
        "created on the host!"
    );
}

#[test]
fn hard_link_in_the_guest_links_rootfs_files() {
    let r = tiny_rootfs();
    let out = sh(&r, "ln /etc/sproot-guest /etc/hard && cat /etc/hard");
    assert_eq!(ok_stdout(&out, "ln"), GUEST_MARKER);
    let a = fs::metadata(r.host_path("/etc/sproot-guest")).unwrap();
    let b = fs::metadata(r.host_path("/etc/hard")).unwrap();
    assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()), "not a hard link");
    assert!(!Path::new("/etc/hard").exists(), "created on the host!");
}

#[test]
fn rm_in_the_guest_removes_the_rootfs_file() {
    let r = tiny_rootfs();
    r.write("/etc/doomed", "bye\n");
    let out = sh(&r, "rm /etc/doomed && ls /etc");
    let text = ok_stdout(&out, "rm");
    assert!(!text.contains("doomed"), "{}", describe(&out));
    assert!(!r.host_path("/etc/doomed").exists(), "still in the rootfs");
}

#[test]
fn rmdir_in_the_guest_removes_the_rootfs_dir() {
    let r = tiny_rootfs();
    fs::create_dir(r.host_path("/emptydir")).unwrap();
    let out = sh(&r, "rmdir /emptydir");
    assert_success(&out, "rmdir");
    assert!(!r.host_path("/emptydir").exists(), "still in the rootfs");
}

// ---------------------------------------------------------------------------
// Metadata
// ---------------------------------------------------------------------------

#[test]
fn stat_reports_the_guest_file() {
    let r = tiny_rootfs();
    r.write("/etc/sized", &"x".repeat(1234));
    let out = sh(
        &r,
        "stat -c '%s %F' /etc/sized /etc/sproot-guest /etc/os-release",
    );
    let guest_os_release = fs::metadata(r.host_path("/etc/os-release")).unwrap().len();
    assert_eq!(
        ok_stdout(&out, "stat"),
        format!("1234 regular file\n6 regular file\n{guest_os_release} regular file\n")
    );
}

#[test]
fn ls_l_lists_guest_files_with_their_sizes() {
    let r = tiny_rootfs();
    r.write("/etc/sized", &"x".repeat(4321));
    let out = sh(&r, "ls -l /etc/sized; ls -ld /bin");
    let text = ok_stdout(&out, "ls -l");
    let mut lines = text.lines();
    let file = lines.next().unwrap_or("");
    assert!(
        file.starts_with("-rw") && file.contains(" 4321 ") && file.ends_with("/etc/sized"),
        "{}",
        describe(&out)
    );
    let bin = lines.next().unwrap_or("");
    assert!(
        bin.starts_with('l') && bin.ends_with("/bin -> usr/bin"),
        "/bin should be the rootfs's symlink\n{}",
        describe(&out)
    );
}

#[test]
fn a_file_missing_from_the_rootfs_is_missing_even_if_the_host_has_it() {
    let r = tiny_rootfs();
    assert!(Path::new("/etc/passwd").exists());
    fs::remove_file(r.host_path("/etc/passwd")).unwrap();
    let out = sh(
        &r,
        "stat /etc/passwd >/dev/null 2>&1; echo $?; test -e /etc/passwd; echo $?",
    );
    assert_eq!(ok_stdout(&out, "stat missing"), "1\n1\n");
}

// ---------------------------------------------------------------------------
// Emulated and refused syscalls
// ---------------------------------------------------------------------------

const UNIX_SOCKET_C: &str = r#"
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) { perror("socket"); return 2; }
    if (bind(s, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("bind"); return 3; }
    if (listen(s, 1) < 0) { perror("listen"); return 4; }
    pid_t pid = fork();
    if (pid == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("connect"); _exit(5); }
        if (write(c, "ping", 4) != 4) _exit(6);
        close(c);
        _exit(0);
    }
    int a = accept(s, NULL, NULL);
    if (a < 0) { perror("accept"); return 7; }
    char buf[16] = {0};
    ssize_t n = read(a, buf, sizeof buf - 1);
    int st = 0;
    waitpid(pid, &st, 0);
    printf("got=%.*s child=%d\n", (int)(n > 0 ? n : 0), buf, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}
"#;

#[test]
fn unix_socket_bind_and_connect_use_guest_paths() {
    let r = tiny_rootfs();
    let Some(prog) = compile_c(UNIX_SOCKET_C, &[]) else {
        return;
    };
    r.install(&prog, "/usr/bin/unix-sock");
    let sock = "/tmp/sproot-test.sock";
    let _ = fs::remove_file(sock);
    let out = r.run_timeout(&["/usr/bin/unix-sock", sock], T);
    assert_eq!(ok_stdout(&out, "unix socket"), "got=ping child=0\n");
    let meta = fs::symlink_metadata(r.host_path(sock)).expect("socket file in the rootfs");
    assert_eq!(
        meta.permissions().mode() & 0o170000,
        0o140000,
        "not a socket"
    );
    assert!(
        fs::symlink_metadata(sock).is_err(),
        "socket created on the host!"
    );
}

const IO_URING_C: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(void) {
    unsigned char params[120];
    memset(params, 0, sizeof params);
    errno = 0;
    long ret = syscall(425, 1, params);
    printf("ret=%ld errno=%d\n", ret, ret < 0 ? errno : 0);
    return 0;
}
"#;

#[test]
fn io_uring_setup_returns_enosys() {
    let r = tiny_rootfs();
    let Some(prog) = compile_c(IO_URING_C, &[]) else {
        return;
    };
    r.install(&prog, "/usr/bin/uring");
    let out = r.run_timeout(&["/usr/bin/uring"], T);
    assert_eq!(ok_stdout(&out, "io_uring_setup"), "ret=-1 errno=38\n");
}

const MOUNT_C: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <sys/mount.h>

int main(int argc, char **argv) {
    errno = 0;
    int ret = mount("none", argv[1], "tmpfs", 0, NULL);
    printf("ret=%d errno=%d\n", ret, ret < 0 ? errno : 0);
    return 0;
}
"#;

#[test]
fn mount_is_refused_with_eperm() {
    let r = tiny_rootfs();
    let Some(prog) = compile_c(MOUNT_C, &[]) else {
        return;
    };
    r.install(&prog, "/usr/bin/try-mount");
    // A guest-only target: even a broken tracer can't mount over a host directory.
    let target = "/sproot-test-mount-target";
    fs::create_dir(r.host_path(target)).unwrap();
    assert!(!Path::new(target).exists());
    let out = r.run_timeout(&["/usr/bin/try-mount", target], T);
    assert_eq!(ok_stdout(&out, "mount"), "ret=-1 errno=1\n");
}

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

#[track_caller]
fn assert_refused_option(args: &[&str], name: &str) {
    let r = tiny_rootfs();
    let out = r.run_timeout(args, T);
    assert_no_panic(&out, name);
    assert_eq!(out.status.code(), Some(1), "{name}\n{}", describe(&out));
    assert!(
        stderr_str(&out).contains(name),
        "the message must name {name}\n{}",
        describe(&out)
    );
    assert!(
        stdout_str(&out).is_empty(),
        "the command ran\n{}",
        describe(&out)
    );
}

#[test]
fn qemu_option_is_refused_naming_it() {
    assert_refused_option(&["-q", "qemu-no-such-machine", "/bin/echo", "ran"], "-q");
}

#[test]
fn malformed_change_id_is_refused_naming_the_option() {
    assert_refused_option(&["-i", "alice:x", "/bin/echo", "ran"], "-i");
}

#[test]
fn missing_rootfs_is_an_error_naming_the_path() {
    let path = "/nonexistent/sproot-test-rootfs";
    let out = run_timeout(&["-r", path, "/bin/true"], T);
    assert_no_panic(&out, "missing rootfs");
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(stderr_str(&out).contains(path), "{}", describe(&out));
}

#[test]
fn missing_bind_source_is_a_warning_naming_the_path_and_the_run_goes_on() {
    let r = tiny_rootfs();
    let src = "/nonexistent/sproot-test-bind-source";
    let out = r.run_timeout(&["-b", &format!("{src}:/mnt/x"), "/bin/echo", "ran"], T);
    assert_no_panic(&out, "missing bind source");
    assert_success(&out, "missing bind source");
    assert!(stderr_str(&out).contains(src), "{}", describe(&out));
    assert_eq!(stdout_str(&out), "ran\n", "{}", describe(&out));
}

#[test]
fn help_mentions_rootfs_option() {
    let out = run_timeout(&["--help"], T);
    assert_success(&out, "--help");
    assert!(stdout_str(&out).contains("--rootfs"), "{}", describe(&out));
}

#[test]
fn version_flag_prints_the_version() {
    let out = run_timeout(&["-V"], T);
    assert_success(&out, "-V");
    let text = stdout_str(&out) + &stderr_str(&out);
    assert!(
        text.contains(env!("CARGO_PKG_VERSION")),
        "{}",
        describe(&out)
    );
}

#[test]
fn proot_no_seccomp_env_still_translates_paths() {
    let r = tiny_rootfs();
    let mut cmd = r.sproot_cmd(&["/bin/sh", "-c", "cat /etc/sproot-guest; ls /.. | head -1"]);
    cmd.env("PROOT_NO_SECCOMP", "1");
    let out = output_with_timeout(cmd, Duration::from_secs(T), "PROOT_NO_SECCOMP=1 sproot");
    let text = ok_stdout(&out, "PROOT_NO_SECCOMP=1");
    assert!(text.starts_with(GUEST_MARKER), "{}", describe(&out));
}

#[test]
fn no_seccomp_option_still_translates_paths() {
    let r = tiny_rootfs();
    let out = sh_with(
        &r,
        &["--no-seccomp"],
        "cat /etc/sproot-guest /etc/os-release",
    );
    let text = ok_stdout(&out, "--no-seccomp");
    assert!(
        text.starts_with(GUEST_MARKER) && text.contains("ID=sproot-tiny"),
        "{}",
        describe(&out)
    );
}

#[test]
fn no_seccomp_option_still_runs_guest_programs_with_bindings() {
    let r = tiny_rootfs();
    let host = HostDir::with_file("noseccomp-bind", "f", "bound\n");
    let spec = format!("{}:/mnt/b", host.path());
    let out = sh_with(
        &r,
        &["--no-seccomp", "-b", &spec, "-w", "/etc"],
        "/bin/pwd; cat /mnt/b/f; cat ../etc/sproot-guest",
    );
    assert_eq!(
        ok_stdout(&out, "--no-seccomp with -b and -w"),
        format!("/etc\nbound\n{GUEST_MARKER}")
    );
}

#[test]
fn verbose_level_2_does_not_break_the_run() {
    let r = tiny_rootfs();
    let out = sh_with(&r, &["-v", "2"], "cat /etc/sproot-guest; exit 7");
    assert_no_panic(&out, "-v 2");
    assert_eq!(out.status.code(), Some(7), "{}", describe(&out));
    assert_eq!(stdout_str(&out), GUEST_MARKER, "{}", describe(&out));
}

#[test]
fn proot_verbose_env_does_not_break_the_run() {
    let r = tiny_rootfs();
    let mut cmd = r.sproot_cmd(&["/bin/cat", "/etc/sproot-guest"]);
    cmd.env("PROOT_VERBOSE", "2");
    let out = output_with_timeout(cmd, Duration::from_secs(T), "PROOT_VERBOSE=2 sproot");
    assert_eq!(ok_stdout(&out, "PROOT_VERBOSE=2"), GUEST_MARKER);
}

#[test]
fn big_r_preset_binds_the_host_etc_hosts() {
    let r = tiny_rootfs();
    r.write("/etc/hosts", "127.0.0.1 guest-only-hosts\n");
    let host_hosts = fs::read_to_string("/etc/hosts").expect("host /etc/hosts");
    assert_ne!(host_hosts, "127.0.0.1 guest-only-hosts\n");
    let out = run_timeout(
        &[
            "-R",
            r.root(),
            "/bin/sh",
            "-c",
            "cat /etc/hosts; echo ---; cat /etc/sproot-guest",
        ],
        T,
    );
    assert_eq!(
        ok_stdout(&out, "-R"),
        format!("{host_hosts}---\n{GUEST_MARKER}")
    );
}

#[test]
fn relative_rootfs_path_is_relative_to_sproot_cwd() {
    let r = tiny_rootfs();
    let parent = r.path.parent().unwrap().to_path_buf();
    let name = r.path.file_name().unwrap().to_str().unwrap().to_string();
    let mut cmd = sproot_cmd(&["-r", &name, "-w", "/", "/bin/cat", "/etc/sproot-guest"]);
    cmd.current_dir(&parent);
    let out = output_with_timeout(cmd, Duration::from_secs(T), "sproot -r RELATIVE");
    assert_eq!(ok_stdout(&out, "relative -r"), GUEST_MARKER);
}

#[test]
fn dot_rootfs_is_the_current_directory() {
    let r = tiny_rootfs();
    let mut cmd = sproot_cmd(&[
        "-r",
        ".",
        "/bin/sh",
        "-c",
        "/bin/pwd; cat /etc/sproot-guest",
    ]);
    cmd.current_dir(&r.path);
    let out = output_with_timeout(cmd, Duration::from_secs(T), "sproot -r .");
    assert_eq!(ok_stdout(&out, "-r ."), format!("/\n{GUEST_MARKER}"));
}

#[test]
fn readlink_of_proc_self_fd_is_the_guest_path() {
    let r = tiny_rootfs();
    let out = sh_with(
        &r,
        &["-b", "/proc"],
        "exec 3</etc/sproot-guest; readlink /proc/self/fd/3",
    );
    assert_eq!(
        ok_stdout(&out, "readlink /proc/self/fd/3"),
        "/etc/sproot-guest\n"
    );
}

#[test]
fn chmod_in_the_guest_changes_the_rootfs_file() {
    let r = tiny_rootfs();
    let out = sh(
        &r,
        "chmod 0640 /etc/sproot-guest && stat -c %a /etc/sproot-guest",
    );
    assert_eq!(ok_stdout(&out, "chmod"), "640\n");
    let mode = fs::metadata(r.host_path("/etc/sproot-guest"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
}

const AT_CALLS_C: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    int dir = open("/etc", O_RDONLY | O_DIRECTORY);
    if (dir < 0) { perror("open /etc"); return 1; }
    int fd = openat(dir, "sproot-guest", O_RDONLY);
    if (fd < 0) { perror("openat"); return 2; }
    char buf[32] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    struct stat by_empty, by_dirfd, link;
    if (fstatat(fd, "", &by_empty, AT_EMPTY_PATH) != 0) { perror("AT_EMPTY_PATH"); return 3; }
    if (fstatat(dir, "os-release", &by_dirfd, 0) != 0) { perror("fstatat"); return 4; }
    if (fstatat(AT_FDCWD, "/bin", &link, AT_SYMLINK_NOFOLLOW) != 0) { perror("nofollow"); return 5; }
    if (mkdirat(dir, "made-at", 0755) != 0) { perror("mkdirat"); return 6; }
    printf("read=%.*s", (int)(n > 0 ? n : 0), buf);
    printf("empty=%lld dirfd=%lld bin-is-link=%d\n", (long long)by_empty.st_size,
           (long long)by_dirfd.st_size, S_ISLNK(link.st_mode));
    return 0;
}
"#;

#[test]
fn at_syscalls_resolve_dirfds_inside_the_guest() {
    let r = tiny_rootfs();
    let Some(prog) = compile_c(AT_CALLS_C, &[]) else {
        return;
    };
    r.install(&prog, "/usr/bin/at-calls");
    let os_release = fs::metadata(r.host_path("/etc/os-release")).unwrap().len();
    let out = r.run_timeout(&["/usr/bin/at-calls"], T);
    assert_eq!(
        ok_stdout(&out, "*at syscalls"),
        format!("read={GUEST_MARKER}empty=6 dirfd={os_release} bin-is-link=1\n")
    );
    assert!(
        r.host_path("/etc/made-at").is_dir(),
        "mkdirat missed the rootfs"
    );
    assert!(
        !Path::new("/etc/made-at").exists(),
        "mkdirat created on the host!"
    );
}

const CHROOT_C: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    int ret = chroot("/");
    printf("chroot=%d errno=%d\n", ret, ret < 0 ? errno : 0);
    FILE *f = fopen("/etc/sproot-guest", "r");
    char buf[32] = {0};
    if (!f || !fgets(buf, sizeof buf, f)) { perror("after chroot"); return 1; }
    printf("%s", buf);
    return 0;
}
"#;

#[test]
fn chroot_to_the_guest_root_succeeds_and_changes_nothing() {
    let r = tiny_rootfs();
    let Some(prog) = compile_c(CHROOT_C, &[]) else {
        return;
    };
    r.install(&prog, "/usr/bin/chroot-self");
    // As (fake) root: chroot needs CAP_SYS_CHROOT.
    let out = r.run_timeout(&["-0", "/usr/bin/chroot-self"], T);
    assert_eq!(
        ok_stdout(&out, "chroot /"),
        format!("chroot=0 errno=0\n{GUEST_MARKER}")
    );
}

/// A name looked up relative to a directory (one component, as `find` and
/// `ls` do with a directory fd) takes the kernel's fast path only when that
/// directory holds no binding point and the name is not a symlink to follow.
#[test]
fn single_names_relative_to_a_directory_still_see_bindings_and_guest_symlinks() {
    let r = tiny_rootfs();
    let host = HostDir::with_file("bind-relative", "f", "bound\n");
    symlink("/etc/sproot-guest", r.host_path("/etc/marker-link")).expect("symlink");
    let spec = format!("{}:/data", host.path());
    let out = sh_with(
        &r,
        &["-b", &spec],
        "cd / && cat data/f && ls data && cd /etc && cat marker-link && cd / && ls -d data",
    );
    assert_eq!(
        ok_stdout(&out, "relative names next to a binding point"),
        "bound\nf\nguest\ndata\n"
    );
}
