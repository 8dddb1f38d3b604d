//! Event and visit photos: what an upload is checked for, how it is cleaned,
//! and where the files live.
//!
//! * Only JPEG and PNG are taken, recognised from their bytes (the
//!   `Content-Type` must agree); HEIC/HEIF and everything else are refused
//!   with `unsupported_photo` (phones can send JPEG: iOS converts on upload
//!   from a file input). At most [`PHOTO_MAX_BYTES`] and [`MAX_PIXELS`].
//! * Every photo is decoded and encoded again with the `image` crate, which
//!   writes pixels only: EXIF (GPS position, device, time), XMP, ICC and
//!   text chunks are gone before anything is stored. The EXIF orientation
//!   is applied to the pixels first, so the photo stays upright.
//! * Files are content-addressed: `<store>.photos/<aa>/<sha256>.<ext>` and
//!   `<sha256>.thumb.<ext>` (at most [`THUMB_PX`] on the long side), mode
//!   0600 in 0700 folders, beside the store file, so a backup of the store
//!   file and this folder is complete. The store's `event_photos` table
//!   links a photo to its event with who added it and when.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

use crate::error::{AppError, ErrorCode};

/// Largest photo accepted, in bytes (10 MiB).
pub const PHOTO_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Most pixels a photo may have (40 megapixels).
pub const MAX_PIXELS: u64 = 40_000_000;
/// Long side of a thumbnail, in pixels.
pub const THUMB_PX: u32 = 320;
/// JPEG quality of re-encoded photos and thumbnails.
const JPEG_QUALITY: u8 = 85;

/// The two formats taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoKind {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
}

impl PhotoKind {
    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    /// The file extension.
    pub fn ext(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
        }
    }

    /// From a stored MIME type.
    pub fn of_mime(m: &str) -> Option<Self> {
        match m {
            "image/jpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            _ => None,
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
        }
    }
}

/// What the first bytes say a file is (for the refusal message).
fn sniff(b: &[u8]) -> &'static str {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "jpeg"
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        "png"
    } else if b.len() >= 12 && &b[4..8] == b"ftyp" {
        match &b[8..12] {
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => "heic",
            b"avif" | b"avis" => "avif",
            _ => "iso-bmff (video?)",
        }
    } else if b.starts_with(b"GIF8") {
        "gif"
    } else if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        "webp"
    } else {
        "unknown"
    }
}

/// Checks an upload's size and kind: its bytes must be JPEG or PNG and its
/// `Content-Type` (if any) must say the same.
pub fn check(content_type: Option<&str>, body: &[u8]) -> Result<PhotoKind, AppError> {
    if body.len() > PHOTO_MAX_BYTES {
        return Err(AppError::Status(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PhotoTooLarge,
            format!(
                "a photo of {} bytes: at most {PHOTO_MAX_BYTES} (10 MiB)",
                body.len()
            ),
        ));
    }
    let declared = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let unsupported = |why: String| {
        AppError::Status(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedPhoto,
            why,
        )
    };
    let kind = match sniff(body) {
        "jpeg" => PhotoKind::Jpeg,
        "png" => PhotoKind::Png,
        other => {
            return Err(unsupported(format!(
                "a photo must be JPEG or PNG; this is {other} (Content-Type {declared:?}). \
                 HEIC is not taken: set the phone to \"most compatible\" (JPEG) or convert it"
            )))
        }
    };
    if !declared.is_empty() && declared != kind.mime() && declared != "application/octet-stream" {
        return Err(unsupported(format!(
            "Content-Type {declared:?} but the bytes are {}",
            kind.mime()
        )));
    }
    Ok(kind)
}

