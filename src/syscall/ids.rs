//! Fake ids (`-0`, `-i`) and the fake `uname` (`-k`) at syscall entry.
//!
//! The credential calls are emulated against the tracee's [`Creds`]; calls
//! that need root succeed while the fake euid is 0: `chown` is recorded
//! (and shown by later stats) instead of run, `EPERM` from `chmod`, `mknod`,
//! `capset`, `sethostname` becomes success, `trusted.*`/`security.*`
//! extended attributes are kept by sproot (see [`super::xattr`]), and
//! permission bits that would stop root are lifted for the duration of an
//! `open`. Every error root would get is the kernel's own: the emulations
//! check flags as the kernel does ([`super::flags`]) and take path and fd
//! errors from the host kernel's lookup of the same file.

use super::exit_hook::ExitHook;
use super::{Ctx, Named, Outcome};
use crate::arch::sys;
use nix::errno::Errno;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The extended attribute `--persist-ownership` keeps owners in.
pub const OWNER_XATTR: &str = "user.sproot.owner";

/// The owner stored in a file's `user.sproot.owner`, if any.
pub fn stored_owner(host: &std::path::Path) -> Option<(u32, u32)> {
    let v = crate::host::getxattr(host, OWNER_XATTR)?;
    let s = std::str::from_utf8(&v).ok()?;
    let (u, g) = s.trim().split_once(':')?;
    Some((u.parse().ok()?, g.parse().ok()?))
}

/// Record a fake `chown`; `-1` keeps the current (fake) owner.
fn chown(
    env: &super::Env,
    named: &Named,
    follow: bool,
    (uid, gid): (u32, u32),
    shown: &dyn Fn(u32, u32) -> (u32, u32),
) -> Result<i64, Errno> {
    let host = named.host.as_path();
    let st = if follow {
        nix::sys::stat::stat(host)
    } else {
        nix::sys::stat::lstat(host)
    }
    .map_err(|e| named.err(e))?;
    let key = (st.st_dev, st.st_ino);
    let (cur_uid, cur_gid) = env
        .shared
        .owner(key)
        .unwrap_or_else(|| shown(st.st_uid, st.st_gid));
    let uid = if uid == u32::MAX { cur_uid } else { uid };
    let gid = if gid == u32::MAX { cur_gid } else { gid };
    env.shared.set_owner(key, (uid, gid));
    if env.ext.persist_ownership {
        let value = format!("{uid}:{gid}");
        // Symlinks cannot carry user xattrs: their owner lasts the run.
        if let Err(e) = crate::host::setxattr(host, OWNER_XATTR, value.as_bytes(), follow)
            && e != Errno::EPERM
        {
            log::warn!("--persist-ownership: {}: {e}", host.display());
        }
    }
    Ok(0)
}

/// A fake root's work at a call's exit (besides putting back the modes
/// lifted for it, done at every exit stop of the thread).
#[derive(Debug, PartialEq, Eq)]
pub enum FakeRootExit {
    /// `EPERM` becomes success.
    EpermIsSuccess,
    /// Only the modes to put back.
    RestoreModes,
}

/// `-0`/`-i` (fake credentials, root's view of modes and extended
/// attributes) and `-k` (`uname`).
pub struct FakeIds;

impl super::extension::Extension for FakeIds {
    fn name(&self) -> &'static str {
        "fake ids"
    }

    fn enter(&self, ctx: &mut Ctx) -> Result<Option<Outcome>, Errno> {
        enter(ctx)
    }

    fn exit(&self, ctx: &mut Ctx, hook: &ExitHook) -> bool {
        // Modes lifted for this call (whatever the hook), put back.
        ctx.env.restore.borrow_mut().restore(ctx.pid.as_raw());
        if matches!(
            hook.of::<FakeRootExit>(),
            Some(FakeRootExit::EpermIsSuccess)
        ) && ctx.regs.ret() == -(Errno::EPERM as i64)
        {
            ctx.regs.set_ret(0);
            return true;
        }
        false
    }
}

