//! The `.zsync` control file of an image: what zsync clients (AppImageUpdate, Gear Lever, the
//! `zsync` tool, the app's own updater) read to find which blocks of a file they already have.
//! Written as `zsyncmake` 0.6.2 writes it for an uncompressed file, byte for byte (the tests
//! compare with it): header lines, a blank line, then per block the weak rolling checksum's last
//! `rsum_bytes` bytes and the first `checksum_bytes` bytes of the block's MD4.
//!
//! See: <http://zsync.moria.org.uk/paper/ch04s02.html> and zsyncmake's `write_block_sums`,
//! `calc_rsum_block` and "Hash-Lengths" computation (zsync 0.6.2, `make.c`, `librcksum`).

use std::io::Read;

use md4::{Digest as _, Md4};
use sha1::Sha1;

/// The control file format's version line: the client release whose format this is.
const ZSYNC_VERSION: &str = "0.6.2";

/// What the control file says about the target file besides its blocks.
pub(crate) struct Target<'a> {
    /// `Filename:` (the name the client saves as).
    pub(crate) filename: &'a str,
    /// `URL:` (absolute, or relative to the control file's own URL).
    pub(crate) url: &'a str,
    /// `MTime:`.
    pub(crate) mtime: time::OffsetDateTime,
    /// `Length:`: the file's size.
    pub(crate) len: u64,
}

/// The control file of the `target.len` bytes `data` yields.
pub(crate) fn control_file(mut data: impl Read, target: &Target<'_>) -> std::io::Result<Vec<u8>> {
    let len = target.len;
    // zsyncmake's default: bigger blocks for files of 100 MB and more.
    let blocksize: usize = if len < 100_000_000 { 2048 } else { 4096 };
    let (seq_matches, rsum_bytes, checksum_bytes) = hash_lengths(len, blocksize as u64);
    let mut sha1 = Sha1::new();
    let mut sums = Vec::new();
    let mut block = vec![0u8; blocksize];
    let mut total = 0u64;
    loop {
        let got = read_full(&mut data, &mut block)?;
        if got == 0 {
            break;
        }
        total += got as u64;
        sha1.update(&block[..got]);
        // A short last block is checksummed zero-padded.
        block[got..].fill(0);
        let rsum = rsum(&block);
        sums.extend_from_slice(&rsum[4 - rsum_bytes..]);
        sums.extend_from_slice(&Md4::digest(&block)[..checksum_bytes]);
        if got < blocksize {
            break;
        }
    }
    if total != len {
        return Err(std::io::Error::other(format!(
            "read {total} bytes, expected {len} (did the file change?)"
        )));
    }
    let mtime = target
        .mtime
        .to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc2822)
        .map_err(std::io::Error::other)?;
    let sha1: String = sha1.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let mut out = format!(
        "zsync: {ZSYNC_VERSION}\nFilename: {}\nMTime: {mtime}\nBlocksize: {blocksize}\nLength: {len}\n\
         Hash-Lengths: {seq_matches},{rsum_bytes},{checksum_bytes}\nURL: {}\nSHA-1: {sha1}\n\n",
        target.filename, target.url
    )
    .into_bytes();
    out.extend_from_slice(&sums);
    Ok(out)
}

/// zsyncmake's choice of (sequential matches, weak checksum bytes, strong checksum bytes): as
/// few bytes as keep a false match unlikely for a file of this size.
fn hash_lengths(len: u64, blocksize: u64) -> (usize, usize, usize) {
    let seq_matches: f64 = if len > blocksize { 2.0 } else { 1.0 };
    let l = (len.max(1) as f64).ln();
    let ln2 = 2f64.ln();
    let blocks = 1.0 + (len / blocksize) as f64;
    let rsum = (((l + (blocksize as f64).ln()) / ln2 - 8.6) / seq_matches / 8.0).ceil();
    let rsum = rsum.clamp(2.0, 4.0) as usize;
    let checksum = ((20.0 + (l + blocks.ln()) / ln2) / seq_matches / 8.0).ceil();
    // zsyncmake's floor for the strong checksum (an `int` conversion: truncation).
    let floor = ((7.9 + (20.0 + blocks.ln() / ln2)) / 8.0) as i64 as f64;
    let checksum = checksum.max(floor).min(16.0) as usize;
    (seq_matches as usize, rsum, checksum)
}

/// The weak checksum of a block (rsync's, 16-bit halves), big-endian `a` then `b`.
fn rsum(block: &[u8]) -> [u8; 4] {
    let (mut a, mut b) = (0u16, 0u16);
    let n = block.len();
    for (i, &c) in block.iter().enumerate() {
        a = a.wrapping_add(u16::from(c));
        b = b.wrapping_add(((n - i) as u16).wrapping_mul(u16::from(c)));
    }
    let [a0, a1] = a.to_be_bytes();
    let [b0, b1] = b.to_be_bytes();
    [a0, a1, b0, b1]
}

/// Fills `buf` unless the data ends first; the number of bytes read.
fn read_full(data: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match data.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_lengths_are_zsyncmakes() {
        // What zsyncmake 0.6.2 wrote for files of these sizes.
        assert_eq!(hash_lengths(100_000, 2048), (2, 2, 4));
        assert_eq!(hash_lengths(1000, 2048), (1, 2, 4));
    }

    #[test]
    fn the_weak_checksum_is_rsyncs() {
        // a = 1 + 2 = 3; b = 2*1 + 1*2 = 4.
        assert_eq!(rsum(&[1, 2]), [0, 3, 0, 4]);
        // Wrapping 16-bit sums.
        let block = [0xff; 2048];
        let a = (0xffu32 * 2048) as u16;
        let b = ((0xffu64 * (2048 * 2049 / 2)) % 65536) as u16;
        assert_eq!(
            rsum(&block),
            [a.to_be_bytes(), b.to_be_bytes()].concat()[..]
        );
    }
}
