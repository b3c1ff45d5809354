//! `--engine=inproc`: the guest runs untraced, and the runtime that starts
//! every guest program (`runtime/`, built by `build/runtime.rs`) translates
//! its trapped syscalls inside the guest process.
//!
//! The launcher here plans the first program's exec in the guest's view,
//! builds the trap filter, and starts the runtime with the hand-off in its
//! environment (`sproot_core::inproc`); then it waits for that process,
//! forwarding the signals a terminal sends, and exits with its status.
//! No tracer: processes the guest starts carry the runtime across their
//! own execs.

use std::ffi::CString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use anyhow::{Context, Result, bail};
use sproot_core::exec::{ExecError, ExecFile, ExecHost, elf};
use sproot_core::fs::ProcContext;
use sproot_core::inproc::{Handoff, Trap, trap_filter};
use sproot_core::sysno::Arch;

mod ipc;

use crate::config::{Config, FirstCommand};
use crate::fs::TracerProc;

/// The runtime executable (empty when not built for this architecture).
pub const RUNTIME: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sproot-runtime"));

/// The syscalls the ptrace engine's filter can stop, by name.
const TRAPPED_NAMES: &str = include_str!(concat!(env!("OUT_DIR"), "/trapped_names.txt"));

/// The syscalls the extensions add (fake ids, `uname`, stat results).
const TRAPPED_EXT_NAMES: &str = include_str!(concat!(env!("OUT_DIR"), "/trapped_ext_names.txt"));

/// Syscalls trapped by their own rules below, or left to the kernel:
/// `ptrace` is trapped only to say what a guest tracer sees, then runs
/// natively; `seccomp` is trapped (the runtime keeps a guest's own
/// filters, runtime/src/guest_filters.rs).
const NATIVE: &[&str] = &["clone", "clone3", "unshare"];

/// Which engine translates the guest's syscalls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The in-process engine where it can run the session, else the
    /// ptrace engine (the default).
    Auto,
    /// A tracer process stops each trapped syscall.
    Ptrace,
    /// The runtime in every guest process translates them.
    Inproc,
}

impl Engine {
    /// Whether the in-process engine runs a session of `cfg`: asked for
    /// (`Inproc`, which says why not), or picked (`Auto`) when the runtime
    /// is built for this architecture and sproot itself is not traced
    /// (under a tracer every `SIGSYS` would stop there, and a sproot of
    /// the ptrace engine above would run its loader into the runtime's
    /// filter); never when an option needs a tracer from the first program
    /// on ([`needs_tracer`]).
    pub fn runs_inproc(self, cfg: &Config) -> bool {
        let possible = needs_tracer(cfg).is_none();
        match self {
            Engine::Ptrace => false,
            Engine::Inproc => possible,
            Engine::Auto => {
                possible && !RUNTIME.is_empty() && !traced() && !window_taken().unwrap_or(true)
            }
        }
    }
}

/// Whether the runtime's code window is mapped in this process already:
/// sproot runs inside a sproot of the in-process engine, whose runtime
/// is there (the runtime is linked at one fixed address).
fn window_taken() -> Result<bool> {
    let (lo, hi) = code_window()?;
    let maps = std::fs::read_to_string("/proc/self/maps").context("read /proc/self/maps")?;
    Ok(maps.lines().any(|l| {
        let range = l.split_whitespace().next().unwrap_or("");
        let mut ends = range
            .split('-')
            .map(|v| u64::from_str_radix(v, 16).unwrap_or(0));
        let (start, end) = (ends.next().unwrap_or(0), ends.next().unwrap_or(0));
        start < hi && lo < end
    }))
}

/// Whether this process is traced (`TracerPid` in `/proc/self/status`).
fn traced() -> bool {
    crate::tracer::read_status_field(std::process::id() as i32, "TracerPid:")
        .is_some_and(|t| t != 0)
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Engine::Auto),
            "ptrace" => Ok(Engine::Ptrace),
            "inproc" => Ok(Engine::Inproc),
            _ => Err(format!("unknown engine {s:?} (auto, ptrace or inproc)")),
        }
    }
}

