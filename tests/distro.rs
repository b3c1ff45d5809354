//! proot-distro's use of sproot, tested the way it happens on a phone: an
//! unprivileged user owns a copy of the Debian rootfs and runs sproot with
//! the command line proot-distro builds (fake root, link2symlink, a fake
//! kernel release, its bindings). As root most of this would pass by
//! accident, so the tests drop to a dedicated user with `setpriv`.
//!
//! Needs root (to create the user and the copy) and `SPROOT_DEBIAN_ROOTFS`
//! (see tests/debian.rs); without them each test prints why it is skipped.
//! `apt_get_installs_packages_with_maintainer_scripts` needs the Debian
//! mirror (a package registry CI can reach).

mod common;

use common::*;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

const USER: &str = "sproot-distro-test";

/// The container directory: `rootfs/` (a copy of the Debian rootfs owned by
/// `USER`), `shm/`, `sys_empty/`, as proot-distro lays it out.
struct Container {
    dir: PathBuf,
}

static CONTAINER: OnceLock<Option<Container>> = OnceLock::new();

fn sh(cmd: &str) -> Output {
    Command::new("/bin/sh")
        .args(["-c", cmd])
        .output()
        .expect("run /bin/sh")
}

fn container(test: &str) -> Option<&'static Container> {
    let c = CONTAINER.get_or_init(|| {
        let root = PathBuf::from(std::env::var_os("SPROOT_DEBIAN_ROOTFS")?);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return None;
        }
        // SPROOT_DISTRO_TEST_DIR: another place for the copy. By default
        // each checkout gets its own, so two checkouts can run these tests
        // at once.
        let dir = std::env::var_os("SPROOT_DISTRO_TEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let checkout = env!("CARGO_MANIFEST_DIR").replace('/', "-");
                PathBuf::from(format!("/var/tmp/sproot-distro{checkout}"))
            });
        let d = dir.display();
        let r = root.display();
        let script = format!(
            "set -e
             id -u {USER} >/dev/null 2>&1 || useradd --system --create-home {USER}
             rm -rf --one-file-system {d}
             mkdir -p {d}/shm {d}/sys_empty
             cp -a {r} {d}/rootfs
             chown -R {USER}: {d}"
        );
        let out = sh(&script);
        assert!(
            out.status.success(),
            "set up the container:\n{}",
            describe(&out)
        );
        Some(Container { dir })
    });
    if c.is_none() {
        eprintln!("{test}: skipped: needs root and SPROOT_DEBIAN_ROOTFS (see tests/debian.rs)");
    }
    c.as_ref()
}

impl Container {
    /// proot-distro's login command line, run as the unprivileged user with
    /// the rootfs as working directory (`--rootfs=.`).
    fn run(&self, extra: &[&str], script: &str, secs: u64) -> Output {
        self.run_env(&[], extra, script, secs)
    }

