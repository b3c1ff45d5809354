//! `-l/--link2symlink`: the names of PRoot's on-disk layout that path
//! translation must recognise (the layout itself, which creates and reads
//! host files, is the backend's).

/// The prefix of intermediate and final names.
pub const PREFIX: &[u8] = b".l2s.";

/// Whether a file name (one path component) is an l2s internal name.
pub fn is_l2s_name(name: &[u8]) -> bool {
    name.starts_with(PREFIX)
}
