//! Helpers shared by the integration tests (`mod common;` in each test file).
//!
//! - [`sproot_bin`]: the binary under test.
//! - [`tiny_rootfs`]: a throw-away guest tree assembled from host programs in
//!   well under a second, so the fast tests need nothing downloaded.
//! - [`run`] / [`run_timeout`] / [`output_with_timeout`]: run a command and
//!   collect its output, killing it (and everything it started) on a hang.
//! - [`compile_c`]: build a small C test program with the host's gcc.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Timeout used by [`run`], in seconds. Scaled by `SPROOT_TEST_TIMEOUT_SCALE`.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// Path of the `sproot` binary built by cargo for this test run.
pub fn sproot_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sproot"))
}

/// A `Command` for `sproot` with `args`; stdin is closed.
pub fn sproot_cmd<S: AsRef<OsStr>>(args: &[S]) -> Command {
    let mut cmd = Command::new(sproot_bin());
    cmd.args(args);
    cmd
}

/// Runs `sproot ARGS...` with the default timeout.
pub fn run(args: &[&str]) -> Output {
    run_timeout(args, DEFAULT_TIMEOUT_SECS)
}

/// Runs `sproot ARGS...`; after `secs` seconds (scaled by
/// `SPROOT_TEST_TIMEOUT_SCALE`) it and all its descendants are killed and the
/// test fails with whatever output was produced so far.
pub fn run_timeout(args: &[&str], secs: u64) -> Output {
    let what = format!("sproot {}", shell_words(args));
    output_with_timeout(sproot_cmd(args), Duration::from_secs(secs), &what)
}

/// Timeout scaled by the optional `SPROOT_TEST_TIMEOUT_SCALE` (a float, for slow machines).
pub fn scaled(timeout: Duration) -> Duration {
    match std::env::var("SPROOT_TEST_TIMEOUT_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    {
        Some(k) if k > 0.0 => timeout.mul_f64(k),
        _ => timeout,
    }
}

/// Runs `cmd` to completion with stdin from /dev/null, collecting stdout and
/// stderr. The child gets its own process group; if it has not exited after
/// `timeout` the whole group is SIGKILLed and the calling test panics, naming
/// `what` and showing the partial output. Never hangs: descendants that keep
/// the output pipes open after the child exits are killed too.
pub fn output_with_timeout(mut cmd: Command, timeout: Duration, what: &str) -> Output {
    let timeout = scaled(timeout);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let pgid = child.id() as libc::pid_t;

    let (tx, rx) = mpsc::channel::<(bool, Vec<u8>)>();
    let mut readers = Vec::new();
    for (is_err, pipe) in [
        (
            false,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
        (
            true,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
    ] {
        let tx = tx.clone();
        let mut pipe = pipe.expect("piped");
        readers.push(thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send((is_err, buf));
        }));
    }
    drop(tx);

    let kill_group = || {
        // SAFETY: plain kill(2) on the process group we created; no memory involved.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    };

    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => panic!("waiting for {what}: {e}"),
        }
        if Instant::now() >= deadline {
            timed_out = true;
            kill_group();
            break child
                .wait()
                .unwrap_or_else(|e| panic!("waiting for {what}: {e}"));
        }
        thread::sleep(Duration::from_millis(5));
    };

    // Collect both pipes. A leftover descendant holding them open gets a short
    // grace period, then the group is killed.
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut lingering = false;
    let grace = Instant::now() + Duration::from_secs(5);
    for _ in 0..2 {
        let left = grace.saturating_duration_since(Instant::now());
        let got = match rx.recv_timeout(left) {
            Ok(got) => got,
            Err(_) => {
                lingering = true;
                kill_group();
                match rx.recv_timeout(Duration::from_secs(5)) {
                    Ok(got) => got,
                    Err(_) => break,
                }
            }
        };
        if got.0 {
            stderr = got.1
        } else {
            stdout = got.1
        }
    }
    if !timed_out && !lingering {
        for r in readers {
            let _ = r.join();
        }
    }
    // Whatever is left of the group has no business outliving the test.
    kill_group();

    let output = Output {
        status,
        stdout,
        stderr,
    };
    if timed_out {
        panic!(
            "TIMEOUT: {what} did not finish within {timeout:?}; killed it.\n{}",
            describe(&output)
        );
    }
    if lingering {
        eprintln!("note: {what} left processes holding its output open; killed them");
    }
    output
}