/// Fake root: the real user's own modes must not stop it. Parents get
/// their write bit before a call that adds or removes a name; after an
/// EACCES, the directories on the way get their search bit and the call is
/// handled again (by `handle`), the parents (now within reach) getting
/// their write bit then. Modes are put back when the call is over.
pub fn with_lifted_modes(ctx: &mut Ctx, handle: fn(&mut Ctx) -> Outcome) -> Outcome {
    let original = ctx.regs;
    let mut lifted = lift_parents(ctx);
    let mut out = handle(ctx);
    if matches!(out, Outcome::Emulated(e) if e == -(Errno::EACCES as i64)) {
        ctx.regs = original;
        let more = lift_search(ctx);
        if !more.is_empty() {
            lifted.extend(more);
            // A parent that could not be looked at before can be now.
            lifted.extend(lift_parents(ctx));
            out = handle(ctx);
        }
    }
    if lifted.is_empty() {
        return out;
    }
    let tid = ctx.pid.as_raw();
    match out {
        // Done by the tracer, or never back to this call: put back now.
        Outcome::Emulated(_) | Outcome::Exec(_) => {
            restore_now(lifted);
            out
        }
        Outcome::Pass | Outcome::Rewritten => {
            ctx.env.restore.borrow_mut().insert(tid, lifted);
            Outcome::WithExit {
                rewritten: matches!(out, Outcome::Rewritten),
                hook: ExitHook::extension(FakeRootExit::RestoreModes),
            }
        }
        // Its exit stop comes: the modes are put back there.
        Outcome::WithExit { .. } => {
            ctx.env.restore.borrow_mut().insert(tid, lifted);
            out
        }
    }
}

/// Handle a call of the fake-id or uname family; `None` if the registers
/// hold another syscall.
pub fn enter(ctx: &mut Ctx) -> Result<Option<Outcome>, Errno> {
    let env = ctx.env;
    let nr = ctx.sysno();
    if nr == sys::SYS_uname {
        let names = env.shared.uname();
        if names == crate::ext::kernel_release::Uname::default() {
            return Ok(None);
        }
        let mut buf = crate::host::uname_bytes()?;
        names.apply(&mut buf);
        let addr = ctx.arg(0);
        ctx.to_guest(addr, &buf)?;
        return Ok(Some(Outcome::Emulated(0)));
    }
    let Some(creds) = ctx.creds.take() else {
        return Ok(None);
    };
    let answered = sproot_core::handler::ids::credentials(ctx, &mut *creds);
    ctx.creds = Some(creds);
    if let Some(r) = answered {
        return Ok(Some(super::outcome_of(r?)));
    }
    let Some(c) = ctx.creds.as_deref() else {
        return Ok(None);
    };
    let (root, fs_root) = (c.is_root(), c.is_fs_root());
    let v = match nr {
        // Ownership changes while root: recorded, shown by later stats.
        sys::SYS_chown | sys::SYS_lchown | sys::SYS_fchownat | sys::SYS_fchown if root => {
            let call = ctx.call();
            if ctx.invalid_flags() {
                return Err(Errno::EINVAL);
            }
            let (named, follow) = match (call.fd(), call.entry.paths().first()) {
                (Some(fd), _) => {
                    // fchown needs an fd opened for I/O: not O_PATH.
                    if fd < 0 || ctx.host.fd_is_o_path(ctx.pid.as_raw(), fd)? {
                        return Err(Errno::EBADF);
                    }
                    (ctx.named_fd(fd)?, true)
                }
                (None, Some(path)) => (ctx.named_path(&call, path)?, call.follows(path)),
                (None, None) => return Err(Errno::ENOSYS),
            };
            let (uid, gid) = call.owner().ok_or(Errno::ENOSYS)?;
            let real = env.real_ids;
            let shown = |u, g| c.stat_owner(real.0, real.1, u, g);
            chown(env, &named, follow, (uid, gid), &shown)?
        }
        // Root may read and write what the real user owns regardless of
        // its mode bits: access checks pass for existing files.
        sys::SYS_access | sys::SYS_faccessat | sys::SYS_faccessat2 if fs_root => {
            let call = ctx.call();
            let mode = call.access_mode().unwrap_or(0);
            if ctx.invalid_flags() {
                return Err(Errno::EINVAL);
            }
            let Some(path) = call.entry.paths().first() else {
                return Err(Errno::ENOSYS);
            };
            let follow = call.follows(path);
            let named = ctx.named_path(&call, path)?;
            let st = if follow {
                nix::sys::stat::stat(&named.host)
            } else {
                nix::sys::stat::lstat(&named.host)
            }
            .map_err(|e| named.err(e))?;
            let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
            if mode & libc::X_OK as u32 != 0 && !is_dir && st.st_mode & 0o111 == 0 {
                return Err(Errno::EACCES);
            }
            0
        }
        // EPERM becomes success for root-only operations.
        sys::SYS_chmod
        | sys::SYS_fchmod
        | sys::SYS_fchmodat
        | sys::SYS_fchmodat2
        | sys::SYS_mknod
        | sys::SYS_mknodat
        | sys::SYS_capset
            if root =>
        {
            return eperm_is_success(ctx).map(Some);
        }
        // The names are the run's own (no UTS namespace is changed): later
        // `uname` calls of every guest report them.
        sys::SYS_sethostname | sys::SYS_setdomainname if root => {
            let len = ctx.arg(1) as i64;
            if !(0..=64).contains(&len) {
                return Err(Errno::EINVAL);
            }
            let mut name = vec![0u8; len as usize];
            ctx.read(ctx.arg(0), &mut name).map_err(|_| Errno::EFAULT)?;
            if nr == sys::SYS_sethostname {
                env.shared.set_nodename(&name)?;
            } else {
                env.shared.set_domainname(&name)?;
            }
            0
        }
        // The extended-attribute calls (the table says which).
        _ if root && ctx.entry().is_some_and(|e| e.xattr.is_some()) => {
            return match sproot_core::handler::xattr::enter(ctx.core())? {
                Some(o) => Ok(Some(super::outcome_of(o))),
                None => Ok(None),
            };
        }
        sys::SYS_open | sys::SYS_openat if fs_root => {
            return Ok(open_as_root(ctx));
        }
        _ => return Ok(None),
    };
    Ok(Some(Outcome::Emulated(v)))
}

