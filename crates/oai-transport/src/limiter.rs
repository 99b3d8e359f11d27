//! A client-side rate limiter fed by the server's `x-ratelimit-*` headers.
//!
//! Bulk work (embedding a corpus, thousands of concurrent calls) that fires
//! requests as fast as it can mostly collects 429s and retries. A
//! [`RateLimiter`] given to the configuration holds each attempt back until the
//! limits the server last reported leave room for it:
//!
//! - it learns the request and token limits, what remains, and when each
//!   window resets from every response;
//! - before an attempt it reserves one request and the call's estimated tokens
//!   ([`crate::RequestOptions::estimated_tokens`], else one per four bytes of
//!   the JSON body), and waits for the reset when the window is used up;
//! - a 429 pauses every caller until the server's `retry-after` (or the reset);
//! - until the first response has told it the limits, one attempt runs at a
//!   time, so a burst cannot start blind; a server that sends no headers is
//!   then not limited at all (local OpenAI-compatible servers);
//! - optionally it caps the attempts in flight.
//!
//! ```
//! use oai_transport::{Config, RateLimiter};
//!
//! let limiter = RateLimiter::new().max_concurrent(32);
//! let config = Config::builder()
//!     .api_key("sk-example")
//!     .rate_limiter(limiter.clone())
//!     .build()?;
//! // ... many calls later:
//! println!("held back {} times", limiter.stats().delayed);
//! # Ok::<(), oai_transport::Error>(())
//! ```
//!
//! The state is shared by the clones of one limiter: give the same limiter to
//! every client that uses the same key and organization. Other processes using
//! the key are seen only through the headers.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::ratelimit::RateLimit;

/// How long to hold back when the server said a window is used up but not
/// when it resets, and after a 429 that says nothing either.
const UNKNOWN_RESET: Duration = Duration::from_secs(1);
/// The longest single wait, so a wrong header cannot park callers for long.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Counters of what a [`RateLimiter`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimiterStats {
    /// Attempts let through.
    pub acquired: u64,
    /// Attempts that had to wait at least once.
    pub delayed: u64,
    /// Total time attempts spent waiting.
    pub waited: Duration,
    /// 429 answers seen.
    pub throttled: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Window {
    limit: Option<u64>,
    remaining: Option<u64>,
    reset_at: Option<Instant>,
}

impl Window {
    fn refresh(&mut self, now: Instant) {
        if self.reset_at.is_some_and(|r| r <= now) {
            // Used up and past its reset: full again (or unknown again when the
            // limit was never told).
            self.remaining = self.limit;
            self.reset_at = None;
        }
    }

    /// When the window has room for `cost`, `None`; else when to look again.
    /// With nothing in flight and no reset time known, no answer will come to
    /// tell more: the attempt goes, and the server decides.
    fn blocked(&self, cost: u64, in_flight: usize, now: Instant) -> Option<Instant> {
        let remaining = self.remaining?;
        if self.reset_at.is_none() && in_flight == 0 {
            return None;
        }
        // A cost above the whole limit could never pass: let it through once
        // the window is full, and the server decides.
        let full = self.limit.is_some_and(|l| remaining >= l);
        if remaining >= cost.max(1) || (full && remaining > 0) {
            return None;
        }
        Some(self.reset_at.unwrap_or(now + UNKNOWN_RESET))
    }

    fn take(&mut self, cost: u64) {
        if let Some(r) = &mut self.remaining {
            *r = r.saturating_sub(cost);
        }
    }

    fn learn(
        &mut self,
        limit: Option<u64>,
        remaining: Option<u64>,
        reset: Option<Duration>,
        others: u64,
        now: Instant,
    ) {
        if let Some(l) = limit {
            self.limit = Some(l);
        }
        if let Some(r) = remaining {
            // The server may not have seen every attempt still in flight; count
            // them as spent. Answers arrive in any order, so an older, higher
            // count never raises what is left: only the reset refills.
            let fresh = r.saturating_sub(others);
            self.remaining = Some(self.remaining.map_or(fresh, |cur| cur.min(fresh)));
            let reset_at = match reset {
                Some(d) => Some(now + d.min(MAX_WAIT)),
                None if fresh == 0 => Some(now + UNKNOWN_RESET),
                None => None,
            };
            self.reset_at = match (self.reset_at, reset_at) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
    }
}

#[derive(Debug, Default)]
struct State {
    requests: Window,
    tokens: Window,
    in_flight: usize,
    /// Whether any response has been seen.
    observed: bool,
    paused_until: Option<Instant>,
    stats: LimiterStats,
}

struct Inner {
    state: Mutex<State>,
    notify: Notify,
    max_concurrent: Option<usize>,
}

/// Keeps calls under the rate limits the server reports; see the
/// [module documentation](self). Cheap to clone; clones share their state.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("max_concurrent", &self.inner.max_concurrent)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimiter {
    /// A limiter that knows nothing yet and has no concurrency cap.
    pub fn new() -> Self {
        Self::with_cap(None)
    }

