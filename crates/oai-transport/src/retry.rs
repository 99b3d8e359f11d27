//! When to try a request again, and how long to wait first.
//!
//! The rules match the official SDKs:
//!
//! | situation | retried? |
//! |---|---|
//! | connection error, connect or request timeout | yes |
//! | `x-should-retry: true` / `false` | yes / no, whatever the status |
//! | 408, 409, 429, any status >= 500 | yes |
//! | 429 whose error `code` is `insufficient_quota` | no (the quota will not come back by waiting) |
//! | anything else | no |
//!
//! The wait before retry number `n` (0-based) is the server's `retry-after-ms`,
//! else its `retry-after` (seconds, or an HTTP date), when that lies in (0, 60] s;
//! otherwise `min(0.5 * 2^n, 8)` s reduced by a random jitter of up to 25 %.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

/// Default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// First backoff step.
pub const INITIAL_DELAY: Duration = Duration::from_millis(500);
/// Largest backoff step.
pub const MAX_DELAY: Duration = Duration::from_secs(8);
/// Longest server-requested wait that is honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Whether a response with this status and these headers should be retried.
///
/// `error_code` is the `code` of the error body, when it could be read.
pub fn should_retry(status: StatusCode, headers: &HeaderMap, error_code: Option<&str>) -> bool {
    if let Some(v) = headers.get("x-should-retry").and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if v.eq_ignore_ascii_case("true") {
            return true;
        }
        if v.eq_ignore_ascii_case("false") {
            return false;
        }
    }
    if status == StatusCode::TOO_MANY_REQUESTS && error_code == Some("insufficient_quota") {
        return false;
    }
    matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error()
}

/// The wait the server asked for, when it is one we honour (in (0, 60] s).
///
/// `retry-after-ms` (milliseconds, may be fractional) wins over `retry-after`
/// (seconds, may be fractional, or an HTTP date, measured from `now`).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && let Some(d) = honoured(ms / 1000.0)
    {
        return Some(d);
    }
    let value = header("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return honoured(secs);
    }
    let date = httpdate::parse_http_date(value).ok()?;
    let wait = date.duration_since(now).ok()?;
    honoured(wait.as_secs_f64())
}

fn honoured(secs: f64) -> Option<Duration> {
    if secs.is_finite() && secs > 0.0 && secs <= MAX_RETRY_AFTER.as_secs_f64() {
        // A value under a nanosecond rounds to zero: that is no wait at all, and
        // would let a server drive retries back to back (found by fuzzing).
        Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| !d.is_zero())
    } else {
        None
    }
}

/// Exponential backoff before retry number `retry` (0-based), with `jitter` in
/// `[0, 1)` taking away up to 25 % of the step. Out-of-range jitter is clamped.
pub fn backoff(retry: u32, jitter: f64) -> Duration {
    let exp = retry.min(16);
    let step = (INITIAL_DELAY.as_secs_f64() * f64::from(1u32 << exp)).min(MAX_DELAY.as_secs_f64());
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    Duration::from_secs_f64(step * (1.0 - 0.25 * jitter))
}

