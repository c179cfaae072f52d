//! Finding a target's blocks in a local seed file (the running image), as zsync's client does:
//! the weak checksum rolled over every offset of the seed, a block taken where its weak and
//! strong checksums match and, with `seq_matches` 2, where the next block's follow it too. The
//! seed is read once, front to back, through a small window (never whole into memory), and is
//! zero-padded at its end as the control file's last block is.
//!
//! See: <http://zsync.moria.org.uk/paper/ch02s03.html> (the rolling checksum) and librcksum's
//! `rsum.c` (`check_checksums_on_hash_chain`).

use std::collections::HashMap;
use std::io::Read;
use std::ops::Range;

use md4::{Digest as _, Md4};

use super::{ControlFile, rsum};

/// How much of the seed is read at a time.
const CHUNK: usize = 1 << 20;

/// Where a target's blocks were found in a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matches {
    /// Per target block, the seed offset it starts at, if found.
    pub offsets: Vec<Option<u64>>,
    /// The control file's block size.
    pub blocksize: usize,
    /// The target's size.
    pub length: u64,
}

impl Matches {
    /// The target bytes of block `i` (the last block is short).
    fn block(&self, i: usize) -> Range<u64> {
        let start = i as u64 * self.blocksize as u64;
        start..(start + self.blocksize as u64).min(self.length)
    }

    /// How many target bytes the seed provides.
    pub fn reused(&self) -> u64 {
        (0..self.offsets.len())
            .filter(|&i| self.offsets[i].is_some())
            .map(|i| self.block(i).end - self.block(i).start)
            .sum()
    }

    /// The target byte ranges the seed does not provide, adjacent blocks merged into one range.
    pub fn missing(&self) -> Vec<Range<u64>> {
        let mut out: Vec<Range<u64>> = Vec::new();
        for i in (0..self.offsets.len()).filter(|&i| self.offsets[i].is_none()) {
            let b = self.block(i);
            match out.last_mut() {
                Some(last) if last.end == b.start => last.end = b.end,
                _ => out.push(b),
            }
        }
        out
    }

    /// What to copy from the seed: (target range, seed offset), blocks that follow each other in
    /// both files merged into one copy.
    pub fn copies(&self) -> Vec<(Range<u64>, u64)> {
        let mut out: Vec<(Range<u64>, u64)> = Vec::new();
        for (i, seed) in self.offsets.iter().enumerate() {
            let Some(seed) = *seed else { continue };
            let b = self.block(i);
            match out.last_mut() {
                Some((last, from))
                    if last.end == b.start && *from + (last.end - last.start) == seed =>
                {
                    last.end = b.end;
                }
                _ => out.push((b, seed)),
            }
        }
        out
    }
}

