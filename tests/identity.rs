//! Fake identity rules PRoot users rely on, compared with a real system:
//! host and domain names set by a fake root, set-user-ID programs, and the
//! `hwcap` field of `-k`.

mod common;

use common::*;
use std::process::{Command, Output};
use std::time::Duration;

const IDENT_C: &str = r#"
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <elf.h>
#include <sys/auxv.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void show_names(const char *who) {
    struct utsname u;
    uname(&u);
    printf("%s: nodename %s domainname %s\n", who, u.nodename, u.domainname);
}

/* AT_HWCAP as the program's initial stack holds it (x86_64 glibc's
   getauxval(AT_HWCAP) answers from CPUID instead). */
static unsigned long stack_hwcap(char **envp) {
    while (*envp) envp++;
    for (Elf64_auxv_t *a = (Elf64_auxv_t *)(envp + 1); a->a_type != AT_NULL; a++)
        if (a->a_type == AT_HWCAP) return a->a_un.a_val;
    return 0;
}

int main(int argc, char **argv, char **envp) {
    setvbuf(stdout, 0, _IOLBF, 0);
    if (argc >= 4 && !strcmp(argv[1], "names")) {
        int a = sethostname(argv[2], strlen(argv[2]));
        int b = setdomainname(argv[3], strlen(argv[3]));
        printf("sethostname %d setdomainname %d\n", a, b);
        char long_name[80];
        memset(long_name, 'x', sizeof long_name);
        int c = sethostname(long_name, sizeof long_name);
        printf("too long: %d %s\n", c, c ? strerror(errno) : "");
        show_names("self");
        pid_t p = fork();
        if (p == 0) { execl("/usr/bin/ident", "ident", "show", (char *)0); _exit(127); }
        int st;
        waitpid(p, &st, 0);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "show")) { show_names("child"); return 0; }
    if (argc >= 2 && !strcmp(argv[1], "auxv")) {
        /* The keys in order, then the values (of addresses, which change
           from run to run, whether they are set). */
        char **e = envp;
        while (*e) e++;
        Elf64_auxv_t *v = (Elf64_auxv_t *)(e + 1);
        printf("keys");
        for (Elf64_auxv_t *a = v; a->a_type != AT_NULL; a++) printf(" %lu", (unsigned long)a->a_type);
        printf("\nvalues");
        for (Elf64_auxv_t *a = v; a->a_type != AT_NULL; a++) {
            unsigned long t = a->a_type, x = a->a_un.a_val;
            if (t == AT_PLATFORM || t == AT_EXECFN || t == AT_BASE_PLATFORM)
                printf(" %lu=%s", t, (char *)x);
            else if (t == AT_SYSINFO_EHDR || t == AT_PHDR || t == AT_BASE || t == AT_ENTRY
                     || t == AT_RANDOM)
                printf(" %lu=%s", t, x ? "set" : "0");
            else
                printf(" %lu=%#lx", t, x);
        }
        printf("\n");
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "hwcap")) {
        printf("hwcap %#lx\n", stack_hwcap(envp));
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "su-exec")) {
        /* Drop to a user, then run a set-user-ID program owned by root. */
        if (setgid(1000) || setuid(1000)) { perror("drop"); return 2; }
        execl(argv[2], "ident-suid", "ids", (char *)0);
        perror("execl");
        return 3;
    }
    if (argc >= 2 && !strcmp(argv[1], "ids")) {
        uid_t r, e, s;
        gid_t rg, eg, sg;
        getresuid(&r, &e, &s);
        getresgid(&rg, &eg, &sg);
        printf("uid %u/%u/%u gid %u/%u/%u\n", r, e, s, rg, eg, sg);
        return 0;
    }
    return 64;
}
"#;

const PROG: &str = "/usr/bin/ident";
const SUID: &str = "/usr/bin/ident-suid";

