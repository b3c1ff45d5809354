//! Binding points a directory listing must show: a real mount point is an
//! entry of its parent directory, but sproot's binding points need not
//! exist in the rootfs (a binding at a new name, or the top of a glue tree
//! made for a binding under missing directories).

use std::os::unix::fs::MetadataExt;

use super::{GuestView, bytes_to_path, join};

/// A directory entry that stands for a binding point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    pub name: Vec<u8>,
    /// `DT_*` of what is bound there.
    pub d_type: u8,
    pub ino: u64,
}

/// The `d_type` of a file mode.
pub fn dt_of_mode(mode: u32) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFREG => libc::DT_REG,
        libc::S_IFDIR => libc::DT_DIR,
        libc::S_IFLNK => libc::DT_LNK,
        libc::S_IFIFO => libc::DT_FIFO,
        libc::S_IFSOCK => libc::DT_SOCK,
        libc::S_IFCHR => libc::DT_CHR,
        libc::S_IFBLK => libc::DT_BLK,
        _ => libc::DT_UNKNOWN,
    }
}

/// The binding points `names` of host directory `dir` that `dir` lacks.
pub(super) fn missing(view: &GuestView, dir: &[u8], names: &[Vec<u8>]) -> Vec<Point> {
    let mut out: Vec<Point> = Vec::new();
    for name in names {
        if out.iter().any(|p| &p.name == name) {
            continue;
        }
        let mut in_dir = dir.to_vec();
        in_dir.push(b'/');
        in_dir.extend_from_slice(name);
        if std::fs::symlink_metadata(bytes_to_path(in_dir)).is_ok() {
            continue;
        }
        // What the guest finds at the point: the binding's host side.
        let Some(guest_dir) = view.to_guest(dir) else {
            continue;
        };
        let mut rest = b"/".to_vec();
        rest.extend_from_slice(name);
        let point = view.to_host(&join(&guest_dir, &rest));
        if let Ok(md) = std::fs::symlink_metadata(point) {
            out.push(Point {
                name: name.clone(),
                d_type: dt_of_mode(md.mode()),
                ino: md.ino(),
            });
        }
    }
    out
}
