//! The path syscalls: each path argument becomes the host path the guest's
//! path names in its view (written into the scratch space), with the
//! kernel's answers for what a translated path would hide; `getcwd` and
//! `readlink`, answered from the view.

use super::{Ctx, ExitHook, Outcome};
use crate::Errno;
use crate::backend::SyscallRegs;
use crate::ext::link2symlink;
use crate::fs::{self, Kind as FileKind, NameUse};
use crate::namespace;
use crate::prelude::*;
use crate::sysno as sys;
use crate::table::{self, Follow, PathArg};

use super::ctx::PATH_MAX;

const O_ACCMODE: u64 = 3;
const O_RDONLY: u64 = 0;

/// The syscalls whose path names a working directory or a descriptor: the
/// name the guest used is the one it reads back (see `fs::aliases`).
fn name_use(nr: i64) -> Option<NameUse> {
    match nr {
        sys::SYS_chdir => Some(NameUse::Cwd),
        sys::SYS_openat
        | sys::SYS_openat2
        | sys::SYS_open_tree
        | sys::SYS_open
        | sys::SYS_creat => Some(NameUse::Fd(-1)),
        _ => None,
    }
}

/// Syscalls after which a cached directory may be gone or be something else.
pub fn changes_namespace(nr: i64) -> bool {
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

/// Translate the path arguments `args` of the call. A path that does not
/// translate gets its error, unless the kernel would have refused the
/// call's flags first (`EINVAL`).
pub fn translate<R: SyscallRegs>(ctx: &mut Ctx<R>, args: &[PathArg]) -> Result<Outcome, Errno> {
    translate_args(ctx, args).map_err(|e| {
        if ctx.invalid_flags() {
            Errno::EINVAL
        } else {
            e
        }
    })
}

fn translate_args<R: SyscallRegs>(ctx: &mut Ctx<R>, args: &[PathArg]) -> Result<Outcome, Errno> {
    let view = ctx.view;
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
            view.remember_name(tgid, tid, used, &resolved.guest, host);
            if used != NameUse::Cwd && view.is_ambiguous(host) {
                // Which descriptor it becomes is known at the exit.
                fd_name = Some(ExitHook::NameFd {
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
                    *slot = namespace::last_errno(op, index, last);
                }
            } else if let Some(e) = namespace::last_errno(op, index, last) {
                return Err(e);
            }
            // Glue directories are read-only, like a mount point's parent
            // the guest may not write to (binding points have their rules).
            if view.in_glue(&resolved.host)
                && !view.is_binding_point(&resolved.guest)
                && !(op == namespace::Op::Move { link: true } && index == 0)
            {
                return Err(Errno::EACCES);
            }
            if let Some(slot) = guests.get_mut(index) {
                let linked = (op == namespace::Op::Move { link: true } && index == 0 && follow)
                    .then(|| followed_magic_target(ctx, &resolved.host))
                    .flatten();
                *slot = Some(linked.unwrap_or(resolved.guest));
            }
        }
        let host = if link2symlink::works_on_names(ctx.sysno()) {
            resolved.host
        } else {
            ctx.final_file(resolved.host, follow)
        };
        let open_flags = (a.follow == Follow::OpenFlags).then(|| call.flags());
        if open_flags.is_some_and(|f| f & table::O_CREAT != 0)
            && view.in_glue(&host)
            && ctx.host.lstat_kind(&host).is_err()
        {
            // No new file in a glue directory.
            return Err(Errno::EACCES);
        }
        if let Some(flags) = open_flags
            && let Some((path, outcome)) = open_proc_file(ctx, &host, flags)
            && let Some((flags_arg, _)) = call.entry.flags
        {
            let addr = ctx.push_cstr(&path)?;
            ctx.regs.set_arg(a.path, addr);
            // A magic link: O_NOFOLLOW would refuse it.
            let flags = ctx.arg(flags_arg) & !table::O_NOFOLLOW;
            ctx.regs.set_arg(flags_arg, flags);
            return Ok(outcome);
        }
        if host != guest {
            let addr = ctx.push_cstr(&host)?;
            ctx.regs.set_arg(a.path, addr);
            changed = true;
        }
    }
    if let [Some(old), Some(new)] = &parents
        && view.binding_index(old) != view.binding_index(new)
    {
        return Err(Errno::EXDEV);
    }
    if let Some(e) = specials.into_iter().flatten().next() {
        return Err(e);
    }
    if let Some(op) = op
        && let Some(e) = namespace::binding_errno(view, op, &guests)
    {
        return Err(e);
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

/// If `host` is a `/proc` file whose text names host paths (`maps`,
/// `mountinfo`, ...; see [`fs::ProcFile`]) opened for reading (`flags`):
/// the path of a snapshot of the guest's view of it to open instead, and
/// the hook that gives the snapshot back at the open's exit. The guest's
/// descriptor reads back (`/proc/self/fd/<n>`) as the `/proc` path it
/// opened.
pub fn open_proc_file<R>(ctx: &Ctx<R>, host: &[u8], flags: u64) -> Option<(Vec<u8>, Outcome)> {
    let file = fs::ProcFile::of_host_path(host)?;
    if flags & O_ACCMODE != O_RDONLY {
        return None;
    }
    let text = ctx.host.read_file(host).ok()?;
    let guest = ctx.view.to_guest(host).unwrap_or_else(|| host.to_vec());
    match ctx.host.snapshot(&file.rewrite(ctx.view, &text), &guest) {
        Ok((path, handle)) => Some((
            path,
            Outcome::WithExit {
                rewritten: true,
                hook: ExitHook::CloseSnapshot(handle),
            },
        )),
        Err(e) => {
            log::warn!(
                "cannot give the guest its view of {:?}: {e:?}",
                String::from_utf8_lossy(host)
            );
            None
        }
    }
}

/// `linkat(..., AT_SYMLINK_FOLLOW)` of a `/proc` magic link (as
/// `/proc/self/fd/N` of an `O_TMPFILE` file): the kernel links the file the
/// link leads to, so the binding that counts is that file's. Its guest
/// path, when it has one.
fn followed_magic_target<R>(ctx: &Ctx<R>, host: &[u8]) -> Option<Vec<u8>> {
    fs::parse_magic_link(host)?;
    let target = ctx.host.readlink(host).ok()?;
    ctx.view.to_guest(&target)
}

/// The guest directory the kernel's lookup of all but the last component
/// of `path` ends in (`resolved`: the path's own canonical guest path): the
/// parent of a plain name, the root for `/`, the directory itself for a
/// final `.`, and for a final `..` the directory it climbs from.
fn kernel_parent<R: SyscallRegs>(
    ctx: &Ctx<R>,
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
fn same_for_kernel<R: SyscallRegs>(
    ctx: &Ctx<R>,
    dirfd: Option<usize>,
    name: &[u8],
    follow: bool,
) -> bool {
    let view = ctx.view;
    if name.contains(&b'/') || name == b"." || name == b".." {
        return false;
    }
    let link = match ctx.dirfd(dirfd) {
        Some(fd) => ctx.fd_link(fd),
        None => ctx.cwd_link(),
    };
    let Ok(dir) = ctx.host.readlink(&link) else {
        return false;
    };
    // Some /proc files are rewritten for the guest; glue is read-only.
    if dir.first() != Some(&b'/')
        || view.is_binding_parent(&dir)
        || dir.starts_with(b"/proc/")
        || view.in_glue(&dir)
        || view.is_ambiguous(&dir)
    {
        return false;
    }
    // Under -l a name may be an emulated hard link (a symlink) even when
    // it is not followed: it must reach its final file.
    if follow || ctx.link2symlink {
        let mut full = Vec::with_capacity(dir.len() + 1 + name.len());
        full.extend_from_slice(&dir);
        full.push(b'/');
        full.extend_from_slice(name);
        if ctx.host.lstat_kind(&full) == Ok(FileKind::Symlink) {
            return false;
        }
    }
    true
}

/// `getcwd(buf, size)`: the guest's cwd.
pub fn getcwd<R: SyscallRegs>(ctx: &mut Ctx<R>) -> Result<Outcome, Errno> {
    let cwd = ctx.view.dir_of(ctx.proc.tid(), None)?;
    if cwd.ends_with(b" (deleted)") && ctx.host.nlink(&ctx.cwd_link()).map_or(true, |n| n == 0) {
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

/// `readlink`/`readlinkat`: the guest's view of the link's target.
pub fn readlink<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
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
        ctx.resolve_full(dirfd, &guest, false)?.host
    };
    if ctx.link2symlink && ctx.host.link_final_file(&host).is_some() {
        // A "hard link" is a regular file to the guest.
        return Err(Errno::EINVAL);
    }
    let target = ctx.view.readlink_guest(ctx.proc, &host)?;
    let n = target.len().min(bufsiz as usize);
    let addr = ctx.arg(buf);
    ctx.to_guest(addr, &target[..n])?;
    Ok(Outcome::Emulated(n as i64))
}

/// The host path of the symlink a descriptor refers to, for
/// `readlinkat(fd, "")`; `ENOENT` when it is not a symlink (or `AT_FDCWD`).
fn empty_path_symlink<R: SyscallRegs>(
    ctx: &Ctx<R>,
    dirfd: Option<usize>,
) -> Result<Vec<u8>, Errno> {
    let fd = ctx.dirfd(dirfd).ok_or(Errno::ENOENT)?;
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    let host = ctx
        .host
        .readlink(&ctx.fd_link(fd))
        .map_err(|_| Errno::EBADF)?;
    match ctx.host.lstat_kind(&host) {
        Ok(FileKind::Symlink) => Ok(host),
        _ => Err(Errno::ENOENT),
    }
}

/// `bpf(BPF_OBJ_PIN | BPF_OBJ_GET, attr, size)`: `attr` starts with the
/// `u64` pointer to the path; the kernel is given a copy naming the host.
pub fn bpf_obj<R: SyscallRegs>(ctx: &mut Ctx<R>) -> Result<Outcome, Errno> {
    const BPF_OBJ_PIN: u64 = 6;
    const BPF_OBJ_GET: u64 = 7;
    let cmd = ctx.arg(0);
    let (attr, size) = (ctx.arg(1), (ctx.arg(2) as usize).min(4096));
    if !(cmd == BPF_OBJ_PIN || cmd == BPF_OBJ_GET) || attr == 0 || size < 8 {
        return Ok(Outcome::Pass);
    }
    let mut copy = vec![0u8; size];
    ctx.read(attr, &mut copy)?;
    let mut ptr = [0u8; 8];
    ptr.copy_from_slice(&copy[0..8]);
    let guest = ctx.read_cstring(u64::from_ne_bytes(ptr), PATH_MAX)?;
    let host = ctx.resolve_full(None, &guest, cmd == BPF_OBJ_GET)?.host;
    let at = ctx.push_cstr(&host)?;
    copy[0..8].copy_from_slice(&at.to_ne_bytes());
    let new = ctx.push(&copy)?;
    ctx.regs.set_arg(1, new);
    Ok(Outcome::Rewritten)
}

/// `chroot`: only to the guest's own root, and only for a (fake or real)
/// root user (`euid`), as the kernel requires `CAP_SYS_CHROOT`.
pub fn chroot<R: SyscallRegs>(ctx: &mut Ctx<R>, euid: u32) -> Result<Outcome, Errno> {
    if euid != 0 {
        return Err(Errno::EPERM);
    }
    let guest = ctx.read_path(0)?;
    let r = ctx.resolve_full(None, &guest, true)?;
    match ctx.host.stat_kind(&r.host)? {
        FileKind::Dir => {}
        _ => return Err(Errno::ENOTDIR),
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
