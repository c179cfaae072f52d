//! The `.zsync` control file of an image: what zsync clients (AppImageUpdate, Gear Lever, the
//! `zsync` tool, the app's own updater) read to find which blocks of a file they already have.
//! This module is the format's one owner: [`control_file`] writes it (as `zsyncmake` does, byte
//! for byte), [`ControlFile::parse`] reads it and [`ControlFile::match_seed`] finds which of its
//! blocks a local file (the running image) already holds.
//!
//! The format: header lines `Key: value`, a blank line, then per block of `Blocksize` bytes (the
//! last one zero-padded) the weak rolling checksum's last `rsum_bytes` bytes and the first
//! `checksum_bytes` bytes of the block's MD4, as `Hash-Lengths: seq_matches,rsum_bytes,
//! checksum_bytes` says. `seq_matches` is 2 for files of more than one block: a block only counts
//! as found where the next one follows it, which is what makes 2-byte weak checksums enough.
//!
//! See: <http://zsync.moria.org.uk/paper/ch04s02.html>

mod matcher;
mod parse;
mod write;

pub use matcher::Matches;
pub use parse::ControlFile;
pub use write::{Target, control_file};

/// The weak checksum of a block (rsync's, two 16-bit halves): `a` in the high half, `b` in the
/// low one, so its big-endian bytes are what the control file stores (the last `rsum_bytes` of
/// them, the low bits).
pub(crate) fn rsum(block: &[u8]) -> u32 {
    let (mut a, mut b) = (0u16, 0u16);
    let n = block.len();
    for (i, &c) in block.iter().enumerate() {
        a = a.wrapping_add(u16::from(c));
        b = b.wrapping_add(((n - i) as u16).wrapping_mul(u16::from(c)));
    }
    (u32::from(a) << 16) | u32::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weak_checksum_is_rsyncs() {
        // a = 1 + 2 = 3; b = 2*1 + 1*2 = 4.
        assert_eq!(rsum(&[1, 2]).to_be_bytes(), [0, 3, 0, 4]);
        // Wrapping 16-bit sums.
        let block = [0xff; 2048];
        let a = (0xffu32 * 2048) as u16;
        let b = ((0xffu64 * (2048 * 2049 / 2)) % 65536) as u16;
        assert_eq!(
            rsum(&block).to_be_bytes(),
            [a.to_be_bytes(), b.to_be_bytes()].concat()[..]
        );
    }
}
