//! Syscall handlers: what happens at a trapped syscall's entry.
//!
//! The table in [`table`] says what each syscall needs; [`enter`] reads the
//! tracee's arguments, translates guest paths to host paths (writing new
//! strings below the stack pointer), or emulates the syscall entirely.

mod ctx;
pub mod dirents;
pub mod exit_hook;
pub mod extension;
pub mod extension_list;
pub mod ids;
pub mod l2s;
pub mod net;
mod openat2;
pub mod procfile;
pub mod restart;
pub mod stat_rewrite;
pub mod table;
pub mod trapped;
mod userns;
pub mod xattr;

pub use ctx::{Ctx, Memory, Named, TraceeMemory};

use crate::arch::sys;
use crate::exec::{ExecPlan, ExecResolver, plan_exec};
use crate::fs::{AsHostPath, GuestView, ProcContext};
use nix::errno::Errno;
use sproot_core::namespace;
use std::cell::RefCell;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use table::{Entry, Follow, Kind, PathArg};

const PATH_MAX: usize = 4096;

/// What the tracer must do after a handler ran at a syscall's entry: the
/// core's decision, with this backend's exit work (`ExitHook`, given back to
/// [`exit`] at the exit stop) and exec plan (kept until the exec event, or
/// the exit stop if the exec fails).
pub type Outcome = sproot_core::decision::Decision<exit_hook::ExitHook, Box<ExecPlan>>;

/// The configuration handlers read and the run's state they share, built
/// once by the tracer.
pub struct Env<'a> {
    pub view: &'a GuestView,
    /// Host path of the extracted exec loader.
    pub loader: PathBuf,
    /// The PRoot extensions in use.
    pub ext: &'a crate::config::Ext,
    /// Fake `chown`s recorded while fake root.
    pub owners: RefCell<ids::Owners>,
    /// Fake root's `trusted.*`/`security.*` extended attributes.
    pub xattrs: RefCell<crate::ext::fake_xattr::FakeXattrs>,
    /// Modes lifted for an `open` by fake root, to put back at its exit.
    pub restore: RefCell<ids::Restores>,
    /// `-k`: the fake `uname`.
    pub kernel_release: Option<&'a crate::ext::kernel_release::KernelRelease>,
    /// The real ids of the user running sproot.
    pub real_ids: (u32, u32),
    /// `-l`: where intermediates and final files go (`PROOT_L2S_DIR`).
    pub l2s_dir: Option<&'a Path>,
    /// What `uname` reports: `-k`'s fields and names set by a fake root.
    pub uname: RefCell<crate::ext::kernel_release::Uname>,
    /// `-n`: ports guests asked for and the ones they got.
    pub net: RefCell<crate::ext::net::NetCoop>,
    /// The extensions in use, in order.
    pub extensions: extension_list::Extensions,
}

impl<'a> Env<'a> {
    pub fn new(
        view: &'a GuestView,
        ext: &'a crate::config::Ext,
        loader: PathBuf,
        l2s_dir: Option<&'a Path>,
    ) -> Self {
        let kernel_release = ext.kernel_release.as_ref();
        Env {
            view,
            loader,
            ext,
            owners: Default::default(),
            xattrs: Default::default(),
            restore: Default::default(),
            kernel_release,
            real_ids: (
                nix::unistd::getuid().as_raw(),
                nix::unistd::getgid().as_raw(),
            ),
            l2s_dir,
            uname: RefCell::new(kernel_release.map(|k| k.uname.clone()).unwrap_or_default()),
            net: Default::default(),
            extensions: extension_list::Extensions::new(ext, view),
        }
    }
}

/// Handle the entry of a trapped syscall.
pub fn enter(ctx: &mut Ctx) -> Outcome {
    if ctx.creds.as_ref().is_some_and(|c| c.is_fs_root()) {
        // Fake root: the real user's own modes must not stop it.
        ids::with_lifted_modes(ctx, handle)
    } else {
        handle(ctx)
    }
}

/// Handle the exit stop of a syscall whose entry asked for one: the
/// extensions' exit hooks, then the table's. Whether the registers changed.
pub fn exit(ctx: &mut Ctx, hook: exit_hook::ExitHook) -> bool {
    let env = ctx.env;
    let changed = env.extensions.exit(ctx, &hook);
    match hook {
        exit_hook::ExitHook::Sockets(s) => net::exit(ctx, s) || changed,
        exit_hook::ExitHook::CloseFd(fd) => {
            procfile::close(fd);
            changed
        }
        exit_hook::ExitHook::NameFd { tgid, guest, host } => {
            if let Ok(fd) = i32::try_from(ctx.regs.ret())
                && fd >= 0
            {
                let used = crate::fs::NameUse::Fd(fd);
                env.view
                    .remember_name(tgid, ctx.pid.as_raw(), used, &guest, &host);
            }
            changed
        }
        _ => changed,
    }
}

