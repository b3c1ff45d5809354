//! `/proc` as seen by a tracee, while the tracer does the looking.
//!
//! The resolver runs in the tracer, so host `/proc/self` would name the
//! tracer: it is replaced by the tracee's ids. Magic links
//! (`/proc/<n>/{cwd,root,exe}`, `/proc/<n>/fd/<k>`, and the same under
//! `task/<t>/`) are handled like this:
//! - as a followed final component, the host path stays the `/proc` path (the
//!   kernel follows it correctly in the tracee), except `exe` of a traced pid
//!   (the guest program, not the loader) and `root` (the guest root);
//! - as an intermediate component, the link is read and its target mapped to
//!   the guest (`root` is guest `/`); targets that are not paths
//!   (`pipe:[…]`, `socket:[…]`, `anon_inode:…`) are `ENOTDIR`;
//! - a target outside the view is used as-is as a guest path (the same
//!   convention as [`GuestView::dir_of`]);
//! - the links of a process that is not a guest (sproot itself, the host's
//!   processes) are read and followed only when their target lies inside
//!   the view, as its guest path; otherwise `EACCES`.

use super::{GuestView, Kind, NameUse, ProcContext};
use crate::Errno;
#[allow(unused_imports)]
use crate::prelude::*;

/// The name of a memfd holding a rewritten `/proc` file, before the guest
/// path it stands for.
pub const SNAPSHOT_NAME: &[u8] = b"sproot-proc:";

/// The guest path a descriptor link target (`/memfd:<name> (deleted)`)
/// stands for, if it is such a snapshot.
pub fn snapshot_path(target: &[u8]) -> Option<Vec<u8>> {
    let rest = target
        .strip_prefix(b"/memfd:")?
        .strip_prefix(SNAPSHOT_NAME)?;
    Some(rest.strip_suffix(b" (deleted)").unwrap_or(rest).to_vec())
}

/// Which magic link of a `/proc/<pid>` directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MagicKind {
    Cwd,
    Root,
    Exe,
    Fd(i32),
    /// `map_files/<start>-<end>`: the file mapped there.
    MapFile,
}

/// A parsed `/proc/<pid>[/task/<tid>]/{cwd,root,exe,fd/<n>}` host path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MagicLink {
    pub pid: i32,
    pub tid: Option<i32>,
    pub kind: MagicKind,
}

/// A decimal id followed by the end or `/`.
fn split_id(s: &[u8]) -> Option<(i32, &[u8])> {
    let end = s.iter().position(|&c| c == b'/').unwrap_or(s.len());
    let (digits, rest) = s.split_at(end);
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        n = n * 10 + i64::from(d - b'0');
    }
    let n = i32::try_from(n).ok()?;
    Some((n, rest))
}

/// Parse a host path naming a `/proc` magic link (numeric pids only).
pub fn parse_magic_link(host: &[u8]) -> Option<MagicLink> {
    let rest = host.strip_prefix(b"/proc/")?;
    let (pid, rest) = split_id(rest)?;
    let mut rest = rest.strip_prefix(b"/")?;
    let mut tid = None;
    if let Some(r) = rest.strip_prefix(b"task/") {
        let (t, r) = split_id(r)?;
        tid = Some(t);
        rest = r.strip_prefix(b"/")?;
    }
    let kind = match rest {
        b"cwd" => MagicKind::Cwd,
        b"root" => MagicKind::Root,
        b"exe" => MagicKind::Exe,
        _ if rest
            .strip_prefix(b"map_files/")
            .is_some_and(|r| !r.is_empty() && !r.contains(&b'/')) =>
        {
            MagicKind::MapFile
        }
        _ => {
            let (fd, r) = split_id(rest.strip_prefix(b"fd/")?)?;
            if !r.is_empty() {
                return None;
            }
            MagicKind::Fd(fd)
        }
    };
    Some(MagicLink { pid, tid, kind })
}

/// The tracee's target of `/proc/self` or `/proc/thread-self` (relative, like
/// the kernel's), if `host` is exactly one of them.
pub(crate) fn self_link_target(host: &[u8], proc: &dyn ProcContext) -> Option<String> {
    match host {
        b"/proc/self" => Some(proc.pid().to_string()),
        b"/proc/thread-self" => Some(format!("{}/task/{}", proc.pid(), proc.tid())),
        _ => None,
    }
}

/// Rewrite a host path starting with `/proc/self` or `/proc/thread-self`
/// (component-wise) to the tracee's ids; `None` if it does not.
pub(crate) fn substitute_self(host: &[u8], proc: &dyn ProcContext) -> Option<Vec<u8>> {
    let rest = host.strip_prefix(b"/proc/")?;
    let (ids, rest) = if let Some(r) = rest.strip_prefix(b"thread-self") {
        (format!("{}/task/{}", proc.pid(), proc.tid()), r)
    } else if let Some(r) = rest.strip_prefix(b"self") {
        (proc.pid().to_string(), r)
    } else {
        return None;
    };
    if !(rest.is_empty() || rest[0] == b'/') {
        return None;
    }
    let mut out = b"/proc/".to_vec();
    out.extend_from_slice(ids.as_bytes());
    out.extend_from_slice(rest);
    Some(out)
}

/// The target of a magic link of a process that is not a guest, as a
/// guest may see it: a path inside the view as its guest path, a target that
/// is not a path (`pipe:[…]`) unchanged, a path outside the view `EACCES`
/// (nothing in a chroot may name it, and no host path may come back).
pub(crate) fn foreign_target(view: &GuestView, host: &[u8]) -> Result<Vec<u8>, Errno> {
    let target = view.host.readlink(host)?;
    if target.first() != Some(&b'/') {
        return Ok(target);
    }
    view.to_guest(&target).ok_or(Errno::EACCES)
}

