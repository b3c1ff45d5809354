//! `-l/--link2symlink` on the tracer's side: the core's on-disk layout
//! (`sproot_core::ext::link2symlink`, where the layout is described) on
//! host paths, through `std`'s file operations.

use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use sproot_core::ext::link2symlink as layout;

pub use sproot_core::ext::link2symlink::{PREFIX, is_l2s_name};

/// The environment variable naming the directory for intermediates and
/// final files.
pub const L2S_DIR_ENV: &str = "PROOT_L2S_DIR";

use crate::host::errno_of;

/// The layout's host operations, with this process's own calls.
pub struct StdLayoutFs;

impl layout::LayoutFs for StdLayoutFs {
    fn lstat_mode(&self, path: &[u8]) -> Result<u32, sproot_core::Errno> {
        Ok(nix::sys::stat::lstat(path)?.st_mode)
    }
    fn read_link(&self, path: &[u8]) -> Result<Vec<u8>, sproot_core::Errno> {
        Ok(nix::fcntl::readlink(path)?.into_vec())
    }
    fn symlink(&self, target: &[u8], link: &[u8]) -> Result<(), sproot_core::Errno> {
        Ok(nix::unistd::symlinkat(target, None, link)?)
    }
    fn unlink(&self, path: &[u8]) -> Result<(), sproot_core::Errno> {
        Ok(nix::unistd::unlink(path)?)
    }
    fn rename(&self, from: &[u8], to: &[u8], flags: u32) -> Result<(), sproot_core::Errno> {
        let (from, to) = (bytes_path(from), bytes_path(to));
        if flags == 0 {
            return std::fs::rename(from, to).map_err(|e| errno_of(&e).into());
        }
        Ok(crate::host::renameat2(from, to, flags)?)
    }
    fn mkdir(&self, path: &[u8]) -> Result<(), sproot_core::Errno> {
        Ok(nix::unistd::mkdir(
            path,
            nix::sys::stat::Mode::from_bits_truncate(0o777),
        )?)
    }
    fn canonical(&self, path: &[u8]) -> Result<Vec<u8>, sproot_core::Errno> {
        std::fs::canonicalize(bytes_path(path))
            .map(|p| p.into_os_string().into_vec())
            .map_err(|e| errno_of(&e).into())
    }
    fn cwd(&self) -> Result<Vec<u8>, sproot_core::Errno> {
        Ok(nix::unistd::getcwd()?.into_os_string().into_vec())
    }
}

fn bytes_path(b: &[u8]) -> &Path {
    Path::new(std::ffi::OsStr::from_bytes(b))
}

fn bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

fn path_buf(b: Vec<u8>) -> PathBuf {
    PathBuf::from(std::ffi::OsString::from_vec(b))
}

/// The group `path` belongs to, whether it is a name, the intermediate
/// symlink or the final file.
pub fn group_of(path: &Path) -> Option<layout::Group> {
    layout::group_of(&StdLayoutFs, bytes(path))
}

/// The link count to report for `path` (not followed), if it is part of
/// a group.
pub fn nlink_of(path: &Path) -> Option<u64> {
    layout::nlink_of(&StdLayoutFs, bytes(path))
}

/// The final file a name of a group stands for.
pub fn resolve(path: &Path) -> Option<PathBuf> {
    layout::resolve(&StdLayoutFs, bytes(path)).map(path_buf)
}

/// Emulate `link(old, new)` (see `layout::link`).
pub fn link(old: &Path, new: &Path, l2s_dir: Option<&Path>) -> Result<(), Errno> {
    Ok(layout::link(
        &StdLayoutFs,
        bytes(old),
        bytes(new),
        l2s_dir.map(bytes),
    )?)
}

/// Emulate `unlink(path)` (see `layout::unlink`).
pub fn unlink(path: &Path) -> Result<(), Errno> {
    Ok(layout::unlink(&StdLayoutFs, bytes(path))?)
}