/// The handlers, and the one conversion of their errors.
fn handle(ctx: &mut Ctx) -> Outcome {
    enter_handlers(ctx).unwrap_or_else(Outcome::err)
}

/// The handlers, in order: extensions first, then the table.
fn enter_handlers(ctx: &mut Ctx) -> Result<Outcome, Errno> {
    let env = ctx.env;
    let nr = ctx.sysno();
    if changes_namespace(nr) {
        // Cached directories and resolutions may stop being true.
        env.view.invalidate_cache();
    }
    if !env.extensions.is_empty()
        && let Some(o) = env.extensions.enter(ctx)?
    {
        return Ok(o);
    }
    let entry = match ctx.entry() {
        Some(e) => e,
        // Not a syscall that needs the tracer (seen only without seccomp).
        None if (0..=crate::seccomp::LAST_KNOWN_SYSNO as i64).contains(&nr) => {
            return Ok(Outcome::Pass);
        }
        // Trapped by the filter for unknown numbers (a newer kernel's
        // syscalls, x32): refuse rather than run it on host paths.
        None => return Err(Errno::ENOSYS),
    };
    run_table(ctx, entry)
}

/// The table's handler for a syscall of this kind.
fn run_table(ctx: &mut Ctx, entry: Entry) -> Result<Outcome, Errno> {
    match entry.kind {
        // A path that does not translate: bad flags were the kernel's
        // first answer.
        Kind::Paths(args) => translate_paths(ctx, args).map_err(|e| {
            if ctx.invalid_flags() {
                Errno::EINVAL
            } else {
                e
            }
        }),
        Kind::Native => Ok(Outcome::Pass),
        Kind::Getcwd => getcwd(ctx),
        Kind::Readlink {
            dirfd,
            path,
            buf,
            size,
        } => readlink(ctx, dirfd, path, buf, size),
        Kind::Exec { at } => exec(ctx, at),
        Kind::SockAddr { addr, len, bind } => sockaddr(ctx, addr, len, bind),
        Kind::SendMsg => sendmsg(ctx),
        Kind::SendMmsg => net::sendmmsg(ctx),
        Kind::AddrOut { addr, len } => net::addr_out(ctx, addr, len),
        Kind::RecvMsg => net::recvmsg(ctx),
        Kind::RecvMmsg => net::recvmmsg(ctx),
        Kind::BpfObj => bpf_obj(ctx),
        Kind::Chroot => chroot(ctx),
        Kind::OpenTree(path) => {
            if ctx.call().flags() & table::OPEN_TREE_CLONE != 0 {
                // A new mount: not emulated.
                Err(Errno::EPERM)
            } else {
                translate_paths(ctx, &[path])
            }
        }
        Kind::Openat2 => openat2::enter(ctx),
        Kind::Prctl => Ok(
            if ctx.arg(0) == libc::PR_SET_DUMPABLE as u64 && ctx.arg(1) == 0 {
                Outcome::Emulated(0)
            } else {
                Outcome::Pass
            },
        ),
        Kind::CloneFlags { clone } => userns::enter(ctx, clone),
        Kind::Refuse(e) => Err(e.into()),
    }
}

/// The syscalls whose path names a working directory or a descriptor: the
/// name the guest used is the one it reads back (see `fs::aliases`).
fn name_use(nr: i64) -> Option<crate::fs::NameUse> {
    match nr {
        sys::SYS_chdir => Some(crate::fs::NameUse::Cwd),
        sys::SYS_openat
        | sys::SYS_openat2
        | sys::SYS_open_tree
        | sys::SYS_open
        | sys::SYS_creat => Some(crate::fs::NameUse::Fd(-1)),
        _ => None,
    }
}

/// Syscalls after which a cached directory may be gone or be something else.
fn changes_namespace(nr: i64) -> bool {
    matches!(
        nr,
        sys::SYS_rename
            | sys::SYS_renameat
            | sys::SYS_renameat2
            | sys::SYS_unlink
            | sys::SYS_unlinkat
            | sys::SYS_rmdir
            | sys::SYS_symlink
            | sys::SYS_symlinkat
            | sys::SYS_link
            | sys::SYS_linkat
            | sys::SYS_mount
            | sys::SYS_umount2
            | sys::SYS_chroot
    )
}