/// The first option of `cfg` that needs a tracer from the first
/// program on (`-q` runs every guest program under an emulator the
/// tracer starts; `--no-seccomp` stops every syscall): with it, the
/// ptrace engine runs the whole session.
pub fn needs_tracer(cfg: &Config) -> Option<&'static str> {
    [
        (cfg.ext.qemu.is_some(), "-q"),
        (!cfg.seccomp, "--no-seccomp (PROOT_NO_SECCOMP)"),
    ]
    .into_iter()
    .find_map(|(used, name)| used.then_some(name))
}

/// The runtime's code, `[lo, hi)`: its executable segments.
fn code_window() -> Result<(u64, u64)> {
    struct Bytes;
    impl ExecFile for Bytes {
        fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<usize, sproot_core::Errno> {
            let start = (off as usize).min(RUNTIME.len());
            let n = buf.len().min(RUNTIME.len() - start);
            buf[..n].copy_from_slice(&RUNTIME[start..start + n]);
            Ok(n)
        }
    }
    let parsed = elf::parse(&Bytes, &RUNTIME[..RUNTIME.len().min(64)])
        .map_err(|_| anyhow::anyhow!("the built-in runtime is not a loadable ELF"))?;
    let code = parsed.segments.iter().filter(|s| s.prot & 4 != 0);
    let lo = code.clone().map(|s| s.vaddr).min();
    let hi = code.map(|s| s.vaddr + s.memsz).max();
    match (lo, hi) {
        (Some(lo), Some(hi)) if lo >> 32 == (hi - 1) >> 32 => Ok((lo, hi)),
        _ => bail!("the built-in runtime's code is not in one 4 GiB window"),
    }
}

/// The trap filter's syscalls; `ext`: with the extensions'; `listings`:
/// with `getdents64`; `sysvipc`: with the SysV IPC calls.
fn traps(ext: bool, listings: bool, sysvipc: bool) -> Vec<Trap> {
    let this = Arch::THIS;
    let ext_names = if ext { TRAPPED_EXT_NAMES } else { "" };
    let listing = if listings { "getdents64" } else { "" };
    let mut t: Vec<Trap> = TRAPPED_NAMES
        .lines()
        .chain(ext_names.lines())
        .chain(listing.lines())
        .filter(|n| !NATIVE.contains(n))
        .filter_map(|n| this.number(n))
        .map(Trap::Always)
        .collect();
    if sysvipc {
        t.extend(crate::seccomp::SYSV_IPC.iter().map(|&n| Trap::Always(n)));
    }
    t.sort_by_key(|t| match t {
        Trap::Always(n) => *n,
        _ => 0,
    });
    t.dedup();
    // A new user namespace is refused as in a chroot (sproot_core::userns);
    // clone3's flags are out of the filter's reach: ENOSYS, and glibc
    // falls back to clone.
    let newuser = sproot_core::userns::CLONE_NEWUSER as u32;
    t.push(Trap::IfBits(libc::SYS_clone, 0, newuser));
    t.push(Trap::IfBits(libc::SYS_unshare, 0, newuser));
    t.push(Trap::Errno(libc::SYS_clone3, libc::ENOSYS as u16));
    // Waits with a signal mask of their own: SIGSYS taken out of it.
    t.push(Trap::Always(libc::SYS_rt_sigsuspend));
    t.push(Trap::UnlessZero(libc::SYS_ppoll, 3));
    t.push(Trap::UnlessZero(libc::SYS_pselect6, 5));
    t.push(Trap::UnlessZero(libc::SYS_epoll_pwait, 4));
    t.push(Trap::UnlessZero(libc::SYS_epoll_pwait2, 4));
    // The runtime keeps SIGSYS its own: every rt_sigaction, and a
    // rt_sigprocmask with a new set that is not SIG_UNBLOCK.
    t.push(Trap::Always(libc::SYS_rt_sigaction));
    t.push(Trap::UnlessZeroOr(
        libc::SYS_rt_sigprocmask,
        1,
        0,
        libc::SIG_UNBLOCK as u32,
    ));
    t
}

