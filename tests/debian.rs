//! Real-world suite: the same commands under a real `chroot` and under `sproot`
//! on a Debian bookworm rootfs (made by scripts/mkrootfs-debian.sh) must give
//! the same output.
//!
//! The rootfs is named by `SPROOT_DEBIAN_ROOTFS`; without it every test here
//! prints "skipped: ..." and passes (CI always sets it). Needs root (chroot).
//!
//! The chroot side runs in a private mount namespace with /dev, /proc and /sys
//! bind-mounted, which is what `sproot -b /dev -b /proc -b /sys` shows the guest;
//! nothing is left mounted in the shared rootfs afterwards.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const CHROOT_TIMEOUT: Duration = Duration::from_secs(120);
const SPROOT_TIMEOUT: Duration = Duration::from_secs(300);

/// Fixed environment for both sides, so only the tracer can make outputs differ.
const GUEST_ENV: &[(&str, &str)] = &[
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("HOME", "/root"),
    ("LANG", "C.UTF-8"),
    ("LC_ALL", "C.UTF-8"),
    ("TERM", "dumb"),
    ("TZ", "UTC"),
    ("USER", "root"),
    ("LOGNAME", "root"),
    // Keep the shared rootfs clean and outputs deterministic.
    ("PYTHONDONTWRITEBYTECODE", "1"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_AUTHOR_DATE", "2000-01-01T00:00:00Z"),
    ("GIT_COMMITTER_DATE", "2000-01-01T00:00:00Z"),
    ("NO_COLOR", "1"),
];

/// The Debian rootfs, or `None` (after printing why) when this test must be skipped.
fn debian_rootfs(test: &str) -> Option<PathBuf> {
    let Some(root) = std::env::var_os("SPROOT_DEBIAN_ROOTFS") else {
        eprintln!(
            "{test}: skipped: SPROOT_DEBIAN_ROOTFS not set (build one with scripts/mkrootfs-debian.sh)"
        );
        return None;
    };
    let root = PathBuf::from(root);
    assert!(
        root.join("usr/bin").is_dir() && root.join("etc/os-release").exists(),
        "SPROOT_DEBIAN_ROOTFS={} does not look like a rootfs (run scripts/mkrootfs-debian.sh)",
        root.display()
    );
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("{test}: skipped: the chroot reference run needs root");
        return None;
    }
    Some(root)
}

/// A per-test scratch directory `/tmp/sproot-test-<name>` inside the guest,
/// emptied before each run and removed on drop.
struct Scratch {
    host: PathBuf,
    guest: String,
}

impl Scratch {
    fn new(root: &Path, name: &str) -> Scratch {
        let guest = format!("/tmp/sproot-test-{name}");
        let host = root.join(guest.trim_start_matches('/'));
        let s = Scratch { host, guest };
        s.reset();
        s
    }

    fn reset(&self) {
        if self.host.exists() {
            std::fs::remove_dir_all(&self.host)
                .unwrap_or_else(|e| panic!("rm -r {}: {e}", self.host.display()));
        }
        std::fs::create_dir_all(&self.host)
            .unwrap_or_else(|e| panic!("mkdir {}: {e}", self.host.display()));
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.host);
    }
}

fn guest_command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear().envs(GUEST_ENV.iter().copied());
    // The engine the suite runs with (scripts/test.sh runs it with each).
    for var in ["RUST_BACKTRACE", "SPROOT_ENGINE"] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    cmd
}

/// `script` run by /bin/sh in `cwd` under a real chroot.
fn under_chroot(root: &Path, cwd: &str, script: &str) -> Output {
    // Private mount namespace: the binds vanish with the process.
    let setup = r#"set -e; r=$1; shift
for d in dev proc sys; do mount --rbind "/$d" "$r/$d"; done
exec chroot "$r" "$@""#;
    let mut cmd = guest_command(Path::new("/usr/bin/unshare"));
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "/bin/sh",
        "-c",
        setup,
        "sh",
    ])
    .arg(root)
    .args(["/bin/sh", "-c", &format!("cd {cwd} && {script}")]);
    output_with_timeout(
        cmd,
        CHROOT_TIMEOUT,
        &format!("chroot {} sh -c {script:?}", root.display()),
    )
}