impl ControlFile {
    /// Scans `seed` for this target's blocks.
    pub fn match_seed(&self, mut seed: impl Read) -> std::io::Result<Matches> {
        let (bs, n) = (self.blocksize, self.blocks());
        let mut offsets = vec![None; n];
        // One block has no successor to confirm it.
        let seq = if n > 1 { self.seq_matches } else { 1 };
        let mask = self.weak_mask();
        let mut index: HashMap<u32, Vec<usize>> = HashMap::new();
        // A bit per possible weak checksum (its low 24 bits): most offsets match no block, and
        // a bit test rejects them without a hash lookup (zsync's `bithash`).
        let mut bits = vec![0u64; (1 << 24) / 64];
        for i in 0..n {
            let weak = self.sums(i).0;
            index.entry(weak).or_default().push(i);
            let b = (weak & 0xFF_FFFF) as usize;
            bits[b / 64] |= 1 << (b % 64);
        }
        // Two blocks of the seed are always in view (the candidate and its successor), then the
        // byte that rolls in next.
        let mut window = Window::new(2 * bs);
        window.fill(&mut seed, 2 * bs + 1)?;
        if window.len == Some(0) || n == 0 {
            return Ok(self.matches(offsets));
        }
        let (mut r0, mut r1) = (rsum(&window.buf[..bs]), rsum(&window.buf[bs..2 * bs]));
        let mut x = 0u64;
        loop {
            let at = (x - window.base) as usize;
            let b = (r0 & mask & 0xFF_FFFF) as usize;
            let hit = bits[b / 64] & (1 << (b % 64)) != 0;
            if let Some(candidates) = hit.then(|| index.get_mut(&(r0 & mask))).flatten() {
                let (b0, b1) = (&window.buf[at..at + bs], &window.buf[at + bs..at + 2 * bs]);
                let (mut s0, mut s1) = (None, None);
                let strong = |cache: &mut Option<[u8; 16]>, b: &[u8]| -> [u8; 16] {
                    *cache.get_or_insert_with(|| Md4::digest(b).into())
                };
                candidates.retain(|&i| {
                    let paired = seq == 2 && i + 1 < n;
                    let found = |j: usize| offsets.get(j).is_none_or(|o: &Option<u64>| o.is_some());
                    if found(i) && (!paired || found(i + 1)) {
                        return false;
                    }
                    let (_, c0) = self.sums(i);
                    if paired {
                        let (w1, c1) = self.sums(i + 1);
                        if r1 & mask != w1
                            || strong(&mut s0, b0)[..c0.len()] != *c0
                            || strong(&mut s1, b1)[..c1.len()] != *c1
                        {
                            return true;
                        }
                        offsets[i].get_or_insert(x);
                        offsets[i + 1].get_or_insert(x + bs as u64);
                    } else if strong(&mut s0, b0)[..c0.len()] == *c0 {
                        offsets[i].get_or_insert(x);
                    }
                    true
                });
            }
            x += 1;
            if window.len.is_some_and(|len| x >= len) {
                break;
            }
            // Roll both sums one byte on: the window must hold x - 1 .. x + 2 * bs.
            window.fill(&mut seed, (x - 1 - window.base) as usize + 2 * bs + 1)?;
            let at = (x - 1 - window.base) as usize;
            let b = &window.buf;
            r0 = roll(r0, b[at], b[at + bs], bs);
            r1 = roll(r1, b[at + bs], b[at + 2 * bs], bs);
            if at >= CHUNK {
                window.drop_front(at);
            }
        }
        Ok(self.matches(offsets))
    }

    fn matches(&self, offsets: Vec<Option<u64>>) -> Matches {
        Matches {
            offsets,
            blocksize: self.blocksize,
            length: self.length,
        }
    }
}

/// The weak checksum of a window moved on by one byte: `out` left it, `inn` entered it.
fn roll(sum: u32, out: u8, inn: u8, bs: usize) -> u32 {
    let (a, b) = ((sum >> 16) as u16, sum as u16);
    let a = a.wrapping_sub(u16::from(out)).wrapping_add(u16::from(inn));
    let b = b
        .wrapping_sub((bs as u16).wrapping_mul(u16::from(out)))
        .wrapping_add(a);
    (u32::from(a) << 16) | u32::from(b)
}

/// The part of the seed in view: `buf` starts at seed offset `base`; once the seed has ended,
/// `len` is its length and `buf` has `pad` zeros after its last byte.
struct Window {
    buf: Vec<u8>,
    base: u64,
    len: Option<u64>,
    pad: usize,
}

impl Window {
    fn new(pad: usize) -> Window {
        Window {
            buf: Vec::with_capacity(2 * CHUNK),
            base: 0,
            len: None,
            pad,
        }
    }

    /// Reads until `buf` holds `want` bytes (zeros past the seed's end).
    fn fill(&mut self, seed: &mut impl Read, want: usize) -> std::io::Result<()> {
        while self.buf.len() < want && self.len.is_none() {
            let have = self.buf.len();
            self.buf.resize(have + CHUNK, 0);
            match seed.read(&mut self.buf[have..]) {
                Ok(0) => {
                    self.buf.truncate(have);
                    self.len = Some(self.base + have as u64);
                    self.buf.resize(have + self.pad, 0);
                }
                Ok(got) => self.buf.truncate(have + got),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => self.buf.truncate(have),
                Err(e) => return Err(e),
            }
        }
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        Ok(())
    }

