//! Text encodings of import files: UTF-8 (with or without BOM) and GBK
//! (GB18030, its superset, is what is decoded).

use std::borrow::Cow;

use crate::error::IdError;
use crate::io::problem::ImportError;

/// The text encoding of an import file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// UTF-8 when the bytes are valid UTF-8, else GBK if they decode as GBK.
    #[default]
    Auto,
    /// UTF-8 (a leading byte-order mark is dropped).
    Utf8,
    /// GBK / GB18030, common in Excel exports on Chinese Windows.
    Gbk,
}

impl Encoding {
    /// Parses `auto`, `utf8`/`utf-8`, `gbk`/`gb2312`/`gb18030`/`cp936`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "auto" => Ok(Self::Auto),
            "utf8" | "utf-8" => Ok(Self::Utf8),
            "gbk" | "gb2312" | "gb18030" | "cp936" => Ok(Self::Gbk),
            _ => Err(IdError::Unknown {
                kind: "encoding",
                value: s.to_string(),
                expected: "auto, utf8, gbk".into(),
            }),
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn line_of(bytes: &[u8], offset: usize) -> u64 {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

fn decode_gbk(bytes: &[u8]) -> Option<String> {
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(Cow::into_owned)
}

/// Decodes `bytes` as text. Returns the text and the encoding used
/// (`"UTF-8"` or `"GBK"`).
pub(crate) fn decode<'a>(
    bytes: &'a [u8],
    declared: Encoding,
    file: &str,
) -> Result<(Cow<'a, str>, &'static str), ImportError> {
    let has_bom = bytes.starts_with(BOM);
    let body = if has_bom { &bytes[BOM.len()..] } else { bytes };
    match declared {
        Encoding::Utf8 | Encoding::Auto => match std::str::from_utf8(body) {
            Ok(s) => Ok((Cow::Borrowed(s), "UTF-8")),
            Err(e) => {
                let looks_gbk = !has_bom && looks_gbk(body);
                if declared == Encoding::Auto && looks_gbk {
                    if let Some(s) = decode_gbk(body) {
                        return Ok((Cow::Owned(s), "GBK"));
                    }
                }
                let hint = if looks_gbk {
                    "; the file looks GBK-encoded: use --encoding gbk".to_string()
                } else {
                    "; save it as UTF-8 (or GBK and use --encoding gbk)".to_string()
                };
                let offset = e.valid_up_to() + if has_bom { BOM.len() } else { 0 };
                Err(ImportError::Encoding {
                    file: file.to_string(),
                    line: line_of(bytes, offset),
                    encoding: "UTF-8",
                    hint,
                })
            }
        },
        Encoding::Gbk => {
            if has_bom {
                return Err(ImportError::Encoding {
                    file: file.to_string(),
                    line: 1,
                    encoding: "GBK",
                    hint: "; it starts with a UTF-8 byte-order mark: use --encoding utf8".into(),
                });
            }
            if let Some(s) = decode_gbk(body) {
                return Ok((Cow::Owned(s), "GBK"));
            }
            // Find the first line that does not decode.
            let mut line = 1;
            for chunk in body.split_inclusive(|&b| b == b'\n') {
                if decode_gbk(chunk).is_none() {
                    break;
                }
                line += 1;
            }
            let hint = if std::str::from_utf8(body).is_ok() {
                "; the file is valid UTF-8: use --encoding utf8".to_string()
            } else {
                String::new()
            };
            Err(ImportError::Encoding {
                file: file.to_string(),
                line,
                encoding: "GBK",
                hint,
            })
        }
    }
}

/// True when the bytes decode cleanly as GBK and the detector agrees.
fn looks_gbk(bytes: &[u8]) -> bool {
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(bytes, true);
    let guess = det.guess(Some(b"cn"), chardetng::Utf8Detection::Allow);
    (guess == encoding_rs::GBK || guess == encoding_rs::GB18030) && decode_gbk(bytes).is_some()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(s).0.into_owned()
    }

    #[test]
    fn utf8_with_bom_is_stripped() {
        let bytes = b"\xEF\xBB\xBFid,name\n1,\xE5\xBC\xA0\xE4\xB8\x89\n";
        let (s, enc) = decode(bytes, Encoding::Auto, "f").unwrap();
        assert_eq!(enc, "UTF-8");
        assert!(s.starts_with("id,name"));
        assert!(s.contains("张三"));
    }

    #[test]
    fn gbk_detected_and_declared() {
        let bytes = gbk("id,name,sex\n1,张三,男\n2,李四,女\n");
        let (s, enc) = decode(&bytes, Encoding::Auto, "f").unwrap();
        assert_eq!(enc, "GBK");
        assert!(s.contains("李四"));
        let (s, _) = decode(&bytes, Encoding::Gbk, "f").unwrap();
        assert!(s.contains("张三"));
    }

    #[test]
    fn gbk_declared_utf8_says_so() {
        let bytes = gbk("id,name\n1,Li\n2,张三丰\n");
        let err = decode(&bytes, Encoding::Utf8, "p.csv")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "p.csv: line 3 is not valid UTF-8; the file looks GBK-encoded: use --encoding gbk"
        );
    }

    #[test]
    fn utf8_declared_gbk_says_so() {
        let err = decode("id\n1,中\n".as_bytes(), Encoding::Gbk, "p.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2 is not valid GBK"), "{err}");
        assert!(err.contains("--encoding utf8"), "{err}");
    }

    #[test]
    fn parse_names() {
        assert_eq!(Encoding::parse("GB18030").unwrap(), Encoding::Gbk);
        assert_eq!(Encoding::parse("utf-8").unwrap(), Encoding::Utf8);
        assert!(Encoding::parse("latin1").is_err());
    }
}
