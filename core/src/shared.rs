//! The run's state that every guest process shares, whichever backend
//! stops its syscalls: fake owners recorded by `chown` under fake root,
//! fake root's `trusted.*`/`security.*` extended attributes, the `uname`
//! names a fake root set, and `-n`'s moved ports.
//!
//! Handlers reach it only through [`SharedState`], by operation, so that
//! one copy can serve processes that do not share memory: the ptrace
//! tracer holds it for all its tracees ([`LocalState`]); a translation
//! running inside guest processes would ask a broker in the sproot process
//! for the same operations.

use crate::Errno;
use crate::ext::fake_xattr::{FakeXattrs, FileKey};
use crate::ext::kernel_release::Uname;
use crate::ext::net::NetCoop;
use crate::prelude::*;
use core::cell::RefCell;
use hashbrown::HashMap;

pub mod mapped;
pub use mapped::MappedState;

/// The operations on the run's shared state.
pub trait SharedState {
    /// The owner a fake `chown` recorded for `file`.
    fn owner(&self, file: FileKey) -> Option<(u32, u32)>;
    /// Record a fake `chown` of `file`.
    fn set_owner(&self, file: FileKey, owner: (u32, u32));

    /// `setxattr` of a kept attribute, with `XATTR_CREATE`/`XATTR_REPLACE`.
    fn xattr_set(&self, file: FileKey, name: &[u8], value: &[u8], flags: u32) -> Result<(), Errno>;
    /// A kept attribute's value (`ENODATA`: none is kept).
    fn xattr_get(&self, file: FileKey, name: &[u8]) -> Result<Vec<u8>, Errno>;
    /// Remove a kept attribute (`ENODATA`: none is kept).
    fn xattr_remove(&self, file: FileKey, name: &[u8]) -> Result<(), Errno>;
    /// Whether any attribute is kept for `file`.
    fn xattr_has_any(&self, file: FileKey) -> bool;
    /// The kernel's list of names (`kernel`, NUL-separated) with the kept
    /// ones added.
    fn xattr_list(&self, file: FileKey, kernel: &[u8]) -> Result<Vec<u8>, Errno>;

    /// What `uname` reports instead of the host's fields.
    fn uname(&self) -> Uname;
    /// `sethostname` by a fake root.
    fn set_nodename(&self, name: &[u8]) -> Result<(), Errno>;
    /// `setdomainname` by a fake root.
    fn set_domainname(&self, name: &[u8]) -> Result<(), Errno>;

    /// `-n`: where a connection to `port` must go.
    fn port_target(&self, port: u16) -> u16;
    /// `-n`: a guest asked for port `asked` and got `got`.
    fn port_moved(&self, asked: u16, got: u16);
}

/// The shared state held in one process, for guests whose calls all stop
/// there.
#[derive(Debug, Default)]
pub struct LocalState {
    owners: RefCell<HashMap<FileKey, (u32, u32)>>,
    xattrs: RefCell<FakeXattrs>,
    uname: RefCell<Uname>,
    net: RefCell<NetCoop>,
}

impl LocalState {
    /// `uname`: the fields `-k` sets (the host's elsewhere).
    pub fn new(uname: Uname) -> Self {
        LocalState {
            uname: RefCell::new(uname),
            ..Default::default()
        }
    }
}

impl SharedState for LocalState {
    fn owner(&self, file: FileKey) -> Option<(u32, u32)> {
        self.owners.borrow().get(&file).copied()
    }
    fn set_owner(&self, file: FileKey, owner: (u32, u32)) {
        self.owners.borrow_mut().insert(file, owner);
    }
    fn xattr_set(&self, file: FileKey, name: &[u8], value: &[u8], flags: u32) -> Result<(), Errno> {
        self.xattrs.borrow_mut().set(file, name, value, flags)
    }
    fn xattr_get(&self, file: FileKey, name: &[u8]) -> Result<Vec<u8>, Errno> {
        self.xattrs.borrow().get(file, name).map(<[u8]>::to_vec)
    }
    fn xattr_remove(&self, file: FileKey, name: &[u8]) -> Result<(), Errno> {
        self.xattrs.borrow_mut().remove(file, name)
    }
    fn xattr_has_any(&self, file: FileKey) -> bool {
        self.xattrs.borrow().has_any(file)
    }
    fn xattr_list(&self, file: FileKey, kernel: &[u8]) -> Result<Vec<u8>, Errno> {
        self.xattrs.borrow().list(file, kernel)
    }
    fn uname(&self) -> Uname {
        self.uname.borrow().clone()
    }
    fn set_nodename(&self, name: &[u8]) -> Result<(), Errno> {
        self.uname.borrow_mut().set_nodename(name)
    }
    fn set_domainname(&self, name: &[u8]) -> Result<(), Errno> {
        self.uname.borrow_mut().set_domainname(name)
    }
    fn port_target(&self, port: u16) -> u16 {
        self.net.borrow().target(port)
    }
    fn port_moved(&self, asked: u16, got: u16) {
        self.net.borrow_mut().moved(asked, got);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_reads_back_what_an_earlier_one_left() {
        let s: &dyn SharedState = &LocalState::new(Uname {
            release: Some(b"6.17.0".to_vec()),
            ..Default::default()
        });
        let f = (1, 2);
        assert_eq!(s.owner(f), None);
        s.set_owner(f, (0, 42));
        assert_eq!(s.owner(f), Some((0, 42)));
        assert_eq!(s.owner((1, 3)), None);

        assert!(!s.xattr_has_any(f));
        s.xattr_set(f, b"trusted.a", b"v", 0).unwrap();
        assert!(s.xattr_has_any(f));
        assert_eq!(s.xattr_get(f, b"trusted.a").unwrap(), b"v");
        assert_eq!(s.xattr_get(f, b"trusted.b"), Err(Errno::ENODATA));
        assert_eq!(
            s.xattr_list(f, b"user.k\0").unwrap(),
            b"user.k\0trusted.a\0"
        );
        s.xattr_remove(f, b"trusted.a").unwrap();
        assert!(!s.xattr_has_any(f));

        s.set_nodename(b"box").unwrap();
        let u = s.uname();
        assert_eq!(u.nodename.as_deref(), Some(&b"box"[..]));
        assert_eq!(u.release.as_deref(), Some(&b"6.17.0"[..]));

        assert_eq!(s.port_target(80), 80);
        s.port_moved(80, 8080);
        assert_eq!(s.port_target(80), 8080);
    }
}
