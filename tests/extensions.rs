//! PRoot extensions that proot-distro passes: -H, -L, -p, --sysvipc,
//! --ashmem-memfd, on the real binary and a tiny rootfs.

mod common;

use common::*;
use std::os::unix::fs::symlink;

const T: u64 = 30;

fn sh_with(r: &TinyRootfs, extra: &[&str], script: &str) -> std::process::Output {
    let mut args: Vec<&str> = extra.to_vec();
    args.extend_from_slice(&["/bin/sh", "-c", script]);
    r.run_timeout(&args, T)
}

#[test]
fn hide_option_removes_proot_entries_from_listings_only() {
    let r = tiny_rootfs();
    r.write("/tmp/.proot-meta", "x");
    r.write("/tmp/.prootfoo", "x");
    r.write("/tmp/visible", "x");
    let listing = "ls -a /tmp | tr '\\n' ' '";
    let hidden = sh_with(&r, &["-H"], listing);
    assert_success(&hidden, "ls -a with -H");
    assert_eq!(stdout_str(&hidden), ". .. visible ");
    let shown = sh_with(&r, &[], listing);
    assert_eq!(stdout_str(&shown), ". .. .proot-meta .prootfoo visible ");
    // Hidden from listings, still there by name.
    let by_name = sh_with(&r, &["-H"], "cat /tmp/.proot-meta");
    assert_eq!(stdout_str(&by_name), "x");
}

const LSTAT_SIZE_C: &str = r#"
#define _GNU_SOURCE
#include <stdio.h>
#include <fcntl.h>
#include <sys/stat.h>
int main(int argc, char **argv) {
    struct stat st; struct statx sx;
    if (lstat(argv[1], &st) != 0) { perror("lstat"); return 1; }
    if (fstatat(AT_FDCWD, argv[1], &st, AT_SYMLINK_NOFOLLOW) != 0) { perror("fstatat"); return 1; }
    long a = st.st_size;
    if (statx(AT_FDCWD, argv[1], AT_SYMLINK_NOFOLLOW, STATX_SIZE, &sx) != 0) { perror("statx"); return 1; }
    printf("%ld %llu\n", a, (unsigned long long)sx.stx_size);
    return 0;
}
"#;

#[test]
fn symlink_sizes_option_reports_the_guest_target_length() {
    let r = tiny_rootfs();
    let Some(bin) = compile_c(LSTAT_SIZE_C, &[]) else {
        return;
    };
    r.install(&bin, "/usr/bin/lsize");
    // /proc/self/cwd is a magic link: the kernel reports size 0; the guest
    // reads it back as "/".
    let plain = r.run_timeout(
        &["-b", "/proc", "-w", "/", "/usr/bin/lsize", "/proc/self/cwd"],
        T,
    );
    assert_success(&plain, "lstat size without -L");
    assert_eq!(stdout_str(&plain), "0 0\n");
    let fixed = r.run_timeout(
        &[
            "-L",
            "-b",
            "/proc",
            "-w",
            "/",
            "/usr/bin/lsize",
            "/proc/self/cwd",
        ],
        T,
    );
    assert_success(&fixed, "lstat size with -L");
    assert_eq!(stdout_str(&fixed), "1 1\n");
    // An ordinary guest symlink keeps its size.
    symlink("/etc/sproot-guest", r.host_path("/tmp/l")).expect("symlink");
    let ordinary = r.run_timeout(&["-L", "/usr/bin/lsize", "/tmp/l"], T);
    assert_eq!(stdout_str(&ordinary), "17 17\n");
}

const BIND_PORT_C: &str = r#"
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
int main(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a; socklen_t len = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET; a.sin_port = htons(1000); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("bind"); return 1; }
    getsockname(s, (struct sockaddr *)&a, &len);
    printf("%d\n", ntohs(a.sin_port));
    return 0;
}
"#;

#[test]
fn port_switch_option_moves_low_ports_up_by_2000() {
    let r = tiny_rootfs();
    let Some(bin) = compile_c(BIND_PORT_C, &[]) else {
        return;
    };
    r.install(&bin, "/usr/bin/bind-low");
    let moved = r.run_timeout(&["-p", "/usr/bin/bind-low"], T);
    assert_success(&moved, "bind to port 1000 with -p");
    assert_eq!(stdout_str(&moved), "3000\n");
}

#[test]
fn sysvipc_and_ashmem_options_are_accepted() {
    let r = tiny_rootfs();
    let out = sh_with(
        &r,
        &["--sysvipc", "--ashmem-memfd"],
        "cat /etc/sproot-guest",
    );
    assert_success(&out, "--sysvipc --ashmem-memfd");
    assert_eq!(stdout_str(&out), "guest\n");
}
