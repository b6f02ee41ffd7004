//! The QR code of a provisioning URI, as an inline SVG document.
//!
//! The markup is written here from the QR module matrix (not with `qrcode`'s SVG renderer) so
//! that it is fit to paste into an HTML page as is: no XML declaration, no script, no external
//! references, no text taken from the URI; a fixed `viewBox` in module units (the code plus a
//! 4-module quiet zone), a default size of 4 px per module that CSS may override,
//! `role="img"` with an accessible `<title>`, black on white, and one `<path>` for the dark
//! modules. Error correction level M (15 %), what authenticator apps scan reliably.

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

use super::TotpError;

/// The quiet zone around the code, in modules (the QR specification asks for 4).
const QUIET_ZONE: usize = 4;

/// Default rendered size of one module, in CSS pixels.
const PIXELS_PER_MODULE: usize = 4;

/// The accessible name of the image.
const TITLE: &str = "QR code to add this account to an authenticator app";

/// Renders `data` as a QR code (level M) in an SVG document.
pub(crate) fn svg(data: &[u8]) -> Result<String, TotpError> {
    let code =
        QrCode::with_error_correction_level(data, EcLevel::M).map_err(|_| TotpError::QrTooLarge)?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET_ZONE;
    let pixels = size * PIXELS_PER_MODULE;

    let mut out = String::with_capacity(512 + colors.len() * 4);
    // `write!` into a `String` cannot fail; the results are ignored for that reason.
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         width=\"{pixels}\" height=\"{pixels}\" role=\"img\" aria-label=\"{TITLE}\" \
         shape-rendering=\"crispEdges\"><title>{TITLE}</title>\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\""
    );
    for (y, row) in colors.chunks(width.max(1)).enumerate() {
        let mut x = 0;
        while x < row.len() {
            if row.get(x) == Some(&Color::Dark) {
                let start = x;
                while row.get(x) == Some(&Color::Dark) {
                    x += 1;
                }
                let _ = write!(
                    out,
                    "M{} {}h{}v1h-{}z",
                    start + QUIET_ZONE,
                    y + QUIET_ZONE,
                    x - start,
                    x - start
                );
            } else {
                x += 1;
            }
        }
    }
    out.push_str("\"/></svg>");
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn markup_shape() {
        let svg =
            svg(b"otpauth://totp/Acme:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        let code = QrCode::with_error_correction_level(
            b"otpauth://totp/Acme:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            EcLevel::M,
        )
        .unwrap();
        let size = code.width() + 8;
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains(&format!("viewBox=\"0 0 {size} {size}\"")));
        assert!(svg.ends_with("\"/></svg>"));
        assert!(!svg.contains("<script") && !svg.contains("<?xml") && !svg.contains("href"));
        // Number of dark modules drawn equals the code's.
        let path = svg.split(" d=\"").nth(1).unwrap();
        let drawn: usize = path
            .split('h')
            .skip(1)
            .filter_map(|s| s.split('v').next()?.parse::<usize>().ok())
            .sum();
        let dark = code
            .to_colors()
            .iter()
            .filter(|c| **c == Color::Dark)
            .count();
        assert_eq!(drawn, dark);
    }

    #[test]
    fn too_long_is_an_error() {
        assert!(matches!(svg(&vec![0xA5; 4000]), Err(TotpError::QrTooLarge)));
    }
}
