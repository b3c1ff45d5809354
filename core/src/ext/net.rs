//! PRoot's network options, as pure logic over the bytes of a guest's
//! `sockaddr`:
//!
//! - `-p` alone (termux's switch): ports below 1024 move up by 2000;
//! - `-p PORT_IN:PORT_OUT` (upstream's map, repeatable): `bind` and
//!   `connect` to PORT_IN go to PORT_OUT;
//! - `-n` (`--netcoop`): a guest that binds a port another program holds
//!   gets a free port instead, and guests that connect to the port it asked
//!   for reach the one it got.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::collections::BTreeMap;

#[cfg(test)]
const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// The port of an `AF_INET`/`AF_INET6` address, if `addr` is one.
pub fn inet_port(addr: &[u8]) -> Option<u16> {
    if addr.len() < 4 {
        return None;
    }
    let family = u16::from_ne_bytes([addr[0], addr[1]]);
    (family == AF_INET || family == AF_INET6).then(|| u16::from_be_bytes([addr[2], addr[3]]))
}

/// Set the port of an inet address (see [`inet_port`]).
pub fn set_inet_port(addr: &mut [u8], port: u16) {
    addr[2..4].copy_from_slice(&port.to_be_bytes());
}

/// `-p N:M`: parse one mapping.
pub fn parse_map(spec: &str) -> Option<(u16, u16)> {
    let (a, b) = spec.split_once(':')?;
    let a: u16 = a.trim().parse().ok()?;
    let b: u16 = b.trim().parse().ok()?;
    (a != 0 && b != 0).then_some((a, b))
}

/// Whether a command-line word is a `-p` mapping (`N:M`), as opposed to
/// the command that follows a bare `-p`.
pub fn is_map(word: &str) -> bool {
    parse_map(word).is_some()
}

/// The static port rules of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ports {
    /// `-p` alone: below 1024, up by 2000.
    pub switch: bool,
    /// `-p N:M`, in order; the first match wins.
    pub map: Vec<(u16, u16)>,
    /// `-n`.
    pub netcoop: bool,
}

impl Ports {
    pub fn active(&self) -> bool {
        self.switch || !self.map.is_empty() || self.netcoop
    }

    /// The port a guest's `port` becomes by the static rules.
    pub fn translate(&self, port: u16) -> u16 {
        if port == 0 {
            return 0;
        }
        if let Some(&(_, to)) = self.map.iter().find(|(from, _)| *from == port) {
            return to;
        }
        if self.switch && port < 1024 {
            return port + 2000;
        }
        port
    }
}

/// `-n`: ports guests asked for and the ones they got instead.
#[derive(Debug, Default)]
pub struct NetCoop {
    moved: BTreeMap<u16, u16>,
}

impl NetCoop {
    pub fn moved(&mut self, asked: u16, got: u16) {
        if asked != got {
            self.moved.insert(asked, got);
        }
    }

    /// Where a connection to `port` must go.
    pub fn target(&self, port: u16) -> u16 {
        self.moved.get(&port).copied().unwrap_or(port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inet(port: u16) -> Vec<u8> {
        let mut a = vec![0u8; 16];
        a[..2].copy_from_slice(&(AF_INET).to_ne_bytes());
        set_inet_port(&mut a, port);
        a
    }

    #[test]
    fn only_inet_addresses_have_ports() {
        assert_eq!(inet_port(&inet(80)), Some(80));
        let mut unix = vec![0u8; 16];
        unix[..2].copy_from_slice(&AF_UNIX.to_ne_bytes());
        assert_eq!(inet_port(&unix), None);
        assert_eq!(inet_port(&[2, 0]), None);
    }

    #[test]
    fn maps_win_over_the_switch_and_zero_stays() {
        let p = Ports {
            switch: true,
            map: vec![(80, 8080), (22, 2222)],
            netcoop: false,
        };
        assert_eq!(p.translate(80), 8080);
        assert_eq!(p.translate(22), 2222);
        assert_eq!(p.translate(443), 2443);
        assert_eq!(p.translate(5000), 5000);
        assert_eq!(p.translate(0), 0);
        let only_map = Ports {
            map: vec![(5555, 6666)],
            ..Ports::default()
        };
        assert_eq!(only_map.translate(80), 80);
        assert_eq!(only_map.translate(5555), 6666);
    }

    #[test]
    fn map_specs_are_two_nonzero_ports() {
        assert_eq!(parse_map("80:8080"), Some((80, 8080)));
        assert_eq!(parse_map("0:80"), None);
        assert_eq!(parse_map("80"), None);
        assert_eq!(parse_map("/bin/sh"), None);
        assert_eq!(parse_map("70000:1"), None);
        assert!(is_map("1:2") && !is_map("ls"));
    }

    #[test]
    fn netcoop_sends_connections_to_the_port_actually_bound() {
        let mut n = NetCoop::default();
        assert_eq!(n.target(8000), 8000);
        n.moved(8000, 40123);
        n.moved(9000, 9000);
        assert_eq!(n.target(8000), 40123);
        assert_eq!(n.target(9000), 9000);
    }
}