/// Emulate `rename(old, new)` / `renameat2` (see `layout::rename`).
pub fn rename(old: &Path, new: &Path, flags: u32) -> Result<(), Errno> {
    Ok(layout::rename(&StdLayoutFs, bytes(old), bytes(new), flags)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!(
                "sproot-l2s-{}-{}-{}",
                std::process::id(),
                tag,
                n
            ));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn path(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn read(p: &Path) -> String {
        fs::read_to_string(p).unwrap()
    }

    #[test]
    fn is_l2s_name_checks_the_prefix() {
        assert!(is_l2s_name(b".l2s.foo0001"));
        assert!(is_l2s_name(b".l2s."));
        assert!(!is_l2s_name(b"l2s.foo"));
        assert!(!is_l2s_name(b".proot.l2s.foo"));
        assert!(!is_l2s_name(b""));
    }

    #[test]
    fn link_makes_the_proot_layout() {
        let t = TempDir::new("layout");
        let (a, b) = (t.path("a"), t.path("b"));
        fs::write(&a, "hello").unwrap();
        link(&a, &b, None).unwrap();
        assert_eq!(names(&t.0), [".l2s.a0001", ".l2s.a0001.0002", "a", "b"]);
        // Contents exactly as PRoot writes them: absolute host paths.
        assert_eq!(fs::read_link(&a).unwrap(), t.path(".l2s.a0001"));
        assert_eq!(fs::read_link(&b).unwrap(), t.path(".l2s.a0001"));
        assert_eq!(
            fs::read_link(t.path(".l2s.a0001")).unwrap(),
            t.path(".l2s.a0001.0002")
        );
        assert!(
            fs::symlink_metadata(t.path(".l2s.a0001.0002"))
                .unwrap()
                .is_file()
        );
    }

    #[test]
    fn both_names_share_content_both_ways() {
        let t = TempDir::new("share");
        let (a, b) = (t.path("a"), t.path("b"));
        fs::write(&a, "one").unwrap();
        link(&a, &b, None).unwrap();
        assert_eq!(read(&b), "one");
        fs::OpenOptions::new()
            .append(true)
            .open(&b)
            .unwrap()
            .write_all(b"+two")
            .unwrap();
        assert_eq!(read(&a), "one+two");
        assert_eq!(
            fs::metadata(&a).unwrap().ino(),
            fs::metadata(&b).unwrap().ino()
        );
        assert_eq!(resolve(&a), Some(t.path(".l2s.a0001.0002")));
        assert_eq!(resolve(&b), resolve(&a));
        assert_eq!(resolve(&t.path(".l2s.a0001")), None);
    }

    #[test]
    fn nlink_counts_names() {
        let t = TempDir::new("nlink");
        let a = t.path("a");
        fs::write(&a, "x").unwrap();
        assert_eq!(nlink_of(&a), None);
        link(&a, &t.path("b"), None).unwrap();
        assert_eq!(nlink_of(&a), Some(2));
        link(&t.path("b"), &t.path("c"), None).unwrap();
        link(&a, &t.path("d"), None).unwrap();
        for n in ["a", "b", "c", "d", ".l2s.a0001", ".l2s.a0001.0004"] {
            assert_eq!(nlink_of(&t.path(n)), Some(4), "{n}");
        }
        assert_eq!(
            names(&t.0),
            [".l2s.a0001", ".l2s.a0001.0004", "a", "b", "c", "d"]
        );
        unlink(&t.path("c")).unwrap();
        assert_eq!(nlink_of(&a), Some(3));
        assert!(t.path(".l2s.a0001.0003").is_file());
    }

    #[test]
    fn unlink_one_name_keeps_the_other_and_last_removes_hidden_files() {
        let t = TempDir::new("unlink");
        let (a, b) = (t.path("a"), t.path("b"));
        fs::write(&a, "data").unwrap();
        link(&a, &b, None).unwrap();
        unlink(&a).unwrap();
        assert_eq!(read(&b), "data");
        assert_eq!(nlink_of(&b), Some(1));
        assert_eq!(names(&t.0), [".l2s.a0001", ".l2s.a0001.0001", "b"]);
        unlink(&b).unwrap();
        assert!(names(&t.0).is_empty());
    }

    #[test]
    fn unlink_of_missing_or_plain_files() {
        let t = TempDir::new("plain");
        assert_eq!(unlink(&t.path("nope")), Err(Errno::ENOENT));
        fs::write(t.path("f"), "").unwrap();
        unlink(&t.path("f")).unwrap();
        fs::create_dir(t.path("d")).unwrap();
        assert!(unlink(&t.path("d")).is_err());
        assert!(t.path("d").is_dir());
    }

    #[test]
    fn link_of_a_link_and_relinking_after_unlink() {
        let t = TempDir::new("chain");
        let a = t.path("a");
        fs::write(&a, "z").unwrap();
        link(&a, &t.path("b"), None).unwrap();
        link(&t.path("b"), &t.path("c"), None).unwrap();
        assert_eq!(fs::read_link(t.path("c")).unwrap(), t.path(".l2s.a0001"));
        unlink(&a).unwrap();
        unlink(&t.path("b")).unwrap();
        assert_eq!(read(&t.path("c")), "z");
        // A new file named a gets its own group, with the next free number.
        fs::write(&a, "new").unwrap();
        link(&a, &t.path("e"), None).unwrap();
        assert_eq!(fs::read_link(&a).unwrap(), t.path(".l2s.a0002"));
        assert_eq!(read(&t.path("e")), "new");
        assert_eq!(read(&t.path("c")), "z");
    }

    #[test]
    fn link_errors_change_nothing() {
        let t = TempDir::new("errors");
        let a = t.path("a");
        fs::write(&a, "q").unwrap();
        fs::write(t.path("exists"), "").unwrap();
        assert_eq!(link(&a, &t.path("exists"), None), Err(Errno::EEXIST));
        assert_eq!(
            link(&t.path("missing"), &t.path("x"), None),
            Err(Errno::ENOENT)
        );
        fs::create_dir(t.path("dir")).unwrap();
        assert_eq!(link(&t.path("dir"), &t.path("x"), None), Err(Errno::EPERM));
        assert_eq!(link(&a, &t.path("no/such/dir/x"), None), Err(Errno::ENOENT));
        assert_eq!(names(&t.0), ["a", "dir", "exists"]);
        assert!(fs::symlink_metadata(&a).unwrap().is_file());
        // Same failure on an existing group leaves its count alone.
        link(&a, &t.path("b"), None).unwrap();
        assert_eq!(link(&a, &t.path("no/such/dir/x"), None), Err(Errno::ENOENT));
        assert_eq!(link(&a, &t.path("b"), None), Err(Errno::EEXIST));
        assert_eq!(nlink_of(&a), Some(2));
    }

    #[test]
    fn l2s_dir_holds_the_hidden_files() {
        let t = TempDir::new("dir");
        let store = t.path("store");
        fs::create_dir(t.path("w")).unwrap();
        let a = t.path("w/a");
        fs::write(&a, "v").unwrap();
        link(&a, &t.path("b"), Some(&store)).unwrap();
        assert_eq!(names(&t.path("w")), ["a"]);
        assert_eq!(names(&store), [".l2s.a0001", ".l2s.a0001.0002"]);
        assert_eq!(fs::read_link(&a).unwrap(), store.join(".l2s.a0001"));
        assert_eq!(read(&t.path("b")), "v");
        // Another "a" elsewhere does not collide in the shared directory.
        fs::create_dir(t.path("w2")).unwrap();
        fs::write(t.path("w2/a"), "w").unwrap();
        link(&t.path("w2/a"), &t.path("w2/b"), Some(&store)).unwrap();
        assert_eq!(
            names(&store),
            [
                ".l2s.a0001",
                ".l2s.a0001.0002",
                ".l2s.a0002",
                ".l2s.a0002.0002"
            ]
        );
        unlink(&a).unwrap();
        unlink(&t.path("b")).unwrap();
        assert_eq!(names(&store), [".l2s.a0002", ".l2s.a0002.0002"]);
        // An empty directory setting means "next to the file".
        fs::write(t.path("c"), "").unwrap();
        link(&t.path("c"), &t.path("d"), Some(Path::new(""))).unwrap();
        assert!(t.path(".l2s.c0001").is_symlink());
    }

    #[test]
    fn rename_of_a_name_keeps_the_group() {
        let t = TempDir::new("rename");
        let (a, b) = (t.path("a"), t.path("b"));
        fs::write(&a, "r").unwrap();
        link(&a, &b, None).unwrap();
        fs::create_dir(t.path("sub")).unwrap();
        rename(&a, &t.path("sub/moved"), 0).unwrap();
        assert_eq!(read(&t.path("sub/moved")), "r");
        assert_eq!(nlink_of(&t.path("sub/moved")), Some(2));
        unlink(&b).unwrap();
        assert_eq!(read(&t.path("sub/moved")), "r");
        assert_eq!(nlink_of(&t.path("sub/moved")), Some(1));
    }

    #[test]
    fn rename_over_a_name_drops_it_from_its_group() {
        let t = TempDir::new("over");
        let (a, b, f) = (t.path("a"), t.path("b"), t.path("f"));
        fs::write(&a, "old").unwrap();
        fs::write(&f, "new").unwrap();
        link(&a, &b, None).unwrap();
        rename(&f, &b, 0).unwrap();
        assert_eq!(read(&b), "new");
        assert_eq!(read(&a), "old");
        assert_eq!(nlink_of(&a), Some(1));
        fs::write(&f, "newer").unwrap();
        rename(&f, &a, 0).unwrap();
        assert_eq!(names(&t.0), ["a", "b"]);
        assert_eq!(read(&a), "newer");
    }

    #[test]
    fn rename_between_names_of_one_group_does_nothing() {
        let t = TempDir::new("same");
        let (a, b) = (t.path("a"), t.path("b"));
        fs::write(&a, "s").unwrap();
        link(&a, &b, None).unwrap();
        rename(&a, &b, 0).unwrap();
        assert!(a.is_symlink() && b.is_symlink());
        assert_eq!(nlink_of(&a), Some(2));
    }

    #[test]
    fn failed_rename_changes_no_count() {
        let t = TempDir::new("failren");
        let (a, b) = (t.path("a"), t.path("b"));
        fs::write(&a, "s").unwrap();
        link(&a, &b, None).unwrap();
        assert_eq!(rename(&t.path("missing"), &b, 0), Err(Errno::ENOENT));
        assert_eq!(nlink_of(&a), Some(2));
        fs::write(t.path("f"), "").unwrap();
        assert_eq!(
            rename(&t.path("f"), &b, libc::RENAME_NOREPLACE),
            Err(Errno::EEXIST)
        );
        assert_eq!(nlink_of(&a), Some(2));
    }

    #[test]
    fn linking_the_hidden_files_joins_the_group() {
        let t = TempDir::new("hidden");
        let a = t.path("a");
        fs::write(&a, "h").unwrap();
        link(&a, &t.path("b"), None).unwrap();
        link(&t.path(".l2s.a0001.0002"), &t.path("c"), None).unwrap();
        link(&t.path(".l2s.a0001"), &t.path("d"), None).unwrap();
        assert_eq!(nlink_of(&a), Some(4));
        assert_eq!(read(&t.path("c")), "h");
        assert_eq!(read(&t.path("d")), "h");
    }

    #[test]
    fn repointing_never_removes_an_unrelated_file() {
        let t = TempDir::new("tmpname");
        fs::write(t.path("a"), "a").unwrap();
        fs::write(t.path(".l2s.a0001.new0"), "mine").unwrap();
        link(&t.path("a"), &t.path("b"), None).unwrap();
        link(&t.path("a"), &t.path("c"), None).unwrap();
        assert_eq!(read(&t.path(".l2s.a0001.new0")), "mine");
        assert_eq!(
            names(&t.0),
            [
                ".l2s.a0001",
                ".l2s.a0001.0003",
                ".l2s.a0001.new0",
                "a",
                "b",
                "c"
            ]
        );
    }

    #[test]
    fn plain_symlinks_are_copied() {
        let t = TempDir::new("sym");
        fs::write(t.path("target"), "t").unwrap();
        std::os::unix::fs::symlink("target", t.path("s")).unwrap();
        link(&t.path("s"), &t.path("s2"), None).unwrap();
        assert_eq!(fs::read_link(t.path("s2")).unwrap(), Path::new("target"));
        assert_eq!(names(&t.0), ["s", "s2", "target"]);
    }

    #[test]
    fn counts_past_four_digits_keep_working() {
        let t = TempDir::new("big");
        let a = t.path("a");
        fs::write(&a, "b").unwrap();
        link(&a, &t.path("b"), None).unwrap();
        // Pretend 9998 more names exist.
        fs::rename(t.path(".l2s.a0001.0002"), t.path(".l2s.a0001.9999")).unwrap();
        fs::remove_file(t.path(".l2s.a0001")).unwrap();
        std::os::unix::fs::symlink(t.path(".l2s.a0001.9999"), t.path(".l2s.a0001")).unwrap();
        link(&a, &t.path("c"), None).unwrap();
        assert!(t.path(".l2s.a0001.10000").is_file());
        assert_eq!(nlink_of(&a), Some(10000));
        unlink(&t.path("c")).unwrap();
        assert!(t.path(".l2s.a0001.9999").is_file());
        assert_eq!(nlink_of(&a), Some(9999));
    }

    #[test]
    fn many_groups_of_one_name_are_not_limited() {
        let t = TempDir::new("many");
        // Occupy numbers 0001..=1000 as PRoot would never go past 999.
        for i in 1..=1000 {
            std::os::unix::fs::symlink("x", t.path(&format!(".l2s.a{i:04}"))).unwrap();
        }
        fs::write(t.path("a"), "m").unwrap();
        link(&t.path("a"), &t.path("b"), None).unwrap();
        assert_eq!(fs::read_link(t.path("a")).unwrap(), t.path(".l2s.a1001"));
        assert_eq!(read(&t.path("b")), "m");
    }

    /// Build, by hand, exactly what PRoot's `move_and_symlink_path` leaves
    /// after `ln a b` then `ln b c` (rename a to the final name, symlink
    /// the intermediate to it, symlink a and the new names to the
    /// intermediate, bump the count by renaming and re-creating the
    /// intermediate), then check these functions read and update it.
    #[test]
    fn tree_made_by_proot_is_understood() {
        let t = TempDir::new("proot");
        let (a, b, c) = (t.path("a"), t.path("b"), t.path("c"));
        let (i, f2, f3) = (
            t.path(".l2s.a0001"),
            t.path(".l2s.a0001.0002"),
            t.path(".l2s.a0001.0003"),
        );
        fs::write(&a, "from proot").unwrap();
        fs::rename(&a, &f2).unwrap();
        std::os::unix::fs::symlink(&f2, &i).unwrap();
        std::os::unix::fs::symlink(&i, &a).unwrap();
        std::os::unix::fs::symlink(&i, &b).unwrap();
        fs::rename(&f2, &f3).unwrap();
        fs::remove_file(&i).unwrap();
        std::os::unix::fs::symlink(&f3, &i).unwrap();
        std::os::unix::fs::symlink(&i, &c).unwrap();

        assert_eq!(nlink_of(&b), Some(3));
        assert_eq!(resolve(&c), Some(f3.clone()));
        link(&c, &t.path("d"), None).unwrap();
        assert_eq!(fs::read_link(t.path("d")).unwrap(), i);
        assert!(t.path(".l2s.a0001.0004").is_file());
        for n in ["a", "b", "c"] {
            unlink(&t.path(n)).unwrap();
        }
        assert_eq!(read(&t.path("d")), "from proot");
        assert_eq!(names(&t.0), [".l2s.a0001", ".l2s.a0001.0001", "d"]);
        unlink(&t.path("d")).unwrap();
        assert!(names(&t.0).is_empty());
    }

    #[test]
    fn damaged_groups_do_not_lose_data() {
        let t = TempDir::new("broken");
        // Intermediate missing: the name is just a dangling symlink.
        std::os::unix::fs::symlink(t.path(".l2s.x0001"), t.path("x")).unwrap();
        assert_eq!(nlink_of(&t.path("x")), None);
        unlink(&t.path("x")).unwrap();
        // Final without a count: unlink leaves it, link refuses.
        fs::write(t.path(".l2s.y0001.abc"), "keep").unwrap();
        std::os::unix::fs::symlink(t.path(".l2s.y0001.abc"), t.path(".l2s.y0001")).unwrap();
        std::os::unix::fs::symlink(t.path(".l2s.y0001"), t.path("y")).unwrap();
        assert_eq!(nlink_of(&t.path("y")), None);
        assert_eq!(link(&t.path("y"), &t.path("z"), None), Err(Errno::EIO));
        unlink(&t.path("y")).unwrap();
        assert_eq!(read(&t.path(".l2s.y0001.abc")), "keep");
    }

    #[test]
    fn relative_host_paths_are_made_absolute() {
        let t = TempDir::new("rel");
        fs::write(t.path("a"), "r").unwrap();
        let cwd = std::env::current_dir().unwrap();
        let rel = |p: &Path| {
            // A relative path that reaches p from the current directory.
            let up: PathBuf = cwd.components().skip(1).map(|_| "..").collect();
            up.join(p.strip_prefix("/").unwrap())
        };
        link(&rel(&t.path("a")), &rel(&t.path("b")), None).unwrap();
        assert_eq!(fs::read_link(t.path("b")).unwrap(), t.path(".l2s.a0001"));
    }

    /// Debian's proot 5.1 has no `-l`; when a proot with it is installed,
    /// let it make links and check they read the same here.
    #[test]
    fn links_made_by_an_installed_proot_are_understood() {
        let Ok(out) = std::process::Command::new("proot").arg("--help").output() else {
            return;
        };
        if !String::from_utf8_lossy(&out.stdout).contains("link2symlink") {
            return;
        }
        let t = TempDir::new("realproot");
        fs::write(t.path("a"), "p").unwrap();
        let status = std::process::Command::new("proot")
            .args(["-l", "-r", "/", "ln"])
            .arg(t.path("a"))
            .arg(t.path("b"))
            .status();
        if !status.is_ok_and(|s| s.success()) {
            return;
        }
        assert_eq!(nlink_of(&t.path("a")), Some(2));
        assert_eq!(read(&t.path("b")), "p");
        unlink(&t.path("a")).unwrap();
        unlink(&t.path("b")).unwrap();
        assert!(names(&t.0).is_empty());
    }
}