/// The wait before retry number `retry`: the server's request when honoured,
/// else [`backoff`].
pub fn retry_delay(
    headers: Option<&HeaderMap>,
    retry: u32,
    now: SystemTime,
    jitter: f64,
) -> Duration {
    headers
        .and_then(|h| retry_after(h, now))
        .unwrap_or_else(|| backoff(retry, jitter))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                *k,
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("x")),
            );
        }
        h
    }

    #[test]
    fn status_table() {
        let none = HeaderMap::new();
        let table: &[(u16, bool)] = &[
            (200, false),
            (400, false),
            (401, false),
            (403, false),
            (404, false),
            (408, true),
            (409, true),
            (422, false),
            (429, true),
            (500, true),
            (502, true),
            (503, true),
            (504, true),
            (599, true),
        ];
        for (status, want) in table {
            let s = StatusCode::from_u16(*status).unwrap_or(StatusCode::IM_A_TEAPOT);
            assert_eq!(should_retry(s, &none, None), *want, "status {status}");
        }
    }

    #[test]
    fn x_should_retry_overrides_status_and_quota() {
        let yes = headers(&[("x-should-retry", "true")]);
        let no = headers(&[("x-should-retry", "false")]);
        let junk = headers(&[("x-should-retry", "maybe")]);
        assert!(should_retry(StatusCode::BAD_REQUEST, &yes, None));
        assert!(!should_retry(StatusCode::SERVICE_UNAVAILABLE, &no, None));
        assert!(!should_retry(StatusCode::TOO_MANY_REQUESTS, &no, None));
        assert!(should_retry(
            StatusCode::TOO_MANY_REQUESTS,
            &yes,
            Some("insufficient_quota")
        ));
        assert!(should_retry(StatusCode::SERVICE_UNAVAILABLE, &junk, None));
        assert!(!should_retry(StatusCode::BAD_REQUEST, &junk, None));
    }

    #[test]
    fn insufficient_quota_is_final() {
        let none = HeaderMap::new();
        assert!(!should_retry(
            StatusCode::TOO_MANY_REQUESTS,
            &none,
            Some("insufficient_quota")
        ));
        assert!(should_retry(
            StatusCode::TOO_MANY_REQUESTS,
            &none,
            Some("rate_limit_exceeded")
        ));
        // only a 429 carries that meaning
        assert!(should_retry(
            StatusCode::INTERNAL_SERVER_ERROR,
            &none,
            Some("insufficient_quota")
        ));
    }

    #[test]
    fn retry_after_table() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let in_30s = httpdate::fmt_http_date(now + Duration::from_secs(30));
        let in_90s = httpdate::fmt_http_date(now + Duration::from_secs(90));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        type Row<'a> = (Vec<(&'static str, &'a str)>, Option<Duration>);
        let table: Vec<Row<'_>> = vec![
            (
                vec![("retry-after-ms", "1500")],
                Some(Duration::from_millis(1500)),
            ),
            (
                vec![("retry-after-ms", "2.5")],
                Some(Duration::from_micros(2500)),
            ),
            (vec![("retry-after", "3")], Some(Duration::from_secs(3))),
            (
                vec![("retry-after", "0.5")],
                Some(Duration::from_millis(500)),
            ),
            (vec![("retry-after", "60")], Some(Duration::from_secs(60))),
            (vec![("retry-after", "61")], None),
            (vec![("retry-after", "0")], None),
            (vec![("retry-after", "-4")], None),
            (vec![("retry-after", "NaN")], None),
            (vec![("retry-after", "inf")], None),
            (vec![("retry-after-ms", "1e-309")], None),
            (vec![("retry-after", "0.0000000001")], None),
            (vec![("retry-after", "soon")], None),
            (
                vec![("retry-after", in_30s.as_str())],
                Some(Duration::from_secs(30)),
            ),
            (vec![("retry-after", in_90s.as_str())], None),
            (vec![("retry-after", past.as_str())], None),
            // ms first, then seconds
            (
                vec![("retry-after-ms", "100"), ("retry-after", "5")],
                Some(Duration::from_millis(100)),
            ),
            // unusable ms falls through to seconds
            (
                vec![("retry-after-ms", "nope"), ("retry-after", "5")],
                Some(Duration::from_secs(5)),
            ),
            (
                vec![("retry-after-ms", "99999"), ("retry-after", "5")],
                Some(Duration::from_secs(5)),
            ),
            (vec![], None),
        ];
        for (pairs, want) in table {
            assert_eq!(retry_after(&headers(&pairs), now), want, "{pairs:?}");
        }
    }

    #[test]
    fn backoff_schedule() {
        let secs: Vec<f64> = (0..6).map(|n| backoff(n, 0.0).as_secs_f64()).collect();
        assert_eq!(secs, vec![0.5, 1.0, 2.0, 4.0, 8.0, 8.0]);
        assert_eq!(backoff(0, 1.0), Duration::from_secs_f64(0.375));
        assert_eq!(backoff(u32::MAX, 0.0), MAX_DELAY);
        assert_eq!(backoff(0, f64::NAN), INITIAL_DELAY);
    }

    #[test]
    fn delay_prefers_server_value() {
        let now = SystemTime::now();
        let h = headers(&[("retry-after", "7")]);
        assert_eq!(retry_delay(Some(&h), 0, now, 0.0), Duration::from_secs(7));
        assert_eq!(retry_delay(None, 1, now, 0.0), Duration::from_secs(1));
        let far = headers(&[("retry-after", "600")]);
        assert_eq!(retry_delay(Some(&far), 2, now, 0.0), Duration::from_secs(2));
    }

    mod props {
        use super::super::*;
        use http::HeaderValue;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn delay_always_within_bounds(
                ms in proptest::collection::vec(any::<u8>(), 0..40),
                secs in proptest::collection::vec(any::<u8>(), 0..40),
                text_ms in "\\PC{0,30}",
                text_s in "\\PC{0,30}",
                use_text in any::<bool>(),
                retry in any::<u32>(),
                jitter in any::<f64>(),
                now_secs in 0u64..4_000_000_000,
            ) {
                let mut h = HeaderMap::new();
                let (a, b) = if use_text {
                    (HeaderValue::from_str(&text_ms).ok(), HeaderValue::from_str(&text_s).ok())
                } else {
                    (HeaderValue::from_bytes(&ms).ok(), HeaderValue::from_bytes(&secs).ok())
                };
                if let Some(a) = a { h.insert("retry-after-ms", a); }
                if let Some(b) = b { h.insert("retry-after", b); }
                let now = SystemTime::UNIX_EPOCH + Duration::from_secs(now_secs);
                let d = retry_delay(Some(&h), retry, now, jitter);
                prop_assert!(d > Duration::ZERO);
                prop_assert!(d <= MAX_RETRY_AFTER);
                if retry_after(&h, now).is_none() {
                    prop_assert!(d <= MAX_DELAY);
                    prop_assert!(d >= INITIAL_DELAY.mul_f64(0.75));
                }
            }

            #[test]
            fn numeric_retry_after_honoured_exactly_in_range(v in -100.0f64..200.0) {
                let mut h = HeaderMap::new();
                h.insert("retry-after", HeaderValue::from_str(&v.to_string()).unwrap_or(HeaderValue::from_static("x")));
                let got = retry_after(&h, SystemTime::now());
                if v > 0.0 && v <= 60.0 {
                    prop_assert_eq!(got, Duration::try_from_secs_f64(v).ok());
                } else {
                    prop_assert_eq!(got, None);
                }
            }
        }
    }
}
