//! Canonicalisation of guest paths: the component walk behind
//! [`GuestView::resolve`].

use alloc::borrow::Cow;

use super::procfs::{self, MagicKind};
use super::{GuestView, Kind, MAX_SYMLINKS, NAME_MAX, PATH_MAX, ProcContext, Resolved};
use crate::Errno;
#[allow(unused_imports)]
use crate::prelude::*;

/// How to undo one pushed component.
#[derive(Clone, Copy)]
struct Frame {
    guest_len: usize,
    host_len: usize,
    /// The host path was replaced (a binding point), not just appended to:
    /// popping must recompute it.
    host_replaced: bool,
}

/// The current prefix of the walk, as a guest path and its host path.
struct Walk<'a> {
    view: &'a GuestView,
    guest: Vec<u8>,
    host: Vec<u8>,
    /// One frame per component pushed since the last reset.
    frames: Vec<Frame>,
}

impl<'a> Walk<'a> {
    fn new(view: &'a GuestView, start: &[u8]) -> Self {
        let mut walk = Walk {
            view,
            guest: Vec::with_capacity(128),
            host: Vec::new(),
            frames: Vec::with_capacity(16),
        };
        walk.reset(start);
        walk
    }

    /// Restart from the canonical guest path `guest`.
    fn reset(&mut self, guest: &[u8]) {
        self.guest.clear();
        if guest.first() == Some(&b'/') {
            self.guest.extend_from_slice(guest);
        } else {
            self.guest.push(b'/');
        }
        self.host = self.view.to_host(&self.guest);
        self.frames.clear();
    }

    /// Append a component; returns the cached file type when the new prefix
    /// is exactly a binding point whose type is known.
    fn push(&mut self, comp: &[u8]) -> Result<Option<Kind>, Errno> {
        let mut frame = Frame {
            guest_len: self.guest.len(),
            host_len: self.host.len(),
            host_replaced: false,
        };
        if self.guest.len() > 1 {
            self.guest.push(b'/');
        }
        self.guest.extend_from_slice(comp);
        if self.guest.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut hint = None;
        if let Some(m) = self.view.mount_exact(&self.guest) {
            self.host.clear();
            self.host.extend_from_slice(&m.host);
            frame.host_replaced = true;
            hint = m.kind;
        } else {
            if self.host.len() > 1 {
                self.host.push(b'/');
            }
            self.host.extend_from_slice(comp);
        }
        // A host path of PATH_MAX or more is fine: see `long_path`.
        self.frames.push(frame);
        Ok(hint)
    }

    /// Go to the parent directory (never above `/`).
    fn pop(&mut self) {
        if self.guest.len() <= 1 {
            return;
        }
        match self.frames.pop() {
            Some(f) => {
                self.guest.truncate(f.guest_len);
                if f.host_replaced {
                    self.host = self.view.to_host(&self.guest);
                } else {
                    self.host.truncate(f.host_len);
                }
            }
            None => {
                let cut = self.guest.iter().rposition(|&c| c == b'/').unwrap_or(0);
                self.guest.truncate(cut.max(1));
                self.host = self.view.to_host(&self.guest);
            }
        }
    }
}

/// Splice `target` in front of the unvisited rest of the path.
fn splice(target: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(target.len() + rest.len() + 1);
    v.extend_from_slice(target);
    if !rest.is_empty() {
        v.push(b'/');
        v.extend_from_slice(rest);
    }
    v
}

/// Index just after the last byte that is not a slash (0 if none).
fn content_end_of(buf: &[u8]) -> usize {
    buf.iter().rposition(|&c| c != b'/').map_or(0, |i| i + 1)
}