fn audit_arch() -> u32 {
    if cfg!(target_arch = "aarch64") {
        0xc000_00b7
    } else {
        0xc000_003e
    }
}

/// The first program's exec, planned in the guest's view from its cwd.
struct FirstExec<'a> {
    cfg: &'a Config,
}

impl ExecHost for FirstExec<'_> {
    fn resolve(&self, guest_path: &[u8]) -> Result<(Vec<u8>, Vec<u8>), sproot_core::Errno> {
        let base: &[u8] = if guest_path.first() == Some(&b'/') {
            b"/"
        } else {
            &self.cfg.cwd
        };
        let proc: &dyn ProcContext = &TracerProc;
        let r = self.cfg.view.resolve(proc, base, guest_path, true)?;
        Ok((r.guest, r.host))
    }

    fn open_exec(&self, host: &[u8]) -> Result<Box<dyn ExecFile + '_>, sproot_core::Errno> {
        Ok(crate::exec::open_exec(Path::new(
            std::ffi::OsStr::from_bytes(host),
        ))?)
    }
}

/// The runtime to execute: `runtime` next to an installed exec loader
/// (outside the temporary directory) when it is byte for byte this
/// build's, else a copy extracted into the temporary directory.
fn runtime_path(cfg: &Config, loader: &Path) -> Result<std::path::PathBuf> {
    if !loader.starts_with(&cfg.tmp_dir)
        && let Some(dir) = loader.parent()
    {
        let installed = dir.join("runtime");
        let executable = |p: &Path| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
        };
        if executable(&installed) && std::fs::read(&installed).is_ok_and(|b| b == RUNTIME) {
            return Ok(installed);
        }
    }
    crate::exec::install_binary(&cfg.tmp_dir, "sproot-runtime", RUNTIME)
        .with_context(|| format!("install the runtime in {}", cfg.tmp_dir.display()))
}