/// Human-readable status + stdout + stderr, for assertion messages.
pub fn describe(out: &Output) -> String {
    let status = match (out.status.code(), out.status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => format!("{:?}", out.status),
    };
    format!(
        "status: {status}\n--- stdout ---\n{}\n--- stderr ---\n{}\n---",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Panics with the full output unless the command exited 0.
#[track_caller]
pub fn assert_success(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed\n{}", describe(out));
}

pub fn stdout_str(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr_str(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn shell_words<S: AsRef<str>>(args: &[S]) -> String {
    args.iter()
        .map(|a| {
            let a = a.as_ref();
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c))
            {
                a.to_string()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The options proot-distro passes to `proot` to log in to a distribution
/// (without `--rootfs` and the two bindings of its own directories).
pub const PROOT_DISTRO_OPTIONS: &[&str] = &[
    "--kill-on-exit",
    "--link2symlink",
    "--sysvipc",
    "--kernel-release=\\Linux\\localhost\\6.17.0-PRoot-Distro\\#1 SMP PREEMPT_DYNAMIC Fri, 10 Oct 2025 00:00:00 +0000\\x86_64\\localdomain\\-1\\",
    "-L",
    "--change-id=0:0",
    "--cwd=/root",
    "--bind=/dev",
    "--bind=/proc",
    "--bind=/sys",
    "--bind=/dev/urandom:/dev/random",
    "--bind=/proc/self/fd:/dev/fd",
    "--bind=/proc/self/fd/0:/dev/stdin",
    "--bind=/proc/self/fd/1:/dev/stdout",
    "--bind=/proc/self/fd/2:/dev/stderr",
];

// ---------------------------------------------------------------------------
// Temporary directories
// ---------------------------------------------------------------------------
//
// Every directory from [`unique_temp_dir`] is recorded with the test (thread)
// that made it. A test that panics keeps its directories for inspection and
// says where; every other directory still there when the test binary exits
// is removed then (an `atexit` handler), so a run leaves no `sproot-*`
// directories behind even when a test forgets to clean up.

/// (directory, test that made it).
static TEMP_DIRS: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());
/// Tests (thread names) that panicked.
static FAILED_TESTS: std::sync::Mutex<BTreeSet<String>> = std::sync::Mutex::new(BTreeSet::new());

fn test_name() -> String {
    thread::current().name().unwrap_or("main").to_string()
}

/// Install, once, the panic hook that remembers failed tests and the exit
/// handler that removes the directories of the others.
fn track_temp_dirs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Ok(mut failed) = FAILED_TESTS.lock() {
                failed.insert(test_name());
            }
            previous(info);
        }));
        extern "C" fn at_exit() {
            clean_temp_dirs();
        }
        // SAFETY: registers a plain extern "C" function with no arguments;
        // it runs at exit(3), after every test thread has finished.
        unsafe {
            libc::atexit(at_exit);
        }
    });
}

fn clean_temp_dirs() {
    let failed = FAILED_TESTS.lock().map(|f| f.clone()).unwrap_or_default();
    let Ok(mut dirs) = TEMP_DIRS.lock() else {
        return;
    };
    for (dir, test) in dirs.drain(..) {
        if !dir.exists() {
            continue;
        }
        if failed.contains(&test) {
            eprintln!(
                "note: test {test} failed; kept its directory {}",
                dir.display()
            );
        } else {
            force_remove(&dir);
        }
    }
}

/// Remove a tree, first making its directories writable (guests may leave
/// read-only ones behind).
fn force_remove(dir: &Path) {
    let _ = Command::new("chmod")
        .args(["-R", "u+rwx"])
        .arg(dir)
        .stderr(Stdio::null())
        .status();
    let _ = fs::remove_dir_all(dir);
}

/// A fresh, empty directory under the system temp dir, unique in this process
/// and across processes. Remove it with [`remove_temp_dir`]; one left behind
/// is removed when the test binary exits, unless its test failed.
pub fn unique_temp_dir(tag: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    track_temp_dirs();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("sproot-{tag}-{}-{n}-{nanos}", std::process::id()));
    fs::create_dir(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    if let Ok(mut dirs) = TEMP_DIRS.lock() {
        dirs.push((dir.clone(), test_name()));
    }
    dir
}

