//! Event photos through the real router over a real DuckDB file: a JPEG
//! carrying EXIF GPS is stored without it (and its thumbnail too), HEIC and
//! oversize uploads are refused with their codes, and a worker of another
//! grid neither adds nor reads a photo (404, as if absent); reads are
//! audited.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::Value;

use crate::common::{call, demo_state, respond};

/// An APP1 EXIF segment whose GPS IFD holds GPSLatitudeRef `N` and
/// GPSLatitude 39° 54′ 27″ (big-endian TIFF).
fn exif_gps_segment() -> Vec<u8> {
    let mut tiff: Vec<u8> = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    // IFD0 at 8: one entry, GPSInfo (0x8825) LONG 1 → the GPS IFD at 26.
    tiff.extend_from_slice(&[0x00, 0x01, 0x88, 0x25, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 26]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    // GPS IFD at 26: GPSLatitudeRef ASCII "N"; GPSLatitude RATIONAL×3 at 56.
    tiff.extend_from_slice(&[0x00, 0x02]);
    tiff.extend_from_slice(&[0x00, 0x01, 0x00, 0x02, 0, 0, 0, 2, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&[0x00, 0x02, 0x00, 0x05, 0, 0, 0, 3, 0, 0, 0, 56]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    for (n, d) in [(39u32, 1u32), (54, 1), (27, 1)] {
        tiff.extend_from_slice(&n.to_be_bytes());
        tiff.extend_from_slice(&d.to_be_bytes());
    }
    let mut seg = vec![0xFF, 0xE1];
    let len = (2 + 6 + tiff.len()) as u16;
    seg.extend_from_slice(&len.to_be_bytes());
    seg.extend_from_slice(b"Exif\x00\x00");
    seg.extend_from_slice(&tiff);
    seg
}

/// A 640×480 JPEG with [`exif_gps_segment`] after its SOI marker.
fn jpeg_with_gps() -> Vec<u8> {
    let img = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .encode_image(&img)
        .expect("jpeg");
    let mut out = plain[..2].to_vec();
    out.extend(exif_gps_segment());
    out.extend_from_slice(&plain[2..]);
    out
}

fn has(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn upload(id: u64, role: &str, grids: Option<&str>, ct: &str, body: Vec<u8>) -> Request<Body> {
    let mut r = Request::post(format!("/api/v1/events/{id}/photos"))
        .header("x-wangge-role", role)
        .header(header::CONTENT_TYPE, ct);
    if let Some(g) = grids {
        r = r.header("x-wangge-grids", g);
    }
    r.body(Body::from(body)).expect("request")
}

fn read(path: &str, role: &str, grids: Option<&str>) -> Request<Body> {
    let mut r = Request::get(path).header("x-wangge-role", role);
    if let Some(g) = grids {
        r = r.header("x-wangge-grids", g);
    }
    r.body(Body::empty()).expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_are_cleaned_refused_and_scoped_like_their_event() {
    let st = demo_state("photos");
    // An event in a comprehensive grid, and that grid's code.
    let (s, list) = call(&st, read("/api/v1/events?limit=50", "leader", None)).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let f = list["features"]
        .as_array()
        .expect("events")
        .iter()
        .find(|f| f["properties"]["grids"]["comprehensive"].is_string())
        .expect("an event in a comprehensive grid")
        .clone();
    let id = f["properties"]["id"].as_u64().expect("id");
    let grid = f["properties"]["grids"]["comprehensive"]
        .as_str()
        .expect("grid")
        .to_string();

    // The worker of the event's grid uploads a JPEG with EXIF GPS.
    let original = jpeg_with_gps();
    assert!(has(&original, b"Exif\x00\x00") && has(&original, &[0x88, 0x25]));
    let (s, added) = call(
        &st,
        upload(id, "worker", Some(&grid), "image/jpeg", original.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{added}");
    assert_eq!(added["added"], Value::Bool(true));
    assert_eq!(added["photo"]["actor"], "worker:worker", "{added}");
    assert_eq!(
        (
            added["photo"]["width"].as_u64(),
            added["photo"]["height"].as_u64()
        ),
        (Some(640), Some(480))
    );
    let sha = added["photo"]["sha256"]
        .as_str()
        .expect("sha256")
        .to_string();

    // Stored and served without EXIF, GPS included; the file is named by
    // its SHA-256 in the folder beside the store, readable by its owner only.
    for (suffix, thumb) in [("", false), ("/thumb", true)] {
        let (s, h, bytes) = respond(
            &st,
            read(
                &format!("/api/v1/events/{id}/photos/{sha}{suffix}"),
                "worker",
                Some(&grid),
            ),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h[header::CONTENT_TYPE], "image/jpeg");
        assert!(bytes.starts_with(&[0xFF, 0xD8]), "a JPEG");
        assert!(!has(&bytes, b"Exif"), "EXIF left in the photo{suffix}");
        assert!(
            !has(&bytes, &[0xFF, 0xE1]),
            "an APP1 segment left in the photo{suffix}"
        );
        assert!(
            !has(&bytes, &[0x88, 0x25]),
            "the GPS IFD pointer left in the photo{suffix}"
        );
        let img = image::load_from_memory(&bytes).expect("decodes");
        if thumb {
            assert_eq!((img.width(), img.height()), (320, 240));
        } else {
            assert_eq!((img.width(), img.height()), (640, 480));
        }
    }
    let dir = web_viewer::service::photos::PhotoDir::beside(&st.0.config.db);
    let file = dir.path(&sha, web_viewer::service::photos::PhotoKind::Jpeg, false);
    let on_disk = std::fs::read(&file).expect("the photo file beside the store");
    assert!(!has(&on_disk, b"Exif"));
    assert_eq!(
        web_viewer::service::photos::sha256_hex(&on_disk),
        sha,
        "content-addressed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "photo file mode {mode:o}");
    }

    // The detail lists it; the same photo again is not added twice.
    let (_, detail) = call(&st, read(&format!("/api/v1/events/{id}"), "leader", None)).await;
    assert_eq!(
        detail["photos"].as_array().map(Vec::len),
        Some(1),
        "{detail}"
    );
    assert_eq!(detail["photos"][0]["sha256"], sha.as_str());
    let (s, again) = call(
        &st,
        upload(id, "leader", None, "image/jpeg", original.clone()),
    )
    .await;
    assert_eq!(
        (s, &again["added"]),
        (StatusCode::OK, &Value::Bool(false)),
        "{again}"
    );

    // HEIC is refused by its bytes, whatever it is called.
    let mut heic = vec![0, 0, 0, 24];
    heic.extend_from_slice(b"ftypheic\x00\x00\x00\x00mif1heic");
    heic.extend_from_slice(&[0; 64]);
    for ct in ["image/heic", "image/jpeg"] {
        let (s, e) = call(&st, upload(id, "worker", Some(&grid), ct, heic.clone())).await;
        assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}: {e}");
        assert_eq!(e["error"]["code"], "unsupported_photo", "{e}");
    }
    // Over 10 MiB is refused.
    let mut big = original.clone();
    big.resize(10 * 1024 * 1024 + 1, 0);
    let (s, e) = call(&st, upload(id, "worker", Some(&grid), "image/jpeg", big)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{e}");
    assert_eq!(e["error"]["code"], "photo_too_large", "{e}");
    // Bytes that only start like a JPEG.
    let (s, e) = call(
        &st,
        upload(
            id,
            "worker",
            Some(&grid),
            "image/jpeg",
            vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
        ),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_photo")),
        "{e}"
    );

    // A worker of another grid: 404 for the upload, the photo and the thumbnail.
    let other = "000000000000000000";
    let (s, _) = call(
        &st,
        upload(id, "worker", Some(other), "image/jpeg", original),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for suffix in ["", "/thumb"] {
        let (s, _, body) = respond(
            &st,
            read(
                &format!("/api/v1/events/{id}/photos/{sha}{suffix}"),
                "worker",
                Some(other),
            ),
        )
        .await;
        assert_eq!(
            s,
            StatusCode::NOT_FOUND,
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
    // Roles that see no single events may not read photos at all.
    for role in ["planner", "screen"] {
        let (s, _, _) = respond(
            &st,
            read(&format!("/api/v1/events/{id}/photos/{sha}"), role, None),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{role}");
    }

    // Two reads of the worker's (photo and thumbnail) were audited; the
    // refused ones were not.
    let lines =
        st.0.store
            .lock()
            .expect("store")
            .audit_lines(None)
            .expect("audit");
    let reads: Vec<_> = lines
        .iter()
        .filter(|l| l.2.starts_with("photo") && l.3.contains(&sha))
        .collect();
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert!(reads
        .iter()
        .all(|l| l.1 == "worker:worker" && l.3.starts_with(&format!("event {id}:"))));
}

/// Photos of a household visit follow the event photos' rules: stored
/// without EXIF GPS, shown in the file's visit timeline, scoped by the
/// household's grid (a worker of another grid: 404), refused to roles that
/// see no people, every add and read audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visit_photos_are_cleaned_scoped_and_audited() {
    let st = demo_state("visit-photos");
    let (s, late) = call(&st, read("/api/v1/visits/overdue?limit=50", "leader", None)).await;
    assert_eq!(s, StatusCode::OK, "{late}");
    let h = late["households"]
        .as_array()
        .expect("households")
        .iter()
        .find(|h| h["grid"].is_string())
        .expect("an overdue household in a grid")
        .clone();
    let hid = h["household"].as_u64().expect("household");
    let grid = h["grid"].as_str().expect("grid").to_string();
    let visit = Request::post(format!("/api/v1/households/{hid}/visits"))
        .header("x-wangge-role", "worker")
        .header("x-wangge-grids", &grid)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"kind":"routine","notes":"走访拍照"}"#))
        .expect("request");
    let (s, rec) = call(&st, visit).await;
    assert_eq!(s, StatusCode::CREATED, "{rec}");
    let vid = rec["visit"]["id"].as_u64().expect("visit id");
    let add = |role: &str, grids: Option<&str>, body: Vec<u8>| {
        let mut r = Request::post(format!("/api/v1/visits/{vid}/photos"))
            .header("x-wangge-role", role)
            .header(header::CONTENT_TYPE, "image/jpeg");
        if let Some(g) = grids {
            r = r.header("x-wangge-grids", g);
        }
        r.body(Body::from(body)).expect("request")
    };
    let other = "000000000000000000";
    let (s, _) = call(&st, add("worker", Some(other), jpeg_with_gps())).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a worker of another grid");
    let (s, added) = call(&st, add("worker", Some(&grid), jpeg_with_gps())).await;
    assert_eq!(s, StatusCode::CREATED, "{added}");
    let sha = added["photo"]["sha256"].as_str().expect("sha").to_string();
    for suffix in ["", "/thumb"] {
        let path = format!("/api/v1/visits/{vid}/photos/{sha}{suffix}");
        let (s, _, bytes) = respond(&st, read(&path, "worker", Some(&grid))).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            bytes.starts_with(&[0xFF, 0xD8])
                && !has(&bytes, b"Exif")
                && !has(&bytes, &[0x88, 0x25])
        );
        let (s, _, _) = respond(&st, read(&path, "worker", Some(other))).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path} from another grid");
        for role in ["planner", "screen", "department"] {
            let (s, _, _) = respond(&st, read(&path, role, None)).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{path} as {role}");
        }
    }
    let (s, file) = call(
        &st,
        read(
            &format!("/api/v1/households/{hid}/file"),
            "worker",
            Some(&grid),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let v = file["visits"]
        .as_array()
        .expect("visits")
        .iter()
        .find(|v| v["id"].as_u64() == Some(vid))
        .expect("the visit")
        .clone();
    assert_eq!(v["photos"][0]["sha256"], sha.as_str(), "{v}");
    let lines =
        st.0.store
            .lock()
            .expect("store")
            .audit_lines(None)
            .expect("audit");
    let mine: Vec<_> = lines.iter().filter(|l| l.3.contains(&sha)).collect();
    assert_eq!(
        mine.iter().map(|l| l.2.as_str()).collect::<Vec<_>>(),
        ["visit_photo_add", "visit_photo", "visit_photo_thumb"],
        "{mine:?}"
    );
}