fn guest() -> Option<TinyRootfs> {
    let bin = compile_c(IDENT_C, &[])?;
    let r = tiny_rootfs();
    r.install(&bin, PROG);
    let suid = r.install(&bin, SUID);
    std::fs::set_permissions(&suid, std::os::unix::fs::PermissionsExt::from_mode(0o4755)).unwrap();
    let _ = std::fs::remove_dir_all(bin.parent().unwrap());
    Some(r)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `sproot OPTS... PROG ARGS...` as the unprivileged user nobody when we
/// are root (so that nothing passes by accident), else as ourselves.
fn unprivileged(r: &TinyRootfs, opts: &[&str], args: &[&str]) -> Output {
    let inner = {
        let mut c = r.sproot_cmd(opts);
        c.arg(PROG).args(args);
        c
    };
    let cmd = if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        c.arg(inner.get_program()).args(inner.get_args());
        c
    } else {
        inner
    };
    output_with_timeout(cmd, Duration::from_secs(60), &format!("ident {args:?}"))
}

/// The program under a real chroot, in new UTS namespace (so that the host's
/// names are left alone).
fn native(r: &TinyRootfs, args: &[&str]) -> Option<Output> {
    if !is_root() {
        eprintln!("chroot comparison skipped: needs root");
        return None;
    }
    let mut c = Command::new("unshare");
    c.args(["-u", "chroot", r.root(), PROG]).args(args);
    Some(output_with_timeout(
        c,
        Duration::from_secs(30),
        "chroot ident",
    ))
}

#[test]
fn a_fake_root_sets_host_and_domain_names_that_every_guest_then_sees() {
    let Some(r) = guest() else { return };
    let args = ["names", "guest-host", "guest.example"];
    let got = unprivileged(&r, &["-0"], &args);
    assert_success(&got, "names under -0");
    let want = "sethostname 0 setdomainname 0\n\
                too long: -1 Invalid argument\n\
                self: nodename guest-host domainname guest.example\n\
                child: nodename guest-host domainname guest.example\n";
    assert_eq!(stdout_str(&got), want, "{}", describe(&got));
    if let Some(n) = native(&r, &args) {
        assert_eq!(stdout_str(&n), want, "chroot: {}", describe(&n));
    }
    // The host's names are untouched, and without -0 the kernel refuses.
    let host = nix::sys::utsname::uname().unwrap();
    assert_ne!(host.nodename(), "guest-host");
    let plain = unprivileged(&r, &[], &args);
    if is_root() {
        assert!(
            stdout_str(&plain).starts_with("sethostname -1 setdomainname -1\n"),
            "{}",
            describe(&plain)
        );
    }
}

#[test]
fn dash_k_hwcap_replaces_at_hwcap() {
    let Some(r) = guest() else { return };
    let k = "\\Linux\\box\\6.1.0\\#1\\x86_64\\dom\\0x1234\\";
    let got = unprivileged(&r, &["-k", k], &["hwcap"]);
    assert_eq!(stdout_str(&got), "hwcap 0x1234\n", "{}", describe(&got));
    // -1 keeps the host's value.
    let keep = "\\Linux\\box\\6.1.0\\#1\\x86_64\\dom\\-1\\";
    let host = unprivileged(&r, &[], &["hwcap"]);
    let kept = unprivileged(&r, &["-k", keep], &["hwcap"]);
    assert_eq!(stdout_str(&kept), stdout_str(&host));
    assert_ne!(stdout_str(&host), "hwcap 0x1234\n");
}

