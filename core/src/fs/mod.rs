//! The guest's view of the file system: a root directory, bindings, and the
//! translation of paths between the guest and the host.
//!
//! Everything here is pure with respect to ptrace: the resolver only
//! `lstat`s and `readlink`s host paths (and `/proc` entries of tracees)
//! through the view's [`HostFs`]. Guest and host paths are raw bytes
//! (`&[u8]` / `Vec<u8>`), and errors are the [`Errno`] the guest should see.
//!
//! Mapping rules:
//! - [`GuestView::to_host`]: the binding whose guest side is the longest
//!   component-wise prefix of the guest path wins (the root is the binding of
//!   guest `/`); the rest of the path is appended to its host side.
//! - [`GuestView::to_guest`]: the binding whose host side is the longest
//!   component-wise prefix wins; on equal host sides the earliest (the root
//!   first) wins. Paths outside every binding are outside the view.
//! - [`GuestView::resolve`]: canonicalisation as the guest kernel would do it,
//!   with symlinks resolved inside the guest.

mod aliases;
mod host;
pub mod long_path;
mod points;
mod proc_files;
mod procfs;
mod resolve;
#[cfg(test)]
pub(crate) mod testing;

use alloc::sync::Arc;
use core::cell::RefCell;
use hashbrown::{HashMap, HashSet};

use crate::Errno;
#[allow(unused_imports)]
use crate::prelude::*;

pub use aliases::NameUse;
pub use host::HostFs;
pub use points::{Point, dt_of_mode};
pub use proc_files::ProcFile;
pub use procfs::{MagicKind, MagicLink, SNAPSHOT_NAME, parse_magic_link, snapshot_path};

/// Longest path the kernel accepts, including the terminating NUL.
pub const PATH_MAX: usize = 4096;
/// Longest file name component.
pub const NAME_MAX: usize = 255;
/// Symlinks followed in one resolution before `ELOOP` (the kernel's limit).
pub const MAX_SYMLINKS: u32 = 40;

/// A host directory or file made visible at a guest path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// Absolute, canonical path on the host.
    pub host: Vec<u8>,
    /// Absolute, canonical path in the guest.
    pub guest: Vec<u8>,
}

/// The result of [`GuestView::resolve`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Canonical guest path (no trailing slash).
    pub guest: Vec<u8>,
    /// Host path to hand to the kernel (keeps a trailing slash, or `/.`, of
    /// the original request so that the kernel still checks for a directory).
    pub host: Vec<u8>,
}

/// What the resolver needs to know about the tracee on whose behalf it runs.
pub trait ProcContext {
    /// The tracee's thread-group id (what `/proc/self` means for it).
    fn pid(&self) -> i32;
    /// The tracee's thread id (what `/proc/thread-self` means for it).
    fn tid(&self) -> i32;
    /// Host path of the program a traced pid (or tid) is running — the
    /// guest's ELF, not the loader — or `None` if it is not traced.
    fn exe_host(&self, pid: i32) -> Option<Vec<u8>>;
    /// Whether `pid` (a process or thread id) is one of the guest's. The
    /// magic links of other processes (sproot, the host's) may only lead
    /// inside the view.
    fn is_guest(&self, _pid: i32) -> bool {
        true
    }
}

/// File type of a host path as far as the resolver cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    Symlink,
    Other,
}

impl Kind {
    /// The kind of a file of mode `mode` (`st_mode`).
    pub fn of_mode(mode: u32) -> Self {
        match mode & S_IFMT {
            S_IFDIR => Kind::Dir,
            S_IFLNK => Kind::Symlink,
            _ => Kind::Other,
        }
    }
}

const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;

/// A binding in its internal form.
#[derive(Clone, Debug)]
struct Mount {
    host: Vec<u8>,
    guest: Vec<u8>,
    /// File type of `host`, looked up once when the binding is added; `None`
    /// when it did not exist (or was not a plain dir/file), in which case the
    /// resolver `lstat`s it every time.
    kind: Option<Kind>,
}

impl Mount {
    fn new(fs: &dyn HostFs, host: Vec<u8>, guest: Vec<u8>) -> Self {
        let kind = match fs.lstat_kind(&host) {
            Ok(Kind::Symlink) | Err(_) => None,
            Ok(k) => Some(k),
        };
        Mount { host, guest, kind }
    }
}