/// `script` run by /bin/sh in `cwd` under sproot with the usual binds.
fn under_sproot(root: &Path, cwd: &str, script: &str) -> Output {
    let mut cmd = guest_command(&sproot_bin());
    cmd.arg("-r")
        .arg(root)
        .args([
            "-b", "/dev", "-b", "/proc", "-b", "/sys", "-w", cwd, "/bin/sh", "-c",
        ])
        .arg(format!("cd {cwd} && {script}"));
    output_with_timeout(
        cmd,
        SPROOT_TIMEOUT,
        &format!("sproot -r {} sh -c {script:?}", root.display()),
    )
}

/// Runs `script` under chroot, then (in a fresh scratch dir at the same guest
/// path) under sproot; asserts the reference run worked and both agree on
/// exit status and on stdout after `normalise`. Returns the normalised stdout.
fn same_as_chroot(test: &str, script: &str, normalise: impl Fn(&str) -> String) -> Option<String> {
    let root = debian_rootfs(test)?;
    let scratch = Scratch::new(&root, test);

    let native = under_chroot(&root, &scratch.guest, script);
    assert_success(
        &native,
        &format!("{test}: reference run under chroot (rootfs or host problem, not sproot)"),
    );
    let native_out = normalise(&stdout_str(&native));

    scratch.reset();
    let traced = under_sproot(&root, &scratch.guest, script);
    let traced_out = normalise(&stdout_str(&traced));
    let err = stderr_str(&traced);
    assert!(
        !err.contains("panicked"),
        "{test}: sproot panicked\n{}",
        describe(&traced)
    );
    assert_eq!(
        traced.status.code(),
        native.status.code(),
        "{test}: exit status differs from chroot\n--- chroot ---\n{}\n--- sproot ---\n{}",
        describe(&native),
        describe(&traced)
    );
    if traced_out != native_out {
        panic!(
            "{test}: output differs from chroot\n{}\n--- sproot stderr ---\n{err}",
            first_difference(&native_out, &traced_out)
        );
    }
    Some(native_out)
}

/// A short report of where two outputs diverge (full outputs can be thousands of lines).
fn first_difference(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let i = e.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let ctx = |v: &[&str]| v[i.saturating_sub(3)..(i + 5).min(v.len())].join("\n");
    format!(
        "first difference at line {} (chroot has {} lines, sproot has {})\n--- chroot ---\n{}\n--- sproot ---\n{}",
        i + 1,
        e.len(),
        a.len(),
        ctx(&e),
        ctx(&a)
    )
}

fn identity(s: &str) -> String {
    s.to_string()
}

#[test]
fn node_reports_version_and_platform() {
    let Some(out) = same_as_chroot(
        "node",
        r#"node -e 'console.log(process.version, require("os").platform())'"#,
        identity,
    ) else {
        return;
    };
    assert!(
        out.starts_with('v') && out.trim_end().ends_with(" linux"),
        "unexpected node output: {out:?}"
    );
}

