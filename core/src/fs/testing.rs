//! A host with nothing on it, for the core's own tests.

use super::{HostFs, Kind};
use crate::Errno;
#[allow(unused_imports)]
use crate::prelude::*;

/// Every path is missing; no process exists.
#[derive(Debug)]
pub struct NoHost;

impl HostFs for NoHost {
    fn lstat_kind(&self, _: &[u8]) -> Result<Kind, Errno> {
        Err(Errno::ENOENT)
    }
    fn stat_kind(&self, _: &[u8]) -> Result<Kind, Errno> {
        Err(Errno::ENOENT)
    }
    fn lstat_mode_ino(&self, _: &[u8]) -> Result<(u32, u64), Errno> {
        Err(Errno::ENOENT)
    }
    fn readlink(&self, _: &[u8]) -> Result<Vec<u8>, Errno> {
        Err(Errno::ENOENT)
    }
    fn read_magic(&self, _: &[u8]) -> Result<Vec<u8>, Errno> {
        Err(Errno::ENOENT)
    }
    fn for_kernel(&self, path: Vec<u8>) -> Result<Vec<u8>, Errno> {
        Ok(path)
    }
    fn process_ids(&self, _: i32) -> Option<(i32, i32)> {
        None
    }
}