fn translate_paths(ctx: &mut Ctx, args: &[PathArg]) -> Result<Outcome, Errno> {
    let env = ctx.env;
    let mut changed = false;
    // unlink, rename, mkdir...: the kernel's rules for special names and
    // binding points, on the canonical guest paths.
    let call = ctx.call();
    let op = namespace::op_of(&call);
    let moving = matches!(op, Some(namespace::Op::Move { .. }));
    let mut guests: [Option<Vec<u8>>; 2] = [None, None];
    // rename: the directories the kernel's parent lookups end in, and the
    // answers for a final `.`, `..` or `/`.
    let mut parents: [Option<Vec<u8>>; 2] = [None, None];
    let mut specials: [Option<Errno>; 2] = [None, None];
    let mut fd_name = None;
    for (index, a) in args.iter().enumerate() {
        let ptr = ctx.arg(a.path);
        if ptr == 0 {
            // NULL: the kernel answers EFAULT, or uses the fd alone.
            continue;
        }
        let guest = ctx.read_cstring(ptr, PATH_MAX)?;
        if guest.is_empty() {
            if call.empty_path(a) {
                continue;
            }
            return Err(Errno::ENOENT);
        }
        let follow = call.follows(a);
        // Both sides of a rename or link are resolved: they may lie in
        // different bindings.
        if guest[0] != b'/' && !moving && same_for_kernel(ctx, a.dirfd, &guest, follow) {
            continue;
        }
        let resolved = ctx.resolve_full(a.dirfd, &guest, follow)?;
        if let Some(used) = name_use(ctx.sysno()) {
            let host = resolved.host.as_slice();
            let (tgid, tid) = (ctx.proc.pid(), ctx.proc.tid());
            env.view
                .remember_name(tgid, tid, used, &resolved.guest, host);
            if used != crate::fs::NameUse::Cwd && env.view.is_ambiguous(host) {
                // Which descriptor it becomes is known at the exit.
                fd_name = Some(exit_hook::ExitHook::NameFd {
                    tgid,
                    guest: resolved.guest.clone(),
                    host: host.to_vec(),
                });
            }
        }
        if let Some(op) = op {
            let last = namespace::Last::of(&guest);
            if op == (namespace::Op::Move { link: false }) {
                // The kernel compares the parents' mounts first.
                if let Some(slot) = parents.get_mut(index) {
                    *slot = Some(kernel_parent(ctx, a.dirfd, &guest, last, &resolved.guest)?);
                }
                if let Some(slot) = specials.get_mut(index) {
                    *slot = namespace::last_errno(op, index, last).map(Errno::from);
                }
            } else if let Some(e) = namespace::last_errno(op, index, last) {
                return Err(e.into());
            }
            // Glue directories are read-only, like a mount point's parent
            // the guest may not write to (binding points have their rules).
            if env.view.in_glue(&resolved.host)
                && !env.view.is_binding_point(&resolved.guest)
                && !(op == namespace::Op::Move { link: true } && index == 0)
            {
                return Err(Errno::EACCES);
            }
            if let Some(slot) = guests.get_mut(index) {
                let linked = (op == namespace::Op::Move { link: true } && index == 0 && follow)
                    .then(|| followed_magic_target(env.view, resolved.host.as_path()))
                    .flatten();
                *slot = Some(linked.unwrap_or(resolved.guest));
            }
        }
        let host = if l2s::works_on_names(ctx.sysno()) {
            resolved.host
        } else {
            ctx.final_file(crate::fs::bytes_to_path(resolved.host), follow)
                .into_os_string()
                .into_vec()
        };
        let host = host.as_slice();
        let open_flags = (a.follow == Follow::OpenFlags).then(|| call.flags());
        if open_flags.is_some_and(|f| f & libc::O_CREAT as u64 != 0)
            && env.view.in_glue(host)
            && nix::sys::stat::lstat(host).is_err()
        {
            // No new file in a glue directory.
            return Err(Errno::EACCES);
        }
        if let Some(flags) = open_flags
            && let Some((path, outcome)) = procfile::open(env.view, host, flags)
            && let Some((flags_arg, _)) = call.entry.flags
        {
            let addr = ctx.push_cstr(&path)?;
            ctx.regs.set_arg(a.path, addr);
            // A magic link: O_NOFOLLOW would refuse it.
            ctx.regs
                .set_arg(flags_arg, ctx.arg(flags_arg) & !(libc::O_NOFOLLOW as u64));
            return Ok(outcome);
        }
        if host != guest.as_slice() {
            let addr = ctx.push_cstr(host)?;
            ctx.regs.set_arg(a.path, addr);
            changed = true;
        }
    }
    if let [Some(old), Some(new)] = &parents
        && env.view.binding_index(old) != env.view.binding_index(new)
    {
        return Err(Errno::EXDEV);
    }
    if let Some(e) = specials.into_iter().flatten().next() {
        return Err(e);
    }
    if let Some(op) = op
        && let Some(e) = namespace::binding_errno(env.view, op, &guests)
    {
        return Err(e.into());
    }
    Ok(match fd_name {
        Some(hook) => Outcome::WithExit {
            rewritten: changed,
            hook,
        },
        None if changed => Outcome::Rewritten,
        None => Outcome::Pass,
    })
}

