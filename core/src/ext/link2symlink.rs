//! `-l/--link2symlink`: the names of PRoot's on-disk layout that path
//! translation must recognise (the layout itself, which creates and reads
//! host files, is the backend's).

/// The prefix of intermediate and final names.
pub const PREFIX: &[u8] = b".l2s.";

/// Whether a file name (one path component) is an l2s internal name.
pub fn is_l2s_name(name: &[u8]) -> bool {
    name.starts_with(PREFIX)
}

/// Whether syscall `nr` works on the names of emulated hard links
/// themselves (links, removals, renames), not on their final file.
pub fn works_on_names(nr: i64) -> bool {
    use crate::sysno as sys;
    matches!(
        nr,
        sys::SYS_link
            | sys::SYS_linkat
            | sys::SYS_unlink
            | sys::SYS_unlinkat
            | sys::SYS_rename
            | sys::SYS_renameat
            | sys::SYS_renameat2
            | sys::SYS_symlink
            | sys::SYS_symlinkat
    )
}