/// Root directory and bindings of a guest. Immutable once set up; share it
/// between tracees (e.g. in an `Rc`/`Arc`).
#[derive(Clone, Debug)]
pub struct GuestView {
    /// How the host's file system is looked at.
    host: Arc<dyn HostFs>,
    /// `mounts[0]` is the root (guest `/`), the rest are the bindings in the
    /// order they were added, a binding for an already bound guest path
    /// replacing the older one.
    mounts: Vec<Mount>,
    /// Host paths of the directories that contain a binding point, with the
    /// names of the binding points in each: a name looked up in one of them
    /// may lead into a binding, and a listing of one shows them.
    binding_parents: HashMap<Vec<u8>, Vec<Vec<u8>>>,
    /// Some binding point was missing from its parent directory when the
    /// view was set up (see [`GuestView::missing_points`]).
    lists_points: bool,
    /// Host paths known to be directories (not symlinks): the canonicalisation
    /// cache. Cleared whenever a guest changes the namespace.
    dir_cache: RefCell<HashSet<Vec<u8>>>,
    cache_enabled: bool,
    /// `-l`: symlinks to `.l2s.` files hold host paths.
    link2symlink: bool,
    /// Host root of the temporary tree that stands in for directories
    /// leading to bindings ("glue"): read-only to the guest.
    glue: Option<Vec<u8>>,
    /// Absolute guest paths already resolved, by whether the final
    /// component is followed: `[no-follow, follow]`. Same lifetime rules as
    /// `dir_cache`.
    path_cache: [RefCell<HashMap<Vec<u8>, Resolved>>; 2],
    /// Host paths with several guest names, and the names processes used.
    aliases: aliases::Aliases,
}

/// Entries past which the directory cache starts over.
const DIR_CACHE_MAX: usize = 1 << 16;

impl GuestView {
    /// A view with `root` (the host directory that is guest `/`) and
    /// `bindings`, added in order (see [`GuestView::add_binding`]), looking
    /// at the host through `host`.
    pub fn new(host: Arc<dyn HostFs>, root: &[u8], bindings: Vec<Binding>) -> Self {
        let root = normalize_lexical(root);
        let mut view = GuestView {
            host,
            mounts: vec![Mount {
                host: root,
                guest: b"/".to_vec(),
                kind: Some(Kind::Dir),
            }],
            binding_parents: Default::default(),
            lists_points: false,
            dir_cache: Default::default(),
            cache_enabled: true,
            link2symlink: false,
            glue: None,
            path_cache: Default::default(),
            aliases: Default::default(),
        };
        for b in bindings {
            view.add_binding(b);
        }
        view
    }

    /// Add a binding. Its sides should already be canonical (see
    /// [`GuestView::canonical_guest_for_binding`]); they are only normalised
    /// lexically here. A binding with the same guest path as an earlier one
    /// replaces it; a binding of guest `/` overrides the root for `to_host`.
    pub fn add_binding(&mut self, binding: Binding) {
        let host = normalize_lexical(&binding.host);
        let guest = normalize_lexical(&binding.guest);
        let mut i = 0;
        self.mounts.retain(|m| {
            i += 1;
            i == 1 || m.guest != guest
        });
        let mount = Mount::new(&*self.host, host, guest);
        self.mounts.push(mount);
        let parents: Vec<(Vec<u8>, Vec<u8>)> = self.mounts[1..]
            .iter()
            .filter(|m| m.guest.len() > 1)
            .map(|m| {
                let cut = m.guest.iter().rposition(|&c| c == b'/').unwrap_or(0);
                let parent = if cut == 0 { &b"/"[..] } else { &m.guest[..cut] };
                (self.to_host(parent), m.guest[cut + 1..].to_vec())
            })
            .collect();
        self.aliases
            .set_mounts(self.mounts.iter().map(|m| m.host.as_slice()));
        self.binding_parents.clear();
        for (dir, name) in parents {
            self.binding_parents.entry(dir).or_default().push(name);
        }
        self.lists_points = self
            .binding_parents
            .keys()
            .any(|dir| !self.missing_points(dir).is_empty());
    }

    /// The host root of the glue tree (see [`GuestView::in_glue`]).
    pub fn set_glue(&mut self, root: &[u8]) {
        self.glue = Some(normalize_lexical(root));
    }