    /// [`Container::run`] with `env` (NAME=value) in sproot's environment.
    fn run_env(&self, env: &[&str], extra: &[&str], script: &str, secs: u64) -> Output {
        let c = self.dir.display();
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid",
            USER,
            "--regid",
            USER,
            "--clear-groups",
            "--reset-env",
        ])
        .arg("/usr/bin/env")
        .args(env)
        // The engine the suite runs with (scripts/test.sh runs some suites
        // with each).
        .args(std::env::var("SPROOT_ENGINE").map(|e| format!("SPROOT_ENGINE={e}")))
        .arg(sproot_bin())
        .current_dir(self.dir.join("rootfs"))
        .args(PROOT_DISTRO_OPTIONS)
        .arg("--rootfs=.")
        .arg(format!("--bind={c}/sys_empty:/sys/fs/selinux"))
        .arg(format!("--bind={c}/shm:/dev/shm"))
        .args(extra)
        .args([
            "/usr/bin/env",
            "-i",
            "HOME=/root",
            "TERM=xterm",
            "LANG=C.UTF-8",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "/bin/bash",
            "-c",
            script,
        ]);
        output_with_timeout(
            cmd,
            Duration::from_secs(secs),
            &format!("proot-distro login: {script}"),
        )
    }

    fn host(&self, guest: &str) -> PathBuf {
        self.dir.join("rootfs").join(guest.trim_start_matches('/'))
    }

    /// `script` run by bash natively: `chroot` into the same rootfs as root,
    /// in a private mount namespace with `/proc` and `/dev` bound.
    fn native(&self, script: &str, secs: u64) -> Output {
        let r = self.dir.join("rootfs");
        let mut cmd = Command::new("unshare");
        cmd.args(["-m", "sh", "-c"])
            .arg(
                "mount --rbind /proc \"$1/proc\" && mount --rbind /dev \"$1/dev\" && \
                 exec chroot \"$1\" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
                 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c \"$2\"",
            )
            .arg("native")
            .arg(&r)
            .arg(script);
        output_with_timeout(cmd, Duration::from_secs(secs), &format!("native: {script}"))
    }

    /// Compile a C test program (static) into the rootfs's /usr/local/bin.
    fn install_c(&self, name: &str, src: &str) -> Option<String> {
        let bin = compile_c(src, &["-static"])?;
        let guest = format!("/usr/local/bin/{name}");
        std::fs::copy(&bin, self.host(&guest)).expect("install the C test program");
        if let Some(dir) = bin.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
        Some(guest)
    }

    /// Run `script` natively and under sproot, each in a fresh directory
    /// (`$W`, removed afterwards); both outputs must be the same.
    fn same_as_native(&self, what: &str, script: &str, secs: u64) -> String {
        self.same_as_native_with(what, script, script, &[], secs)
    }

    /// [`Container::same_as_native`] with a script for each side and
    /// extra sproot options.
    fn same_as_native_with(
        &self,
        what: &str,
        native_script: &str,
        sproot_script: &str,
        extra: &[&str],
        secs: u64,
    ) -> String {
        let tag = std::process::id();
        let run = |side: &str, script: &str, f: &dyn Fn(&str) -> Output| {
            let w = format!("/tmp/{what}-{side}-{tag}");
            let out = f(&format!(
                "W={w}; rm -rf $W; {script}; status=$?; rm -rf $W; exit $status"
            ));
            assert_success(&out, &format!("{what} ({side})"));
            stdout_str(&out).replace(&w, "$W")
        };
        let native = run("native", native_script, &|s| self.native(s, secs));
        let guest = run("sproot", sproot_script, &|s| self.run(extra, s, secs));
        let diff: Vec<String> = native
            .lines()
            .zip(guest.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("  native: {a}\n  sproot: {b}"))
            .collect();
        assert!(
            diff.is_empty() && native.lines().count() == guest.lines().count(),
            "{what}: sproot differs from the kernel in {} line(s) of {}:\n{}\n--- sproot's whole output:\n{guest}",
            diff.len(),
            native.lines().count(),
            diff.join("\n")
        );
        guest
    }
}

fn ok(out: &Output, what: &str) -> String {
    assert_success(out, what);
    stdout_str(out)
}

#[test]
fn fake_root_ids_kernel_release_and_writable_etc() {
    let Some(c) = container("fake_root_ids") else {
        return;
    };
    let out = c.run(
        &[],
        "id; id -u; uname -r; uname -s -n -m; [ -w /etc ] && echo yes",
        60,
    );
    assert_eq!(
        ok(&out, "id, uname, -w /etc"),
        "uid=0(root) gid=0(root) groups=0(root)\n0\n6.17.0-PRoot-Distro\nLinux localhost x86_64\nyes\n"
    );
}

#[test]
fn files_of_the_real_user_look_like_root_s_and_chown_sticks_for_the_run() {
    let Some(c) = container("chown") else { return };
    let script = "f=/root/chown-test; rm -f $f; touch $f; stat -c %U:%G $f; \
                  chown daemon:mail $f && stat -c %U:%G $f; chown 1234 $f; stat -c %u:%G $f; \
                  stat -c %U /etc/passwd";
    let out = c.run(&[], script, 60);
    assert_eq!(
        ok(&out, "chown then stat"),
        "root:root\ndaemon:mail\n1234:mail\nroot\n"
    );
    // Really owned by the unprivileged user on the host.
    let meta = std::fs::metadata(c.host("/root/chown-test")).expect("stat on host");
    let uid = std::os::unix::fs::MetadataExt::uid(&meta);
    assert_ne!(uid, 0, "the file must belong to the unprivileged user");
}

#[test]
fn useradd_su_and_set_user_id_programs() {
    let Some(c) = container("useradd") else {
        return;
    };
    let script = "userdel -r alice >/dev/null 2>&1; useradd -m alice && getent passwd alice | cut -d: -f1,6; \
                  stat -c %U /home/alice; su alice -c 'id -un; id -u' ; su alice -c 'touch /home/alice/x; stat -c %U /home/alice/x'";
    let out = c.run(&[], script, 120);
    let text = ok(&out, "useradd, su");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "alice:/home/alice", "{text}");
    assert_eq!(lines[1], "alice", "{text}");
    assert_eq!(lines[2], "alice", "{text}");
    assert_ne!(lines[3], "0", "{text}");
}

