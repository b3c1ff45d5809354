//! The workloads (issue 5 and issue 3): what users run in a rootfs.
//! Their names are the filters `cargo bench --bench suite -- NAME...` takes.

use crate::fixtures::{self, Fixture};
use std::time::Duration;

/// A per-run directory in the guest, made before the run and removed after
/// (both untimed). `{dir}` in the command is replaced by its guest path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FreshDir {
    None,
    /// An empty directory.
    Empty,
    /// A copy of the npm project (package.json + package-lock.json).
    NpmProject,
}

/// How a run's result is checked against the native run's.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Check {
    /// Only the exit status.
    Status,
    /// Same stdout as native.
    Stdout,
    /// Same number of files left in the fresh directory as native.
    DirFiles,
}

#[derive(Clone, Debug)]
pub struct Workload {
    pub name: &'static str,
    /// What it does, for the report.
    pub about: &'static str,
    /// Guest argv; `{dir}` is replaced by the fresh directory's guest path.
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub fixtures: &'static [Fixture],
    pub fresh: FreshDir,
    pub check: Check,
    /// Why not to run it under `sproot --no-seccomp` (where that would take
    /// too long for the suite's budget); `SPROOT_BENCH_NOSECCOMP_ALL=1` overrides.
    pub noseccomp_skip: Option<&'static str>,
    pub timeout: Duration,
    /// Issue 5's target for sproot's ratio to native (median), if any.
    pub target: Option<f64>,
    /// Part of the thread section (stops per thread created).
    pub threads: bool,
    /// Safe to run untranslated on the host (the bare-stop floor): reads
    /// only paths that exist alike on the host.
    pub bare_ok: bool,
}

fn sh(script: &str) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), script.into()]
}

fn argv(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn kv(a: &[(&str, &str)]) -> Vec<(String, String)> {
    a.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn all_workloads() -> Vec<Workload> {
    let b = fixtures::GUEST_DIR;
    let base = Workload {
        name: "",
        about: "",
        argv: vec![],
        env: vec![],
        fixtures: &[],
        fresh: FreshDir::None,
        check: Check::Status,
        noseccomp_skip: None,
        timeout: crate::env::DEFAULT_TIMEOUT,
        target: None,
        threads: false,
        bare_ok: false,
    };
    let npm_env = kv(&[
        ("npm_config_update_notifier", "false"),
        ("npm_config_fund", "false"),
        ("npm_config_audit", "false"),
        ("npm_config_loglevel", "error"),
        ("npm_config_progress", "false"),
    ]);
    let c_files: Vec<String> = (0..fixtures::C_FILES)
        .map(|i| format!("{b}/csrc/unit{i:02}.c"))
        .collect();
    vec![
        Workload {
            name: "find",
            about: "`find /usr -xdev | wc -l`",
            argv: sh("find /usr -xdev | wc -l"),
            check: Check::Stdout,
            target: Some(3.0),
            ..base.clone()
        },
        Workload {
            name: "ls-lR",
            about: "`ls -lR /usr > /dev/null`",
            argv: sh("ls -lR /usr > /dev/null"),
            target: Some(3.0),
            ..base.clone()
        },
        Workload {
            name: "stat-storm",
            about: "C program: 200k `stat()` over 4 paths",
            argv: vec![format!("{b}/bin/stat-storm")],
            fixtures: &[Fixture::CPrograms],
            check: Check::Stdout,
            target: Some(3.0),
            bare_ok: true,
            ..base.clone()
        },
        Workload {
            name: "tar-x",
            about: "`tar -xf` of an 18 MB tree of small files into a fresh dir",
            argv: sh(&format!("tar -xf {b}/tree.tar -C {{dir}}")),
            fixtures: &[Fixture::Tarball],
            fresh: FreshDir::Empty,
            check: Check::DirFiles,
            target: Some(2.0),
            ..base.clone()
        },
        Workload {
            name: "exec-storm",
            about: "`sh` running `/bin/true` 300 times",
            argv: sh("i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done"),
            target: Some(2.0),
            ..base.clone()
        },
        Workload {
            name: "gcc",
            about: "`gcc -O1 -c` of 21 small C files",
            argv: {
                let mut a = argv(&["/usr/bin/gcc", "-O1", "-c"]);
                a.extend(c_files);
                a
            },
            fixtures: &[Fixture::CSources],
            fresh: FreshDir::Empty,
            check: Check::DirFiles,
            target: Some(1.3),
            ..base.clone()
        },
        Workload {
            name: "npm-ci",
            about: "`npm ci --offline` of express + lodash from a warm cache",
            argv: sh("cd {dir} && exec npm ci --offline"),
            env: npm_env,
            fixtures: &[Fixture::NpmProject],
            fresh: FreshDir::NpmProject,
            check: Check::DirFiles,
            target: Some(1.3),
            ..base.clone()
        },
        Workload {
            name: "node-require",
            about: "`node` start that `require`s 3000 small modules",
            argv: vec!["/usr/bin/node".into(), format!("{b}/node-require/main.js")],
            fixtures: &[Fixture::NodeTree],
            check: Check::Stdout,
            target: Some(1.3),
            ..base.clone()
        },
        Workload {
            name: "pip-install",
            about: "`pip install --no-index --find-links` (requests + deps, six) into a fresh `--target`",
            argv: argv(&[
                "/usr/bin/python3",
                "-m",
                "pip",
                "install",
                "-q",
                "--no-index",
                "--find-links",
                &format!("{b}/wheels"),
                "--target",
                "{dir}",
                "requests",
                "six",
            ]),
            env: kv(&[
                ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
                ("PIP_NO_WARN_SCRIPT_LOCATION", "1"),
            ]),
            fixtures: &[Fixture::Wheels],
            fresh: FreshDir::Empty,
            check: Check::DirFiles,
            target: Some(1.3),
            ..base.clone()
        },
        Workload {
            name: "dd",
            about: "`dd if=/dev/zero of=/dev/null bs=4096 count=200000`",
            argv: argv(&[
                "/bin/dd",
                "if=/dev/zero",
                "of=/dev/null",
                "bs=4096",
                "count=200000",
            ]),
            target: Some(1.05),
            ..base.clone()
        },
        Workload {
            name: "thread-storm",
            about: "C program: 64 threads created at once and joined, 100 rounds; each thread does one `stat`",
            argv: vec![format!("{b}/bin/thread-storm")],
            fixtures: &[Fixture::CPrograms],
            check: Check::Stdout,
            threads: true,
            ..base.clone()
        },
        Workload {
            name: "node-workers",
            about: "`node` with 8 `worker_threads`, each and the main thread doing 64 parallel `fs.promises.stat` (UV_THREADPOOL_SIZE=16)",
            argv: vec!["/usr/bin/node".into(), format!("{b}/node-workers.js")],
            env: kv(&[("UV_THREADPOOL_SIZE", "16")]),
            fixtures: &[Fixture::NodeWorkers],
            check: Check::Stdout,
            threads: true,
            ..base.clone()
        },
    ]
}