    /// Whether a host path lies inside the glue tree (strictly below its
    /// root): a name there is only a directory leading to a binding.
    pub fn in_glue(&self, host: &[u8]) -> bool {
        self.glue
            .as_deref()
            .and_then(|g| strip_component_prefix(host, g))
            .is_some_and(|rest| !rest.is_empty())
    }

    /// `-l`: read link2symlink's host-path symlinks as guest paths.
    pub fn set_link2symlink(&mut self, on: bool) {
        self.link2symlink = on;
    }

    /// Whether `-l` is in use.
    pub fn link2symlink(&self) -> bool {
        self.link2symlink
    }

    /// Turn the directory cache on or off (on by default).
    pub fn set_cache(&mut self, enabled: bool) {
        self.cache_enabled = enabled;
        self.invalidate_cache();
    }

    /// Whether the caches are on (`--no-path-cache` turns them off).
    pub fn caches(&self) -> bool {
        self.cache_enabled
    }

    /// Forget every cached directory: a guest is about to change, or has
    /// just changed, the file-system namespace (rename, unlink, symlink...).
    pub fn invalidate_cache(&self) {
        self.dir_cache.borrow_mut().clear();
        for c in &self.path_cache {
            c.borrow_mut().clear();
        }
    }

    /// Number of cached directories (for tests and stats).
    pub fn cache_len(&self) -> usize {
        self.dir_cache.borrow().len()
    }

    /// The kind of a host path, from the cache when it is a known directory.
    pub(crate) fn kind_of(&self, host: &[u8]) -> Result<Kind, Errno> {
        if self.cache_enabled && self.dir_cache.borrow().contains(host) {
            return Ok(Kind::Dir);
        }
        let k = self.host.lstat_kind(host)?;
        // /proc entries come and go with processes: never cached.
        if k == Kind::Dir && self.cache_enabled && !host.starts_with(b"/proc") {
            let mut c = self.dir_cache.borrow_mut();
            if c.len() >= DIR_CACHE_MAX {
                c.clear();
            }
            c.insert(host.to_vec());
        }
        Ok(k)
    }

    /// Whether the host directory `host_dir` contains a binding point (so a
    /// name looked up in it may need translation).
    pub fn is_binding_parent(&self, host_dir: &[u8]) -> bool {
        self.binding_parents.contains_key(host_dir)
    }

    /// Whether some binding point was missing from its parent directory at
    /// setup, so that listings must be completed (see
    /// [`GuestView::missing_points`]).
    pub fn lists_points(&self) -> bool {
        self.lists_points
    }

    /// The binding points in host directory `host_dir` that it does not
    /// hold itself (a binding whose guest path is missing from the rootfs,
    /// or a glue directory): a listing of it must show them, as a real
    /// mount point is an entry of its parent. With the type and inode
    /// number of what is bound there.
    pub fn missing_points(&self, host_dir: &[u8]) -> Vec<points::Point> {
        match self.binding_parents.get(host_dir) {
            Some(names) => points::missing(self, host_dir, names),
            None => Vec::new(),
        }
    }

    /// The host directory that is the guest's `/` (before any binding of `/`).
    pub fn root(&self) -> &[u8] {
        &self.mounts[0].host
    }

    /// How this view looks at the host.
    pub fn host_fs(&self) -> &dyn HostFs {
        &*self.host
    }

    /// The bindings, in order, without the root.
    pub fn bindings(&self) -> Vec<Binding> {
        self.mounts[1..]
            .iter()
            .map(|m| Binding {
                host: m.host.clone(),
                guest: m.guest.clone(),
            })
            .collect()
    }

    /// Pure mapping of a canonical absolute guest path to the host.
    pub fn to_host(&self, guest: &[u8]) -> Vec<u8> {
        let mut best: Option<(&Mount, &[u8])> = None;
        for m in &self.mounts {
            if let Some(rest) = strip_component_prefix(guest, &m.guest) {
                // Ties (same guest path) go to the later mount.
                if best.is_none_or(|(b, _)| m.guest.len() >= b.guest.len()) {
                    best = Some((m, rest));
                }
            }
        }
        match best {
            Some((m, rest)) => join(&m.host, rest),
            // Not absolute: treat it as relative to the root.
            None => {
                let mut out = self.mounts[0].host.clone();
                if out != b"/" {
                    out.push(b'/');
                }
                out.extend_from_slice(guest);
                out
            }
        }
    }