/// Remove a directory from [`unique_temp_dir`] now; while the test is
/// failing (panicking), keep it and say where it is.
pub fn remove_temp_dir(dir: &Path) {
    if thread::panicking() {
        eprintln!(
            "note: keeping {} of the failed test {}",
            dir.display(),
            test_name()
        );
        // Said once: the exit handler need not say it again.
        if let Ok(mut dirs) = TEMP_DIRS.lock() {
            dirs.retain(|(d, _)| d != dir);
        }
        return;
    }
    force_remove(dir);
}

// ---------------------------------------------------------------------------
// Tiny rootfs
// ---------------------------------------------------------------------------

/// Content of `/etc/sproot-guest` in a tiny rootfs: lets a test prove that a
/// path was translated (the host has no such file).
pub const GUEST_MARKER: &str = "guest\n";

/// Programs a tiny rootfs must have; building it panics if the host lacks one.
pub const REQUIRED_PROGRAMS: &[&str] = &[
    "dash", "bash", "cat", "ls", "echo", "env", "pwd", "readlink", "realpath", "mkdir", "rmdir",
    "rm", "mv", "cp", "ln", "stat", "touch", "true", "false", "sleep", "id", "uname", "head", "wc",
    "test", "chmod",
];

/// Programs copied when the host has them (tests should check before relying on one).
pub const OPTIONAL_PROGRAMS: &[&str] = &[
    "[",
    "basename",
    "dirname",
    "tail",
    "tee",
    "sort",
    "uniq",
    "cut",
    "tr",
    "seq",
    "printf",
    "yes",
    "date",
    "mktemp",
    "du",
    "df",
    "dd",
    "sync",
    "truncate",
    "expr",
    "nproc",
    "timeout",
    "kill",
    "whoami",
    "tty",
    "mkfifo",
    "chown",
    "chgrp",
    "sha256sum",
    "md5sum",
    "base64",
    "xargs",
    "grep",
    "sed",
    "find",
    "tar",
    "gzip",
    "diff",
    "cmp",
    "hostname",
    "getconf",
    "busybox",
];

/// A minimal guest tree in a temp dir, removed on drop. Layout follows merged-/usr
/// Debian: `/bin -> usr/bin`, `/sbin -> usr/sbin`, `/lib -> usr/lib`,
/// `/lib64 -> usr/lib64`, `/bin/sh -> dash`, the dynamic linker at
/// `/lib64/ld-linux-x86-64.so.2`, libraries at the paths `ldd` reports.
pub struct TinyRootfs {
    pub path: PathBuf,
    /// Guest names (in /usr/bin) of the programs that were installed.
    pub programs: BTreeSet<String>,
}

