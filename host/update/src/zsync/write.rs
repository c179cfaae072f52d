//! Writing the control file, as `zsyncmake` 0.6.2 writes it for an uncompressed file, byte for
//! byte (the cli's sign test compares with it).
//!
//! See: zsyncmake's `write_block_sums`, `calc_rsum_block` and "Hash-Lengths" computation (zsync
//! 0.6.2, `make.c`, `librcksum`).

use std::io::Read;

use md4::{Digest as _, Md4};
use sha1::Sha1;

use super::rsum;

/// The control file format's version line: the client release whose format this is.
const ZSYNC_VERSION: &str = "0.6.2";

/// What the control file says about the target file besides its blocks.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// `Filename:` (the name the client saves as).
    pub filename: &'a str,
    /// `URL:` (absolute, or relative to the control file's own URL).
    pub url: &'a str,
    /// `MTime:`.
    pub mtime: time::OffsetDateTime,
    /// `Length:`: the file's size.
    pub len: u64,
}

/// The control file of the `target.len` bytes `data` yields.
pub fn control_file(mut data: impl Read, target: &Target<'_>) -> std::io::Result<Vec<u8>> {
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
        let rsum = rsum(&block).to_be_bytes();
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
pub(super) fn hash_lengths(len: u64, blocksize: u64) -> (usize, usize, usize) {
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
}