#[test]
fn hard_links_under_link2symlink_keep_each_name_alive() {
    let Some(c) = container("l2s") else { return };
    let script = "cd /tmp && rm -rf l2s && mkdir l2s && cd l2s && echo one > a && ln a b && ln b c && \
                  echo two >> c && cat a && stat -c %h a && rm a && cat b && stat -c %h b && mv b d && \
                  cat d && stat -c %h c && [ \"$(stat -c %i c)\" = \"$(stat -c %i d)\" ] && echo same-inode";
    let out = c.run(&[], script, 60);
    assert_eq!(
        ok(&out, "ln under -l"),
        "one\ntwo\n3\none\ntwo\n2\none\ntwo\n2\nsame-inode\n"
    );
    // The on-disk layout is PRoot's: names are symlinks to a .l2s. file.
    let d = c.host("/tmp/l2s/d");
    let target = std::fs::read_link(&d).expect("d is a symlink on the host");
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    assert!(name.starts_with(".l2s."), "{}", target.display());
}

#[test]
fn apt_get_installs_packages_with_maintainer_scripts() {
    let Some(c) = container("apt") else { return };
    let script = "apt-get update -q >/dev/null && \
                  DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-client sudo >/dev/null && \
                  dpkg -l openssh-client sudo | awk '/^ii/ {print $1, $2}' && \
                  stat -c '%U %a' /usr/bin/sudo && getent passwd _apt | cut -d: -f1 && \
                  sudo -u daemon id -un";
    let out = c.run(&[], script, 900);
    let text = ok(&out, "apt-get update && apt-get install");
    assert_eq!(
        text,
        "ii openssh-client\nii sudo\nroot 4755\n_apt\ndaemon\n",
        "{}",
        describe(&out)
    );
}

#[test]
fn the_run_is_really_unprivileged() {
    let Some(c) = container("unprivileged") else {
        return;
    };
    // Outside sproot's fake ids the kernel still sees the real user: a
    // file created in the guest belongs to it on the host.
    let out = c.run(&[], "rm -f /tmp/owner-check; touch /tmp/owner-check", 60);
    assert_success(&out, "touch");
    let meta = std::fs::metadata(c.host("/tmp/owner-check")).expect("stat on host");
    let expected = sh(&format!("id -u {USER}"));
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&meta).to_string(),
        stdout_str(&expected).trim()
    );
}

#[test]
fn root_reads_and_writes_files_whose_mode_bits_forbid_it() {
    let Some(c) = container("mode_bits") else {
        return;
    };
    let script = "f=/root/locked; rm -f $f; echo secret > $f; chmod 000 $f; cat $f; \
                  echo more >> $f; cat $f; stat -c %a $f; [ -r $f ] && echo readable";
    let out = c.run(&[], script, 60);
    assert_eq!(
        ok(&out, "root and a 000 file"),
        "secret\nsecret\nmore\n0\nreadable\n"
    );
}

#[test]
fn set_id_calls_are_modelled_per_process_and_reach_the_auxv() {
    let Some(c) = container("setid") else { return };
    let py = "import os; print(os.getuid(), os.geteuid()); \
              os.setresgid(50, 50, 50); os.setgroups([7, 8]); os.setresuid(1000, 1001, 0); \
              print(os.getresuid(), os.getresgid(), sorted(os.getgroups())); \
              os.seteuid(0); print(os.geteuid()); os.setuid(1000); \
              print(os.getresuid()); \
              import errno\n\
try:\n    os.setuid(0)\nexcept PermissionError: print('EPERM')";
    let script = format!(
        "python3 -c \"{py}\"; python3 -c 'import os; print(os.getauxval(11) if hasattr(os, \"getauxval\") else 0)'; \
         python3 -c 'import ctypes; a = ctypes.CDLL(None).getauxval; a.restype = ctypes.c_ulong; print(a(11), a(12), a(13), a(14))'"
    );
    let out = c.run(&["--change-id=0:0"], &script, 60);
    let text = ok(&out, "set*id under -0");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "0 0", "{text}");
    assert_eq!(lines[1], "(1000, 1001, 0) (50, 50, 50) [7, 8]", "{text}");
    assert_eq!(lines[2], "0", "{text}");
    assert_eq!(lines[3], "(1000, 1000, 1000)", "{text}");
    assert_eq!(lines[4], "EPERM", "{text}");
    assert_eq!(
        lines.last().copied(),
        Some("0 0 0 0"),
        "AT_UID..AT_EGID: {text}"
    );
}