/// Run the first command with the in-process engine: its exit status.
/// `loader` is the exec loader in use (a runtime installed next to it is
/// used).
pub fn run(cfg: &Config, first: FirstCommand, env: Vec<CString>, loader: &Path) -> Result<i32> {
    if RUNTIME.is_empty() {
        bail!(
            "--engine=inproc is not available on {} yet; use --engine=ptrace",
            std::env::consts::ARCH
        );
    }
    if window_taken()? {
        bail!(
            "--engine=inproc cannot run inside a sproot of the in-process engine (its runtime \
             holds the address the runtime needs); use --engine=ptrace"
        );
    }
    if traced() {
        log::warn!(
            "--engine=inproc under a tracer: every translated call stops there, and under a \
             sproot of the ptrace engine the guests die of SIGSYS at their first exec; \
             --engine=ptrace (or auto) is the engine for a traced sproot"
        );
    }
    let runtime = runtime_path(cfg, loader)?;
    let (lo, hi) = code_window()?;
    let plan = match sproot_core::exec::plan_exec(
        &FirstExec { cfg },
        &first.program,
        first.argv.clone(),
    ) {
        Ok(p) => p,
        Err(ExecError { errno, message }) => {
            // The C library's words, as a shell (and the ptrace engine) says.
            if let Some(m) = message {
                eprintln!("{m}");
            }
            eprintln!(
                "sproot error: cannot execute {} in the guest: {}",
                String::from_utf8_lossy(&first.program),
                crate::tracer::spawn::os_message(errno.raw())
            );
            return Ok(if errno == sproot_core::Errno::ENOENT {
                127
            } else {
                126
            });
        }
    };
    let filter = trap_filter(
        audit_arch(),
        &traps(
            cfg.ext.needs_ext_filter(),
            cfg.view.lists_points(),
            cfg.ext.sysvipc,
        ),
        lo,
        hi,
    );
    let handoff = Handoff {
        runtime: runtime.as_os_str().as_bytes().to_vec(),
        root: cfg.view.root().to_vec(),
        bindings: cfg
            .view
            .bindings()
            .into_iter()
            .map(|b| (b.host, b.guest))
            .collect(),
        glue: cfg.glue.as_ref().map(|g| g.as_os_str().as_bytes().to_vec()),
        exe_guest: plan.exe_guest.clone(),
        exe_host: plan.exe_host.clone(),
        script: plan.script(0),
        filter: sproot_core::cbpf::encode(&filter),
        verbose: cfg.verbose.clamp(-1, 100) as i8,
        shared: Vec::new(),
        ipc: Vec::new(),
        cwd_name: {
            let host = cfg.view.to_host(&cfg.cwd);
            cfg.view
                .is_ambiguous(&host)
                .then(|| (cfg.cwd.clone(), host))
        },
        cache: cfg.view.caches(),
        ext: handoff_ext(cfg),
        window: (lo, hi),
        guest_filters: Vec::new(),
    };
    // The run's shared state: every guest process maps it. The caches of
    // every guest process follow its count of name changes
    // (--no-path-cache: no caches).
    let uname = cfg
        .ext
        .kernel_release
        .as_ref()
        .map(|k| k.uname.clone())
        .unwrap_or_default();
    let shared = SharedPage::new(&cfg.tmp_dir, &uname);
    let mut handoff = handoff;
    match &shared {
        Ok(g) => handoff.shared = g.0.as_os_str().as_bytes().to_vec(),
        Err(e) if handoff.ext.creds.is_some() || handoff.ext.uname || handoff.ext.stats => {
            return Err(anyhow::anyhow!("{e:#}").context("the guests' shared state"));
        }
        Err(e) => {
            log::warn!("no directory cache for the guest: {e:#}");
            handoff.cache = false;
        }
    }
    // --sysvipc: the namespace is served from here once the guest runs.
    let broker = if cfg.ext.sysvipc {
        let b = ipc::Broker::bind()?;
        handoff.ipc = b.name.clone();
        Some(b)
    } else {
        None
    };
    let mut envp = env;
    let mut s = handoff.env_string();
    s.pop();
    envp.push(CString::new(s).context("the hand-off has a NUL byte")?);
    let argv: Vec<CString> = plan
        .argv
        .iter()
        .map(|a| CString::new(a.clone()))
        .collect::<Result<_, _>>()
        .context("argument contains a NUL byte")?;
    let program = CString::new(runtime.into_os_string().into_vec())?;
    let host_cwd = CString::new(cfg.view.to_host(&cfg.cwd))
        .context("working directory contains a NUL byte")?;
    // The guardian takes the guests down if sproot is killed; it knows
    // them by the shared page they map.
    let _guard = match &shared {
        Ok(page) => guardian(&page.0),
        _ => None,
    };
    let ipc = broker.map(|b| (b, crate::ext::sysvipc::SysvIpc::new(&cfg.tmp_dir)));
    // A guest process that calls ptrace is traced from then on
    // (tracer/adopt.rs), by the ptrace engine without seccomp.
    let fallback = match &shared {
        Ok(page) => match crate::tracer::adopt::Requests::serve(&page.0) {
            Ok(requests) => Some(Fallback {
                cfg,
                loader: loader.to_path_buf(),
                requests,
                moves: crate::tracer::adopt::WindowMoves::new((lo, hi), filter),
            }),
            Err(e) => {
                log::info!("no tracer for guest ptrace: {e:#}");
                None
            }
        },
        Err(_) => None,
    };
    let status = start_and_wait(
        &program,
        &argv,
        &envp,
        &host_cwd,
        cfg.kill_on_exit,
        ipc,
        fallback,
    );
    if let (Some(dest), Ok(page)) = (&cfg.stats, &shared) {
        report_stats(&page.0, dest);
    }
    status
}

