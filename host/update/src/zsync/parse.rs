//! Reading a control file. It comes from the network unsigned, so every number is bounded and
//! every error names the line or field; what it says is only a hint (the assembled image is
//! verified against the signed `latest.json` whatever the control file claimed).

use crate::{Error, Result};

/// The most header lines and the longest one: zsyncmake writes 8 short ones.
const MAX_HEADER_LINES: usize = 64;
const MAX_LINE: usize = 4096;
/// The block sizes accepted: powers of two, as zsyncmake chooses them.
const BLOCKSIZES: std::ops::RangeInclusive<usize> = 512..=(1 << 20);
/// The largest target described: 64 GiB (an image is tens of MB).
const MAX_LENGTH: u64 = 1 << 36;

/// A parsed control file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlFile {
    /// `Filename:`.
    pub filename: String,
    /// `Blocksize:`.
    pub blocksize: usize,
    /// `Length:`: the target's size.
    pub length: u64,
    /// `Hash-Lengths:` first field: how many consecutive blocks must match (1 or 2).
    pub seq_matches: usize,
    /// `Hash-Lengths:` second field: the weak checksum's bytes kept (1 to 4).
    pub rsum_bytes: usize,
    /// `Hash-Lengths:` third field: the MD4's bytes kept (3 to 16).
    pub checksum_bytes: usize,
    /// `URL:`, absolute or relative to the control file's own URL (not used by this crate: the
    /// signed `latest.json` says where the image is).
    pub url: String,
    /// `SHA-1:`, lower-case hex.
    pub sha1: String,
    /// Per block: the weak checksum's kept bytes then the MD4's, as stored.
    pub(super) sums: Vec<u8>,
}

impl ControlFile {
    /// Reads `bytes`, a whole control file.
    pub fn parse(bytes: &[u8]) -> Result<ControlFile> {
        let bad = |s: String| Error::Zsync(s);
        let mut rest = bytes;
        let mut fields: Vec<(String, String)> = Vec::new();
        for number in 1.. {
            if number > MAX_HEADER_LINES {
                return Err(bad(format!("more than {MAX_HEADER_LINES} header lines")));
            }
            let end = rest
                .iter()
                .take(MAX_LINE + 1)
                .position(|&b| b == b'\n')
                .ok_or_else(|| {
                    bad(format!(
                        "line {number}: no end of line within {MAX_LINE} bytes (or no blank line before the checksums)"
                    ))
                })?;
            let line = std::str::from_utf8(&rest[..end])
                .map_err(|_| bad(format!("line {number}: not UTF-8")))?;
            rest = &rest[end + 1..];
            if line.is_empty() {
                break;
            }
            let (key, value) = line
                .split_once(": ")
                .ok_or_else(|| bad(format!("line {number}: {line:?} is not `Key: value`")))?;
            if number == 1 && key != "zsync" {
                return Err(bad(format!(
                    "line 1: {line:?} is not `zsync: <version>` (not a control file)"
                )));
            }
            fields.push((key.to_owned(), value.to_owned()));
        }
        let get = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .ok_or_else(|| bad(format!("{key}: missing")))
        };
        // Compressed targets (zsyncmake -z) need the gzip machinery; images are never compressed.
        for key in ["Z-URL", "Z-Map2", "Recompress"] {
            if get(key).is_ok() {
                return Err(bad(format!("{key}: compressed targets are not supported")));
            }
        }
        let number = |key: &str| -> Result<u64> {
            let v = get(key)?;
            v.parse()
                .map_err(|_| bad(format!("{key}: {v:?} is not a whole number")))
        };
        let blocksize = number("Blocksize")?;
        let blocksize = usize::try_from(blocksize).unwrap_or(usize::MAX);
        if !BLOCKSIZES.contains(&blocksize) || !blocksize.is_power_of_two() {
            return Err(bad(format!(
                "Blocksize: {blocksize} is not a power of two from {} to {}",
                BLOCKSIZES.start(),
                BLOCKSIZES.end()
            )));
        }
        let length = number("Length")?;
        if length > MAX_LENGTH {
            return Err(bad(format!(
                "Length: {length} is more than {MAX_LENGTH} bytes"
            )));
        }
        let (seq_matches, rsum_bytes, checksum_bytes) = hash_lengths(get("Hash-Lengths")?)?;
        let sha1 = get("SHA-1")?.to_owned();
        if sha1.len() != 40 || !sha1.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(format!("SHA-1: {sha1:?} is not 40 hex digits")));
        }
        let blocks = length.div_ceil(blocksize as u64);
        let expected = blocks * (rsum_bytes + checksum_bytes) as u64;
        if rest.len() as u64 != expected {
            return Err(bad(format!(
                "the checksums are {} bytes; {blocks} blocks of {} bytes each need {expected}",
                rest.len(),
                rsum_bytes + checksum_bytes
            )));
        }
        Ok(ControlFile {
            filename: get("Filename")?.to_owned(),
            blocksize,
            length,
            seq_matches,
            rsum_bytes,
            checksum_bytes,
            url: get("URL")?.to_owned(),
            sha1: sha1.to_ascii_lowercase(),
            sums: rest.to_vec(),
        })
    }

    /// How many blocks the target has (the last one may be short).
    pub fn blocks(&self) -> usize {
        self.length.div_ceil(self.blocksize as u64) as usize
    }

    /// Block `i`'s stored weak checksum (the low `rsum_bytes` bytes) and MD4 prefix.
    pub(super) fn sums(&self, i: usize) -> (u32, &[u8]) {
        let width = self.rsum_bytes + self.checksum_bytes;
        let entry = &self.sums[i * width..(i + 1) * width];
        let weak = entry[..self.rsum_bytes]
            .iter()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        (weak, &entry[self.rsum_bytes..])
    }

    /// The mask that keeps the bits of a weak checksum the control file stores.
    pub(super) fn weak_mask(&self) -> u32 {
        if self.rsum_bytes == 4 {
            u32::MAX
        } else {
            (1u32 << (8 * self.rsum_bytes)) - 1
        }
    }
}