/// `linkat(..., AT_SYMLINK_FOLLOW)` of a `/proc` magic link (as
/// `/proc/self/fd/N` of an `O_TMPFILE` file): the kernel links the file the
/// link leads to, so the binding that counts is that file's. Its guest
/// path, when it has one.
fn followed_magic_target(view: &GuestView, host: &Path) -> Option<Vec<u8>> {
    let host = host.as_os_str().as_bytes();
    crate::fs::parse_magic_link(host)?;
    let target = nix::fcntl::readlink(host).ok()?.into_vec();
    view.to_guest(&target)
}

/// The guest directory the kernel's lookup of all but the last component
/// of `path` ends in (`resolved`: the path's own canonical guest path): the
/// parent of a plain name, the root for `/`, the directory itself for a
/// final `.`, and for a final `..` the directory it climbs from.
fn kernel_parent(
    ctx: &Ctx,
    dirfd: Option<usize>,
    path: &[u8],
    last: namespace::Last,
    resolved: &[u8],
) -> Result<Vec<u8>, Errno> {
    use namespace::Last;
    Ok(match last {
        Last::Root => b"/".to_vec(),
        Last::Dot => resolved.to_vec(),
        Last::DotDot => {
            let end = path.iter().rposition(|&c| c != b'/').map_or(0, |i| i + 1);
            let from = &path[..end - 2];
            let from: &[u8] = if from.is_empty() { b"." } else { from };
            ctx.resolve_full(dirfd, from, true)?.guest
        }
        Last::Normal => {
            let cut = resolved.iter().rposition(|&c| c == b'/').unwrap_or(0);
            resolved[..cut.max(1)].to_vec()
        }
    })
}

/// The fast path for a relative path of one component (`name`, as `find`,
/// `ls` and `fts` use with a directory fd): the kernel's own lookup of it
/// in the directory, which the guest reached through translation, is
/// already the guest's — unless the directory holds a binding point, the
/// name is `.`/`..`, or it is a symlink to be followed (its target must
/// resolve inside the guest). Then nothing needs rewriting.
fn same_for_kernel(ctx: &Ctx, dirfd: Option<usize>, name: &[u8], follow: bool) -> bool {
    let env = ctx.env;
    if name.contains(&b'/') || name == b"." || name == b".." {
        return false;
    }
    let link = match ctx.dirfd(dirfd) {
        Some(fd) => format!("/proc/{}/fd/{fd}", ctx.pid.as_raw()),
        None => format!("/proc/{}/cwd", ctx.pid.as_raw()),
    };
    let Ok(dir) = std::fs::read_link(&link) else {
        return false;
    };
    let dir = dir.as_os_str().as_bytes();
    // Some /proc files are rewritten for the guest; glue is read-only.
    if dir.first() != Some(&b'/')
        || env.view.is_binding_parent(dir)
        || dir.starts_with(b"/proc/")
        || env.view.in_glue(dir)
        || env.view.is_ambiguous(dir)
    {
        return false;
    }
    // Under -l a name may be an emulated hard link (a symlink) even when
    // it is not followed: it must reach its final file.
    if follow || env.ext.link2symlink {
        let mut full = Vec::with_capacity(dir.len() + 1 + name.len());
        full.extend_from_slice(dir);
        full.push(b'/');
        full.extend_from_slice(name);
        if let Ok(st) = nix::sys::stat::lstat(full.as_slice())
            && st.st_mode & libc::S_IFMT == libc::S_IFLNK
        {
            return false;
        }
    }
    true
}

