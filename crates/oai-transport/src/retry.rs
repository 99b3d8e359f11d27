//! When to try a request again, and how long to wait first.
//!
//! The rules are those of the official SDKs (openai-python's `_should_retry`
//! and `_calculate_retry_timeout`), with one deliberate difference:
//!
//! | situation | retried? |
//! |---|---|
//! | connection error, connect or request timeout | yes |
//! | the server asks to wait longer than the cap (`max_retry_after`, 120 s by default) | no, whatever else holds; the error carries the wait ([`crate::Error::retry_after`]) |
//! | `x-should-retry: true` / `false` | yes / no, whatever the status |
//! | 408, 409, 429, any status >= 500 | yes |
//! | 429 whose error `code` is `insufficient_quota` | **no**: the quota does not come back by waiting (the Python SDK retries it; this client does not, on purpose) |
//! | anything else | no |
//!
//! The wait before retry number `n` (0-based) is what the server asked for,
//! when that is more than zero and at most the cap; otherwise `min(0.5 * 2^n,
//! 8)` s reduced by a random jitter of up to 25 %. What the server asked for is
//! read as the Python SDK reads it: `retry-after-ms` (milliseconds) when it is a
//! number, else `retry-after` as seconds, else `retry-after` as an HTTP date.
//!
//! [`is_retryable`] is the one table of statuses; [`should_retry`] and
//! [`crate::Error::is_transient`] both read it.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

/// Default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// First backoff step.
pub const INITIAL_DELAY: Duration = Duration::from_millis(500);
/// Largest backoff step.
pub const MAX_DELAY: Duration = Duration::from_secs(8);
/// Default longest server-requested wait that is honoured (the Python SDK's
/// `MAX_RETRY_AFTER_DELAY`); a longer one ends the retries. Set another with
/// `ConfigBuilder::max_retry_after`.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// The error `code` that makes a 429 final.
pub const INSUFFICIENT_QUOTA: &str = "insufficient_quota";

/// Whether the policy retries an answer with this status: 408, 409, 429 and
/// every status from 500 up. The one table; the headers and the error code
/// refine it (see [`should_retry`]).
pub fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 409 | 429) || status.as_u16() >= 500
}

/// Whether an error answer is worth trying again, from what the answer says:
/// `x-should-retry` when the server sent `true` or `false`, else the status
/// table ([`is_retryable`]), a 429 whose error `code` is `insufficient_quota`
/// excepted (a deliberate difference from the Python SDK, which retries it:
/// no wait brings a quota back). The wait the server asks for is not looked
/// at here: see [`decide`].
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
    if status == StatusCode::TOO_MANY_REQUESTS && error_code == Some(INSUFFICIENT_QUOTA) {
        return false;
    }
    is_retryable(status)
}

/// What the policy does with an error answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Try again after this wait.
    Retry(Duration),
    /// Do not try again.
    Final,
    /// Do not try again: the server asked for this wait, longer than the cap.
    WaitTooLong(Duration),
}

/// The policy's decision for an error answer before retry number `retry`
/// (0-based; the caller checks the retry budget): [`Decision::WaitTooLong`]
/// when the server asks for more than `max_retry_after`, else
/// [`should_retry`], with the wait of [`retry_delay_capped`].
pub fn decide(
    status: StatusCode,
    headers: &HeaderMap,
    error_code: Option<&str>,
    retry: u32,
    now: SystemTime,
    jitter: f64,
    max_retry_after: Duration,
) -> Decision {
    let asked = server_wait(headers, now);
    if let Some(wait) = asked
        && wait > max_retry_after
    {
        return Decision::WaitTooLong(wait);
    }
    if !should_retry(status, headers, error_code) {
        return Decision::Final;
    }
    Decision::Retry(asked.unwrap_or_else(|| backoff(retry, jitter)))
}

/// The wait the server asked for, read as the Python SDK reads it:
/// `retry-after-ms` when it parses as a number (milliseconds, may be
/// fractional), else `retry-after` when it parses as a number (seconds, may
/// be fractional), else `retry-after` as an HTTP date, measured from `now`.
/// `None` when there is no such header, or the wait it gives is not more than
/// zero (a date in the past, a value that rounds to no time at all) or not
/// finite. Not capped, but never more than [`crate::MAX_WAIT`].
pub fn server_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let secs = if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        ms / 1000.0
    } else {
        let value = header("retry-after")?;
        match value.parse::<f64>() {
            Ok(secs) => secs,
            Err(_) => {
                let date = httpdate::parse_http_date(value).ok()?;
                date.duration_since(now).ok()?.as_secs_f64()
            }
        }
    };
    if !(secs.is_finite() && secs > 0.0) {
        return None;
    }
    // A value under a nanosecond rounds to zero: that is no wait at all, and
    // would let a server drive retries back to back (found by fuzzing).
    let wait = Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX);
    (!wait.is_zero()).then(|| crate::clamp_duration(wait))
}

/// The wait the server asked for, when it is one the default cap honours: in
/// (0, [`MAX_RETRY_AFTER`]].
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    server_wait(headers, now).filter(|d| *d <= MAX_RETRY_AFTER)
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

