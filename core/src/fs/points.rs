//! Binding points a directory listing must show: a real mount point is an
//! entry of its parent directory, but sproot's binding points need not
//! exist in the rootfs (a binding at a new name, or the top of a glue tree
//! made for a binding under missing directories).

use super::{GuestView, join};
#[allow(unused_imports)]
use crate::prelude::*;

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
    // The file type's bits, shifted, are the DT_* value (DT_UNKNOWN: 0).
    const S_IFMT: u32 = 0o170000;
    match mode & S_IFMT {
        t @ (0o010000 | 0o020000 | 0o040000 | 0o060000 | 0o100000 | 0o120000 | 0o140000) => {
            (t >> 12) as u8
        }
        _ => 0,
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
        if view.host.lstat_mode_ino(&in_dir).is_ok() {
            continue;
        }
        // What the guest finds at the point: the binding's host side.
        let Some(guest_dir) = view.to_guest(dir) else {
            continue;
        };
        let mut rest = b"/".to_vec();
        rest.extend_from_slice(name);
        let point = view.to_host(&join(&guest_dir, &rest));
        if let Ok((mode, ino)) = view.host.lstat_mode_ino(&point) {
            out.push(Point {
                name: name.clone(),
                d_type: dt_of_mode(mode),
                ino,
            });
        }
    }
    out
}