#[test]
fn python_imports_json() {
    let Some(out) = same_as_chroot(
        "python",
        r#"python3 -c 'import sys,json; print(sys.version_info[:2], json.dumps({"a":1}))'"#,
        identity,
    ) else {
        return;
    };
    assert!(
        out.contains(r#"{"a": 1}"#),
        "unexpected python output: {out:?}"
    );
}

#[test]
fn gcc_compiles_and_runs_hello_world() {
    let script = r#"printf '%s\n' '#include <stdio.h>' 'int main(void) { printf("hello from %s\n", "guest gcc"); return 0; }' > hello.c &&
gcc -O2 -Wall -o hello hello.c && ./hello && ls -1"#;
    let Some(out) = same_as_chroot("gcc", script, identity) else {
        return;
    };
    assert_eq!(out, "hello from guest gcc\nhello\nhello.c\n");
}

#[test]
fn git_init_commit_log() {
    let script = "git init -b main . && \
git -c user.email=a@b -c user.name=n commit --allow-empty -m x && \
git log --format=%s && git rev-parse --show-toplevel && git status --short --branch";
    let Some(out) = same_as_chroot("git", script, identity) else {
        return;
    };
    assert!(
        out.contains("Initialized empty Git repository in /tmp/sproot-test-git/.git/"),
        "{out}"
    );
    assert!(out.contains("\nx\n/tmp/sproot-test-git\n"), "{out}");
}

/// `ls -la --time-style=+T /`: keeps type/mode, owner, group and name (with
/// symlink target); link counts and sizes of directories and the pseudo
/// filesystems change as other tests run and are dropped.
fn normalise_ls(s: &str) -> String {
    let mut lines = Vec::new();
    for line in s.lines() {
        if line.starts_with("total ") {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        // mode nlink owner group size T name [-> target]
        let Some(t) = f.iter().position(|w| *w == "T") else {
            lines.push(line.to_string());
            continue;
        };
        let name = f[t + 1..].join(" ");
        let is_dir = f[0].starts_with('d');
        let pseudo = matches!(f[t + 1], "proc" | "sys" | "dev");
        let (nlink, size) = if is_dir || pseudo {
            ("-", "-")
        } else {
            (f[1], f[t - 1])
        };
        lines.push(format!(
            "{} {} {} {} {} {}",
            f[0], nlink, f[2], f[3], size, name
        ));
    }
    lines.join("\n") + "\n"
}

#[test]
fn ls_la_root() {
    let Some(out) = same_as_chroot("ls-root", "ls -la --time-style=+T /", normalise_ls) else {
        return;
    };
    for entry in [
        "bin -> usr/bin",
        "lib -> usr/lib",
        " usr",
        " etc",
        " tmp",
        " ..",
    ] {
        assert!(out.contains(entry), "ls -la / lacks {entry:?}:\n{out}");
    }
}

#[test]
fn large_find_is_identical() {
    let script = "find /usr/lib/python3 /usr/lib/python3.11 /usr/share/nodejs -name __pycache__ -prune -o \
-printf '%y %m %n %s %p %l\\n' | LC_ALL=C sort";
    let Some(out) = same_as_chroot("find", script, identity) else {
        return;
    };
    let n = out.lines().count();
    assert!(n > 2000, "expected a large listing, got {n} lines");
}

#[test]
fn tar_create_extract_list() {
    let script = r#"mkdir -p src/a/b src/empty && echo one > src/a/one && echo two > src/a/b/two &&
printf 'x%.0s' $(seq 1 5000) > src/big && ln -s a/one src/link && ln src/a/one src/hard &&
chmod 640 src/a/one && chmod 750 src/a/b && mkfifo src/fifo &&
tar --mtime=@946684800 --sort=name -cf t.tar src &&
mkdir out && tar -xf t.tar -C out && tar -tvf t.tar &&
diff -r -x fifo src out/src && test -p out/src/fifo && echo diff-ok &&
find out -printf '%y %m %n %s %p %l\n' | LC_ALL=C sort && cat out/src/link && readlink out/src/link"#;
    let Some(out) = same_as_chroot("tar", script, identity) else {
        return;
    };
    assert!(out.contains("diff-ok\n"), "{out}");
    assert!(
        out.contains("src/hard link to src/a/one") || out.contains("src/a/one link to src/hard"),
        "{out}"
    );
}

#[test]
fn proc_self_and_cwd_are_guest_paths() {
    let script = "pwd && /bin/pwd -P && readlink /proc/self/cwd && readlink /proc/self/exe && \
cd /usr/lib/.. && pwd -P && cd / && ls -d /.. /../etc && realpath /../../usr/bin/../lib";
    same_as_chroot("proc-self", script, identity);
}

const NODE_STORM_JS: &str = r#"
const { Worker, isMainThread, parentPort } = require('worker_threads');
const fs = require('fs');
async function statMany(n) {
  const all = [];
  for (let i = 0; i < n; i++) all.push(fs.promises.stat('/etc/os-release'));
  return (await Promise.all(all)).length;
}
if (isMainThread) {
  (async () => {
    const workers = [];
    for (let i = 0; i < 8; i++) {
      workers.push(new Promise((resolve, reject) => {
        const w = new Worker(__filename);
        w.on('message', resolve);
        w.on('error', reject);
      }));
    }
    const fromWorkers = (await Promise.all(workers)).reduce((a, b) => a + b, 0);
    const fromMain = await statMany(64);
    console.log('stats', fromWorkers + fromMain);
  })();
} else {
  statMany(16).then((n) => parentPort.postMessage(n));
}
"#;

/// Node.js with worker threads and a busy libuv pool (64 parallel fs.stat
/// on 16 pool threads): the burst of thread creation that makes classic
/// PRoot hang. Same output as chroot, then 10 more runs under sproot, half
/// of them in chaos order, none may hang.
#[test]
fn node_worker_threads_and_busy_libuv_pool_never_hang() {
    let script = "UV_THREADPOOL_SIZE=16 node storm.js";
    let Some(root) = debian_rootfs("node_storm") else {
        return;
    };
    let scratch = Scratch::new(&root, "node_storm_runs");
    std::fs::write(scratch.host.join("storm.js"), NODE_STORM_JS).expect("write storm.js");
    let native = under_chroot(&root, &scratch.guest, script);
    assert_success(&native, "node storm under chroot");
    assert_eq!(stdout_str(&native), "stats 192\n");
    for i in 0..10u64 {
        let mut cmd = guest_command(&sproot_bin());
        if i % 2 == 1 {
            cmd.env("SPROOT_CHAOS", (1000 + i).to_string());
        }
        cmd.arg("-r")
            .arg(&root)
            .args([
                "-b",
                "/dev",
                "-b",
                "/proc",
                "-b",
                "/sys",
                "-w",
                &scratch.guest,
            ])
            .args(["/bin/sh", "-c", script]);
        let out = output_with_timeout(cmd, Duration::from_secs(120), "node storm under sproot");
        assert_success(&out, &format!("node storm run {i}"));
        assert_eq!(
            stdout_str(&out),
            "stats 192\n",
            "run {i}: {}",
            describe(&out)
        );
    }
}

/// Addresses and pids, which differ between runs (and sproot's loader
/// places a PIE elsewhere than the kernel), made neutral.
fn normalise_debugger(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '0' && chars.peek() == Some(&'x') {
            chars.next();
            while chars.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                chars.next();
            }
            out += "ADDR";
        } else if c.is_ascii_digit() {
            while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                chars.next();
            }
            out.push('N');
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn strace_and_gdb_in_the_guest() {
    let Some(root) = debian_rootfs("debuggers") else {
        return;
    };
    if !root.join("usr/bin/gdb").exists() || !root.join("usr/bin/strace").exists() {
        eprintln!("debuggers: skipped: the rootfs has no gdb/strace (rebuild it)");
        return;
    }
    let script = r#"printf '%s\n' 'static int square(int x) { int r = x * x; return r; }' 'int main(void) { int t = 0; for (int i = 1; i <= 3; i++) t += square(i); return t - 14; }' > d.c &&
gcc -g -O0 -o d d.c &&
strace -f -ff -qq -e trace=execve,openat -e signal=none -o s sh -c './d | cat' && cat s.* | sort &&
gdb -batch -nx -ex 'break square' -ex run -ex bt -ex 'print x' -ex delete -ex continue ./d 2>&1 | grep -v '^\[' "#;
    let Some(out) = same_as_chroot("debuggers", script, normalise_debugger) else {
        return;
    };
    assert!(out.contains("Breakpoint N, square (x=N)"), "{out}");
    assert!(out.contains("execve(\"./d\""), "{out}");
}