/// A process outside the guest's tree that waits for sproot to end (the
/// write end of a pipe only sproot holds, returned here, closes), then
/// kills every process that still maps the run's shared page `page`: the
/// guests, if sproot was killed (a normal end waits for them all first).
fn guardian(page: &Path) -> Option<std::os::fd::OwnedFd> {
    use crate::tracer::spawn::new_process as fork;
    use nix::unistd::ForkResult;
    let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
    let marker = page.as_os_str().as_bytes().to_vec();
    // SAFETY: sproot is single-threaded here; the child forks again and
    // exits at once, and the grandchild only reads, scans /proc and kills.
    match unsafe { fork() }.ok()? {
        ForkResult::Child => {
            // SAFETY: as above.
            if let Ok(ForkResult::Child) = unsafe { fork() } {
                drop(write_end);
                for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGTSTP, libc::SIGHUP] {
                    // SAFETY: ignoring a signal takes no pointers.
                    unsafe { libc::signal(sig, libc::SIG_IGN) };
                }
                let mut byte = [0u8; 1];
                while let Err(nix::errno::Errno::EINTR) =
                    nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&read_end), &mut byte)
                {
                }
                for _ in 0..100 {
                    if kill_mapping(&marker) == 0 {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                let _ = std::fs::remove_file(std::ffi::OsStr::from_bytes(&marker));
            }
            // SAFETY: _exit never returns.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            let _ = nix::sys::wait::waitpid(child, None);
            Some(write_end)
        }
    }
}

/// SIGKILL to every process that maps `marker`: how many there were.
fn kill_mapping(marker: &[u8]) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut killed = 0;
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(maps) = std::fs::read(format!("/proc/{pid}/maps")) else {
            continue;
        };
        if maps.windows(marker.len()).any(|w| w == marker) {
            // SAFETY: kill(2) takes no pointers.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed += 1;
        }
    }
    killed
}