/// The wait before retry number `retry` under the default cap: the server's
/// request when honoured, else [`backoff`].
pub fn retry_delay(
    headers: Option<&HeaderMap>,
    retry: u32,
    now: SystemTime,
    jitter: f64,
) -> Duration {
    retry_delay_capped(headers, retry, now, jitter, MAX_RETRY_AFTER)
}

/// The wait before retry number `retry`: the server's request when it is in
/// (0, `max_retry_after`], else [`backoff`].
pub fn retry_delay_capped(
    headers: Option<&HeaderMap>,
    retry: u32,
    now: SystemTime,
    jitter: f64,
    max_retry_after: Duration,
) -> Duration {
    headers
        .and_then(|h| server_wait(h, now))
        .filter(|d| *d <= max_retry_after)
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
        let in_200s = httpdate::fmt_http_date(now + Duration::from_secs(200));
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
            (vec![("retry-after", "90")], Some(Duration::from_secs(90))),
            (vec![("retry-after", "120")], Some(Duration::from_secs(120))),
            (vec![("retry-after", "121")], None),
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
            (
                vec![("retry-after", in_90s.as_str())],
                Some(Duration::from_secs(90)),
            ),
            (vec![("retry-after", in_200s.as_str())], None),
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
            // a numeric `retry-after-ms` decides, in range or not (as the
            // Python SDK reads it)
            (
                vec![("retry-after-ms", "99999"), ("retry-after", "5")],
                Some(Duration::from_millis(99999)),
            ),
            (
                vec![("retry-after-ms", "200000"), ("retry-after", "5")],
                None,
            ),
            (vec![("retry-after-ms", "-1"), ("retry-after", "5")], None),
            (vec![], None),
        ];
        for (pairs, want) in table {
            assert_eq!(retry_after(&headers(&pairs), now), want, "{pairs:?}");
        }
    }

    /// `is_retryable` is the table `should_retry` reads when no header and no
    /// code decide.
    #[test]
    fn one_status_table() {
        for code in 100..=999u16 {
            let Ok(s) = StatusCode::from_u16(code) else {
                continue;
            };
            assert_eq!(
                should_retry(s, &HeaderMap::new(), None),
                is_retryable(s),
                "{code}"
            );
        }
        for code in [408, 409, 429, 500, 502, 503, 504, 520, 529, 599] {
            assert!(is_retryable(
                StatusCode::from_u16(code).unwrap_or(StatusCode::OK)
            ));
        }
    }

    #[test]
    fn decisions() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let cap = MAX_RETRY_AFTER;
        let d = |status: u16, pairs: &[(&'static str, &str)], code: Option<&str>, cap: Duration| {
            decide(
                StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT),
                &headers(pairs),
                code,
                0,
                now,
                0.0,
                cap,
            )
        };
        // Honoured up to the cap.
        assert_eq!(
            d(429, &[("retry-after", "90")], None, cap),
            Decision::Retry(Duration::from_secs(90))
        );
        assert_eq!(
            d(503, &[("retry-after", "120")], None, cap),
            Decision::Retry(Duration::from_secs(120))
        );
        // Above it: not retried, the wait kept, whatever else holds.
        assert_eq!(
            d(429, &[("retry-after", "121")], None, cap),
            Decision::WaitTooLong(Duration::from_secs(121))
        );
        assert_eq!(
            d(
                503,
                &[("retry-after-ms", "3600000"), ("x-should-retry", "true")],
                None,
                cap
            ),
            Decision::WaitTooLong(Duration::from_secs(3600))
        );
        // A cap of one's own.
        assert_eq!(
            d(429, &[("retry-after", "90")], None, Duration::from_secs(30)),
            Decision::WaitTooLong(Duration::from_secs(90))
        );
        assert_eq!(
            d(429, &[("retry-after", "20")], None, Duration::from_secs(30)),
            Decision::Retry(Duration::from_secs(20))
        );
        // No usable wait: backoff.
        for v in ["0", "-3", "NaN", "inf", "soon"] {
            assert_eq!(
                d(500, &[("retry-after", v)], None, cap),
                Decision::Retry(INITIAL_DELAY),
                "{v}"
            );
        }
        // Final answers.
        assert_eq!(d(400, &[], None, cap), Decision::Final);
        assert_eq!(
            d(429, &[("retry-after", "1")], Some(INSUFFICIENT_QUOTA), cap),
            Decision::Final
        );
        assert_eq!(
            d(503, &[("x-should-retry", "false")], None, cap),
            Decision::Final
        );
        // A huge wait saturates instead of overflowing.
        assert_eq!(
            d(429, &[("retry-after", "1e300")], None, cap),
            Decision::WaitTooLong(crate::MAX_WAIT)
        );
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
                if v > 0.0 && v <= 120.0 {
                    prop_assert_eq!(got, Duration::try_from_secs_f64(v).ok());
                } else {
                    prop_assert_eq!(got, None);
                }
            }
        }
    }
}
