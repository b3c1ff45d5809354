//! Host paths with more than one guest name, and which name a process used.
//!
//! The same host directory bound at two guest paths (`-b /d:/x -b /d:/y`),
//! or a rootfs directory also bound elsewhere, gives a host path several
//! guest names. The kernel keeps only the host path of a working directory
//! or an open file, so the reverse table alone ([`GuestView::to_guest`])
//! would always answer with one of them. A real chroot answers with the
//! path the process used.
//!
//! So each process (thread group) remembers the last guest names it
//! resolved into such host paths: one for `chdir`, a few for the opens. A
//! reverse translation of a host path `T` for that process takes the most
//! specific remembered name whose host path is a component-wise prefix of
//! `T` (the cwd's name first for a cwd, the opens' first for a descriptor),
//! appends the rest of `T`, and keeps it only if the view maps that guest
//! path back to `T` exactly: a remembered name can be stale (the file was
//! closed, the `chdir` failed) but never wrong, since it is checked to be a
//! guest name of the same host path; with none that checks out, the reverse
//! table answers. A process that remembers nothing (a fresh child) looks at
//! its parent's names, as it inherited its cwd and descriptors from it.
//!
//! Nothing is remembered in views without such host paths (the usual case).

use alloc::collections::VecDeque;
use core::cell::RefCell;
use hashbrown::HashMap;

use super::{GuestView, join, strip_component_prefix};
#[allow(unused_imports)]
use crate::prelude::*;

/// Names remembered per process for opens.
const OPENS_KEPT: usize = 8;
/// Processes remembered before starting over.
const PROCESSES_KEPT: usize = 1024;
/// Parents looked at for a process that remembers nothing.
const ANCESTORS: usize = 8;

/// Descriptors remembered per process.
const FDS_KEPT: usize = 256;

/// What a name was used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameUse {
    /// `chdir`: the working directory.
    Cwd,
    /// `open` and the like: descriptor `n`, or -1 when not known (yet).
    Fd(i32),
}

#[derive(Clone, Debug, Default)]
struct Names {
    cwd: Option<(Vec<u8>, Vec<u8>)>,
    /// `(guest, host)` of the last opens, newest last.
    opens: VecDeque<(Vec<u8>, Vec<u8>)>,
    /// `(guest, host)` by descriptor, learnt at an open's exit.
    fds: HashMap<i32, (Vec<u8>, Vec<u8>)>,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Aliases {
    /// Host paths (mount host sides) under which paths have several guest
    /// names. Empty: nothing to do.
    regions: Vec<Vec<u8>>,
    /// By thread-group id; key 0: the first process's cwd (`-w`).
    names: RefCell<HashMap<i32, Names>>,
    /// Thread id → thread-group id, as learnt when names were remembered.
    groups: RefCell<HashMap<i32, i32>>,
    /// How many names were remembered (a backend with several copies of
    /// the view knows when to share them).
    remembered: core::cell::Cell<u64>,
}

impl Aliases {
    /// Recompute the regions for the mounts `(host, guest)` of a view.
    pub(super) fn set_mounts<'a>(&mut self, hosts: impl Iterator<Item = &'a [u8]> + Clone) {
        self.regions = hosts
            .clone()
            .enumerate()
            .filter(|&(j, inner)| {
                hosts.clone().enumerate().any(|(i, outer)| {
                    i != j
                        && strip_component_prefix(inner, outer).is_some()
                        // /proc is the host's: names there are not the guest's choice.
                        && !inner.starts_with(b"/proc")
                })
            })
            .map(|(_, h)| h.to_vec())
            .collect();
    }

    fn ambiguous(&self, host: &[u8]) -> bool {
        !self.regions.is_empty()
            && self
                .regions
                .iter()
                .any(|r| strip_component_prefix(host, r).is_some())
    }

    pub(super) fn remember(&self, tgid: i32, tid: i32, used: NameUse, guest: &[u8], host: &[u8]) {
        if !self.ambiguous(host) {
            return;
        }
        self.remembered.set(self.remembered.get() + 1);
        let mut names = self.names.borrow_mut();
        if names.len() >= PROCESSES_KEPT && !names.contains_key(&tgid) {
            let initial = names.remove(&0);
            names.clear();
            self.groups.borrow_mut().clear();
            if let Some(i) = initial {
                names.insert(0, i);
            }
        }
        if tid != tgid {
            self.groups.borrow_mut().insert(tid, tgid);
        }
        let entry = names.entry(tgid).or_default();
        // A kept trailing `/` or `/.` is no part of the name.
        let mut host = host;
        while host.len() > 1 && (host.ends_with(b"/") || host.ends_with(b"/.")) {
            host = &host[..host.len() - if host.ends_with(b"/") { 1 } else { 2 }];
        }
        let pair = (guest.to_vec(), host.to_vec());
        match used {
            NameUse::Cwd => entry.cwd = Some(pair),
            NameUse::Fd(fd) if fd >= 0 => {
                if entry.fds.len() >= FDS_KEPT {
                    entry.fds.clear();
                }
                entry.fds.insert(fd, pair);
            }
            NameUse::Fd(_) => {
                entry.opens.retain(|p| p.1 != pair.1);
                if entry.opens.len() >= OPENS_KEPT {
                    entry.opens.pop_front();
                }
                entry.opens.push_back(pair);
            }
        }
    }

