//! `qmlbridge icon`: an app's SVG rendered to the PNG sizes of the hicolor icon theme with
//! `resvg` (text through the system's fonts), so every size comes from the one drawing.
//!
//! See: <https://specifications.freedesktop.org/icon-theme-spec/latest/>

use std::path::{Path, PathBuf};

use resvg::{tiny_skia, usvg};

use crate::error::{Error, Result};

/// The PNG sizes written, in pixels (square): the hicolor theme's usual application sizes.
pub const ICON_SIZES: &[u32] = &[16, 32, 48, 64, 128, 256, 512];

/// Renders `svg` to `<out>/<N>x<N>.png` for every size in [`ICON_SIZES`]; returns the files.
pub fn render_icons(svg: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let icon_error = |problem: String| Error::Icon {
        path: svg.to_path_buf(),
        problem,
    };
    let data = std::fs::read(svg).map_err(Error::io(svg))?;
    let mut options = usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    let tree = usvg::Tree::from_data(&data, &options)
        .map_err(|e| icon_error(format!("not an SVG: {e}")))?;
    let size = tree.size();
    if size.width() <= 0.0 || size.height() <= 0.0 {
        return Err(icon_error("the SVG has no size".to_owned()));
    }
    std::fs::create_dir_all(out).map_err(Error::io(out))?;
    let mut written = Vec::new();
    for &px in ICON_SIZES {
        let mut pixmap = tiny_skia::Pixmap::new(px, px)
            .ok_or_else(|| icon_error(format!("cannot make a {px}x{px} image")))?;
        // Fit the drawing into the square, centred, keeping its aspect ratio.
        let scale = px as f32 / size.width().max(size.height());
        let dx = (px as f32 - size.width() * scale) / 2.0;
        let dy = (px as f32 - size.height() * scale) / 2.0;
        let transform = tiny_skia::Transform::from_row(scale, 0.0, 0.0, scale, dx, dy);
        resvg::render(&tree, transform, &mut pixmap.as_mut());
        let path = out.join(format!("{px}x{px}.png"));
        let png = pixmap
            .encode_png()
            .map_err(|e| icon_error(format!("cannot encode {px}x{px} PNG: {e}")))?;
        std::fs::write(&path, png).map_err(Error::io(&path))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A red square on the left half, transparent on the right.
    const HALF: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">
        <rect width="10" height="20" fill="#ff0000"/></svg>"##;

    #[test]
    fn every_size_from_the_drawing() {
        let dir = tempfile::tempdir().unwrap();
        let svg = dir.path().join("i.svg");
        std::fs::write(&svg, HALF).unwrap();
        let files = render_icons(&svg, &dir.path().join("png")).unwrap();
        assert_eq!(files.len(), ICON_SIZES.len());
        for (file, &px) in files.iter().zip(ICON_SIZES) {
            let pixmap = tiny_skia::Pixmap::load_png(file).unwrap();
            assert_eq!((pixmap.width(), pixmap.height()), (px, px));
            let at = |x: u32, y: u32| pixmap.pixel(x, y).unwrap();
            let left = at(px / 4, px / 2);
            assert_eq!(
                (left.red(), left.green(), left.alpha()),
                (255, 0, 255),
                "{px}"
            );
            assert_eq!(at(px * 3 / 4, px / 2).alpha(), 0, "{px}");
        }
    }

    #[test]
    fn not_an_svg() {
        let dir = tempfile::tempdir().unwrap();
        let svg = dir.path().join("i.svg");
        std::fs::write(&svg, "not xml").unwrap();
        let e = render_icons(&svg, dir.path()).unwrap_err();
        assert!(e.to_string().contains("i.svg: not an SVG"), "{e}");
        let e = render_icons(&dir.path().join("none.svg"), dir.path()).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e}");
    }
}