    fn with_cap(max_concurrent: Option<usize>) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                notify: Notify::new(),
                max_concurrent,
            }),
        }
    }

    /// Caps the attempts in flight at `n` (at least 1). A new limiter: set it
    /// before sharing.
    #[must_use]
    pub fn max_concurrent(self, n: usize) -> Self {
        let fresh = Self::with_cap(Some(n.max(1)));
        if let (Ok(mut to), Ok(from)) = (fresh.inner.state.lock(), self.inner.state.lock()) {
            to.requests = from.requests;
            to.tokens = from.tokens;
            to.observed = from.observed;
            to.paused_until = from.paused_until;
        }
        fresh
    }

    /// What the limiter did so far.
    pub fn stats(&self) -> LimiterStats {
        self.lock().stats
    }

    /// The limits as last reported, with local reservations taken off.
    pub fn snapshot(&self) -> RateLimit {
        let s = self.lock();
        let now = Instant::now();
        let left = |w: &Window| w.reset_at.map(|r| r.saturating_duration_since(now));
        RateLimit {
            limit_requests: s.requests.limit,
            limit_tokens: s.tokens.limit,
            remaining_requests: s.requests.remaining,
            remaining_tokens: s.tokens.remaining,
            reset_requests: left(&s.requests),
            reset_tokens: left(&s.tokens),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the counters in a state
        // worse than stale; keep going with them.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until one attempt costing `tokens` fits, and reserves it.
    pub(crate) async fn acquire(&self, tokens: u64) -> Permit {
        let mut first_wait: Option<Instant> = None;
        loop {
            let notified = self.inner.notify.notified();
            let wake = {
                let mut s = self.lock();
                let now = Instant::now();
                match self.check(&mut s, tokens, now) {
                    None => {
                        s.requests.take(1);
                        s.tokens.take(tokens);
                        s.in_flight += 1;
                        s.stats.acquired += 1;
                        if let Some(start) = first_wait {
                            s.stats.delayed += 1;
                            s.stats.waited += now.saturating_duration_since(start);
                        }
                        return Permit {
                            limiter: self.clone(),
                        };
                    }
                    Some(wake) => wake,
                }
            };
            first_wait.get_or_insert_with(Instant::now);
            tracing::debug!(
                wait_ms = wake.saturating_duration_since(Instant::now()).as_millis() as u64,
                "rate limiter holding a request back"
            );
            // Wake at the reset, or earlier when a permit is released or new
            // headers arrive.
            let _ = tokio::time::timeout_at(wake, notified).await;
        }
    }

    /// `None` when an attempt may start now; else when to look again.
    fn check(&self, s: &mut State, tokens: u64, now: Instant) -> Option<Instant> {
        let far = now + MAX_WAIT;
        if let Some(p) = s.paused_until {
            if p > now {
                return Some(p);
            }
            s.paused_until = None;
        }
        if self.inner.max_concurrent.is_some_and(|m| s.in_flight >= m) {
            return Some(far);
        }
        if !s.observed && s.in_flight > 0 {
            return Some(far);
        }
        s.requests.refresh(now);
        s.tokens.refresh(now);
        let a = s.requests.blocked(1, s.in_flight, now);
        let b = s.tokens.blocked(tokens, s.in_flight, now);
        match (a, b) {
            (None, None) => None,
            (x, y) => Some(x.into_iter().chain(y).max().unwrap_or(far).min(far)),
        }
    }

    /// Learns from a response's status and headers.
    pub(crate) fn observe(&self, status: StatusCode, headers: &HeaderMap) {
        let now = Instant::now();
        let rl = RateLimit::from_headers(headers);
        {
            let mut s = self.lock();
            s.observed = true;
            let others = (s.in_flight as u64).saturating_sub(1);
            s.requests.learn(
                rl.limit_requests,
                rl.remaining_requests,
                rl.reset_requests,
                others,
                now,
            );
            s.tokens.learn(
                rl.limit_tokens,
                rl.remaining_tokens,
                rl.reset_tokens,
                0,
                now,
            );
            if status == StatusCode::TOO_MANY_REQUESTS {
                s.stats.throttled += 1;
                let wait = crate::retry::retry_after(headers, SystemTime::now())
                    .or_else(|| rl.reset_requests.max(rl.reset_tokens))
                    .unwrap_or(UNKNOWN_RESET)
                    .min(MAX_WAIT);
                let until = now + wait;
                s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
            }
        }
        self.inner.notify.notify_waiters();
    }

    fn release(&self) {
        {
            let mut s = self.lock();
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        self.inner.notify.notify_waiters();
    }
}

/// One reserved attempt; dropping it frees its concurrency slot.
pub(crate) struct Permit {
    limiter: RateLimiter,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limiter.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_the_reset_when_used_up() {
        let l = RateLimiter::new();
        let p = l.acquire(10).await;
        l.observe(
            StatusCode::OK,
            &headers(&[
                ("x-ratelimit-limit-requests", "2"),
                ("x-ratelimit-remaining-requests", "1"),
                ("x-ratelimit-reset-requests", "2s"),
            ]),
        );
        drop(p);
        let start = Instant::now();
        let _a = l.acquire(10).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        // The window is used up: the next one waits for the reset.
        let _b = l.acquire(10).await;
        assert!(
            start.elapsed() >= Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        let st = l.stats();
        assert_eq!((st.acquired, st.delayed), (3, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_are_reserved_and_a_too_big_call_runs_on_a_full_window() {
        let l = RateLimiter::new();
        drop(l.acquire(1).await);
        l.observe(
            StatusCode::OK,
            &headers(&[
                ("x-ratelimit-limit-tokens", "1000"),
                ("x-ratelimit-remaining-tokens", "600"),
                ("x-ratelimit-reset-tokens", "500ms"),
            ]),
        );
        let start = Instant::now();
        let a = l.acquire(500).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        let b = l.acquire(500).await; // 100 left: waits for the reset
        assert!(start.elapsed() >= Duration::from_millis(500));
        // A call above the whole limit waits for a full window.
        drop((a, b));
        l.observe(
            StatusCode::OK,
            &headers(&[
                ("x-ratelimit-limit-tokens", "1000"),
                ("x-ratelimit-remaining-tokens", "1000"),
                ("x-ratelimit-reset-tokens", "1s"),
            ]),
        );
        // Once full again (after the reset), it runs.
        let before = Instant::now();
        let _c = l.acquire(5000).await;
        assert!(
            before.elapsed() >= Duration::from_secs(1),
            "{:?}",
            before.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_everyone() {
        let l = RateLimiter::new();
        let p = l.acquire(1).await;
        l.observe(
            StatusCode::TOO_MANY_REQUESTS,
            &headers(&[("retry-after-ms", "1500")]),
        );
        drop(p);
        let start = Instant::now();
        let _a = l.acquire(1).await;
        assert!(start.elapsed() >= Duration::from_millis(1500));
        assert_eq!(l.stats().throttled, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn one_probe_until_the_first_answer_then_unlimited_without_headers() {
        let l = RateLimiter::new();
        let first = l.acquire(1).await;
        let l2 = l.clone();
        let second = tokio::spawn(async move { l2.acquire(1).await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!second.is_finished());
        l.observe(StatusCode::OK, &HeaderMap::new());
        drop(first);
        let _second = second.await.unwrap();
        let _many: Vec<_> = futures_util::future::join_all((0..50).map(|_| l.acquire(1))).await;
        assert_eq!(l.stats().acquired, 52);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_cap() {
        let l = RateLimiter::new().max_concurrent(2);
        drop(l.acquire(1).await);
        l.observe(StatusCode::OK, &HeaderMap::new());
        let a = l.acquire(1).await;
        let _b = l.acquire(1).await;
        let l2 = l.clone();
        let c = tokio::spawn(async move { l2.acquire(1).await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!c.is_finished());
        drop(a);
        let _c = c.await.unwrap();
    }
}