    /// The guest name of host path `host` for process (or thread) `id`, as
    /// used for `used`; `None`: the reverse table's answer stands.
    pub(super) fn guest_name(
        &self,
        view: &GuestView,
        id: i32,
        used: NameUse,
        host: &[u8],
    ) -> Option<Vec<u8>> {
        if !self.ambiguous(host) {
            return None;
        }
        let names = self.names_of(view, id)?;
        let opens = || names.opens.iter().rev().collect::<Vec<_>>();
        let groups: [Vec<_>; 3] = match used {
            NameUse::Cwd => [names.cwd.iter().collect(), opens(), Vec::new()],
            NameUse::Fd(fd) => [
                names.fds.get(&fd).into_iter().collect(),
                opens(),
                names.cwd.iter().collect(),
            ],
        };
        for group in groups {
            let best = group
                .into_iter()
                .filter_map(|(g, h)| {
                    let rest = strip_component_prefix(host, h)?;
                    let candidate = join(g, rest);
                    (view.to_host(&candidate) == host).then_some((h.len(), candidate))
                })
                // The most specific; on a tie, the newest (first seen).
                .fold(None::<(usize, Vec<u8>)>, |best, c| match best {
                    Some(b) if b.0 >= c.0 => Some(b),
                    _ => Some(c),
                });
            if let Some((_, name)) = best {
                return Some(name);
            }
        }
        None
    }

    /// The names of `id`'s thread group, else of its closest ancestor that
    /// has some (copied to `id`, which inherited them), else the first
    /// process's.
    fn names_of(&self, view: &GuestView, id: i32) -> Option<Names> {
        let tgid = self.groups.borrow().get(&id).copied().unwrap_or(id);
        if let Some(n) = self.names.borrow().get(&tgid) {
            return Some(n.clone());
        }
        let mut pid = tgid;
        for _ in 0..ANCESTORS {
            let (group, parent) = view.host.process_ids(pid)?;
            let found = self.names.borrow().get(&group).cloned();
            if let Some(n) = found {
                self.names.borrow_mut().insert(tgid, n.clone());
                return Some(n);
            }
            if parent <= 1 {
                break;
            }
            pid = parent;
        }
        self.names.borrow().get(&0).cloned()
    }
}

impl GuestView {
    /// Remember that thread `tid` of process `tgid` named host path `host`
    /// `guest` for `used` (see the module's notes).
    pub fn remember_name(&self, tgid: i32, tid: i32, used: NameUse, guest: &[u8], host: &[u8]) {
        self.aliases.remember(tgid, tid, used, guest, host);
    }

    /// Stop keeping the names processes used for host paths with several
    /// (until the next binding is added): such a path then reads back as
    /// [`GuestView::to_guest`] says, and the view changes no state of its
    /// own as it translates (a backend that shares it between threads).
    pub fn forget_names(&mut self) {
        self.aliases.regions.clear();
    }

    /// Whether host path `host` has several guest names.
    pub fn is_ambiguous(&self, host: &[u8]) -> bool {
        self.aliases.ambiguous(host)
    }

    /// Whether any host path has several guest names.
    pub fn has_aliases(&self) -> bool {
        !self.aliases.regions.is_empty()
    }

    /// How many names this view remembered so far.
    pub fn names_remembered(&self) -> u64 {
        self.aliases.remembered.get()
    }

    /// Take the names `other` remembers (a copy of the same view, in a
    /// backend that keeps several).
    pub fn copy_names_from(&self, other: &GuestView) {
        self.aliases
            .names
            .replace(other.aliases.names.borrow().clone());
        self.aliases
            .groups
            .replace(other.aliases.groups.borrow().clone());
    }

    /// The first process's working directory (`-w`): the name its
    /// descendants use until they `chdir`.
    pub fn remember_initial_cwd(&self, guest: &[u8]) {
        let host = self.to_host(guest);
        self.aliases.remember(0, 0, NameUse::Cwd, guest, &host);
    }

    /// Host path → guest path for process (or thread) `id`: the name it
    /// used, where the host path has several (see the module's notes),
    /// else [`GuestView::to_guest`].
    pub fn to_guest_for(&self, id: i32, used: NameUse, host: &[u8]) -> Option<Vec<u8>> {
        self.aliases
            .guest_name(self, id, used, host)
            .or_else(|| self.to_guest(host))
    }
}
