//! `-k/--kernel-release`: what `uname(2)` (and `AT_HWCAP`) report to the guest.
//!
//! Two argument forms are accepted, as PRoot's "kompat" extension does:
//!
//! * a plain string (anything not starting with a backslash): only the
//!   `release` field is replaced, every other field keeps the host's value
//!   and `AT_HWCAP` is untouched;
//! * the backslash form `\sysname\nodename\release\version\machine\domainname\hwcap\`:
//!   six text fields, each ended by a backslash, then `hwcap` parsed like C's
//!   `strtol(.., 16)` (optional blanks, sign, `0x`), which must be followed
//!   by a backslash.  Anything after that last backslash is ignored.
//!
//! Text fields are truncated to 64 bytes (a `struct new_utsname` field is 65
//! bytes with its NUL).  An `hwcap` of `-1` keeps the host's `AT_HWCAP`.
//!
//! One deliberate difference from PRoot: in the backslash form a text field
//! that is empty or exactly `-1` keeps the host's value (PRoot copies it
//! literally, giving an empty string or "-1"), and an empty `hwcap` keeps the
//! host's value (PRoot's `strtol` yields 0).  sproot's issue 4 asks for this;
//! strings that proot-distro builds contain neither, so they mean the same
//! thing under both.

#[allow(unused_imports)]
use crate::prelude::*;
/// Size of one field of `struct new_utsname`, NUL included.
pub const FIELD_LEN: usize = 65;
/// Number of fields of `struct new_utsname`.
pub const FIELD_COUNT: usize = 6;
/// Size of `struct new_utsname`.
pub const UTSNAME_LEN: usize = FIELD_LEN * FIELD_COUNT;

/// The `uname` fields to report; `None` keeps the host's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uname {
    pub sysname: Option<Vec<u8>>,
    pub nodename: Option<Vec<u8>>,
    pub release: Option<Vec<u8>>,
    pub version: Option<Vec<u8>>,
    pub machine: Option<Vec<u8>>,
    pub domainname: Option<Vec<u8>>,
}

/// A parsed `-k` argument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelRelease {
    pub uname: Uname,
    /// Value for `AT_HWCAP`; `None` keeps the host's.
    pub hwcap: Option<u64>,
}

/// Parse the argument of `-k/--kernel-release`.
pub fn parse(arg: &str) -> Result<KernelRelease, String> {
    let bytes = arg.as_bytes();
    if bytes.first() != Some(&b'\\') {
        return Ok(KernelRelease {
            uname: Uname {
                release: Some(truncate(bytes)),
                ..Uname::default()
            },
            hwcap: None,
        });
    }

    const NAMES: [&str; FIELD_COUNT] = [
        "sysname",
        "nodename",
        "release",
        "version",
        "machine",
        "domainname",
    ];
    let mut rest = &bytes[1..];
    let mut fields: [Option<Vec<u8>>; FIELD_COUNT] = Default::default();
    for (slot, name) in fields.iter_mut().zip(NAMES) {
        let Some(end) = rest.iter().position(|&b| b == b'\\') else {
            return Err(format!("can't find {name} field in '{arg}'"));
        };
        let value = &rest[..end];
        *slot = if value.is_empty() || value == b"-1" {
            None
        } else {
            Some(truncate(value))
        };
        rest = &rest[end + 1..];
    }

    let hwcap = if rest.first() == Some(&b'\\') {
        None
    } else {
        match parse_strtol_hex(rest) {
            Some((value, used)) if rest.get(used) == Some(&b'\\') => {
                if value == -1 {
                    None
                } else {
                    // Same as C's `(word_t) strtol(..)`: two's complement.
                    Some(value as u64)
                }
            }
            _ => return Err(format!("can't find hwcap field in '{arg}'")),
        }
    };

    Ok(KernelRelease {
        uname: Uname::from_fields(fields),
        hwcap,
    })
}

