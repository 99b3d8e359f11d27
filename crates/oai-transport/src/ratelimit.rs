//! The `x-ratelimit-*` headers the API sends with every response.

use std::time::Duration;

use http::HeaderMap;

/// Rate-limit state as the server reported it. Every field is `None` when the
/// header was absent or unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RateLimit {
    /// `x-ratelimit-limit-requests`.
    pub limit_requests: Option<u64>,
    /// `x-ratelimit-limit-tokens`.
    pub limit_tokens: Option<u64>,
    /// `x-ratelimit-remaining-requests`.
    pub remaining_requests: Option<u64>,
    /// `x-ratelimit-remaining-tokens`.
    pub remaining_tokens: Option<u64>,
    /// `x-ratelimit-reset-requests`, as a duration from the response.
    pub reset_requests: Option<Duration>,
    /// `x-ratelimit-reset-tokens`, as a duration from the response.
    pub reset_tokens: Option<Duration>,
}

impl RateLimit {
    /// Reads the headers.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let number = |name: &str| text(name).and_then(|v| v.parse::<u64>().ok());
        let duration = |name: &str| text(name).and_then(parse_duration);
        Self {
            limit_requests: number("x-ratelimit-limit-requests"),
            limit_tokens: number("x-ratelimit-limit-tokens"),
            remaining_requests: number("x-ratelimit-remaining-requests"),
            remaining_tokens: number("x-ratelimit-remaining-tokens"),
            reset_requests: duration("x-ratelimit-reset-requests"),
            reset_tokens: duration("x-ratelimit-reset-tokens"),
        }
    }

    /// Whether the server sent any of the headers.
    pub fn is_present(&self) -> bool {
        *self != Self::default()
    }
}

/// Parses the duration format of the reset headers: a sequence of decimal
/// numbers with units `h`, `m`, `s`, `ms`, `us`/`µs`, `ns` (`1m30.5s`, `20ms`), or a
/// bare number of seconds. `None` for anything else or for absurd values.
pub fn parse_duration(s: &str) -> Option<Duration> {
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    if let Ok(secs) = s.parse::<f64>() {
        return finite_secs(secs);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    finite_secs(total)
}

fn finite_secs(secs: f64) -> Option<Duration> {
    if secs.is_finite() && (0.0..1e12).contains(&secs) {
        Duration::try_from_secs_f64(secs).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn durations() {
        let table: &[(&str, Option<Duration>)] = &[
            ("1s", Some(Duration::from_secs(1))),
            ("6m0s", Some(Duration::from_secs(360))),
            ("20ms", Some(Duration::from_millis(20))),
            ("1h2m3.5s", Some(Duration::from_secs_f64(3723.5))),
            ("0.5", Some(Duration::from_millis(500))),
            ("", None),
            ("s", None),
            ("5x", None),
            ("-1s", None),
            ("1e400", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_duration(text), *want, "{text}");
        }
    }

    #[test]
    fn headers() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-ratelimit-limit-requests",
            HeaderValue::from_static("5000"),
        );
        h.insert(
            "x-ratelimit-remaining-tokens",
            HeaderValue::from_static("159000"),
        );
        h.insert("x-ratelimit-reset-tokens", HeaderValue::from_static("6m0s"));
        h.insert("x-ratelimit-limit-tokens", HeaderValue::from_static("lots"));
        let r = RateLimit::from_headers(&h);
        assert_eq!(r.limit_requests, Some(5000));
        assert_eq!(r.remaining_tokens, Some(159_000));
        assert_eq!(r.reset_tokens, Some(Duration::from_secs(360)));
        assert_eq!(r.limit_tokens, None);
        assert!(r.is_present());
        assert!(!RateLimit::from_headers(&HeaderMap::new()).is_present());
    }
}