fn getcwd(ctx: &mut Ctx) -> Result<Outcome, Errno> {
    let pid = ctx.pid.as_raw();
    let cwd = ctx.env.view.dir_of(pid, None)?;
    if cwd.ends_with(b" (deleted)")
        && nix::sys::stat::stat(format!("/proc/{pid}/cwd").as_str())
            .map_or(true, |st| st.st_nlink == 0)
    {
        // The kernel's answer for a removed working directory.
        return Err(Errno::ENOENT);
    }
    let size = ctx.arg(1) as usize;
    if cwd.len() + 1 > size {
        return Err(Errno::ERANGE);
    }
    let mut out = cwd;
    out.push(0);
    let buf = ctx.arg(0);
    ctx.write(buf, &out)?;
    Ok(Outcome::Emulated(out.len() as i64))
}

fn readlink(
    ctx: &mut Ctx,
    dirfd: Option<usize>,
    path: usize,
    buf: usize,
    size: usize,
) -> Result<Outcome, Errno> {
    let bufsiz = ctx.arg(size) as i64;
    if bufsiz <= 0 {
        return Err(Errno::EINVAL);
    }
    let guest = ctx.read_path(path)?;
    let host = if guest.is_empty() {
        // readlinkat(fd, ""): the symlink the fd (O_PATH|O_NOFOLLOW) is.
        empty_path_symlink(ctx, dirfd)?
    } else {
        ctx.resolve(dirfd, &guest, false)?
    };
    if ctx.env.ext.link2symlink && crate::ext::link2symlink::member_group(&host).is_some() {
        // A "hard link" is a regular file to the guest.
        return Err(Errno::EINVAL);
    }
    let target = ctx
        .env
        .view
        .readlink_guest(ctx.proc, host.as_os_str().as_bytes())?;
    let n = target.len().min(bufsiz as usize);
    let addr = ctx.arg(buf);
    ctx.to_guest(addr, &target[..n])?;
    Ok(Outcome::Emulated(n as i64))
}

/// The host path of the symlink an fd of the tracee refers to, for
/// `readlinkat(fd, "")`; `ENOENT` when it is not a symlink (or AT_FDCWD).
fn empty_path_symlink(ctx: &Ctx, dirfd: Option<usize>) -> Result<PathBuf, Errno> {
    let fd = ctx.dirfd(dirfd).ok_or(Errno::ENOENT)?;
    let host = std::fs::read_link(ctx.fd_path(fd)?).map_err(|_| Errno::EBADF)?;
    match nix::sys::stat::lstat(host.as_path()) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => Ok(host),
        _ => Err(Errno::ENOENT),
    }
}

/// Resolves exec paths inside the guest for the exec planner.
struct ExecPaths<'a> {
    env: &'a Env<'a>,
    proc: &'a dyn ProcContext,
    /// Guest directory relative paths start from.
    base: Vec<u8>,
    /// `fexecve`: the program's (name, host path), already known.
    pinned: Option<(Vec<u8>, PathBuf)>,
}

impl ExecResolver for ExecPaths<'_> {
    fn resolve(&self, guest_path: &[u8]) -> Result<(Vec<u8>, PathBuf), Errno> {
        if guest_path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let base: &[u8] = if guest_path[0] == b'/' {
            b"/"
        } else {
            &self.base
        };
        if let Some((name, host)) = &self.pinned
            && name == guest_path
        {
            return Ok((name.clone(), host.clone()));
        }
        let r = self.env.view.resolve(self.proc, base, guest_path, true)?;
        if log::log_enabled!(log::Level::Debug) {
            log::debug!(
                "exec: {} -> {}",
                String::from_utf8_lossy(guest_path),
                r.host.as_path().display()
            );
        }
        if let Some(m) = crate::fs::parse_magic_link(&r.host)
            && matches!(m.kind, crate::fs::MagicKind::Fd(_))
        {
            // execve("/proc/self/fd/N"): the program is the fd's file.
            return program_of_fd_link(self.env.view, r.host.as_path());
        }
        Ok((r.guest, crate::fs::bytes_to_path(r.host)))
    }

    fn runner(&self) -> Option<&crate::exec::Runner> {
        self.env.ext.qemu.as_ref()
    }
}

thread_local! {
    /// The tracer's descriptors of programs run through a descriptor whose
    /// file has no path (a memfd, an unlinked file): the loader opens them
    /// as /proc/<tracer>/fd/<n>. The oldest are closed past a few.
    static HELD_PROGRAMS: std::cell::RefCell<std::collections::VecDeque<std::fs::File>> =
        const { std::cell::RefCell::new(std::collections::VecDeque::new()) };
}
const HELD_PROGRAMS_MAX: usize = 16;