    /// Host path → guest path, or `None` when the host path is outside the
    /// view (or not absolute). If the root is `/`, every absolute path maps.
    pub fn to_guest(&self, host: &[u8]) -> Option<Vec<u8>> {
        let mut best: Option<(&Mount, &[u8])> = None;
        for m in &self.mounts {
            if let Some(rest) = strip_component_prefix(host, &m.host) {
                // Ties (same host path) go to the earlier mount: the root first.
                if best.is_none_or(|(b, _)| m.host.len() > b.host.len()) {
                    best = Some((m, rest));
                }
            }
        }
        best.map(|(m, rest)| join(&m.guest, rest))
    }

    /// Canonicalise `path` as the guest sees it and translate it to the host.
    ///
    /// Relative paths are relative to `base`, a canonical absolute guest
    /// directory. `.` is skipped, `..` never climbs above `/`, symlinks are
    /// resolved inside the guest (at most [`MAX_SYMLINKS`], then `ELOOP`).
    /// A missing intermediate component is `ENOENT` (unless it is an
    /// ancestor of a binding: such directories are virtual), a non-directory
    /// intermediate is `ENOTDIR`, a missing final component is fine. The final
    /// component is followed only if `follow_last` or the path ends with a
    /// slash (kept in the host path). `/proc/self` and `/proc/thread-self`
    /// mean the tracee, and `/proc` magic links are handled as described in
    /// the module `procfs`. For a followed final magic link `cwd` or `fd/<n>`
    /// the returned guest path is the `/proc` path itself (the kernel follows
    /// the host path in the tracee).
    pub fn resolve(
        &self,
        proc: &dyn ProcContext,
        base: &[u8],
        path: &[u8],
        follow_last: bool,
    ) -> Result<Resolved, Errno> {
        // Absolute paths outside /proc resolve the same way until the guest
        // changes the namespace (see `invalidate_cache`).
        let cacheable =
            self.cache_enabled && path.first() == Some(&b'/') && !path.starts_with(b"/proc");
        let slot = &self.path_cache[usize::from(follow_last)];
        if cacheable && let Some(r) = slot.borrow().get(path) {
            return Ok(r.clone());
        }
        let r = resolve::resolve(self, proc, base, path, follow_last, false)?;
        if cacheable && !r.host.starts_with(b"/proc") {
            let mut c = slot.borrow_mut();
            if c.len() >= DIR_CACHE_MAX {
                c.clear();
            }
            c.insert(path.to_vec(), r.clone());
        }
        Ok(r)
    }

    /// Canonicalise the guest side of a new binding inside the current view.
    /// With `dereference`, symlinks in the rootfs (and earlier bindings) are
    /// followed, and missing components are allowed (kept literally); without
    /// it (PRoot's `!` suffix) the path is only normalised lexically.
    /// Relative paths are taken relative to `/`.
    /// `proc` is the process on whose behalf (the tracer, at set-up).
    pub fn canonical_guest_for_binding(
        &self,
        proc: &dyn ProcContext,
        guest: &[u8],
        dereference: bool,
    ) -> Result<Vec<u8>, Errno> {
        if !dereference {
            return Ok(normalize_lexical(guest));
        }
        resolve::resolve(self, proc, b"/", guest, true, true).map(|r| r.guest)
    }

    /// Whether `guest` is a strict ancestor of some binding's guest path.
    pub fn is_binding_ancestor(&self, guest: &[u8]) -> bool {
        self.mounts[1..]
            .iter()
            .any(|m| strip_component_prefix(&m.guest, guest).is_some_and(|rest| !rest.is_empty()))
    }

    /// The mount bound exactly at `guest`, if any (later bindings win).
    fn mount_exact(&self, guest: &[u8]) -> Option<&Mount> {
        self.mounts
            .iter()
            .rev()
            .find(|m| m.guest.len() == guest.len() && m.guest == guest)
    }
}

/// If `prefix` is a component-wise prefix of `path` (both absolute), the rest
/// of `path`: empty, or starting with `/`.
pub fn strip_component_prefix<'a>(path: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    if prefix == b"/" {
        return match path {
            b"/" => Some(b""),
            [b'/', ..] => Some(path),
            _ => None,
        };
    }
    let rest = path.strip_prefix(prefix)?;
    match rest {
        [] | [b'/', ..] => Some(rest),
        _ => None,
    }
}

