//! QR codes of rating links: an SVG for the declaration software's screen and
//! the rating page, a PNG for email (mail programs do not show SVG images).

use std::io::Write;

use qrcode::{Color, EcLevel, QrCode};

/// Modules of light margin around the code, as the QR standard asks.
const QUIET_ZONE: usize = 4;
/// Pixels per module in the emailed PNG: 8 gives a ~300 px image for a link.
const PNG_SCALE: usize = 8;

/// Medium error correction: a link printed on a slip or shown on a screen
/// survives a smudge; higher levels make the code denser for no gain here.
fn code(text: &str) -> Option<QrCode> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()
}

/// The SVG of `text`'s QR code, or None when it is too long for a QR code.
pub fn svg(text: &str) -> Option<String> {
    let code = code(text)?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .quiet_zone(true)
            .module_dimensions(8, 8)
            .build(),
    )
}

/// The dark modules of `text`'s code with its quiet zone: (side, is_dark per cell).
fn modules(text: &str) -> Option<(usize, Vec<bool>)> {
    let code = code(text)?;
    let width = code.width();
    let side = width + 2 * QUIET_ZONE;
    let mut cells = vec![false; side * side];
    for (i, c) in code.to_colors().into_iter().enumerate() {
        let (x, y) = (i % width + QUIET_ZONE, i / width + QUIET_ZONE);
        cells[y * side + x] = c == Color::Dark;
    }
    Some((side, cells))
}

/// A 1-bit greyscale PNG of `text`'s QR code (a few hundred bytes), or None
/// when it is too long for a QR code.
pub fn png(text: &str) -> Option<Vec<u8>> {
    let (side, cells) = modules(text)?;
    let px = side * PNG_SCALE;
    let row_bytes = px.div_ceil(8);
    let mut raw = Vec::with_capacity((row_bytes + 1) * px);
    for y in 0..px {
        raw.push(0); // filter: none
        let mut row = vec![0u8; row_bytes];
        for x in 0..px {
            // In a greyscale PNG 1 is white.
            if !cells[(y / PNG_SCALE) * side + x / PNG_SCALE] {
                row[x / 8] |= 0x80 >> (x % 8);
            }
        }
        raw.extend_from_slice(&row);
    }
    // Fast, not best: a 1-bit image of long runs compresses almost as well, and
    // `best` was a sixth of the local host's CPU when issuing forms (BENCHMARKS.md).
    // Level 2, not 1: zlib-rs's level 1 (its quick strategy) left the image 10%
    // larger than miniz's did.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(2));
    z.write_all(&raw).ok()?;
    let idat = z.finish().ok()?;
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(px as u32).to_be_bytes());
    ihdr.extend_from_slice(&(px as u32).to_be_bytes());
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]); // bit depth 1, greyscale, deflate, no filter set, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (b"IHDR", &ihdr[..]),
        (b"IDAT", &idat[..]),
        (b"IEND", &[][..]),
    ] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    Some(out)
}

/// Test helpers that read our codes back with a QR decoder, from the very
/// bytes a client receives (also used by the end-to-end tests).
#[cfg(any(test, feature = "test-decoders"))]
pub mod read_back {
    use std::io::Read;

    fn decode(w: usize, h: usize, dark: impl Fn(usize, usize) -> bool) -> Option<String> {
        let mut img =
            rqrr::PreparedImage::prepare_from_greyscale(
                w,
                h,
                |x, y| {
                    if dark(x, y) { 0 } else { 255 }
                },
            );
        let grids = img.detect_grids();
        let (_, content) = grids.first()?.decode().ok()?;
        Some(content)
    }

    /// Decodes the SVG `svg()` makes: one background rect, then one path of
    /// `M{x} {y}h{w}v{h}H{x}V{y}` rectangles.
    pub fn svg(svg: &str) -> Option<String> {
        let dim = |name: &str| -> Option<usize> {
            let at = svg.find(&format!(" {name}=\""))? + name.len() + 3;
            svg[at..].split('"').next()?.parse().ok()
        };
        let (w, h) = (dim("width")?, dim("height")?);
        let d_at = svg.find(" d=\"")? + 4;
        let d = svg[d_at..].split('"').next()?;
        let mut dark = vec![false; w * h];
        for seg in d.split('M').filter(|s| !s.is_empty()) {
            let nums: Vec<usize> = seg
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().ok())
                .collect::<Option<_>>()?;
            let [x, y, rw, rh, ..] = nums[..] else {
                return None;
            };
            for yy in y..(y + rh).min(h) {
                for xx in x..(x + rw).min(w) {
                    dark[yy * w + xx] = true;
                }
            }
        }
        decode(w, h, |x, y| dark[y * w + x])
    }

    /// Decodes the PNG `png()` makes (1-bit greyscale, filter none).
    pub fn png(png: &[u8]) -> Option<String> {
        let mut at = 8;
        let (mut w, mut h, mut idat) = (0usize, 0usize, Vec::new());
        while at + 8 <= png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().ok()?) as usize;
            let kind = &png[at + 4..at + 8];
            let data = png.get(at + 8..at + 8 + len)?;
            match kind {
                b"IHDR" => {
                    w = u32::from_be_bytes(data[0..4].try_into().ok()?) as usize;
                    h = u32::from_be_bytes(data[4..8].try_into().ok()?) as usize;
                }
                b"IDAT" => idat.extend_from_slice(data),
                _ => {}
            }
            at += 12 + len;
        }
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&idat[..])
            .read_to_end(&mut raw)
            .ok()?;
        let row = w.div_ceil(8) + 1;
        if raw.len() < row * h {
            return None;
        }
        decode(w, h, |x, y| {
            raw[y * row + 1 + x / 8] & (0x80 >> (x % 8)) == 0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "https://csq.example.vn/f/k1.0123456789abcdef0123456789abcdef.1798761600.c2lnbmF0dXJlX29mX3RoZV9saW5r";

    #[test]
    fn the_svg_reads_back_as_the_link() {
        let svg = svg(LINK).unwrap();
        assert!(svg.contains("<svg"));
        assert_eq!(read_back::svg(&svg).as_deref(), Some(LINK));
    }

    #[test]
    fn the_png_reads_back_as_the_link_and_is_small() {
        let png = png(LINK).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.len() < 2_000, "{} bytes", png.len());
        assert_eq!(read_back::png(&png).as_deref(), Some(LINK));
    }

    #[test]
    fn another_link_reads_back_differently() {
        let other = LINK.replace("c2ln", "AAAA");
        assert_eq!(
            read_back::svg(&svg(&other).unwrap()).as_deref(),
            Some(&other[..])
        );
        assert_ne!(read_back::svg(&svg(&other).unwrap()).as_deref(), Some(LINK));
    }

    #[test]
    fn text_too_long_for_a_code_gives_none() {
        assert!(svg(&"x".repeat(5_000)).is_none());
        assert!(png(&"x".repeat(5_000)).is_none());
    }
}