/// The (guest name, host path) of the program a descriptor link
/// (`/proc/<pid>/fd/<n>`, a host path) refers to: its file when it has a
/// guest path, else a descriptor of it that the tracer holds.
fn program_of_fd_link(view: &GuestView, link: &Path) -> Result<(Vec<u8>, PathBuf), Errno> {
    let target = std::fs::read_link(link).map_err(|_| Errno::EBADF)?;
    let target = target.as_os_str().as_bytes().to_vec();
    let guest = view.to_guest(&target);
    if let Some(g) = &guest
        && !target.ends_with(b" (deleted)")
        && std::path::Path::new(std::ffi::OsStr::from_bytes(&target)).is_file()
    {
        return Ok((
            g.clone(),
            PathBuf::from(std::ffi::OsString::from_vec(target)),
        ));
    }
    let file = std::fs::File::open(link).map_err(|_| Errno::EACCES)?;
    let held = format!(
        "/proc/{}/fd/{}",
        std::process::id(),
        std::os::fd::AsRawFd::as_raw_fd(&file)
    );
    HELD_PROGRAMS.with(|h| {
        let mut h = h.borrow_mut();
        if h.len() >= HELD_PROGRAMS_MAX {
            h.pop_front();
        }
        h.push_back(file);
    });
    Ok((guest.unwrap_or(target), PathBuf::from(held)))
}

const MAX_ARGS: usize = 1 << 17;

fn read_argv(ctx: &Ctx, mut ptr: u64) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if ptr == 0 {
        return Ok(out);
    }
    loop {
        let p = ctx.read_u64(ptr)?;
        if p == 0 {
            return Ok(out);
        }
        out.push(ctx.read_cstring(p, 1 << 20)?);
        if out.len() > MAX_ARGS {
            return Err(Errno::E2BIG);
        }
        ptr += 8;
    }
}

fn exec(ctx: &mut Ctx, at: bool) -> Result<Outcome, Errno> {
    let env = ctx.env;
    let (dirfd, path_arg, argv_arg, envp_arg) = if at {
        (Some(0), 1, 2, 3)
    } else {
        (None, 0, 1, 2)
    };
    let mut filename = ctx.read_path(path_arg)?;
    let mut pinned = None;
    if at && filename.is_empty() && ctx.arg(4) & libc::AT_EMPTY_PATH as u64 != 0 {
        // fexecve: the program is the fd's file.
        let link = format!("/proc/{}/fd/{}", ctx.pid.as_raw(), ctx.arg(0) as i32);
        let (name, host) = program_of_fd_link(env.view, Path::new(&link))?;
        filename = name.clone();
        pinned = Some((name, host));
    }
    let base = if filename.first() == Some(&b'/') {
        b"/".to_vec()
    } else {
        ctx.base_dir(dirfd)?
    };
    let argv = read_argv(ctx, ctx.arg(argv_arg))?;
    let resolver = ExecPaths {
        env,
        proc: ctx.proc,
        base,
        pinned,
    };
    let plan = match plan_exec(&resolver, &filename, argv) {
        Ok(p) => p,
        Err(e) => {
            if let Some(msg) = &e.message {
                eprintln!("{msg}");
            }
            return Err(e.errno);
        }
    };
    let loader = ctx.push_cstr(env.loader.as_os_str().as_bytes())?;
    let envp = ctx.arg(envp_arg);
    let argv_ptr = if plan.argv_changed {
        let mut ptrs: Vec<u64> = Vec::with_capacity(plan.argv.len() + 1);
        for a in &plan.argv {
            ptrs.push(ctx.push_cstr(a)?);
        }
        ptrs.push(0);
        let bytes: Vec<u8> = ptrs.iter().flat_map(|p| p.to_ne_bytes()).collect();
        ctx.push(&bytes)?
    } else {
        ctx.arg(argv_arg)
    };
    ctx.regs.set_sysno(sys::SYS_execve);
    ctx.regs.set_arg(0, loader);
    ctx.regs.set_arg(1, argv_ptr);
    ctx.regs.set_arg(2, envp);
    Ok(Outcome::Exec(Box::new(plan)))
}

const SOCKADDR_UN_LEN: usize = 110;
const SUN_PATH_MAX: usize = 108;

