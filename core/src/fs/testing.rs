//! A host with nothing on it, for the core's own tests.

use super::{HostFs, Kind};
use crate::Errno;
#[allow(unused_imports)]
use crate::prelude::*;

/// Every path is missing; no process exists.
#[derive(Debug)]
pub struct NoHost;

impl HostFs for NoHost {
    fn lstat_kind(&self, _: &[u8]) -> Result<Kind, Errno> {
        Err(Errno::ENOENT)
    }
    fn stat_kind(&self, _: &[u8]) -> Result<Kind, Errno> {
        Err(Errno::ENOENT)
    }
    fn lstat_mode_ino(&self, _: &[u8]) -> Result<(u32, u64), Errno> {
        Err(Errno::ENOENT)
    }
    fn readlink(&self, _: &[u8]) -> Result<Vec<u8>, Errno> {
        Err(Errno::ENOENT)
    }
    fn read_magic(&self, _: &[u8]) -> Result<Vec<u8>, Errno> {
        Err(Errno::ENOENT)
    }
    fn for_kernel(&self, path: Vec<u8>) -> Result<Vec<u8>, Errno> {
        Ok(path)
    }
    fn process_ids(&self, _: i32) -> Option<(i32, i32)> {
        None
    }
}

/// A host file system held in memory: directories, files and symlinks by
/// absolute path.
#[derive(Debug, Default)]
pub struct MemHost {
    nodes: alloc::collections::BTreeMap<Vec<u8>, Node>,
}

#[derive(Debug, Clone)]
enum Node {
    Dir,
    File,
    Link(Vec<u8>),
}

impl MemHost {
    pub fn dir(mut self, path: &str) -> Self {
        self.nodes.insert(path.as_bytes().to_vec(), Node::Dir);
        self
    }
    pub fn file(mut self, path: &str) -> Self {
        self.nodes.insert(path.as_bytes().to_vec(), Node::File);
        self
    }
    pub fn link(mut self, path: &str, target: &str) -> Self {
        let target = target.as_bytes().to_vec();
        self.nodes
            .insert(path.as_bytes().to_vec(), Node::Link(target));
        self
    }
    fn node(&self, path: &[u8]) -> Result<&Node, Errno> {
        self.nodes.get(path).ok_or(Errno::ENOENT)
    }
}

impl HostFs for MemHost {
    fn lstat_kind(&self, path: &[u8]) -> Result<Kind, Errno> {
        Ok(match self.node(path)? {
            Node::Dir => Kind::Dir,
            Node::File => Kind::Other,
            Node::Link(_) => Kind::Symlink,
        })
    }
    fn stat_kind(&self, path: &[u8]) -> Result<Kind, Errno> {
        match self.node(path)? {
            // One level, enough for the tests' magic links.
            Node::Link(t) => self.lstat_kind(t),
            _ => self.lstat_kind(path),
        }
    }
    fn lstat_mode_ino(&self, path: &[u8]) -> Result<(u32, u64), Errno> {
        self.node(path).map(|_| (0o100644, 1))
    }
    fn readlink(&self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        match self.node(path)? {
            Node::Link(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }
    fn read_magic(&self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        self.readlink(path)
    }
    fn for_kernel(&self, path: Vec<u8>) -> Result<Vec<u8>, Errno> {
        Ok(path)
    }
    fn process_ids(&self, _: i32) -> Option<(i32, i32)> {
        None
    }
}

/// The tracee of the core's tests.
pub struct OneProcess;

impl super::ProcContext for OneProcess {
    fn pid(&self) -> i32 {
        100
    }
    fn tid(&self) -> i32 {
        100
    }
    fn exe_host(&self, _: i32) -> Option<Vec<u8>> {
        None
    }
}

/// Path translation with no std and no ptrace: the core's view over an
/// in-memory host.
#[cfg(test)]
mod tests {
    use super::super::{Binding, GuestView};
    use super::*;
    use alloc::sync::Arc;

    fn view() -> GuestView {
        let host = MemHost::default()
            .dir("/r")
            .dir("/r/etc")
            .file("/r/etc/hosts")
            .link("/r/etc/abs", "/etc/hosts")
            .link("/r/up", "../../../etc")
            .dir("/data")
            .file("/data/f");
        GuestView::new(
            Arc::new(host),
            b"/r",
            vec![Binding {
                host: b"/data".to_vec(),
                guest: b"/mnt".to_vec(),
            }],
        )
    }

    fn host(v: &GuestView, path: &str, follow: bool) -> Result<Vec<u8>, Errno> {
        v.resolve(&OneProcess, b"/", path.as_bytes(), follow)
            .map(|r| r.host)
    }

    #[test]
    fn an_absolute_symlink_resolves_inside_the_guest() {
        let v = view();
        assert_eq!(host(&v, "/etc/abs", true), Ok(b"/r/etc/hosts".to_vec()));
        assert_eq!(host(&v, "/etc/abs", false), Ok(b"/r/etc/abs".to_vec()));
    }

    #[test]
    fn dot_dot_stops_at_the_guest_root_and_bindings_map() {
        let v = view();
        assert_eq!(host(&v, "/up/hosts", true), Ok(b"/r/etc/hosts".to_vec()));
        assert_eq!(host(&v, "/mnt/f", true), Ok(b"/data/f".to_vec()));
        assert_eq!(v.to_guest(b"/data/f"), Some(b"/mnt/f".to_vec()));
        assert_eq!(host(&v, "/etc/hosts/x", true), Err(Errno::ENOTDIR));
        assert_eq!(host(&v, "/nope/x", true), Err(Errno::ENOENT));
    }
}