/// `--kill-on-exit`: SIGKILL to every child of sproot; their own children
/// come back to sproot (its subreaper) and are killed in turn as the wait
/// goes on.
pub(crate) fn kill_children() {
    let me = std::process::id().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1));
        if ppid == Some(me.as_str()) {
            // SAFETY: kill(2) takes no pointers.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// `--stats`: the counts the guests kept in the shared state, written
/// where `dest` says (`-`: stderr), in the ptrace engine's layout.
fn report_stats(shared: &Path, dest: &str) {
    use std::os::unix::fs::FileExt;
    let mut b = [0u8; 16];
    let read = std::fs::File::open(shared).and_then(|f| f.read_exact_at(&mut b, 16));
    if let Err(e) = read {
        log::error!("--stats: read {}: {e}", shared.display());
        return;
    }
    let word = |i: usize| u64::from_ne_bytes(b[8 * i..8 * i + 8].try_into().unwrap_or_default());
    let text = format!(
        "sproot stats:\n  {:<22} inproc\n  {:<22} 0\n  {:<22} {}\n  {:<22} {}\n",
        "engine",
        "stops",
        "translated",
        word(0),
        "exec",
        word(1)
    );
    if dest == "-" {
        eprint!("{text}");
    } else if let Err(e) = std::fs::write(dest, text) {
        log::error!("write stats to {dest}: {e}");
    }
}

/// The extensions' part of the hand-off: the first process's fake
/// credentials (`-0`/`-i`), the settings the runtime applies.
fn handoff_ext(cfg: &Config) -> sproot_core::inproc::Ext {
    let e = &cfg.ext;
    sproot_core::inproc::Ext {
        creds: e
            .fake_id
            .map(|(uid, gid)| sproot_core::ext::fake_id::Creds::new(uid, gid)),
        real: (
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        ),
        persist: e.persist_ownership,
        symlink_sizes: e.symlink_sizes,
        uname: e.fake_id.is_some() || e.kernel_release.is_some(),
        hwcap: e.kernel_release.as_ref().and_then(|k| k.hwcap),
        link2symlink: e.link2symlink,
        l2s_dir: cfg
            .l2s_dir
            .as_ref()
            .map(|d| d.as_os_str().as_bytes().to_vec()),
        hide: e.hide_proot,
        points: cfg.view.lists_points(),
        ports: e.ports.clone(),
        stats: cfg.stats.is_some(),
    }
}

/// The run's shared state (`Handoff::shared`), removed at the end.
struct SharedPage(std::path::PathBuf);

impl SharedPage {
    /// A new file of `MappedState`'s size (sparse), with `uname`'s fields
    /// as the run starts with them.
    fn new(dir: &Path, uname: &sproot_core::ext::kernel_release::Uname) -> Result<SharedPage> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = dir.join(format!(
            "sproot-names-{}-{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("create {}", path.display()))?;
        let page = SharedPage(path);
        let len = sproot_core::shared::mapped::BYTES;
        f.set_len(len as u64)
            .with_context(|| format!("size {}", page.0.display()))?;
        crate::tracer::adopt::SharedMap::open(&page.0)?
            .state()
            .init_uname(uname);
        Ok(page)
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What the launcher needs to become the tracer of the processes that ask
/// for one.
struct Fallback<'a> {
    cfg: &'a Config,
    loader: std::path::PathBuf,
    requests: crate::tracer::adopt::Requests,
    moves: crate::tracer::adopt::WindowMoves,
}

/// Fork, start the runtime in the child, and wait, as the ptrace engine
/// does, for every guest process: sproot is their subreaper, so that the
/// ones whose parent exits come back to it. Its status is the first
/// process's (128 + the signal that killed it). With `kill_on_exit`, the
/// others are killed when the first one exits.
fn start_and_wait(
    program: &CString,
    argv: &[CString],
    envp: &[CString],
    cwd: &CString,
    kill_on_exit: bool,
    ipc: Option<(ipc::Broker, crate::ext::sysvipc::SysvIpc)>,
    mut fallback: Option<Fallback>,
) -> Result<i32> {
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes no pointers.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        log::warn!(
            "cannot wait for orphaned guest processes: {}",
            nix::errno::Errno::last()
        );
    }
    use crate::tracer::spawn::new_process as fork;
    use nix::unistd::ForkResult;
    let argv_p: Vec<*const libc::c_char> = argv
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let envp_p: Vec<*const libc::c_char> = envp
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    // SAFETY: the child only calls async-signal-safe functions (signal,
    // chdir, execve, write, _exit) on memory prepared before the fork.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            // SAFETY: NUL-terminated strings and NULL-terminated arrays
            // that live until execve.
            unsafe {
                // Rust's runtime ignores SIGPIPE in sproot; the guest starts
                // with it at its default, as from a shell.
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                if libc::chdir(cwd.as_ptr()) != 0 {
                    let m = b"sproot error: cannot enter the working directory\n";
                    libc::write(2, m.as_ptr().cast(), m.len());
                    libc::_exit(126);
                }
                libc::execve(program.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr());
                let m = b"sproot error: cannot start the runtime\n";
                libc::write(2, m.as_ptr().cast(), m.len());
                libc::_exit(126);
            }
        }
        ForkResult::Parent { child } => {
            // After the fork: the child of a threaded process could find a
            // lock held.
            let _serving = match ipc {
                Some((b, ns)) => Some(b.serve(ns)?),
                None => None,
            };
            crate::tracer::signals::install(child.as_raw());
            let mut first = None;
            // Raw statuses: a real-time signal has no name in nix's enum.
            loop {
                if fallback.as_ref().is_some_and(|f| f.requests.pending())
                    && let Some(f) = fallback.take()
                {
                    // From now on this process is the tracer of the ones
                    // that ask, and waits for every process as it did.
                    let mut tracer = crate::tracer::Tracer::adopting(
                        f.cfg, f.loader, child, first, f.requests, f.moves,
                    );
                    return tracer.run();
                }
                let mut status = 0;
                // SAFETY: waitpid(2) writes the status into a local int.
                let r = unsafe { libc::waitpid(-1, &mut status, 0) };
                if r < 0 {
                    match nix::errno::Errno::last() {
                        nix::errno::Errno::EINTR => continue,
                        nix::errno::Errno::ECHILD => break,
                        e => bail!("wait for the guest: {e}"),
                    }
                }
                let code = if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else if libc::WIFSIGNALED(status) {
                    128 + libc::WTERMSIG(status)
                } else {
                    continue;
                };
                if r == child.as_raw() {
                    crate::tracer::signals::forget_first();
                    first = Some(code);
                }
                // Orphans come back to sproot as their parents die.
                if kill_on_exit && first.is_some() {
                    kill_children();
                }
            }
            first.context("the first guest process was not seen to exit")
        }
    }
}
