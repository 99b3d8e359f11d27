//! A small `multipart/form-data` reader, enough for file uploads.

use bytes::Bytes;

/// The most parts one body may have.
const MAX_PARTS: usize = 64;
/// The most bytes of headers one part may have.
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// One part of a form.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Part {
    pub(crate) name: String,
    pub(crate) filename: Option<String>,
    pub(crate) data: Bytes,
}

/// The boundary of a `multipart/form-data` content type.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = parameters(params)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)?;
    (1..=70).contains(&boundary.len()).then_some(boundary)
}

/// `key=value` pairs separated by `;`, values optionally quoted.
fn parameters(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ';' || c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && *c != ';') {
            key.push(c);
        }
        if key.is_empty() && chars.peek().is_none() {
            return out;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            if chars.next_if_eq(&'"').is_some() {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => value.extend(chars.next()),
                        c => value.push(c),
                    }
                }
                while chars.next_if(|c| *c != ';').is_some() {}
            } else {
                while let Some(c) = chars.next_if(|c| *c != ';') {
                    value.push(c);
                }
                value = value.trim().to_owned();
            }
        }
        out.push((key.trim().to_owned(), value));
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The parts of `body`, or what is wrong with it.
pub(crate) fn parse(body: &Bytes, boundary: &str) -> Result<Vec<Part>, String> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let start = find(body, delimiter).ok_or("the body has no boundary line")?;
    let mut at = start + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = body.get(at..).unwrap_or_default();
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        let line_end = if rest.starts_with(b"\r\n") {
            2
        } else if rest.starts_with(b"\n") {
            1
        } else {
            return Err("a boundary line does not end with a line break".into());
        };
        at += line_end;
        if parts.len() == MAX_PARTS {
            return Err(format!("the form has more than {MAX_PARTS} parts"));
        }
        let rest = body.get(at..).unwrap_or_default();
        let (headers_len, sep_len) = match (find(rest, b"\r\n\r\n"), find(rest, b"\n\n")) {
            (Some(a), Some(b)) if b < a => (b, 2),
            (Some(a), _) => (a, 4),
            (None, Some(b)) => (b, 2),
            (None, None) => return Err("a part's headers do not end".into()),
        };
        if headers_len > MAX_HEADER_BYTES {
            return Err(format!(
                "a part has more than {MAX_HEADER_BYTES} bytes of headers"
            ));
        }
        let headers = String::from_utf8_lossy(rest.get(..headers_len).unwrap_or_default());
        let mut name = None;
        let mut filename = None;
        for line in headers.lines() {
            let Some((header, value)) = line.split_once(':') else {
                continue;
            };
            if !header.trim().eq_ignore_ascii_case("content-disposition") {
                continue;
            }
            let (kind, params) = value.split_once(';').unwrap_or((value, ""));
            if !kind.trim().eq_ignore_ascii_case("form-data") {
                return Err("a part is not form-data".into());
            }
            for (k, v) in parameters(params) {
                if k.eq_ignore_ascii_case("name") {
                    name = Some(v);
                } else if k.eq_ignore_ascii_case("filename") {
                    filename = Some(v);
                }
            }
        }
        let name = name.ok_or("a part has no content-disposition name")?;
        at += headers_len + sep_len;
        let rest = body.get(at..).unwrap_or_default();
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(delimiter);
        let (data_len, skip) = match find(rest, &closing) {
            Some(n) => (n, closing.len()),
            None => {
                let mut bare = b"\n".to_vec();
                bare.extend_from_slice(delimiter);
                let n = find(rest, &bare).ok_or("the last part does not end with a boundary")?;
                (n, bare.len())
            }
        };
        parts.push(Part {
            name,
            filename,
            data: body.slice(at..at + data_len),
        });
        at += data_len + skip;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_form() {
        let body = Bytes::from_static(
            b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
              --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in;put.jsonl\"\r\n\
              Content-Type: application/jsonl\r\n\r\n{\"a\":1}\r\n{\"b\":2}\r\n--XyZ--\r\n",
        );
        let parts = parse(&body, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "purpose");
        assert_eq!(&parts[0].data[..], b"batch");
        assert_eq!(parts[1].filename.as_deref(), Some("in;put.jsonl"));
        assert_eq!(&parts[1].data[..], b"{\"a\":1}\r\n{\"b\":2}");
    }

    #[test]
    fn finds_the_boundary() {
        assert_eq!(
            boundary("multipart/form-data; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(
            boundary("multipart/form-data;boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data; boundary="), None);
    }

    #[test]
    fn refuses_broken_forms() {
        for body in [
            &b""[..],
            b"--b\r\nno end",
            b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",
            b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nnever closed",
            b"--bX",
        ] {
            assert!(parse(&Bytes::copy_from_slice(body), "b").is_err());
        }
    }
}
