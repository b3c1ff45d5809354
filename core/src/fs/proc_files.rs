//! The contents of `/proc` files that name host paths, as the guest sees
//! them: the mapping files (`maps`, `smaps`, `numa_maps`) with guest paths,
//! and the mount tables (`mountinfo`, `mounts`) with only what lies inside
//! the view, at guest paths, and the bindings shown as mounts.
//!
//! Pure text in, text out; the tracer reads the kernel's text and hands the
//! guest the rewritten one.

use super::{GuestView, strip_component_prefix};
#[allow(unused_imports)]
use crate::prelude::*;

/// Which rewritten `/proc/<pid>/` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcFile {
    Maps,
    Smaps,
    NumaMaps,
    MountInfo,
    Mounts,
}

impl ProcFile {
    /// The file a host path names: `/proc/<n>/<file>` or
    /// `/proc/<n>/task/<t>/<file>`.
    pub fn of_host_path(host: &[u8]) -> Option<ProcFile> {
        let rest = host.strip_prefix(b"/proc/")?;
        let (pid, rest) = split_digits(rest)?;
        let _ = pid;
        let mut rest = rest.strip_prefix(b"/")?;
        if let Some(r) = rest.strip_prefix(b"task/") {
            let (_, r) = split_digits(r)?;
            rest = r.strip_prefix(b"/")?;
        }
        Some(match rest {
            b"maps" => ProcFile::Maps,
            b"smaps" => ProcFile::Smaps,
            b"numa_maps" => ProcFile::NumaMaps,
            b"mountinfo" => ProcFile::MountInfo,
            b"mounts" => ProcFile::Mounts,
            _ => return None,
        })
    }

    /// The guest's version of the kernel's `text` of this file.
    pub fn rewrite(self, view: &GuestView, text: &[u8]) -> Vec<u8> {
        match self {
            ProcFile::Maps | ProcFile::Smaps => map_lines(text, |l| maps_line(view, l)),
            ProcFile::NumaMaps => map_lines(text, |l| numa_line(view, l)),
            ProcFile::MountInfo => mount_table(view, text, MountFormat::Info),
            ProcFile::Mounts => mount_table(view, text, MountFormat::Mounts),
        }
    }
}

fn split_digits(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = s
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    (end > 0).then(|| s.split_at(end))
}