#[test]
fn change_id_to_an_ordinary_user_is_not_root() {
    let Some(c) = container("change_id") else {
        return;
    };
    // A later --change-id overrides proot-distro's 0:0 (clap keeps the last).
    let out = c.run(
        &["--change-id=1000:1000"],
        "id -u; id -g; touch /etc/x 2>/dev/null || echo denied-by-kernel-or-not; stat -c %u /root",
        60,
    );
    let text = ok(&out, "-i 1000:1000");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(&lines[..2], &["1000", "1000"], "{text}");
    // Files of the real user are shown as owned by the fake user.
    assert_eq!(lines.last().copied(), Some("1000"), "{text}");
}

#[test]
fn kernel_release_plain_form_changes_only_the_release() {
    let Some(c) = container("uname_plain") else {
        return;
    };
    let out = c.run(
        &["--kernel-release=5.4.0-sproot"],
        "uname -r; uname -s; uname -m",
        60,
    );
    assert_eq!(ok(&out, "-k plain"), "5.4.0-sproot\nLinux\nx86_64\n");
}

#[test]
fn link2symlink_honours_proot_l2s_dir() {
    let Some(c) = container("l2s_dir") else {
        return;
    };
    let dir = c.host("/.l2s");
    let _ = std::fs::remove_dir_all(&dir);
    let env = format!("PROOT_L2S_DIR={}", dir.display());
    let script = "cd /tmp && rm -rf l2sd && mkdir l2sd && cd l2sd && echo x > a && ln a b && \
                  cat b && stat -c %h a && ls -a /.l2s | grep -c '^[.]l2s[.]a' || true";
    let out = c.run_env(&[&env], &[], script, 60);
    // The guest's listings never show the .l2s. files...
    assert_eq!(ok(&out, "ln with PROOT_L2S_DIR"), "x\n2\n0\n");
    // ...which are in PROOT_L2S_DIR on the host.
    let in_dir = dir
        .read_dir()
        .expect("list PROOT_L2S_DIR")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with(".l2s.a"))
        })
        .count();
    assert_eq!(
        in_dir,
        2,
        "intermediate and final file in {}",
        dir.display()
    );
    assert!(
        !c.host("/tmp/l2sd").read_dir().expect("list").any(|e| e
            .map(|e| e.file_name().to_string_lossy().starts_with(".l2s."))
            .unwrap_or(false)),
        "the .l2s. files must be in PROOT_L2S_DIR, not next to the names"
    );
}

#[test]
fn dev_fd_and_dev_stdin_bindings_name_the_guest_s_own_descriptors() {
    let Some(c) = container("dev_fd") else { return };
    // proot-distro binds /proc/self/fd on /dev/fd and /proc/self/fd/0 on
    // /dev/stdin: "self" must be the guest, not sproot.
    let script = "diff <(echo a) <(echo a) && echo procsubst-ok; cat /dev/fd/0 <<< heredoc; \
                  cat /dev/stdin <<< via-stdin; exec 7</etc/hostname; readlink /dev/fd/7";
    let out = c.run(&[], script, 60);
    assert_eq!(
        ok(&out, "/dev/fd and /dev/stdin"),
        "procsubst-ok\nheredoc\nvia-stdin\n/etc/hostname\n"
    );
}

#[test]
fn persist_ownership_keeps_chown_across_runs_in_a_user_xattr() {
    let Some(c) = container("persist") else {
        return;
    };
    let first = c.run(
        &["--persist-ownership"],
        "f=/root/persist-test; rm -f $f; touch $f; chown daemon:mail $f; stat -c %U:%G $f",
        60,
    );
    assert_eq!(
        ok(&first, "chown with --persist-ownership"),
        "daemon:mail\n"
    );
    let again = c.run(
        &["--persist-ownership"],
        "stat -c %U:%G /root/persist-test",
        60,
    );
    assert_eq!(ok(&again, "a later run"), "daemon:mail\n");
    let without = c.run(&[], "stat -c %U:%G /root/persist-test", 60);
    assert_eq!(
        ok(&without, "a later run without the option"),
        "root:root\n"
    );
    let stored = Command::new("getfattr")
        .args(["--only-values", "-n", "user.sproot.owner"])
        .arg(c.host("/root/persist-test"))
        .output();
    if let Ok(out) = stored
        && out.status.success()
    {
        assert_eq!(stdout_str(&out), format!("{}:{}", 1, 8));
    }
}