/// Translate paths as usual, and turn `EPERM` into success at the exit.
fn eperm_is_success(ctx: &mut Ctx) -> Result<Outcome, Errno> {
    Ok(Outcome::WithExit {
        rewritten: translate_as_usual(ctx)?,
        hook: ExitHook::extension(FakeRootExit::EpermIsSuccess),
    })
}

/// Translate a path call's paths as the table says; whether the registers
/// changed.
fn translate_as_usual(ctx: &mut Ctx) -> Result<bool, Errno> {
    Ok(match ctx.entry().map(|e| e.kind) {
        Some(super::table::Kind::Paths(args)) => super::translate_paths(ctx, args)?.rewrites(),
        _ => false,
    })
}

/// `open` while root: if the real user owns the file but its mode bits
/// forbid the access, add the owner bits for the duration of the call.
fn open_as_root(ctx: &mut Ctx) -> Option<Outcome> {
    let call = ctx.call();
    let flags = call.flags();
    let (host, _) = ctx.named(&call, &call.entry.path_arg(0)?).ok()?;
    let host = crate::fs::bytes_to_path(host);
    let st = nix::sys::stat::stat(&host).ok()?;
    if st.st_uid != nix::unistd::getuid().as_raw() {
        return None;
    }
    let acc = flags & libc::O_ACCMODE as u64;
    let mut need = 0;
    if acc == libc::O_RDONLY as u64 || acc == libc::O_RDWR as u64 {
        need |= 0o400;
    }
    if acc == libc::O_WRONLY as u64 || acc == libc::O_RDWR as u64 {
        need |= 0o200;
    }
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        need |= 0o100;
    }
    let mode = st.st_mode & 0o7777;
    if mode & need == need {
        return None;
    }
    let lifted = nix::sys::stat::Mode::from_bits_truncate(mode | need);
    if nix::sys::stat::fchmodat(
        None,
        &host,
        lifted,
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .is_err()
    {
        return None;
    }
    // Translate as usual; the mode is put back at the exit.
    let rewritten = translate_as_usual(ctx).unwrap_or(false);
    ctx.env
        .restore
        .borrow_mut()
        .insert(ctx.pid.as_raw(), vec![(host, mode)]);
    Some(Outcome::WithExit {
        rewritten,
        hook: ExitHook::extension(FakeRootExit::RestoreModes),
    })
}

/// Modes lifted for fake root, to put back when the call is over, by the
/// thread that made the call (a thread has one call in flight).
#[derive(Default)]
pub struct Restores {
    pending: HashMap<i32, Vec<(PathBuf, u32)>>,
}