/// Guest directory an intermediate magic link of process `pid` leads to.
pub(crate) fn intermediate_magic_target(
    view: &GuestView,
    proc: &dyn ProcContext,
    host: &[u8],
    magic: MagicLink,
) -> Result<Vec<u8>, Errno> {
    if !proc.is_guest(magic.pid) {
        let target = foreign_target(view, host)?;
        if target.first() != Some(&b'/')
            || matches!(magic.kind, MagicKind::Exe | MagicKind::MapFile)
        {
            return Err(Errno::ENOTDIR);
        }
        return Ok(target);
    }
    match magic.kind {
        MagicKind::Root => Ok(b"/".to_vec()),
        MagicKind::Exe | MagicKind::MapFile => Err(Errno::ENOTDIR),
        MagicKind::Cwd | MagicKind::Fd(_) => {
            let target = view.host.read_magic(host)?;
            if target.first() != Some(&b'/') {
                return Err(Errno::ENOTDIR);
            }
            // A descriptor of a file is no directory to go through.
            if matches!(magic.kind, MagicKind::Fd(_))
                && view.host.stat_kind(host).is_ok_and(|k| k != Kind::Dir)
            {
                return Err(Errno::ENOTDIR);
            }
            Ok(view
                .to_guest_for(magic.tid.unwrap_or(magic.pid), magic.used(), &target)
                .unwrap_or(target))
        }
    }
}

impl MagicLink {
    /// What the link's target was named for.
    fn used(&self) -> NameUse {
        match self.kind {
            MagicKind::Cwd => NameUse::Cwd,
            MagicKind::Fd(n) => NameUse::Fd(n),
            _ => NameUse::Fd(-1),
        }
    }
}

impl GuestView {
    /// The guest cwd of thread `tid` (`dirfd == None`), or the guest path of
    /// its directory fd `dirfd`. Not a directory (or not a path at all, like
    /// a pipe): `ENOTDIR`; no such fd: `EBADF`; no such thread: `ESRCH`.
    ///
    /// A directory outside the view (reachable e.g. through an fd inherited
    /// from outside) is returned as its host path, as-is: there is no guest
    /// name for it.
    pub fn dir_of(&self, tid: i32, dirfd: Option<i32>) -> Result<Vec<u8>, Errno> {
        let link = match dirfd {
            None => format!("/proc/{tid}/cwd"),
            Some(fd) if fd < 0 => return Err(Errno::EBADF),
            Some(fd) => format!("/proc/{tid}/fd/{fd}"),
        };
        let missing = if dirfd.is_some() {
            Errno::EBADF
        } else {
            Errno::ESRCH
        };
        let target = match self.host.read_magic(link.as_bytes()) {
            Ok(t) => t,
            Err(Errno::ENOENT) => return Err(missing),
            Err(e) => return Err(e),
        };
        if target.first() != Some(&b'/') {
            return Err(Errno::ENOTDIR);
        }
        if dirfd.is_some() {
            match self.host.stat_kind(link.as_bytes()) {
                Ok(Kind::Dir) => {}
                Ok(_) => return Err(Errno::ENOTDIR),
                Err(Errno::ENOENT) => return Err(missing),
                Err(e) => return Err(e),
            }
        }
        let used = dirfd.map_or(NameUse::Cwd, NameUse::Fd);
        Ok(self.to_guest_for(tid, used, &target).unwrap_or(target))
    }

    /// Read the symlink `host_link` (a host path, e.g. from
    /// [`GuestView::resolve`] with `follow_last == false`) as the guest should
    /// see its contents. `/proc` magic links are mapped to the guest view:
    /// `exe` of a traced pid → its guest program, `root` → `/`, `cwd` and
    /// `fd/<n>` path targets → [`GuestView::to_guest`] (unchanged when outside
    /// the view), non-path targets (`pipe:[…]`) unchanged. `/proc/self` and
    /// `/proc/thread-self` (and paths under them) mean the tracee. Ordinary
    /// symlinks return their contents unchanged.
    pub fn readlink_guest(
        &self,
        proc: &dyn ProcContext,
        host_link: &[u8],
    ) -> Result<Vec<u8>, Errno> {
        let bytes = host_link;
        if let Some(target) = self_link_target(bytes, proc) {
            return Ok(target.into_bytes());
        }
        let substituted = substitute_self(bytes, proc);
        let path: &[u8] = substituted.as_deref().unwrap_or(bytes);
        let Some(magic) = parse_magic_link(path) else {
            let target = self.host.readlink(path)?;
            return Ok(self.symlink_target(path, target));
        };
        if !proc.is_guest(magic.pid) || magic.kind == MagicKind::MapFile {
            // A mapped file is named only if the guest can see it.
            return foreign_target(self, path);
        }
        if magic.kind == MagicKind::Exe
            && let Some(exe) = proc.exe_host(magic.pid)
        {
            let mut exe = exe;
            // A program run from a descriptor: the file it refers to.
            if parse_magic_link(&exe).is_some() {
                exe = self.host.readlink(&exe)?;
            }
            return Ok(self.to_guest(&exe).unwrap_or(exe));
        }
        let target = self.host.read_magic(path)?;
        if let Some(p) = snapshot_path(&target) {
            return Ok(p);
        }
        Ok(match magic.kind {
            MagicKind::Root => b"/".to_vec(),
            _ if target.first() == Some(&b'/') => self
                .to_guest_for(magic.tid.unwrap_or(magic.pid), magic.used(), &target)
                .unwrap_or(target),
            _ => target,
        })
    }
}
