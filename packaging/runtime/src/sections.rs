//! The ELF sections every image carries and what they hold. The AppImage type-2 format reserves
//! `.upd_info` (update information, 1024 bytes), `.sha256_sig` (1024) and `.sig_key` (8192) for
//! tools that write them later in place (appimagetool, zsync updaters, desktop integrators such as
//! AppImageLauncher read them); they are zero-filled here. `.qmlbridge_payload` is ours: the
//! packaging step writes the payload's SHA-256 into it, so a start without FUSE finds its cache
//! directory without hashing the whole payload (a fixed-size section keeps the ELF layout as it is).
//!
//! See: <https://github.com/AppImage/AppImageSpec/blob/master/draft.md#type-2-image-format>

use crate::elf::until_nul;

/// Section names (the spec's three, then ours).
pub const UPDATE_INFO: &str = ".upd_info";
/// The payload digest section written by `packaging/build-appimage.sh`.
pub const PAYLOAD: &str = ".qmlbridge_payload";
/// Size of [`PAYLOAD`]: `sha256=` + 64 hex digits + newline, zero-padded.
pub const PAYLOAD_SIZE: usize = 128;

// `#[used]` keeps them through the linker's section garbage collection; nothing reads them
// through memory: the runtime reads its file, where tools may have rewritten them.
#[used]
#[unsafe(link_section = ".upd_info")]
static UPD_INFO: [u8; 1024] = [0; 1024];
#[used]
#[unsafe(link_section = ".sha256_sig")]
static SHA256_SIG: [u8; 1024] = [0; 1024];
#[used]
#[unsafe(link_section = ".sig_key")]
static SIG_KEY: [u8; 8192] = [0; 8192];
#[used]
#[unsafe(link_section = ".qmlbridge_payload")]
static PAYLOAD_INFO: [u8; PAYLOAD_SIZE] = [0; PAYLOAD_SIZE];

/// The payload's SHA-256 (lowercase hex) from the [`PAYLOAD`] section's bytes, or `None` when it
/// was not written (an image whose packaging step did not fill it in).
pub fn payload_sha256(section: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(until_nul(section)).ok()?;
    let hex = text.trim_end().strip_prefix("sha256=")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then(|| hex.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_read_from_the_written_section() {
        let hex = "0123456789abcdef".repeat(4);
        let mut section = format!("sha256={hex}\n").into_bytes();
        section.resize(PAYLOAD_SIZE, 0);
        assert_eq!(payload_sha256(&section), Some(hex));
    }

    #[test]
    fn an_empty_or_malformed_section_has_no_digest() {
        assert_eq!(payload_sha256(&[0; PAYLOAD_SIZE]), None);
        assert_eq!(payload_sha256(b"sha256=abc\n"), None);
        assert_eq!(
            payload_sha256(format!("sha256={}", "G".repeat(64)).as_bytes()),
            None
        );
        assert_eq!(
            payload_sha256(format!("md5={}", "a".repeat(64)).as_bytes()),
            None
        );
    }
}
