//! The runtime's own ELF file: where the SquashFS payload starts and what the named sections
//! hold. The AppImage type-2 format puts the payload right after the ELF image, whose last bytes
//! are the section header table, so the offset is `e_shoff + e_shnum * e_shentsize`.
//!
//! See: <https://github.com/AppImage/AppImageSpec/blob/master/draft.md#type-2-image-format>

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::error::{Error, Result};

/// One section of the file: where its bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    /// File offset of the section's bytes.
    pub offset: u64,
    /// Size in bytes (0 for a NOBITS section, which has no bytes in the file).
    pub size: u64,
}

/// The parts of a 64-bit little-endian ELF header the runtime needs.
#[derive(Debug, Clone, Copy)]
pub struct Elf {
    shoff: u64,
    shentsize: u16,
    shnum: u16,
    shstrndx: u16,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn read_exact_at(file: &File, len: usize, at: u64) -> Result<Vec<u8>> {
    let mut buf = vec![0; len];
    file.read_exact_at(&mut buf, at)
        .map_err(|e| Error::Image(format!("cannot read {len} bytes at offset {at}: {e}")))?;
    Ok(buf)
}

impl Elf {
    /// Reads the header; refuses anything but a 64-bit little-endian ELF file.
    pub fn read(file: &File) -> Result<Self> {
        let h = read_exact_at(file, 64, 0)?;
        if &h[..4] != b"\x7fELF" || h[4] != 2 || h[5] != 1 {
            return Err(Error::Image(
                "not a 64-bit little-endian ELF file, so not an x86_64 AppImage".into(),
            ));
        }
        let elf = Elf {
            shoff: u64_at(&h, 0x28),
            shentsize: u16_at(&h, 0x3a),
            shnum: u16_at(&h, 0x3c),
            shstrndx: u16_at(&h, 0x3e),
        };
        if elf.shentsize != 64 || elf.shnum == 0 || elf.shstrndx >= elf.shnum {
            return Err(Error::Image(format!(
                "ELF section header table is malformed ({} entries of {} bytes)",
                elf.shnum, elf.shentsize
            )));
        }
        Ok(elf)
    }

    /// Where the payload starts: the end of the section header table (AppImage type 2).
    pub fn payload_offset(&self) -> u64 {
        self.shoff + u64::from(self.shnum) * u64::from(self.shentsize)
    }

    /// The section called `name`, if the file has one.
    pub fn section(&self, file: &File, name: &str) -> Result<Option<Section>> {
        let table = read_exact_at(
            file,
            usize::from(self.shnum) * usize::from(self.shentsize),
            self.shoff,
        )?;
        let entry = |i: usize| &table[i * 64..(i + 1) * 64];
        let strtab = entry(usize::from(self.shstrndx));
        let names = read_exact_at(file, u64_at(strtab, 0x20) as usize, u64_at(strtab, 0x18))?;
        for i in 0..usize::from(self.shnum) {
            let sh = entry(i);
            let at = u32_at(sh, 0) as usize;
            let Some(rest) = names.get(at..) else {
                continue;
            };
            let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            if &rest[..end] == name.as_bytes() {
                const SHT_NOBITS: u32 = 8;
                let size = if u32_at(sh, 4) == SHT_NOBITS {
                    0
                } else {
                    u64_at(sh, 0x20)
                };
                return Ok(Some(Section {
                    offset: u64_at(sh, 0x18),
                    size,
                }));
            }
        }
        Ok(None)
    }

    /// The bytes of section `name` (empty when the file has no such section).
    pub fn section_bytes(&self, file: &File, name: &str) -> Result<Vec<u8>> {
        match self.section(file, name)? {
            Some(s) => read_exact_at(file, s.size as usize, s.offset),
            None => Ok(Vec::new()),
        }
    }
}

/// The bytes up to the first NUL (sections are zero-filled to a fixed size).
pub fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_exe() -> File {
        File::open("/proc/self/exe").expect("own executable")
    }

    #[test]
    fn the_payload_of_a_plain_executable_starts_at_its_end() {
        // A linked executable keeps its section headers last: nothing follows them.
        let f = own_exe();
        let elf = Elf::read(&f).unwrap();
        assert_eq!(elf.payload_offset(), f.metadata().unwrap().len());
    }

    #[test]
    fn sections_are_found_by_name() {
        let f = own_exe();
        let elf = Elf::read(&f).unwrap();
        let text = elf.section(&f, ".text").unwrap().expect(".text");
        assert!(text.size > 0);
        assert_eq!(elf.section(&f, ".no_such_section").unwrap(), None);
        assert!(
            elf.section_bytes(&f, ".no_such_section")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_file_that_is_not_elf_is_refused_with_the_reason() {
        let mut t = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut t, &[b'#'; 128]).unwrap();
        let err = Elf::read(t.as_file()).unwrap_err().to_string();
        assert!(err.contains("not a 64-bit little-endian ELF"), "{err}");
    }

    #[test]
    fn until_nul_stops_at_the_first_zero() {
        assert_eq!(until_nul(b"zsync|x\0\0\0"), b"zsync|x");
        assert_eq!(until_nul(b"\0abc"), b"");
        assert_eq!(until_nul(b"abc"), b"abc");
    }
}