/// Builds a [`TinyRootfs`] from the host's programs. Files are copied (not hard
/// linked: a guest writing to its /bin/cat must never change the host's).
pub fn tiny_rootfs() -> TinyRootfs {
    let root = unique_temp_dir("tiny-rootfs");
    // Make sure a half-built tree is removed if building panics.
    let mut rootfs = TinyRootfs {
        path: root.clone(),
        programs: BTreeSet::new(),
    };

    for d in [
        "usr/bin",
        "usr/sbin",
        "usr/lib",
        "usr/lib64",
        "etc",
        "root",
        "tmp",
        "home",
        "dev",
        "proc",
        "sys",
        "run",
        "var/tmp",
    ] {
        mkdir_p(&root.join(d));
    }
    for (link, target) in [
        ("bin", "usr/bin"),
        ("sbin", "usr/sbin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
    ] {
        symlink(target, root.join(link)).unwrap_or_else(|e| panic!("symlink {link}: {e}"));
    }
    set_mode(&root.join("tmp"), 0o1777);
    set_mode(&root.join("var/tmp"), 0o1777);
    set_mode(&root.join("root"), 0o700);

    let mut host_programs: Vec<PathBuf> = Vec::new();
    for (names, required) in [(REQUIRED_PROGRAMS, true), (OPTIONAL_PROGRAMS, false)] {
        for name in names {
            match find_host_program(name) {
                Some(host) => {
                    copy_file(&host, &root.join("usr/bin").join(name));
                    rootfs.programs.insert(name.to_string());
                    host_programs.push(host);
                }
                None if required => panic!("tiny_rootfs: host program `{name}` not found in PATH"),
                None => {}
            }
        }
    }
    // Debian: /bin/sh is a symlink to dash.
    symlink("dash", root.join("usr/bin/sh")).expect("symlink sh");
    rootfs.programs.insert("sh".into());

    for lib in shared_libraries(&host_programs) {
        let guest = guest_lib_path(&lib);
        let dst = root.join(&guest);
        if !dst.exists() {
            copy_file(&lib, &dst);
        }
    }
    assert!(
        root.join("usr/lib64/ld-linux-x86-64.so.2").exists() || !cfg!(target_arch = "x86_64"),
        "tiny_rootfs: dynamic linker missing (ldd output not understood?)"
    );

    write(
        &root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    );
    write(&root.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n");
    write(&root.join("etc/hostname"), "sproot-tiny\n");
    write(
        &root.join("etc/os-release"),
        "ID=sproot-tiny\nNAME=\"sproot tiny test rootfs\"\n",
    );
    write(&root.join("etc/sproot-guest"), GUEST_MARKER);
    rootfs
}

impl TinyRootfs {
    /// Host path of a guest path (`/etc/passwd` -> `<root>/etc/passwd`).
    pub fn host_path(&self, guest: &str) -> PathBuf {
        self.path.join(guest.trim_start_matches('/'))
    }

    /// The rootfs path as a `&str` (temp dirs are UTF-8 in practice).
    pub fn root(&self) -> &str {
        self.path.to_str().expect("temp dir path is UTF-8")
    }

    /// Whether the guest has `/usr/bin/<name>`.
    pub fn has(&self, name: &str) -> bool {
        self.programs.contains(name)
    }

    /// Writes `content` to the guest path, creating parent directories.
    pub fn write(&self, guest: &str, content: &str) -> PathBuf {
        let p = self.host_path(guest);
        write(&p, content);
        p
    }

    /// Copies a host file (e.g. from [`compile_c`]) into the guest, executable.
    pub fn install(&self, host: &Path, guest: &str) -> PathBuf {
        let p = self.host_path(guest);
        copy_file(host, &p);
        set_mode(&p, 0o755);
        p
    }

    /// Copies the host's program `name` (from PATH) into the guest's
    /// /usr/bin with the shared libraries it needs. Returns false when the
    /// host has no such program.
    pub fn install_host_program(&mut self, name: &str) -> bool {
        let Some(host) = find_host_program(name) else {
            return false;
        };
        copy_file(&host, &self.path.join("usr/bin").join(name));
        for lib in shared_libraries(std::slice::from_ref(&host)) {
            let dst = self.path.join(guest_lib_path(&lib));
            if !dst.exists() {
                copy_file(&lib, &dst);
            }
        }
        self.programs.insert(name.to_string());
        true
    }

    /// `sproot -r <root> ARGS...` as a Command.
    pub fn sproot_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = sproot_cmd(&["-r", self.root()]);
        cmd.args(args);
        cmd
    }

    /// Runs `sproot -r <root> ARGS...` with the default timeout.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_timeout(args, DEFAULT_TIMEOUT_SECS)
    }

    /// Runs `sproot -r <root> ARGS...`, failing the test after `secs` seconds.
    pub fn run_timeout(&self, args: &[&str], secs: u64) -> Output {
        let mut all = vec!["-r", self.root()];
        all.extend_from_slice(args);
        run_timeout(&all, secs)
    }
}

impl Drop for TinyRootfs {
    fn drop(&mut self) {
        if std::env::var_os("SPROOT_KEEP_TINY_ROOTFS").is_some() {
            eprintln!("note: keeping tiny rootfs {}", self.path.display());
            return;
        }
        remove_temp_dir(&self.path);
    }
}