/// If `addr` is an `AF_UNIX` address with a path, the translated address.
fn translate_sockaddr(
    ctx: &Ctx,
    addr: u64,
    len: usize,
    bind: bool,
) -> Result<Option<Vec<u8>>, Errno> {
    let env = ctx.env;
    if addr == 0 || len <= 2 {
        return Ok(None);
    }
    let mut buf = vec![0u8; len.min(SOCKADDR_UN_LEN)];
    ctx.read(addr, &mut buf)?;
    if let Some(port) = crate::ext::net::inet_port(&buf) {
        if !env.ext.ports.active() {
            return Ok(None);
        }
        let to = env.net.borrow().target(env.ext.ports.translate(port));
        if to == port {
            return Ok(None);
        }
        crate::ext::net::set_inet_port(&mut buf, to);
        return Ok(Some(buf));
    }
    let family = u16::from_ne_bytes([buf[0], buf[1]]);
    if family != libc::AF_UNIX as u16 || buf[2] == 0 {
        // Not a filesystem socket (abstract names start with NUL).
        return Ok(None);
    }
    let path: Vec<u8> = buf[2..].iter().take_while(|&&b| b != 0).copied().collect();
    let host = ctx.resolve(None, &path, !bind)?;
    if relative_is_native(ctx, &path, &host)? {
        // The kernel names the same file from the tracee's own cwd, and
        // reports the name as it was given, as in a chroot.
        return Ok(None);
    }
    let mut host = host.as_os_str().as_bytes().to_vec();
    if host.len() >= SUN_PATH_MAX {
        // Too long for sun_path: through a directory the tracer holds open.
        host = net::short_host_path(&host)?;
    }
    let host = host.as_slice();
    let mut out = Vec::with_capacity(2 + host.len() + 1);
    out.extend_from_slice(&buf[..2]);
    out.extend_from_slice(host);
    out.push(0);
    Ok(Some(out))
}

/// Whether the relative socket name `path`, resolved to `host`, names the
/// same file when the kernel takes it from the tracee's own cwd: its
/// resolution is the kernel's cwd followed by the name, lexically, so it
/// meets no symlink or binding on the way. `..` may only lead (from the
/// cwd's physical path, as the kernel climbs): after a symlink it would
/// climb from the link's target.
fn relative_is_native(ctx: &Ctx, path: &[u8], host: &Path) -> Result<bool, Errno> {
    if path.first() == Some(&b'/') {
        return Ok(false);
    }
    let mut names = path.split(|&c| c == b'/').skip_while(|&c| c == b"..");
    if names.any(|c| c == b"..") {
        return Ok(false);
    }
    let Ok(cwd) = std::fs::read_link(format!("/proc/{}/cwd", ctx.pid)) else {
        return Ok(false);
    };
    let joined = [cwd.as_os_str().as_bytes(), b"/", path].concat();
    Ok(crate::fs::normalize_lexical(&joined) == host.as_os_str().as_bytes())
}

fn sockaddr(ctx: &mut Ctx, addr_arg: usize, len_arg: usize, bind: bool) -> Result<Outcome, Errno> {
    let addr = ctx.arg(addr_arg);
    let len = ctx.arg(len_arg) as usize;
    if bind
        && ctx.env.ext.ports.netcoop
        && let Some(r) = netcoop_bind(ctx, ctx.arg(0) as i32, addr, len)
    {
        return r.map(Outcome::Emulated);
    }
    match translate_sockaddr(ctx, addr, len, bind)? {
        None => Ok(Outcome::Pass),
        Some(new) => {
            let at = ctx.push(&new)?;
            ctx.regs.set_arg(addr_arg, at);
            ctx.regs.set_arg(len_arg, new.len() as u64);
            Ok(Outcome::Rewritten)
        }
    }
}