#[test]
fn emulated_calls_fail_and_succeed_as_the_kernel_s_own() {
    let Some(c) = container("fakeroot_errors") else {
        return;
    };
    let Some(prog) = c.install_c(
        "sproot-fakeroot-errors-root",
        include_str!("distro/fakeroot_errors.c"),
    ) else {
        return;
    };
    let out = c.same_as_native("fre", &format!("{prog} $W"), 120);
    // The table really ran: every class of call is in it.
    for label in [
        "fstat closed ",
        "fchown opath ",
        "lgetxattr sl trusted.a ",
        "uname bad ",
    ] {
        assert!(out.contains(label), "{label}: {out}");
    }
    assert!(out.lines().count() > 600, "{out}");
}

#[test]
fn emulated_calls_as_an_ordinary_fake_user_fail_as_that_user_s() {
    let Some(c) = container("fakeroot_errors_user") else {
        return;
    };
    let Some(prog) = c.install_c(
        "sproot-fakeroot-errors-user",
        include_str!("distro/fakeroot_errors.c"),
    ) else {
        return;
    };
    // Natively the table runs as uid 1000 (no groups) in a directory it
    // owns; under sproot with --change-id=1000:1000.
    let native = format!(
        "mkdir $W && chown 1000:1000 $W && setpriv --reuid 1000 --regid 1000 --clear-groups {prog} $W/w"
    );
    let guest = format!("mkdir $W && {prog} $W/w");
    let out = c.same_as_native_with("freu", &native, &guest, &["--change-id=1000:1000"], 120);
    assert!(
        out.contains("chown f                                      -1 EPERM"),
        "{out}"
    );
}

#[test]
fn hard_links_made_under_l_list_like_real_ones() {
    let Some(c) = container("l2s_listing") else {
        return;
    };
    if c.install_c("sproot-readdir", include_str!("distro/readdir.c"))
        .is_none()
    {
        return;
    }
    let script = format!(
        "set -e; bash -c {}",
        shell_quote(&format!("{}\n", include_str!("distro/listing.sh")))
    );
    let out = c.same_as_native("l2s-listing", &format!("{script} listing $W"), 120);
    assert!(out.contains("find -samefile a:\n./a\n./b\n./c\n"), "{out}");
    // On the host the names are PRoot's symlinks; the guest saw none of it.
    assert!(!out.contains(".l2s."), "{out}");
}

#[test]
fn python_fd_probes_and_subprocess_fds_behave_as_natively() {
    let Some(c) = container("python_fds") else {
        return;
    };
    let script = format!("python3 -c {}", shell_quote(include_str!("distro/fds.py")));
    let out = c.same_as_native("fds", &script, 120);
    assert!(out.contains("errors: ['EBADF']"), "{out}");
    assert!(out.contains("cat: through the pipe 0"), "{out}");
}

#[test]
fn cp_a_and_copystat_keep_xattrs_of_files_and_symlinks() {
    let Some(c) = container("xattr_copy") else {
        return;
    };
    let py = r#"
import os, shutil, sys
src, dst, dst2 = sys.argv[1:4]
def dump(top):
    for d, dirs, files in sorted(os.walk(top)):
        dirs.sort()
        for n in sorted(dirs + files):
            p = os.path.join(d, n)
            names = sorted(os.listxattr(p, follow_symlinks=False))
            print(os.path.relpath(p, top), [(k, os.getxattr(p, k, follow_symlinks=False)) for k in names if k != "security.selinux"])
if sys.argv[4] == "make":
    os.makedirs(src + "/dir")
    with open(src + "/file", "w") as f: f.write("x")
    os.symlink("file", src + "/link")
    for p in (src + "/file", src + "/dir"):
        os.setxattr(p, "user.mime", b"text/plain")
        os.setxattr(p, "trusted.t", b"T")
        os.setxattr(p, "security.s", b"S")
    os.setxattr(src + "/link", "trusted.l", b"L", follow_symlinks=False)
    try:
        os.setxattr(src + "/link", "user.u", b"U", follow_symlinks=False)
    except OSError as e:
        print("user.* on a symlink:", e.strerror)
    shutil.copytree(src, dst2, symlinks=True)
else:
    for t in (src, dst, dst2):
        print("==", os.path.basename(t)); dump(t)
"#;
    let q = shell_quote(py);
    let script = format!(
        "mkdir -p $W && python3 -c {q} $W/src $W/cp $W/py make && cp -a $W/src $W/cp && \
         python3 -c {q} $W/src $W/cp $W/py dump"
    );
    let out = c.same_as_native("xattr-copy", &script, 120);
    assert!(out.contains("link [('trusted.l', b'L')]"), "{out}");
    assert!(
        out.contains("user.* on a symlink: Operation not permitted"),
        "{out}"
    );
}

/// `s` as one single-quoted shell word.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