/// `base` followed by `rest` (empty or starting with `/`).
fn join(base: &[u8], rest: &[u8]) -> Vec<u8> {
    if rest.is_empty() {
        return base.to_vec();
    }
    if base == b"/" {
        return rest.to_vec();
    }
    let mut out = Vec::with_capacity(base.len() + rest.len());
    out.extend_from_slice(base);
    out.extend_from_slice(rest);
    out
}

/// Absolute path with `.`, `..` and repeated slashes removed, without looking
/// at the file system (`..` never climbs above `/`). Relative input is taken
/// relative to `/`.
pub fn normalize_lexical(path: &[u8]) -> Vec<u8> {
    let mut out = b"/".to_vec();
    push_components(&mut out, path, 1, true);
    out
}

/// Append the components of `path` to the absolute path `out`, resolving
/// `.` and `..` lexically. A `..` that would cut `out` shorter than `floor`
/// bytes is skipped when `clamp`, else the walk fails (`false`).
fn push_components(out: &mut Vec<u8>, path: &[u8], floor: usize, clamp: bool) -> bool {
    for comp in path.split(|&c| c == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                if out.len() <= floor {
                    if clamp {
                        continue;
                    }
                    return false;
                }
                let cut = out.iter().rposition(|&c| c == b'/').unwrap_or(0);
                out.truncate(cut.max(1));
            }
            _ => {
                if out.len() > 1 {
                    out.push(b'/');
                }
                out.extend_from_slice(comp);
            }
        }
    }
    true
}

/// `path` taken relative to the directory `base` (both guest paths, `base`
/// canonical and absolute) without looking at the file system, for
/// `openat2`'s scoped lookups. With `in_root`, `base` is the root: an
/// absolute `path` starts there and `..` stops there
/// (`RESOLVE_IN_ROOT`). Without it, `None` when `path` is absolute or climbs
/// above `base` (`RESOLVE_BENEATH`).
pub fn normalize_scoped(base: &[u8], path: &[u8], in_root: bool) -> Option<Vec<u8>> {
    if path.first() == Some(&b'/') && !in_root {
        return None;
    }
    let mut out = normalize_lexical(base);
    let floor = out.len();
    push_components(&mut out, path, floor, in_root).then_some(out)
}

impl GuestView {
    /// The target of the symlink at host path `link` as the guest reads
    /// it: an absolute target written with host paths by a link that lies
    /// in a binding, naming a file under a binding, is that file's guest
    /// path (the deepest binding wins); any other target is unchanged.
    pub fn symlink_target(&self, link: &[u8], target: Vec<u8>) -> Vec<u8> {
        if target.first() != Some(&b'/') {
            return target;
        }
        // The link lies in a binding when a binding holds it deeper than
        // the root does (`-b /:/host-rootfs` holds every host path, the
        // rootfs's own links included, which stay as written).
        let root_depth =
            strip_component_prefix(link, &self.mounts[0].host).map(|_| self.mounts[0].host.len());
        match self.deepest_binding(link) {
            Some((m, _)) if root_depth.is_none_or(|d| m.host.len() > d) => {}
            _ => return target,
        }
        match self.deepest_binding(&target) {
            Some((m, rest)) => join(&m.guest, rest),
            None => target,
        }
    }

    /// The binding (not the root) whose host side holds host path `p`
    /// deepest, and the rest of `p`.
    fn deepest_binding<'a>(&self, p: &'a [u8]) -> Option<(&Mount, &'a [u8])> {
        self.mounts[1..]
            .iter()
            .filter_map(|m| strip_component_prefix(p, &m.host).map(|rest| (m, rest)))
            .max_by_key(|(m, _)| m.host.len())
    }

    /// Whether a canonical guest path is `/` or a binding point.
    pub fn is_binding_point(&self, guest: &[u8]) -> bool {
        self.mounts.iter().any(|m| m.guest == guest)
    }

    /// Index of the binding (0: the root) a canonical guest path lies in:
    /// paths in different ones are on different "mounts".
    pub fn binding_index(&self, guest: &[u8]) -> usize {
        let mut best = (0, 0);
        for (i, m) in self.mounts.iter().enumerate() {
            if strip_component_prefix(guest, &m.guest).is_some() && m.guest.len() >= best.1 {
                best = (i, m.guest.len());
            }
        }
        best.0
    }
}