    /// Forgets the first `n` bytes.
    fn drop_front(&mut self, n: usize) {
        self.buf.drain(..n);
        self.base += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zsync::{Target, control_file};

    fn varied(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    fn control(data: &[u8]) -> ControlFile {
        let target = Target {
            filename: "t",
            url: "t",
            mtime: time::OffsetDateTime::UNIX_EPOCH,
            len: data.len() as u64,
        };
        ControlFile::parse(&control_file(data, &target).unwrap()).unwrap()
    }

    /// The target rebuilt from the seed's copies and the target's missing ranges.
    fn rebuilt(m: &Matches, seed: &[u8], target: &[u8]) -> Vec<u8> {
        let mut out = vec![0xAAu8; target.len()];
        for (t, s) in m.copies() {
            let n = (t.end - t.start) as usize;
            let avail = seed.len().saturating_sub(s as usize).min(n);
            out[t.start as usize..t.start as usize + avail]
                .copy_from_slice(&seed[s as usize..s as usize + avail]);
            out[t.start as usize + avail..t.end as usize].fill(0);
        }
        for r in m.missing() {
            out[r.start as usize..r.end as usize]
                .copy_from_slice(&target[r.start as usize..r.end as usize]);
        }
        out
    }

    #[test]
    fn rolling_equals_recomputing() {
        let d = varied(5000, 1);
        let mut r = rsum(&d[..2048]);
        for x in 1..2000 {
            r = roll(r, d[x - 1], d[x + 2047], 2048);
            assert_eq!(r, rsum(&d[x..x + 2048]), "at {x}");
        }
    }

    #[test]
    fn an_identical_seed_provides_every_block() {
        let t = varied(100_000, 2);
        let m = control(&t).match_seed(&t[..]).unwrap();
        assert_eq!(m.reused(), 100_000);
        assert!(m.missing().is_empty());
        assert_eq!(m.copies(), [(0..100_000, 0)]);
    }

    #[test]
    fn shifted_and_changed_content_is_found_and_the_rest_is_missing() {
        let old = varied(300_000, 3);
        // The new file: 100 bytes inserted at the front (every block shifted), a changed stretch
        // in the middle, a shorter end.
        let mut new = varied(100, 4);
        new.extend_from_slice(&old[..150_000]);
        new.extend_from_slice(&varied(10_000, 5));
        new.extend_from_slice(&old[160_000..290_000]);
        let m = control(&new).match_seed(&old[..]).unwrap();
        assert!(m.reused() > 270_000, "reused {}", m.reused());
        let missing: u64 = m.missing().iter().map(|r| r.end - r.start).sum();
        assert_eq!(missing + m.reused(), new.len() as u64);
        assert!(m.missing().len() <= 3, "{:?}", m.missing());
        assert_eq!(rebuilt(&m, &old, &new), new);
    }

    #[test]
    fn nothing_in_common_and_an_empty_seed_provide_nothing() {
        let t = varied(50_000, 6);
        let c = control(&t);
        let m = c.match_seed(&varied(50_000, 7)[..]).unwrap();
        let whole = 0..50_000u64;
        assert_eq!((m.reused(), m.missing()), (0, vec![whole.clone()]));
        let m = c.match_seed(&[][..]).unwrap();
        assert_eq!(m.missing(), [whole]);
    }

    #[test]
    fn the_short_last_block_is_found_at_the_seeds_end() {
        let t = varied(10_000, 8);
        let m = control(&t).match_seed(&t[..]).unwrap();
        assert_eq!(m.offsets[4], Some(8192));
        let small = varied(700, 9);
        let m = control(&small).match_seed(&small[..]).unwrap();
        assert_eq!(m.offsets, [Some(0)]);
    }
}