/// Like glibc's `strtol(s, &end, 16)`: returns the value and the number of
/// bytes consumed, or `None` when nothing was parsed or it overflowed.
fn parse_strtol_hex(s: &[u8]) -> Option<(i64, usize)> {
    let mut i = 0;
    while s.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    let mut negative = false;
    if let Some(&sign @ (b'+' | b'-')) = s.get(i) {
        negative = sign == b'-';
        i += 1;
    }
    // "0x" is a prefix only when a hex digit follows it; otherwise the "0"
    // alone is the number.
    if s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && s.get(i + 2).is_some_and(|b| b.is_ascii_hexdigit())
    {
        i += 2;
    }
    let start = i;
    let mut magnitude: u64 = 0;
    while let Some(digit) = s.get(i).and_then(|&b| (b as char).to_digit(16)) {
        magnitude = magnitude.checked_mul(16)?.checked_add(u64::from(digit))?;
        i += 1;
    }
    if i == start {
        return None;
    }
    let value = if negative {
        if magnitude > i64::MAX as u64 + 1 {
            return None;
        }
        (magnitude as i64).wrapping_neg()
    } else {
        i64::try_from(magnitude).ok()?
    };
    Some((value, i))
}

fn truncate(field: &[u8]) -> Vec<u8> {
    field[..field.len().min(FIELD_LEN - 1)].to_vec()
}

impl Uname {
    /// The fields in `struct utsname`'s order (`None`: the host's).
    pub fn from_fields(fields: [Option<Vec<u8>>; 6]) -> Self {
        let [sysname, nodename, release, version, machine, domainname] = fields;
        Uname {
            sysname,
            nodename,
            release,
            version,
            machine,
            domainname,
        }
    }

    /// The fields in `struct new_utsname` order.
    pub fn fields(&self) -> [&Option<Vec<u8>>; FIELD_COUNT] {
        [
            &self.sysname,
            &self.nodename,
            &self.release,
            &self.version,
            &self.machine,
            &self.domainname,
        ]
    }

    /// Rewrite a `struct new_utsname` in place: each field that is `Some` is
    /// written (at most 64 bytes) and NUL-padded to 65 bytes; `None` fields
    /// are left as they are.
    pub fn apply(&self, buf: &mut [u8; UTSNAME_LEN]) {
        for (chunk, field) in buf.chunks_exact_mut(FIELD_LEN).zip(self.fields()) {
            if let Some(value) = field {
                let n = value.len().min(FIELD_LEN - 1);
                chunk[..n].copy_from_slice(&value[..n]);
                chunk[n..].fill(0);
            }
        }
    }

    /// Emulated `sethostname(2)`: the new name is what later `uname` calls
    /// report.  `EINVAL` when longer than 64 bytes, as the kernel says.
    pub fn set_nodename(&mut self, name: &[u8]) -> Result<(), crate::Errno> {
        self.nodename = Some(checked_name(name)?);
        Ok(())
    }

    /// Emulated `setdomainname(2)`, like [`Uname::set_nodename`].
    pub fn set_domainname(&mut self, name: &[u8]) -> Result<(), crate::Errno> {
        self.domainname = Some(checked_name(name)?);
        Ok(())
    }
}

fn checked_name(name: &[u8]) -> Result<Vec<u8>, crate::Errno> {
    if name.len() > FIELD_LEN - 1 {
        return Err(crate::Errno::EINVAL);
    }
    // "name does not require a terminating null byte": stop at the first one.
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Ok(name[..end].to_vec())
}

impl KernelRelease {
    /// Rewrite a `struct new_utsname` (what `uname(2)` fills) in place.
    pub fn apply(&self, buf: &mut [u8; UTSNAME_LEN]) {
        self.uname.apply(buf);
    }

    /// The `AT_HWCAP` value to put in the auxv, given the host's.
    pub fn hwcap_or(&self, host: u64) -> u64 {
        self.hwcap.unwrap_or(host)
    }
}

/// `KERNEL_VERSION(major, minor, patch)` of a release string such as
/// `6.17.0-PRoot-Distro`, read the way PRoot does (leading numbers separated
/// by dots; missing parts are 0).  Useful to decide on compatibility
/// emulation for the faked release.
pub fn release_code(release: &[u8]) -> u32 {
    let mut parts = [0u64; 3];
    let mut i = 0;
    for (n, part) in parts.iter_mut().enumerate() {
        if n > 0 {
            if release.get(i) != Some(&b'.') {
                break;
            }
            i += 1;
        }
        while let Some(d) = release.get(i).filter(|b| b.is_ascii_digit()) {
            *part = part.saturating_mul(10).saturating_add(u64::from(d - b'0'));
            i += 1;
        }
    }
    let [major, minor, patch] = parts;
    let major = major.min(u64::from(u16::MAX)) as u32;
    let minor = minor.min(255) as u32;
    let patch = patch.min(255) as u32;
    (major << 16) + (minor << 8) + patch
}

#[cfg(test)]
mod tests {
    use super::*;