impl Restores {
    /// Remember `lifted` (path, original mode) for thread `tid`, to put
    /// back at the exit of its call.
    pub fn insert(&mut self, tid: i32, lifted: Vec<(PathBuf, u32)>) {
        self.pending.entry(tid).or_default().extend(lifted);
    }

    /// Put back the modes lifted for thread `tid`'s call, deepest first.
    pub fn restore(&mut self, tid: i32) {
        if let Some(lifted) = self.pending.remove(&tid) {
            put_back(lifted);
        }
    }
}

fn put_back(lifted: Vec<(PathBuf, u32)>) {
    for (path, mode) in lifted.into_iter().rev() {
        let mode = nix::sys::stat::Mode::from_bits_truncate(mode);
        let _ = nix::sys::stat::fchmodat(
            None,
            &path,
            mode,
            nix::sys::stat::FchmodatFlags::NoFollowSymlink,
        );
    }
}

/// Add the owner bits `need` to `dir` for one call if the real user owns it
/// and they are missing; `lifted` records what to put back. `false` when
/// `dir` cannot be looked at (its parent is not searchable, or it is gone).
fn lift(dir: &Path, need: u32, lifted: &mut Vec<(PathBuf, u32)>) -> bool {
    let Ok(st) = nix::sys::stat::lstat(dir) else {
        return false;
    };
    let mode = st.st_mode & 0o7777;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR
        || st.st_uid != nix::unistd::getuid().as_raw()
        || mode & need == need
    {
        return true;
    }
    let to = nix::sys::stat::Mode::from_bits_truncate(mode | need);
    if nix::sys::stat::fchmodat(
        None,
        dir,
        to,
        nix::sys::stat::FchmodatFlags::NoFollowSymlink,
    )
    .is_ok()
    {
        lifted.push((dir.to_path_buf(), mode));
    }
    true
}

/// The host paths of a call's path arguments, taken lexically (as the
/// kernel would walk them, symlinks aside).
fn lexical_hosts(ctx: &Ctx) -> Vec<PathBuf> {
    let Some(super::table::Kind::Paths(args)) = ctx.entry().map(|e| e.kind) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for a in args {
        let Ok(guest) = ctx.read_path(a.path) else {
            continue;
        };
        if guest.is_empty() {
            continue;
        }
        let mut full = if guest[0] == b'/' {
            Vec::new()
        } else {
            match ctx.base_dir(a.dirfd) {
                Ok(b) => b,
                Err(_) => continue,
            }
        };
        full.push(b'/');
        full.extend_from_slice(&guest);
        out.push(crate::fs::bytes_to_path(
            ctx.env.view.to_host(&crate::fs::normalize_lexical(&full)),
        ));
    }
    out
}

/// Root is not stopped by modes: before a call that adds or removes a name,
/// the parent directories the real user owns get their owner's write and
/// search bits for the duration of the call.
pub fn lift_parents(ctx: &Ctx) -> Vec<(PathBuf, u32)> {
    let nr = ctx.sysno();
    let creates = sproot_core::namespace::op_of(&ctx.call()).is_some()
        || nr == sys::SYS_creat
        || (nr == sys::SYS_open && ctx.arg(1) & libc::O_CREAT as u64 != 0)
        || (nr == sys::SYS_openat && ctx.arg(2) & libc::O_CREAT as u64 != 0);
    let mut lifted = Vec::new();
    if creates {
        for host in lexical_hosts(ctx) {
            if let Some(parent) = host.parent() {
                lift(parent, 0o300, &mut lifted);
            }
        }
    }
    lifted
}

/// After a call failed with `EACCES`: every directory the real user owns on
/// the way to the call's paths gets its owner's search bit (from the top
/// down, so that each can be looked at), for the duration of the call.
pub fn lift_search(ctx: &Ctx) -> Vec<(PathBuf, u32)> {
    let mut lifted = Vec::new();
    for host in lexical_hosts(ctx) {
        let Some(parent) = host.parent() else {
            continue;
        };
        let dirs: Vec<&Path> = parent.ancestors().collect();
        for dir in dirs.into_iter().rev() {
            if !lift(dir, 0o100, &mut lifted) {
                break;
            }
        }
    }
    lifted
}

/// Put lifted modes back now (the call was emulated by the tracer).
pub fn restore_now(lifted: Vec<(PathBuf, u32)>) {
    put_back(lifted);
}
