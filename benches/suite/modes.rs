//! How a workload is run: natively (the limit), under classic PRoot (the peer)
//! or under sproot (with or without seccomp).
//!
//! To add a mode (e.g. a bare-stop floor tracer, or the option set proot-distro
//! passes), add an entry to [`all_modes`]; `default_on: false` keeps it out of
//! the default suite (select it with `SPROOT_BENCH_MODES=native,...,NAME`).

use crate::env::Env;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Engine {
    /// `unshare --mount --propagation private`, rbind /dev /proc /sys, `chroot`.
    Native,
    /// Classic PRoot (`proot`).
    Proot,
    /// termux's PRoot, with its seccomp acceleration (proot-distro's engine):
    /// the peer the fast-path targets are set against.
    TermuxProot,
    /// This project's binary.
    Sproot,
}

#[derive(Clone, Debug)]
pub struct Mode {
    pub name: &'static str,
    pub engine: Engine,
    /// Extra options after the common `-r ROOTFS -b /dev -b /proc -b /sys -w /root`.
    pub extra_args: Vec<String>,
    /// Extra environment for the tracer (and so the guest).
    pub extra_env: Vec<(String, String)>,
    /// Part of the default suite.
    pub default_on: bool,
    /// Modes that only make sense for some workloads check this flag of the
    /// workload (see `Workload::noseccomp`).
    pub is_noseccomp: bool,
    /// The bare-stop floor: sproot with `SPROOT_BARE_STOPS=1` (stops on the
    /// same syscalls, no translation). Runs only workloads marked `bare_ok`.
    pub is_bare: bool,
    /// `--engine=inproc`: no tracer, so no stop counts.
    pub is_inproc: bool,
    pub about: &'static str,
}

/// The options proot-distro passes to proot on every login (besides its binds).
const PROOT_DISTRO_OPTS: &[&str] = &[
    "--change-id=0:0",
    "--link2symlink",
    "-L",
    "--kernel-release=6.2.1-PRoot-Distro",
];

pub fn all_modes() -> Vec<Mode> {
    let m = |name, engine, extra: &[&str], default_on, about| Mode {
        name,
        engine,
        extra_args: extra.iter().map(|s| s.to_string()).collect(),
        extra_env: vec![],
        default_on,
        is_noseccomp: false,
        is_bare: false,
        is_inproc: false,
        about,
    };
    vec![
        m(
            "native",
            Engine::Native,
            &[],
            true,
            "chroot in a private mount namespace, /dev /proc /sys rbound",
        ),
        m(
            "proot",
            Engine::Proot,
            &[],
            true,
            "classic PRoot, -r ROOTFS -b /dev -b /proc -b /sys -w /root",
        ),
        m(
            "termux-proot",
            Engine::TermuxProot,
            &[],
            true,
            "termux's PRoot (seccomp-accelerated, proot-distro's engine), same options",
        ),
        m("sproot", Engine::Sproot, &[], true, "sproot, same options"),
        Mode {
            is_inproc: true,
            ..m(
                "sproot-inproc",
                Engine::Sproot,
                &["--engine=inproc"],
                true,
                "sproot's in-process engine (no tracer: a runtime in each guest process)",
            )
        },
        Mode {
            is_noseccomp: true,
            ..m(
                "sproot-noseccomp",
                Engine::Sproot,
                &["--no-seccomp"],
                true,
                "sproot with plain ptrace syscall stops instead of its seccomp filter",
            )
        },
        // How most users run it. Debian's proot has no --link2symlink, so its
        // proot-distro mode is opt-in.
        m(
            "proot-distro",
            Engine::Proot,
            PROOT_DISTRO_OPTS,
            false,
            "proot with the options proot-distro passes",
        ),
        m(
            "termux-proot-distro",
            Engine::TermuxProot,
            PROOT_DISTRO_OPTS,
            true,
            "termux's PRoot with the options proot-distro passes",
        ),
        m(
            "sproot-distro",
            Engine::Sproot,
            PROOT_DISTRO_OPTS,
            true,
            "sproot with the options proot-distro passes",
        ),
        Mode {
            is_inproc: true,
            extra_args: std::iter::once("--engine=inproc")
                .chain(PROOT_DISTRO_OPTS.iter().copied())
                .map(String::from)
                .collect(),
            ..m(
                "sproot-inproc-distro",
                Engine::Sproot,
                &[],
                true,
                "sproot's in-process engine with the options proot-distro passes",
            )
        },
        Mode {
            is_bare: true,
            extra_env: vec![("SPROOT_BARE_STOPS".into(), "1".into())],
            ..m(
                "sproot-bare",
                Engine::Sproot,
                &[],
                true,
                "bare-stop floor: sproot stopping on the same syscalls but resuming them untranslated",
            )
        },
    ]
}