fn find_host_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
                .iter()
                .map(PathBuf::from),
        )
        .map(|d| d.join(name))
        .find(|p| {
            fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
        // Copy the real file: the guest must not see host-specific symlink targets.
        .map(|p| fs::canonicalize(&p).unwrap_or(p))
}

/// Every shared library (and the dynamic linker) that `ldd` lists for `programs`,
/// as host paths in ldd's spelling (e.g. `/lib/x86_64-linux-gnu/libc.so.6`).
fn shared_libraries(programs: &[PathBuf]) -> BTreeSet<PathBuf> {
    let out = Command::new("ldd")
        .args(programs)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("tiny_rootfs: cannot run ldd: {e}"));
    // ldd exits 1 when some file (e.g. static busybox) is "not a dynamic executable"; that's fine.
    let mut libs = BTreeSet::new();
    for raw in String::from_utf8_lossy(&out.stdout).lines() {
        // With several files ldd prints a "/usr/bin/cat:" header before each
        // file's indented dependency lines; only the indented lines matter.
        if !raw.starts_with(char::is_whitespace) {
            continue;
        }
        let line = raw.trim();
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
        let candidate = match line.split_once("=>") {
            Some((_, rhs)) => rhs.trim(),
            None => line,
        };
        let path = candidate.split_whitespace().next().unwrap_or("");
        if path.starts_with('/') {
            libs.insert(PathBuf::from(path));
        } else if line.contains("=> not found") {
            panic!("tiny_rootfs: ldd reports a missing library: {line}");
        }
    }
    libs
}

/// Where a host library goes in the merged-/usr guest: `/lib/...` -> `usr/lib/...`, etc.
fn guest_lib_path(host: &Path) -> PathBuf {
    let rel = host.strip_prefix("/").unwrap_or(host);
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    match first.as_deref() {
        Some("lib" | "lib64" | "lib32" | "libx32" | "bin" | "sbin") => Path::new("usr").join(rel),
        _ => rel.to_path_buf(),
    }
}

fn mkdir_p(p: &Path) {
    fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir -p {}: {e}", p.display()));
}

fn set_mode(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
}

fn write(p: &Path, content: &str) {
    if let Some(parent) = p.parent() {
        mkdir_p(parent);
    }
    fs::write(p, content).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

fn copy_file(src: &Path, dst: &Path) {
    if let Some(parent) = dst.parent() {
        mkdir_p(parent);
    }
    fs::copy(src, dst)
        .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", src.display(), dst.display()));
}

// ---------------------------------------------------------------------------
// C test programs
// ---------------------------------------------------------------------------

/// Compiles `src` with the host's gcc (`gcc -O1 -Wall <extra_flags> -o prog prog.c`)
/// into a fresh temp dir and returns the binary. Returns `None` (with a note on
/// stderr) when gcc is not installed; panics with gcc's output if compiling fails.
/// Pass `&["-static"]` for a program that needs no libraries in the guest.
pub fn compile_c(src: &str, extra_flags: &[&str]) -> Option<PathBuf> {
    let gcc = std::env::var("CC").unwrap_or_else(|_| "gcc".into());
    if Command::new(&gcc)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!(
            "note: `{gcc}` not found; skipping the part of this test that needs a C compiler"
        );
        return None;
    }
    let dir = unique_temp_dir("cprog");
    let c = dir.join("prog.c");
    let bin = dir.join("prog");
    fs::write(&c, src).unwrap_or_else(|e| panic!("write {}: {e}", c.display()));
    let out = Command::new(&gcc)
        .args(["-O1", "-Wall"])
        .args(extra_flags)
        .arg("-o")
        .arg(&bin)
        .arg(&c)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {gcc}: {e}"));
    assert!(
        out.status.success(),
        "compiling C test program failed ({gcc} {}):\n{}\n--- source ---\n{src}",
        extra_flags.join(" "),
        describe(&out)
    );
    Some(bin)
}

/// Whether the tests run as root.
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `argv` in a real chroot of `root` in a private mount namespace, with
/// `(host, guest)` bindings rbound (/proc and /dev among them if wanted);
/// `None` when no chroot can be made here.
pub fn chroot_with_binds(root: &str, binds: &[(&str, &str)], argv: &[&str]) -> Option<Output> {
    let mut script = String::from("set -e\n");
    for (h, g) in binds {
        script.push_str(&format!("mount --rbind '{h}' '{root}{g}'\n"));
    }
    script.push_str(&format!("cd '{root}'\nexec chroot '{root}' \"$@\"\n"));
    let mut cmd = Command::new("unshare");
    if running_as_root() {
        cmd.arg("-m");
    } else {
        cmd.args(["-r", "-m"]);
    }
    cmd.args(["--propagation", "private", "sh", "-c", &script, "sh"]);
    cmd.args(argv);
    let out = output_with_timeout(cmd, Duration::from_secs(60), "unshare + chroot");
    if !out.status.success() && stderr_str(&out).contains("unshare:") {
        eprintln!("note: no chroot to compare with: {}", stderr_str(&out));
        return None;
    }
    Some(out)
}