/// `-n`: bind an inet socket for the guest, from the tracer (through a
/// duplicate of its descriptor): at the port asked for (after `-p`'s rules),
/// or at a free one when that one is in use, remembered so that connections
/// to the port asked for reach it. `None`: not an inet address, or the
/// kernel cannot lend the descriptor (before Linux 5.6): handled as usual.
fn netcoop_bind(ctx: &Ctx, fd: i32, addr: u64, len: usize) -> Option<Result<i64, Errno>> {
    let (env, pid) = (ctx.env, ctx.pid);
    use crate::ext::net::{inet_port, set_inet_port};
    use std::os::fd::AsFd;
    if addr == 0 || len > 128 {
        return None;
    }
    let mut buf = vec![0u8; len];
    ctx.read(addr, &mut buf).ok()?;
    let asked = env.ext.ports.translate(inet_port(&buf)?);
    if asked == 0 {
        return None;
    }
    let sock = match crate::host::pidfd_getfd(ctx.proc.pid(), false, fd) {
        Ok(s) => s,
        Err(Errno::EBADF) => return Some(Err(Errno::EBADF)),
        Err(e) => {
            log::debug!("netcoop: cannot borrow fd {fd} of {pid}: {e}");
            return None;
        }
    };
    set_inet_port(&mut buf, asked);
    Some(match crate::host::bind_raw(sock.as_fd(), &buf) {
        Ok(()) => Ok(0),
        Err(Errno::EADDRINUSE) => {
            set_inet_port(&mut buf, 0);
            crate::host::bind_raw(sock.as_fd(), &buf).and_then(|()| {
                let got = crate::host::sockname_raw(sock.as_fd())?;
                let got = inet_port(&got).ok_or(Errno::EINVAL)?;
                log::info!("netcoop: port {asked} is in use; bound {got} instead");
                env.net.borrow_mut().moved(asked, got);
                Ok(0)
            })
        }
        Err(e) => Err(e),
    })
}

fn sendmsg(ctx: &mut Ctx) -> Result<Outcome, Errno> {
    let msg = ctx.arg(1);
    if msg == 0 {
        return Ok(Outcome::Pass);
    }
    let mut hdr = [0u8; std::mem::size_of::<libc::msghdr>()];
    ctx.read(msg, &mut hdr)?;
    let (name, namelen) = net::parse_name(&hdr);
    match translate_sockaddr(ctx, name, namelen as usize, false)? {
        None => Ok(Outcome::Pass),
        Some(new) => {
            let at = ctx.push(&new)?;
            hdr[net::MSG_NAME].copy_from_slice(&at.to_ne_bytes());
            hdr[net::MSG_NAMELEN].copy_from_slice(&(new.len() as u32).to_ne_bytes());
            let new_msg = ctx.push(&hdr)?;
            ctx.regs.set_arg(1, new_msg);
            Ok(Outcome::Rewritten)
        }
    }
}

/// `bpf(BPF_OBJ_PIN | BPF_OBJ_GET, attr, size)`: `attr` starts with the
/// `u64` pointer to the path; the kernel is given a copy naming the host.
fn bpf_obj(ctx: &mut Ctx) -> Result<Outcome, Errno> {
    const BPF_OBJ_PIN: u64 = 6;
    const BPF_OBJ_GET: u64 = 7;
    let cmd = ctx.arg(0);
    let (attr, size) = (ctx.arg(1), (ctx.arg(2) as usize).min(4096));
    if !(cmd == BPF_OBJ_PIN || cmd == BPF_OBJ_GET) || attr == 0 || size < 8 {
        return Ok(Outcome::Pass);
    }
    let mut copy = vec![0u8; size];
    ctx.read(attr, &mut copy)?;
    let ptr = u64::from_ne_bytes(copy[0..8].try_into().map_err(|_| Errno::EFAULT)?);
    let guest = ctx.read_cstring(ptr, PATH_MAX)?;
    let host = ctx.resolve(None, &guest, cmd == BPF_OBJ_GET)?;
    let at = ctx.push_cstr(host.as_os_str().as_bytes())?;
    copy[0..8].copy_from_slice(&at.to_ne_bytes());
    let new = ctx.push(&copy)?;
    ctx.regs.set_arg(1, new);
    Ok(Outcome::Rewritten)
}

/// `chroot`: only to the guest's own root, and only for a (fake or real)
/// root user, as the kernel requires `CAP_SYS_CHROOT`.
fn chroot(ctx: &mut Ctx) -> Result<Outcome, Errno> {
    if ctx.euid() != 0 {
        return Err(Errno::EPERM);
    }
    let guest = ctx.read_path(0)?;
    let r = ctx.resolve_full(None, &guest, true)?;
    if !r.host.as_path().is_dir() {
        return Err(if r.host.as_path().exists() {
            Errno::ENOTDIR
        } else {
            Errno::ENOENT
        });
    }
    if r.guest == b"/" {
        // Already the guest's root: nothing to change.
        Ok(Outcome::Emulated(0))
    } else {
        log::warn!(
            "chroot to {} inside the guest is not supported",
            String::from_utf8_lossy(&r.guest)
        );
        Err(Errno::EPERM)
    }
}

#[cfg(test)]
mod tests;
