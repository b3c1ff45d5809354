//! `#!` line parsing with Linux's rules (fs/binfmt_script.c behaviour):
//!
//! * only the first 256 bytes of the file are looked at (the last one is
//!   never part of the line); a shorter file is padded with NULs;
//! * the line ends at the first `\n` within those bytes. Without one, the
//!   line runs to the end of the buffer, but only if the interpreter name is
//!   followed by a space, tab or NUL inside it (otherwise the name might be
//!   truncated and the file is rejected);
//! * spaces and tabs around the line are trimmed; the interpreter name ends
//!   at the first space, tab or NUL; everything after the following blanks,
//!   up to the end of the line, is the single optional argument (which may
//!   contain blanks).

#[allow(unused_imports)]
use crate::prelude::*;

/// Size of the kernel's look-ahead buffer.
pub const BUF_SIZE: usize = 256;

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn is_terminator(c: u8) -> bool {
    c == b' ' || c == b'\t' || c == 0
}

/// Parsed `#!` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shebang {
    pub interp: Vec<u8>,
    pub arg: Option<Vec<u8>>,
}

/// Parses the start of a file that begins with `#!`. `None` means the kernel
/// would refuse it with ENOEXEC.
pub fn parse(head: &[u8]) -> Option<Shebang> {
    let mut buf = [0u8; BUF_SIZE];
    let n = head.len().min(BUF_SIZE);
    buf[..n].copy_from_slice(&head[..n]);
    if &buf[..2] != b"#!" {
        return None;
    }
    // The last byte is reserved for a terminator.
    let usable = BUF_SIZE - 1;

    let mut end = match buf.iter().position(|&c| c == b'\n') {
        Some(i) => i,
        None => {
            let name = (2..usable).find(|&i| !is_blank(buf[i]))?;
            // The interpreter name must be terminated inside the buffer.
            (name..usable).find(|&i| is_terminator(buf[i]))?;
            usable
        }
    };
    while end > 2 && is_blank(buf[end - 1]) {
        end -= 1;
    }
    let name = (2..end).find(|&i| !is_blank(buf[i]))?;
    let sep = (name..end).find(|&i| is_terminator(buf[i])).unwrap_or(end);
    let interp = buf[name..sep].to_vec();
    let arg = if sep < end && buf[sep] != 0 {
        (sep..end)
            .find(|&i| !is_blank(buf[i]))
            .map(|a| buf[a..end].to_vec())
    } else {
        None
    };
    Some(Shebang { interp, arg })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[u8]) -> Option<(String, Option<String>)> {
        parse(s).map(|s| {
            (
                String::from_utf8_lossy(&s.interp).into_owned(),
                s.arg.map(|a| String::from_utf8_lossy(&a).into_owned()),
            )
        })
    }

    #[test]
    fn simple() {
        assert_eq!(p(b"#!/bin/sh\necho"), Some(("/bin/sh".into(), None)));
        assert_eq!(p(b"#!/bin/sh"), Some(("/bin/sh".into(), None)));
        assert_eq!(p(b"#! /bin/sh  \n"), Some(("/bin/sh".into(), None)));
        assert_eq!(
            p(b"#!\t/bin/sh\t\r\n"),
            Some(("/bin/sh".into(), Some("\r".into())))
        );
    }

    #[test]
    fn argument() {
        assert_eq!(
            p(b"#!/usr/bin/env python3\n"),
            Some(("/usr/bin/env".into(), Some("python3".into())))
        );
        assert_eq!(
            p(b"#!/bin/a  -x  -y \nrest"),
            Some(("/bin/a".into(), Some("-x  -y".into())))
        );
    }

    #[test]
    fn empty_or_blank() {
        assert_eq!(p(b"#!\n"), None);
        assert_eq!(p(b"#!   \t\n"), None);
        // Like Linux: a lone "#!" names the empty interpreter (ENOENT later).
        assert_eq!(p(b"#!"), Some((String::new(), None)));
        assert_eq!(p(b"not a script"), None);
    }

    #[test]
    fn nul_ends_name() {
        assert_eq!(p(b"#!/bin/sh\0junk\n"), Some(("/bin/sh".into(), None)));
    }

    #[test]
    fn long_lines() {
        // Name too long to fit: rejected.
        let mut long = b"#!/".to_vec();
        long.extend(core::iter::repeat_n(b'a', 300));
        assert_eq!(p(&long), None);
        // Name fits, argument truncated: accepted with the truncated arg.
        let mut trunc = b"#!/bin/x ".to_vec();
        trunc.extend(core::iter::repeat_n(b'b', 300));
        let (name, arg) = p(&trunc).unwrap();
        assert_eq!(name, "/bin/x");
        assert_eq!(arg.unwrap().len(), BUF_SIZE - 1 - 9);
        // Newline as the 256th byte is still found.
        let mut exact = b"#!/bin/x ".to_vec();
        exact.extend(core::iter::repeat_n(b'c', BUF_SIZE - 1 - 9));
        exact.push(b'\n');
        assert_eq!(exact.len(), BUF_SIZE);
        let (_, arg) = p(&exact).unwrap();
        assert_eq!(arg.unwrap().len(), BUF_SIZE - 1 - 9);
    }
}
