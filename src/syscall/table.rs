//! Which syscalls stop at the tracer, and what each one needs, as data:
//! the core's table (`sproot_core::table`), where each syscall's argument
//! layout is written once.

pub use sproot_core::table::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::sys;

    /// The syscall names of one filter list of `filters/<arch>.json`
    /// (embedded, so the test also runs where the sources are not).
    fn filter_names(arch: &str, filter: &str) -> Vec<String> {
        let text = match arch {
            "x86_64" => include_str!("../../filters/x86_64.json"),
            "aarch64" => include_str!("../../filters/aarch64.json"),
            _ => panic!("no filter for {arch}"),
        };
        let doc: serde_json::Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("parse {arch}.json: {e}"));
        let list = doc[filter]["filter"]
            .as_array()
            .unwrap_or_else(|| panic!("{arch}.json has no {filter:?} list"));
        list.iter()
            .map(|e| {
                e["syscall"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{arch}.json: entry without a syscall name: {e}"))
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn open_flags_are_this_architectures() {
        // arm64's O_NOFOLLOW is x86_64's O_LARGEFILE: an open that must not
        // follow its last symlink would be taken for one that does.
        assert_eq!(O_NOFOLLOW, libc::O_NOFOLLOW as u64);
        assert_eq!(O_CREAT, libc::O_CREAT as u64);
        assert_eq!(O_EXCL, libc::O_EXCL as u64);
        let at = libc::AT_FDCWD as u64;
        let open = |flags: i32| Call::decode(sys::SYS_openat, [at, 0, flags as u64, 0, 0, 0]);
        let nofollow = open(libc::O_NOFOLLOW).unwrap();
        let path = nofollow.entry.path_arg(0).unwrap();
        assert!(!nofollow.follows(&path));
        assert!(open(libc::O_RDONLY).unwrap().follows(&path));
    }

    #[test]
    fn every_syscall_in_the_filter_is_handled() {
        // The default filter of this architecture; "tracee_ext" adds the
        // extensions' calls, handled by their own hooks.
        let names = filter_names(std::env::consts::ARCH, "tracee");
        let names: Vec<String> = names
            .into_iter()
            .chain(trapped_names(sys::Arch::THIS).map(String::from))
            .collect();
        assert!(names.len() > 50, "{} names", names.len());
        // Answered before the table by guest ptrace (tracer/guest/hooks.rs)
        // and guest seccomp filters (tracer/guest/filter_hooks.rs).
        let by_the_tracer = ["ptrace", "seccomp"];
        for name in names
            .into_iter()
            .filter(|n| !by_the_tracer.contains(&n.as_str()))
        {
            let nr = sys::number(&name).unwrap_or_else(|| panic!("no number for {name}"));
            assert!(classify(nr).is_some(), "{name} is trapped but not handled");
        }
    }

    #[test]
    fn the_aarch64_filters_are_the_x86_64_ones_without_the_legacy_calls() {
        let legacy: Vec<&str> = ["access", "chmod", "chown", "creat", "futimesat", "lchown"]
            .into_iter()
            .chain([
                "link", "lstat", "mkdir", "mknod", "open", "readlink", "rename",
            ])
            .chain([
                "rmdir", "stat", "symlink", "unlink", "uselib", "utime", "utimes",
            ])
            .chain(["fork", "vfork"])
            // x86_64-only calls named for the equivalents of calls an outer
            // seccomp filter traps (syscall/trapped.rs); in no filter.
            .chain(["dup2", "epoll_create", "epoll_wait", "eventfd", "getpgrp"])
            .chain(["inotify_init", "pipe", "poll", "signalfd"])
            .collect();
        if cfg!(target_arch = "x86_64") {
            // The same list as the table's x86_64-only entries.
            let mut table: Vec<&str> = sys::LEGACY.iter().map(|(n, _)| &n[4..]).collect();
            table.sort_unstable();
            let mut want = legacy.clone();
            want.sort_unstable();
            assert_eq!(table, want);
        }
        for filter in ["tracee", "tracee_ext"] {
            let x86: Vec<String> = filter_names("x86_64", filter)
                .into_iter()
                .filter(|n| !legacy.contains(&n.as_str()))
                .collect();
            assert_eq!(filter_names("aarch64", filter), x86, "{filter}");
        }
    }

    #[test]
    fn io_uring_is_refused_with_enosys() {
        assert!(matches!(
            classify(sys::SYS_io_uring_setup),
            Some(Entry {
                kind: Kind::Refuse(sproot_core::Errno::ENOSYS),
                ..
            })
        ));
    }
}