/// The modes to run: `SPROOT_BENCH_MODES` (comma-separated names, in that
/// order) or the default ones. The first one is the baseline ratios are
/// taken against and should be `native`.
pub fn selected_modes() -> anyhow::Result<Vec<Mode>> {
    let all = all_modes();
    match std::env::var("SPROOT_BENCH_MODES")
        .ok()
        .filter(|s| !s.trim().is_empty())
    {
        None => Ok(all.into_iter().filter(|m| m.default_on).collect()),
        Some(list) => {
            let mut out = vec![];
            for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match all.iter().find(|m| m.name == name) {
                    Some(m) => out.push(m.clone()),
                    None => anyhow::bail!(
                        "SPROOT_BENCH_MODES: unknown mode {name:?}; known: {}",
                        all.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
                    ),
                }
            }
            if !out.iter().any(|m| m.engine == Engine::Native) {
                anyhow::bail!(
                    "SPROOT_BENCH_MODES must include native (ratios are taken against it)"
                );
            }
            Ok(out)
        }
    }
}

/// The environment every guest starts with, whatever the mode.
pub fn guest_env() -> Vec<(String, String)> {
    vec![
        (
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        ),
        ("HOME".into(), "/root".into()),
        ("USER".into(), "root".into()),
        ("LOGNAME".into(), "root".into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("TERM".into(), "dumb".into()),
        ("TMPDIR".into(), "/tmp".into()),
    ]
}

fn cstring(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("path with a NUL byte")
}

impl Mode {
    /// Whether this mode can run on this machine (`Err(why)` if not).
    pub fn available(&self, env: &Env) -> Result<(), String> {
        match self.engine {
            Engine::Proot if env.proot.is_none() => {
                Err("proot is not installed (apt-get install proot)".into())
            }
            Engine::TermuxProot if env.termux_proot.is_none() => Err(
                "termux PRoot not found (scripts/bench.sh builds it with ../shared/peers/build.sh; \
                 or set SPROOT_BENCH_TERMUX_PROOT)"
                    .into(),
            ),
            _ => Ok(()),
        }
    }

    /// The command that runs `argv` (guest paths) in the guest under this
    /// mode, cwd /root, with a clean environment plus `workload_env`.
    /// `stats` is where sproot writes its `--stats` (sproot modes only).
    pub fn command(
        &self,
        env: &Env,
        argv: &[String],
        workload_env: &[(String, String)],
        stats: Option<&Path>,
    ) -> Command {
        let mut cmd;
        match self.engine {
            Engine::Native => {
                cmd = Command::new(&argv[0]);
                cmd.args(&argv[1..]);
                let root = cstring(&env.rootfs);
                let binds: Vec<(CString, CString)> = ["dev", "proc", "sys"]
                    .iter()
                    .map(|d| {
                        (
                            cstring(&Path::new("/").join(d)),
                            cstring(&env.rootfs.join(d)),
                        )
                    })
                    .collect();
                let slash = CString::new("/").unwrap();
                let cwd = CString::new("/root").unwrap();
                // SAFETY: only async-signal-safe system calls between fork and exec,
                // on memory allocated before the fork.
                unsafe {
                    cmd.pre_exec(move || {
                        let check = |r: libc::c_int| {
                            if r == 0 {
                                Ok(())
                            } else {
                                Err(std::io::Error::last_os_error())
                            }
                        };
                        check(libc::unshare(libc::CLONE_NEWNS))?;
                        check(libc::mount(
                            std::ptr::null(),
                            slash.as_ptr(),
                            std::ptr::null(),
                            libc::MS_REC | libc::MS_PRIVATE,
                            std::ptr::null(),
                        ))?;
                        for (src, dst) in &binds {
                            check(libc::mount(
                                src.as_ptr(),
                                dst.as_ptr(),
                                std::ptr::null(),
                                libc::MS_BIND | libc::MS_REC,
                                std::ptr::null(),
                            ))?;
                        }
                        check(libc::chroot(root.as_ptr()))?;
                        check(libc::chdir(cwd.as_ptr()))?;
                        Ok(())
                    });
                }
            }
            Engine::Proot | Engine::TermuxProot | Engine::Sproot => {
                let bin = match self.engine {
                    Engine::Proot => env
                        .proot
                        .as_ref()
                        .expect("proot availability is checked first"),
                    Engine::TermuxProot => env
                        .termux_proot
                        .as_ref()
                        .expect("termux PRoot availability is checked first"),
                    _ => &env.sproot,
                };
                cmd = Command::new(bin);
                cmd.arg("-r").arg(&env.rootfs);
                cmd.args(["-b", "/dev", "-b", "/proc", "-b", "/sys", "-w", "/root"]);
                cmd.args(&self.extra_args);
                // The ptrace engine unless the mode names the in-process
                // one (sproot's default picks the in-process engine).
                if self.engine == Engine::Sproot && !self.is_inproc {
                    cmd.arg("--engine=ptrace");
                }
                if self.engine == Engine::Sproot
                    && let Some(s) = stats
                {
                    let mut a = std::ffi::OsString::from("--stats=");
                    a.push(s);
                    cmd.arg(a);
                }
                // No "--": classic PRoot rejects it. argv[0] is an absolute path.
                debug_assert!(argv[0].starts_with('/'));
                cmd.args(argv);
                // The tracer runs on the host: keep its cwd a host directory.
                cmd.current_dir("/");
            }
        }
        cmd.env_clear();
        cmd.envs(guest_env());
        cmd.envs(workload_env.iter().map(|(k, v)| (k, v)));
        cmd.envs(self.extra_env.iter().map(|(k, v)| (k, v)));
        // Own process group, so that a timeout kills the whole run.
        cmd.process_group(0);
        cmd
    }
}