/// A cleaned photo, ready to store.
#[derive(Debug, Clone)]
pub struct Cleaned {
    /// Its kind (as uploaded).
    pub kind: PhotoKind,
    /// The re-encoded image (pixels only, no metadata).
    pub image: Vec<u8>,
    /// The thumbnail, same kind.
    pub thumb: Vec<u8>,
    /// Width in pixels (upright).
    pub width: u32,
    /// Height in pixels (upright).
    pub height: u32,
    /// Hex SHA-256 of [`Self::image`].
    pub sha256: String,
}

fn encode(img: &DynamicImage, kind: PhotoKind) -> Result<Vec<u8>, AppError> {
    let mut out = Vec::new();
    match kind {
        PhotoKind::Jpeg => {
            let rgb = img.to_rgb8();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
                .encode_image(&rgb)
                .map_err(|e| AppError::Internal(format!("encoding a JPEG: {e}")))?;
        }
        PhotoKind::Png => img
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .map_err(|e| AppError::Internal(format!("encoding a PNG: {e}")))?,
    }
    Ok(out)
}

/// Decodes a checked upload, turns it upright, and encodes it again without
/// any metadata, with its thumbnail (CPU work: call it on a blocking thread).
pub fn clean(kind: PhotoKind, body: &[u8]) -> Result<Cleaned, AppError> {
    let bad = |e: image::ImageError| {
        AppError::bad(
            ErrorCode::BadPhoto,
            format!("the {} cannot be read: {e}", kind.mime()),
        )
    };
    let mut reader = ImageReader::with_format(Cursor::new(body), kind.format());
    let mut limits = Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(MAX_PIXELS * 4);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(bad)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(AppError::bad(
            ErrorCode::BadPhoto,
            format!("a photo of {w}×{h} pixels: at most {MAX_PIXELS}"),
        ));
    }
    let orientation = decoder.orientation().map_err(bad)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(bad)?;
    img.apply_orientation(orientation);
    let image = encode(&img, kind)?;
    let thumb = encode(&img.thumbnail(THUMB_PX, THUMB_PX), kind)?;
    let sha256 = sha256_hex(&image);
    Ok(Cleaned {
        kind,
        width: img.width(),
        height: img.height(),
        image,
        thumb,
        sha256,
    })
}

/// Hex SHA-256 of bytes: a photo's name.
pub fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// True for a 64-digit lower-case hex SHA-256 (a photo's name).
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// The content-addressed photo folder beside a store file.
#[derive(Debug, Clone)]
pub struct PhotoDir {
    root: PathBuf,
}

/// Checks an uploaded body against its `Content-Type`, cleans it (re-encoded
/// without metadata, thumbnail) and writes both files to the folder beside
/// the store `db`, on a blocking thread: what adding an event's or a
/// visit's photo does once the caller's scope found its target.
pub async fn store_upload(
    db: &Path,
    content_type: Option<&str>,
    body: bytes::Bytes,
) -> Result<Cleaned, AppError> {
    let kind = check(content_type, &body)?;
    let dir = PhotoDir::beside(db);
    tokio::task::spawn_blocking(move || {
        let c = clean(kind, &body)?;
        dir.write(&c).map_err(|e| {
            AppError::Internal(format!(
                "writing photo {} under {}: {e}",
                c.sha256,
                dir.root().display()
            ))
        })?;
        Ok::<_, AppError>(c)
    })
    .await
    .map_err(|e| AppError::Internal(format!("photo task: {e}")))?
}