    const PD: &str = "\\Linux\\localhost\\6.17.0-PRoot-Distro\\#1 SMP PREEMPT_DYNAMIC Fri, 10 Oct 2025 00:00:00 +0000\\x86_64\\localdomain\\-1\\";

    fn host_utsname() -> [u8; UTSNAME_LEN] {
        let mut buf = [0u8; UTSNAME_LEN];
        for (i, v) in [
            "HostOS", "hosthost", "5.10.0", "#99 host", "aarch64", "(none)",
        ]
        .iter()
        .enumerate()
        {
            buf[i * FIELD_LEN..i * FIELD_LEN + v.len()].copy_from_slice(v.as_bytes());
        }
        buf
    }

    fn field(buf: &[u8; UTSNAME_LEN], i: usize) -> &[u8] {
        let f = &buf[i * FIELD_LEN..(i + 1) * FIELD_LEN];
        let end = f.iter().position(|&b| b == 0).unwrap_or(FIELD_LEN);
        assert!(f[end..].iter().all(|&b| b == 0), "field {i} not NUL padded");
        &f[..end]
    }

    #[test]
    fn plain_string_replaces_release_only() {
        let k = parse("6.1.0-fake").unwrap();
        assert_eq!(k.uname.release.as_deref(), Some(&b"6.1.0-fake"[..]));
        assert_eq!(k.uname.sysname, None);
        assert_eq!(k.hwcap, None);
        let mut buf = host_utsname();
        k.apply(&mut buf);
        assert_eq!(field(&buf, 0), b"HostOS");
        assert_eq!(field(&buf, 1), b"hosthost");
        assert_eq!(field(&buf, 2), b"6.1.0-fake");
        assert_eq!(field(&buf, 3), b"#99 host");
        assert_eq!(field(&buf, 4), b"aarch64");
        assert_eq!(field(&buf, 5), b"(none)");
    }

    #[test]
    fn plain_string_shorter_than_host_value_is_nul_padded() {
        let mut buf = [b'x'; UTSNAME_LEN];
        parse("4").unwrap().apply(&mut buf);
        assert_eq!(field(&buf, 2), b"4");
        assert_eq!(buf[0], b'x');
    }

    #[test]
    fn proot_distro_string_is_understood() {
        let k = parse(PD).unwrap();
        let u = &k.uname;
        assert_eq!(u.sysname.as_deref(), Some(&b"Linux"[..]));
        assert_eq!(u.nodename.as_deref(), Some(&b"localhost"[..]));
        assert_eq!(u.release.as_deref(), Some(&b"6.17.0-PRoot-Distro"[..]));
        assert_eq!(
            u.version.as_deref(),
            Some(&b"#1 SMP PREEMPT_DYNAMIC Fri, 10 Oct 2025 00:00:00 +0000"[..])
        );
        assert_eq!(u.machine.as_deref(), Some(&b"x86_64"[..]));
        assert_eq!(u.domainname.as_deref(), Some(&b"localdomain"[..]));
        assert_eq!(k.hwcap, None);
        let mut buf = host_utsname();
        k.apply(&mut buf);
        assert_eq!(field(&buf, 0), b"Linux");
        assert_eq!(field(&buf, 2), b"6.17.0-PRoot-Distro");
        assert_eq!(field(&buf, 5), b"localdomain");
        assert_eq!(k.hwcap_or(0x1234), 0x1234);
        assert_eq!(release_code(b"6.17.0-PRoot-Distro"), (6 << 16) + (17 << 8));
    }

    #[test]
    fn empty_and_minus_one_fields_keep_host_values() {
        let k = parse("\\\\-1\\7.0\\\\-1\\\\\\").unwrap();
        assert_eq!(k.uname.release.as_deref(), Some(&b"7.0"[..]));
        assert_eq!(k.uname.sysname, None);
        assert_eq!(k.uname.nodename, None);
        assert_eq!(k.uname.version, None);
        assert_eq!(k.uname.machine, None);
        assert_eq!(k.uname.domainname, None);
        assert_eq!(k.hwcap, None);
        let mut buf = host_utsname();
        k.apply(&mut buf);
        assert_eq!(field(&buf, 1), b"hosthost");
        assert_eq!(field(&buf, 2), b"7.0");
        assert_eq!(field(&buf, 4), b"aarch64");
    }