/// `Hash-Lengths: seq_matches,rsum_bytes,checksum_bytes` within zsync's bounds.
fn hash_lengths(value: &str) -> Result<(usize, usize, usize)> {
    let bad = || {
        Error::Zsync(format!(
            "Hash-Lengths: {value:?} is not `seq_matches,rsum_bytes,checksum_bytes` with seq_matches 1 or 2, rsum_bytes 1 to 4, checksum_bytes 3 to 16"
        ))
    };
    let parts: Vec<usize> = value
        .split(',')
        .map(|p| p.trim().parse().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    match parts[..] {
        [s @ 1..=2, r @ 1..=4, c @ 3..=16] => Ok((s, r, c)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zsync::{Target, control_file};

    fn written(data: &[u8]) -> Vec<u8> {
        let target = Target {
            filename: "app.AppImage",
            url: "app.AppImage",
            mtime: time::OffsetDateTime::UNIX_EPOCH,
            len: data.len() as u64,
        };
        control_file(data, &target).unwrap()
    }

    #[test]
    fn what_is_written_is_read_back() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let c = ControlFile::parse(&written(&data)).unwrap();
        assert_eq!(c.filename, "app.AppImage");
        assert_eq!((c.blocksize, c.length, c.blocks()), (2048, 10_000, 5));
        assert_eq!((c.seq_matches, c.rsum_bytes, c.checksum_bytes), (2, 2, 3));
        let (weak, _) = c.sums(4);
        let mut last = data[8192..].to_vec();
        last.resize(2048, 0);
        assert_eq!(weak, crate::zsync::rsum(&last) & c.weak_mask());
    }

    #[test]
    fn errors_name_the_line_or_field() {
        let good = written(&[7u8; 5000]);
        let text = |b: &[u8]| ControlFile::parse(b).unwrap_err().to_string();
        assert!(
            text(b"<html>\n\n").contains("line 1"),
            "{}",
            text(b"<html>\n")
        );
        let no_blank = good.split(|&b| b == b'\n').next().unwrap().to_vec();
        assert!(text(&no_blank).contains("line 1: no end of line"));
        let end = good.windows(2).position(|w| w == b"\n\n").unwrap();
        let swap = |from: &str, to: &str| {
            let header = std::str::from_utf8(&good[..end])
                .unwrap()
                .replacen(from, to, 1);
            let bytes = [header.as_bytes(), &good[end..]].concat();
            ControlFile::parse(&bytes).unwrap_err().to_string()
        };
        assert!(swap("Blocksize: 2048", "Blocksize: 3000").contains("Blocksize: 3000"));
        assert!(swap("Length: 5000", "Length: 9000").contains("the checksums are"));
        assert!(swap("Length: 5000", "Length: x").contains("Length: \"x\""));
        assert!(swap("Hash-Lengths: 2,", "Hash-Lengths: 3,").contains("Hash-Lengths"));
        assert!(swap("SHA-1: ", "SHA-1: z").contains("SHA-1"));
        assert!(swap("URL: ", "X-URL: ").contains("URL: missing"));
    }
}