fn map_lines(text: &[u8], mut f: impl FnMut(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for line in text.split_inclusive(|&c| c == b'\n') {
        let (body, nl) = match line.strip_suffix(b"\n") {
            Some(b) => (b, &b"\n"[..]),
            None => (line, &b""[..]),
        };
        out.extend_from_slice(&f(body));
        out.extend_from_slice(nl);
    }
    out
}

const DELETED: &[u8] = b" (deleted)";

/// A host path as the guest names it (a ` (deleted)` suffix kept), or
/// `None` outside the view.
fn guest_name(view: &GuestView, host: &[u8]) -> Option<Vec<u8>> {
    let (path, suffix) = match host.strip_suffix(DELETED) {
        Some(p) => (p, DELETED),
        None => (host, &b""[..]),
    };
    let mut g = view.to_guest(path)?;
    g.extend_from_slice(suffix);
    Some(g)
}

/// `start-end perms offset dev inode   path`: the path mapped; a mapping of
/// a file outside the view is shown as anonymous memory.
fn maps_line(view: &GuestView, line: &[u8]) -> Vec<u8> {
    // The path starts after the fifth field and its padding.
    let mut i = 0;
    let mut starts = Vec::with_capacity(5);
    for _ in 0..5 {
        while line.get(i) == Some(&b' ') {
            i += 1;
        }
        starts.push(i);
        while i < line.len() && line[i] != b' ' {
            i += 1;
        }
    }
    let field_end = i;
    while line.get(i) == Some(&b' ') {
        i += 1;
    }
    let first = &line[..starts[0].max(1).min(line.len())];
    let is_header = first.first().is_some_and(u8::is_ascii_hexdigit)
        && line[..field_end].contains(&b'-')
        && starts.len() == 5;
    if !is_header || line.get(i) != Some(&b'/') {
        return line.to_vec();
    }
    let path = &line[i..];
    match guest_name(view, path) {
        Some(g) => {
            let mut out = line[..i].to_vec();
            out.extend_from_slice(&g);
            out
        }
        None => {
            let mut out = line[..starts[2]].to_vec();
            out.extend_from_slice(b"00000000 00:00 0 ");
            out
        }
    }
}

/// `addr policy file=/path key=value...`
fn numa_line(view: &GuestView, line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    for (k, tok) in line.split(|&c| c == b' ').enumerate() {
        if k > 0 {
            out.push(b' ');
        }
        match tok.strip_prefix(b"file=") {
            Some(p) => {
                // Outside the view: no file named.
                if let Some(g) = view.to_guest(p) {
                    out.extend_from_slice(b"file=");
                    out.extend_from_slice(&g);
                } else {
                    out.extend_from_slice(b"anon=0");
                }
            }
            None => out.extend_from_slice(tok),
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MountFormat {
    /// `/proc/<pid>/mountinfo`: the mount point is field 5.
    Info,
    /// `/proc/<pid>/mounts`: field 2.
    Mounts,
}

impl MountFormat {
    fn point_field(self) -> usize {
        match self {
            MountFormat::Info => 4,
            MountFormat::Mounts => 1,
        }
    }
}

/// The kernel's octal escapes of space, tab, newline and backslash.
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\'
            && i + 3 < s.len() + 1
            && s.get(i + 1..i + 4)
                .is_some_and(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)))
        {
            let d = &s[i + 1..i + 4];
            out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
            i += 4;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

fn escape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for &c in s {
        if matches!(c, b' ' | b'\t' | b'\n' | b'\\') {
            out.extend_from_slice(format!("\\{c:03o}").as_bytes());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every guest path at which the host path `host` is seen (not hidden by a
/// deeper binding).
fn guest_points(view: &GuestView, host: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for m in &view.mounts {
        if let Some(rest) = strip_component_prefix(host, &m.host) {
            let g = super::join(&m.guest, rest);
            if view.to_host(&g) == host && !out.contains(&g) {
                out.push(g);
            }
        }
    }
    out
}

/// The mount table with the host's mounts that lie inside the view at their
/// guest mount points, and each binding whose host side is not a mount
/// point shown as a bind mount of the mount that holds it.
fn mount_table(view: &GuestView, text: &[u8], format: MountFormat) -> Vec<u8> {
    let field = format.point_field();
    let lines: Vec<Vec<&[u8]>> = text
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| l.split(|&c| c == b' ').collect())
        .collect();
    let points: Vec<Vec<u8>> = lines
        .iter()
        .map(|f| f.get(field).map(|p| unescape(p)).unwrap_or_default())
        .collect();
    // Bind mounts get ids of their own, after the host's.
    let mut next_id = lines
        .iter()
        .filter_map(|f| core::str::from_utf8(f.first()?).ok()?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    let mut out = Vec::with_capacity(text.len());
    let mut emit = |fields: &[&[u8]], point: &[u8], root: Option<&[u8]>| {
        for (k, f) in fields.iter().enumerate() {
            if k > 0 {
                out.push(b' ');
            }
            if k == 0 && root.is_some() {
                next_id += 1;
                out.extend_from_slice(next_id.to_string().as_bytes());
            } else if k == field {
                out.extend_from_slice(&escape(point));
            } else if k == 3 && format == MountFormat::Info && root.is_some() {
                out.extend_from_slice(&escape(root.unwrap_or_default()));
            } else {
                out.extend_from_slice(f);
            }
        }
        out.push(b'\n');
    };
    // Bindings first: they were "mounted" before what lies under them.
    for m in &view.mounts[1..] {
        if points.iter().any(|p| p == &m.host) {
            continue;
        }
        // The last (topmost) mount whose point holds the binding's host side.
        let holder = points
            .iter()
            .enumerate()
            .filter_map(|(k, p)| strip_component_prefix(&m.host, p).map(|r| (k, p.len(), r)))
            .max_by_key(|&(k, len, _)| (len, k));
        let Some((k, _, rest)) = holder else { continue };
        let root = lines[k]
            .get(3)
            .filter(|_| format == MountFormat::Info)
            .map(|r| super::join(&unescape(r), rest));
        emit(&lines[k], &m.guest, root.as_deref());
    }
    for (fields, point) in lines.iter().zip(&points) {
        for g in guest_points(view, point) {
            emit(fields, &g, None);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::Binding;
    use crate::fs::testing::NoHost;

    fn view() -> GuestView {
        GuestView::new(
            alloc::sync::Arc::new(NoHost),
            b"/srv/root",
            vec![
                Binding {
                    host: b"/proc".to_vec(),
                    guest: b"/proc".to_vec(),
                },
                Binding {
                    host: b"/home/me/src".to_vec(),
                    guest: b"/src".to_vec(),
                },
            ],
        )
    }

    #[test]
    fn proc_files_are_recognised_by_host_path() {
        assert_eq!(
            ProcFile::of_host_path(b"/proc/12/maps"),
            Some(ProcFile::Maps)
        );
        assert_eq!(
            ProcFile::of_host_path(b"/proc/12/task/13/mountinfo"),
            Some(ProcFile::MountInfo)
        );
        assert_eq!(ProcFile::of_host_path(b"/proc/12/status"), None);
        assert_eq!(ProcFile::of_host_path(b"/proc/self/maps"), None);
    }

    #[test]
    fn maps_name_guest_paths_and_hide_files_outside() {
        let text = b"00400000-00401000 r-xp 00000000 fe:00 12                         /srv/root/usr/bin/cat\n\
7f00-7f01 rw-p 00001000 fe:00 13                         /tmp/sproot-loader-x (deleted)\n\
7f01-7f02 rw-p 00000000 00:00 0                          [heap]\n\
7f02-7f03 r--p 00000000 fe:00 14                         /srv/root/lib/a b.so (deleted)\n\
Size:                  4 kB\n";
        let out = ProcFile::Smaps.rewrite(&view(), text);
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "00400000-00401000 r-xp 00000000 fe:00 12                         /usr/bin/cat"
        );
        assert_eq!(lines[1], "7f00-7f01 rw-p 00000000 00:00 0 ");
        assert_eq!(
            lines[2],
            "7f01-7f02 rw-p 00000000 00:00 0                          [heap]"
        );
        assert!(lines[3].ends_with(" /lib/a b.so (deleted)"), "{}", lines[3]);
        assert_eq!(lines[4], "Size:                  4 kB");
        assert!(!out.contains("/srv/root"));
    }

    #[test]
    fn mount_tables_show_the_view_only() {
        let info = b"27 1 254:0 / / rw - ext4 /dev/vda rw\n\
22 27 0:21 / /proc rw - proc proc rw\n\
24 27 0:6 / /dev rw - devtmpfs devtmpfs rw\n\
40 27 0:40 / /srv/root/mnt\\040x rw - tmpfs tmpfs rw\n";
        let out = String::from_utf8(ProcFile::MountInfo.rewrite(&view(), info)).unwrap();
        assert_eq!(
            out,
            "41 1 254:0 /home/me/src /src rw - ext4 /dev/vda rw\n\
22 27 0:21 / /proc rw - proc proc rw\n\
40 27 0:40 / /mnt\\040x rw - tmpfs tmpfs rw\n"
        );
        let mounts = b"/dev/vda / ext4 rw 0 0\nproc /proc proc rw 0 0\n";
        let out = String::from_utf8(ProcFile::Mounts.rewrite(&view(), mounts)).unwrap();
        assert_eq!(out, "/dev/vda /src ext4 rw 0 0\nproc /proc proc rw 0 0\n");
    }
}