/// `lenient`: missing intermediate components are kept literally instead of
/// failing with `ENOENT` (for canonicalising bindings).
pub(super) fn resolve(
    view: &GuestView,
    proc: &dyn ProcContext,
    base: &[u8],
    path: &[u8],
    follow_last: bool,
    lenient: bool,
) -> Result<Resolved, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let mut walk = Walk::new(view, if path[0] == b'/' { b"/" } else { base });
    let mut buf: Cow<[u8]> = Cow::Borrowed(path);
    let mut pos = 0;
    // End of the last component in `buf` (only slashes after it).
    let mut content_end = content_end_of(&buf);
    let mut links = 0u32;
    // How the final component ended: with slashes, or was `.`.
    let mut trailing_slash = false;
    let mut final_dot = false;
    // Set when a missing component was met in lenient mode: the rest is
    // pushed without looking at the host.
    let mut literal = false;

    loop {
        while buf.get(pos) == Some(&b'/') {
            pos += 1;
        }
        if pos >= buf.len() {
            break;
        }
        let start = pos;
        while pos < buf.len() && buf[pos] != b'/' {
            pos += 1;
        }
        let is_last = pos >= content_end;
        let slash_after = pos < buf.len();
        trailing_slash = is_last && slash_after;
        final_dot = false;
        let comp = &buf[start..pos];
        match comp {
            b"." => {
                final_dot = is_last;
                continue;
            }
            b".." => {
                walk.pop();
                continue;
            }
            _ => {}
        }
        if comp.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let follow = !is_last || follow_last || trailing_slash;
        let hint = walk.push(comp)?;
        if literal {
            continue;
        }
        // A binding whose host side lies under /proc/self (proot-distro binds
        // /proc/self/fd/2 on /dev/stderr) means the tracee's own entries.
        if (walk.host.starts_with(b"/proc/self/") || walk.host.starts_with(b"/proc/thread-self/"))
            && let Some(h) = procfs::substitute_self(&walk.host, proc)
        {
            walk.host = h;
        }

        // /proc/self and /proc/thread-self would name the tracer: splice the
        // tracee's ids in, like the symlinks they are.
        if follow && let Some(target) = procfs::self_link_target(&walk.host, proc) {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Errno::ELOOP);
            }
            walk.pop();
            buf = Cow::Owned(splice(target.as_bytes(), &buf[pos..]));
            pos = 0;
            content_end = content_end_of(&buf);
            continue;
        }

        if is_last && !follow && hint.is_none() {
            // Whatever the final component is (or whether it exists), it is
            // used as it is: no need to look.
            break;
        }
        let kind = match hint {
            Some(k) => k,
            None => match view.kind_of(&walk.host) {
                Ok(k) => k,
                Err(Errno::ENOENT) if is_last => break,
                Err(Errno::ENOENT) if view.is_binding_ancestor(&walk.guest) => Kind::Dir,
                Err(Errno::ENOENT) if lenient => {
                    literal = true;
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        match kind {
            Kind::Dir => {}
            Kind::Other => {
                if !is_last {
                    return Err(Errno::ENOTDIR);
                }
            }
            Kind::Symlink if !follow => {}
            Kind::Symlink => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                if let Some(magic) = procfs::parse_magic_link(&walk.host) {
                    if is_last {
                        if !proc.is_guest(magic.pid) || magic.kind == MagicKind::MapFile {
                            // Only to check that it leads inside the view.
                            procfs::foreign_target(view, &walk.host)?;
                        }
                        return Ok(final_magic(
                            view,
                            proc,
                            walk,
                            magic.kind,
                            magic.pid,
                            trailing_slash,
                        ));
                    }
                    let target = procfs::intermediate_magic_target(view, proc, &walk.host, magic)?;
                    walk.reset(&target);
                    continue;
                }
                let mut target = view.host.readlink(&walk.host)?;
                // link2symlink names and intermediates point at absolute
                // *host* paths of `.l2s.` files: read them back as guest paths.
                if view.link2symlink
                    && target.first() == Some(&b'/')
                    && crate::ext::link2symlink::is_l2s_name(
                        target.rsplit(|&c| c == b'/').next().unwrap_or(&[]),
                    )
                    && let Some(g) = view.to_guest(&target)
                {
                    target = g;
                }
                let target = view.symlink_target(&walk.host, target);
                if target.is_empty() {
                    return Err(Errno::ENOENT);
                }
                walk.pop();
                if target[0] == b'/' {
                    walk.reset(b"/");
                }
                buf = Cow::Owned(splice(&target, &buf[pos..]));
                pos = 0;
                content_end = content_end_of(&buf);
            }
        }
    }

    let mut host = walk.host;
    if final_dot {
        host.extend_from_slice(if host.len() > 1 { b"/." } else { b"." });
    } else if trailing_slash && host.len() > 1 {
        host.push(b'/');
    }
    Ok(Resolved {
        guest: walk.guest,
        host: view.host.for_kernel(host)?,
    })
}

/// A followed magic link as the final component.
fn final_magic(
    view: &GuestView,
    proc: &dyn ProcContext,
    walk: Walk<'_>,
    kind: MagicKind,
    pid: i32,
    trailing_slash: bool,
) -> Resolved {
    let (guest, mut host) = match kind {
        MagicKind::Root => (b"/".to_vec(), view.to_host(b"/")),
        MagicKind::Exe => match proc.exe_host(pid) {
            Some(exe) => (view.to_guest(&exe).unwrap_or_else(|| exe.clone()), exe),
            None => (walk.guest, walk.host),
        },
        MagicKind::Cwd | MagicKind::Fd(_) | MagicKind::MapFile => (walk.guest, walk.host),
    };
    if trailing_slash && host.len() > 1 {
        host.push(b'/');
    }
    Resolved { guest, host }
}