#[test]
fn dash_k_keeps_every_auxv_entry_the_kernel_gave_in_its_order() {
    let Some(r) = guest() else { return };
    let plain = unprivileged(&r, &[], &["auxv"]);
    assert_success(&plain, "auxv without -k");
    let want = stdout_str(&plain);
    assert!(want.starts_with("keys ") && want.contains(" 16="), "{want}");
    if let Some(n) = native(&r, &["auxv"]) {
        let keys = |s: &str| s.lines().next().unwrap_or("").to_string();
        assert_eq!(
            keys(&want),
            keys(&stdout_str(&n)),
            "keys, sproot (left) and chroot"
        );
    }
    let release = "6.99.0-guest";
    for opts in [&["-k", release][..], &["-0", "-k", release]] {
        let got = unprivileged(&r, opts, &["auxv"]);
        let want = if opts.contains(&"-0") {
            stdout_str(&unprivileged(&r, &["-0"], &["auxv"]))
        } else {
            want.clone()
        };
        assert_eq!(stdout_str(&got), want, "{opts:?}: {}", describe(&got));
    }
    // PRoot's forced compatibility mode changes nothing more.
    let mut c = r.sproot_cmd(&["-k", release, PROG, "auxv"]);
    c.env("PROOT_FORCE_KOMPAT", "1");
    let forced = output_with_timeout(c, Duration::from_secs(60), "auxv, forced -k");
    let mine = {
        let mut c = r.sproot_cmd(&[PROG, "auxv"]);
        c.env_remove("PROOT_FORCE_KOMPAT");
        output_with_timeout(c, Duration::from_secs(60), "auxv")
    };
    assert_eq!(
        stdout_str(&forced),
        stdout_str(&mine),
        "{}",
        describe(&forced)
    );
    // A hwcap given to -k is the one value that changes.
    let k = "\\Linux\\box\\6.1.0\\#1\\x86_64\\dom\\0x1234\\";
    let got = stdout_str(&unprivileged(&r, &["-k", k], &["auxv"]));
    let hwcap = |s: &str| {
        s.split_whitespace()
            .map(|w| if w.starts_with("16=") { "16=HWCAP" } else { w })
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(got.contains(" 16=0x1234 "), "{got}");
    assert_eq!(hwcap(&got), hwcap(&want));
}

#[test]
fn a_set_user_id_program_runs_with_its_owner_as_effective_and_saved_id() {
    let Some(r) = guest() else { return };
    let args = ["su-exec", SUID];
    let got = unprivileged(&r, &["-0"], &args);
    assert_success(&got, "su-exec under -0");
    assert_eq!(
        stdout_str(&got),
        "uid 1000/0/0 gid 1000/1000/1000\n",
        "{}",
        describe(&got)
    );
    if let Some(n) = native(&r, &args) {
        assert_eq!(stdout_str(&n), stdout_str(&got), "chroot: {}", describe(&n));
    }
}

#[test]
fn set_id_programs_of_the_user_s_own_rootfs_run_as_root_under_a_fake_user() {
    let Some(r) = guest() else { return };
    if !is_root() {
        eprintln!("skipped: needs root to own the rootfs as nobody and to compare with chroot");
        return;
    }
    // Set-user-ID and set-group-ID, owned by root on a real system.
    std::fs::set_permissions(
        r.host_path(SUID),
        std::os::unix::fs::PermissionsExt::from_mode(0o6755),
    )
    .unwrap();
    let want = "uid 1000/0/0 gid 1000/0/0\n";
    let mut c = Command::new("chroot");
    c.args(["--userspec=1000:1000", r.root(), SUID, "ids"]);
    let native = output_with_timeout(c, Duration::from_secs(30), "chroot ident-suid");
    assert_eq!(stdout_str(&native), want, "chroot: {}", describe(&native));
    // The rootfs as an unprivileged user unpacks it: all theirs.
    let chown = Command::new("chown")
        .args(["-R", "65534:65534", r.root()])
        .status()
        .unwrap();
    assert!(chown.success());
    std::fs::set_permissions(
        r.host_path(SUID),
        std::os::unix::fs::PermissionsExt::from_mode(0o6755),
    )
    .unwrap();
    let got = sproot_as_nobody(&r, &["-i", "1000:1000", SUID, "ids"]);
    assert_eq!(stdout_str(&got), want, "-i 1000:1000: {}", describe(&got));
    // A fake root that became user 1000 likewise.
    let got = sproot_as_nobody(&r, &["-0", PROG, "su-exec", SUID]);
    assert_eq!(stdout_str(&got), want, "-0, then su: {}", describe(&got));
    // A program without the bits keeps the user's ids.
    let got = sproot_as_nobody(&r, &["-i", "1000:1000", PROG, "ids"]);
    assert_eq!(
        stdout_str(&got),
        "uid 1000/1000/1000 gid 1000/1000/1000\n",
        "{}",
        describe(&got)
    );
}

/// A fresh `/w` in the guest, owned by the unprivileged user.
fn fresh_workdir(r: &TinyRootfs) {
    let w = r.host_path("/w");
    let _ = Command::new("chmod")
        .args(["-R", "u+rwx"])
        .arg(&w)
        .stderr(std::process::Stdio::null())
        .status();
    let _ = std::fs::remove_dir_all(&w);
    std::fs::create_dir(&w).unwrap();
    std::os::unix::fs::chown(&w, Some(65534), Some(65534)).unwrap();
}

#[test]
fn a_fake_root_is_not_stopped_by_the_modes_of_the_real_user_s_files() {
    let Some(r) = guest() else { return };
    if !is_root() {
        eprintln!("skipped: needs root to compare with chroot and to drop to nobody");
        return;
    }
    // Directories made unreadable, unsearchable (000) and unwritable (500)
    // by their owner: root creates, lists, reads, changes and removes
    // through them, and the modes are the same afterwards.
    let script = "cd /w && mkdir -p ro/sub && echo hi > ro/sub/f && echo x > ro/g \
                  && chmod 000 ro/sub && chmod 500 ro; \
                  cat ro/sub/f; ls ro/sub; stat -c '%a %n' ro ro/sub ro/sub/f; \
                  touch ro/new && echo created; mkdir ro/d2 && echo made; \
                  rm ro/g && echo removed; mv ro/new ro/new2 && echo moved; \
                  echo more >> ro/sub/f && cat ro/sub/f; \
                  stat -c '%a %n' ro ro/sub; ls ro; \
                  rm -rf ro && echo gone; ls -a /w";
    fresh_workdir(&r);
    let mut c = Command::new("chroot");
    c.args([r.root(), "/bin/sh", "-c", script]);
    let want = output_with_timeout(c, Duration::from_secs(30), "chroot modes");
    assert_success(&want, "modes under chroot");
    let got = as_nobody_in_workdir(&r, &["-0"], script);
    assert_eq!(
        stdout_str(&got),
        stdout_str(&want),
        "under sproot -0 as nobody\n{}\n--- chroot ---\n{}",
        describe(&got),
        describe(&want)
    );
    assert!(got.status.success(), "{}", describe(&got));
    // Without -0 the real user's modes hold.
    let plain = as_nobody_in_workdir(&r, &[], script);
    assert!(
        stderr_str(&plain).contains("Permission denied"),
        "{}",
        describe(&plain)
    );
    fresh_workdir(&r);
}

/// `script` in the guest's `/w` (fresh, the unprivileged user's) under
/// sproot `opts` as nobody.
fn as_nobody_in_workdir(r: &TinyRootfs, opts: &[&str], script: &str) -> Output {
    fresh_workdir(r);
    let mut args = opts.to_vec();
    args.extend(["/bin/sh", "-c", script]);
    sproot_as_nobody(r, &args)
}

/// `sproot ARGS...` as the user nobody (we are root).
fn sproot_as_nobody(r: &TinyRootfs, args: &[&str]) -> Output {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
    let inner = r.sproot_cmd(args);
    c.arg(inner.get_program()).args(inner.get_args());
    output_with_timeout(
        c,
        Duration::from_secs(60),
        &format!("sproot {args:?} as nobody"),
    )
}

#[test]
fn a_fake_root_creates_below_two_directories_of_mode_000() {
    let Some(r) = guest() else { return };
    if !is_root() {
        eprintln!("skipped: needs root to compare with chroot and to drop to nobody");
        return;
    }
    // Both directories on the way are the real user's and of mode 000:
    // the parent needs its search and write bits, its parent its search
    // bit, and neither can be looked at before the other is lifted.
    let script = "cd /w && mkdir -p D/sub && chmod 000 D/sub && chmod 000 D; \
                  echo hi > D/sub/file && echo created; stat -c '%a %n' D; \
                  chmod u+x D; stat -c '%a %n' D/sub; chmod u+x D/sub; cat D/sub/file";
    fresh_workdir(&r);
    let mut c = Command::new("chroot");
    c.args([r.root(), "/bin/sh", "-c", script]);
    let want = output_with_timeout(c, Duration::from_secs(30), "chroot 000");
    assert_success(&want, "000 directories under chroot");
    assert_eq!(stdout_str(&want), "created\n0 D\n0 D/sub\nhi\n");
    let got = as_nobody_in_workdir(&r, &["-0"], script);
    assert_eq!(
        stdout_str(&got),
        stdout_str(&want),
        "under sproot -0 as nobody: {}",
        describe(&got)
    );
    // A fake user other than root is stopped as the real user is, and the
    // modes are left as they were.
    let other = as_nobody_in_workdir(&r, &["-i", "123:456"], script);
    assert_eq!(
        stdout_str(&other),
        "0 D\n0 D/sub\n",
        "under sproot -i 123:456 as nobody: {}",
        describe(&other)
    );
    assert!(
        stderr_str(&other).contains("Permission denied"),
        "{}",
        describe(&other)
    );
    fresh_workdir(&r);
}