/// A stored photo's bytes with their type, as read for an answer.
#[derive(Debug)]
pub struct StoredPhoto {
    /// JPEG or PNG.
    pub kind: PhotoKind,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

impl axum::response::IntoResponse for StoredPhoto {
    fn into_response(self) -> axum::response::Response {
        (
            [
                (axum::http::header::CONTENT_TYPE, self.kind.mime()),
                (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            self.bytes,
        )
            .into_response()
    }
}

/// Reads the photo `sha` (or its thumbnail) of the stored `content_type`
/// from the folder beside the store `db`: what serving an event's or a
/// visit's photo does once the caller's scope found its row.
pub async fn read_stored(
    db: &Path,
    content_type: &str,
    sha: &str,
    thumb: bool,
) -> Result<StoredPhoto, AppError> {
    let kind = PhotoKind::of_mime(content_type)
        .ok_or_else(|| AppError::Internal(format!("photo {sha}: stored type {content_type}")))?;
    let path = PhotoDir::beside(db).path(sha, kind, thumb);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| AppError::Internal(format!("reading {}: {e}", path.display())))?;
    Ok(StoredPhoto { kind, bytes })
}

impl PhotoDir {
    /// `<store>.photos/` beside the store file `db`.
    pub fn beside(db: &Path) -> Self {
        let mut name = db.as_os_str().to_owned();
        name.push(".photos");
        Self {
            root: PathBuf::from(name),
        }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of a photo (`thumb`: of its thumbnail).
    pub fn path(&self, sha256: &str, kind: PhotoKind, thumb: bool) -> PathBuf {
        let name = if thumb {
            format!("{sha256}.thumb.{}", kind.ext())
        } else {
            format!("{sha256}.{}", kind.ext())
        };
        self.root.join(&sha256[..2]).join(name)
    }

    /// Writes a cleaned photo and its thumbnail (once: the same content is
    /// the same file), files 0600 in folders 0700, each written to a
    /// temporary name and renamed, so a reader never sees half a file.
    pub fn write(&self, c: &Cleaned) -> std::io::Result<()> {
        let dir = self.root.join(&c.sha256[..2]);
        create_private_dir(&self.root)?;
        create_private_dir(&dir)?;
        for (thumb, bytes) in [(false, &c.image), (true, &c.thumb)] {
            let path = self.path(&c.sha256, c.kind, thumb);
            if path.exists() {
                continue;
            }
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            {
                let mut f = private_file(&tmp)?;
                f.write_all(bytes)?;
                f.sync_all()?;
            }
            std::fs::rename(&tmp, &path)?;
        }
        Ok(())
    }
}

#[cfg(unix)]
fn create_private_dir(p: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(0o700).create(p) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        r => r,
    }
}

#[cfg(not(unix))]
fn create_private_dir(p: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(p)
}

#[cfg(unix)]
fn private_file(p: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(p)
}

#[cfg(not(unix))]
fn private_file(p: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::new_rgb8(w, h);
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .expect("png");
        out
    }

    #[test]
    fn heic_and_other_kinds_are_refused_by_their_bytes() {
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic");
        heic.extend_from_slice(&[0; 16]);
        let e = check(Some("image/heic"), &heic).expect_err("heic");
        assert!(format!("{e:?}").contains("heic"), "{e:?}");
        assert!(check(Some("image/gif"), b"GIF89a....").is_err());
        // A PNG declared as JPEG is refused too.
        assert!(check(Some("image/jpeg"), &png(2, 2)).is_err());
        assert_eq!(
            check(Some("image/png"), &png(2, 2)).expect("png"),
            PhotoKind::Png
        );
    }

    #[test]
    fn oversize_is_refused_before_decoding() {
        let big = vec![0xFF; PHOTO_MAX_BYTES + 1];
        let e = check(Some("image/jpeg"), &big).expect_err("too big");
        assert!(format!("{e:?}").contains("PhotoTooLarge"), "{e:?}");
    }

    #[test]
    fn a_photo_gets_a_thumbnail_and_a_content_address() {
        let c = clean(PhotoKind::Png, &png(1000, 500)).expect("clean");
        assert_eq!((c.width, c.height), (1000, 500));
        let t = image::load_from_memory(&c.thumb).expect("thumb");
        assert_eq!((t.width(), t.height()), (THUMB_PX, THUMB_PX / 2));
        assert!(is_sha256(&c.sha256));
        assert_eq!(
            clean(PhotoKind::Png, &png(1000, 500))
                .expect("again")
                .sha256,
            c.sha256
        );
    }
}