    #[test]
    fn hwcap_is_hexadecimal_like_strtol() {
        let hw = |s: &str| parse(&format!("\\a\\b\\c\\d\\e\\f\\{s}\\")).map(|k| k.hwcap);
        assert_eq!(hw("ff"), Ok(Some(0xff)));
        assert_eq!(hw("0x1F"), Ok(Some(0x1f)));
        assert_eq!(hw("  10"), Ok(Some(0x10)));
        assert_eq!(hw("+10"), Ok(Some(0x10)));
        assert_eq!(hw("0"), Ok(Some(0)));
        assert_eq!(hw("-1"), Ok(None));
        assert_eq!(hw("-2"), Ok(Some(u64::MAX - 1)));
        assert_eq!(hw("7fffffffffffffff"), Ok(Some(i64::MAX as u64)));
        assert!(hw("8000000000000000").is_err(), "overflow is ERANGE");
        assert!(hw("12g").is_err());
        assert!(hw("0x").is_err());
        assert!(hw("zz").is_err());
        assert!(hw(" ").is_err());
    }

    #[test]
    fn trailing_text_after_the_last_backslash_is_ignored() {
        let k = parse("\\a\\b\\c\\d\\e\\f\\10\\junk").unwrap();
        assert_eq!(k.hwcap, Some(0x10));
    }

    #[test]
    fn over_long_fields_are_truncated_to_64_bytes() {
        let long = "r".repeat(100);
        let k = parse(&long).unwrap();
        assert_eq!(k.uname.release.as_ref().map(Vec::len), Some(64));
        let k = parse(&format!("\\{long}\\n\\{long}\\v\\m\\d\\-1\\")).unwrap();
        assert_eq!(k.uname.sysname.as_ref().map(Vec::len), Some(64));
        let mut buf = host_utsname();
        k.apply(&mut buf);
        assert_eq!(field(&buf, 0), "r".repeat(64).as_bytes());
        assert_eq!(field(&buf, 1), b"n");
        assert_eq!(field(&buf, 2), "r".repeat(64).as_bytes());
        // Directly built, over-long values are also clipped by apply.
        let u = Uname {
            machine: Some(vec![b'm'; 300]),
            ..Uname::default()
        };
        u.apply(&mut buf);
        assert_eq!(field(&buf, 4), "m".repeat(64).as_bytes());
    }

    #[test]
    fn malformed_backslash_forms_are_errors() {
        for bad in [
            "\\",
            "\\Linux",
            "\\Linux\\host\\6.0\\v\\m\\",
            "\\Linux\\host\\6.0\\v\\m\\d\\",
            "\\Linux\\host\\6.0\\v\\m\\d\\-1",
            "\\Linux\\host\\6.0\\v\\m\\d\\ff",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("can't find"), "{bad}: {err}");
        }
        assert!(
            parse("\\a\\b\\c\\d\\e\\f")
                .unwrap_err()
                .contains("domainname")
        );
    }

    #[test]
    fn empty_hwcap_keeps_host_value() {
        assert_eq!(parse("\\a\\b\\c\\d\\e\\f\\\\").unwrap().hwcap, None);
    }

    #[test]
    fn empty_plain_string_is_an_empty_release() {
        let k = parse("").unwrap();
        assert_eq!(k.uname.release.as_deref(), Some(&b""[..]));
    }

    #[test]
    fn sethostname_and_setdomainname_update_the_view() {
        let mut u = parse("6.0").unwrap().uname;
        u.set_nodename(b"box").unwrap();
        u.set_domainname(b"lan\0junk").unwrap();
        assert_eq!(u.set_nodename(&[b'a'; 65]), Err(crate::Errno::EINVAL));
        u.set_nodename(&[b'a'; 64]).unwrap();
        let mut buf = host_utsname();
        u.apply(&mut buf);
        assert_eq!(field(&buf, 1), "a".repeat(64).as_bytes());
        assert_eq!(field(&buf, 5), b"lan");
    }

    #[test]
    fn release_code_reads_leading_numbers() {
        assert_eq!(release_code(b"2.6.32"), (2 << 16) + (6 << 8) + 32);
        assert_eq!(release_code(b"5"), 5 << 16);
        assert_eq!(release_code(b"4.19.999"), (4 << 16) + (19 << 8) + 255);
        assert_eq!(release_code(b"abc"), 0);
        assert_eq!(release_code(b""), 0);
        assert_eq!(
            release_code(b"99999999999999999999999.1"),
            (65535 << 16) + (1 << 8)
        );
    }
}
