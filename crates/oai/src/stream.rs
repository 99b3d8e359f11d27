//! The streams the facade hands out: typed events of a streamed answer, the
//! pages of a list and their items. Each is the transport's stream with its
//! errors as the facade's [`Error`], so one `?` serves every
//! item.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt};
use oai_transport::{Page, ResponseMeta};
use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// The typed events of a streamed answer, as the server sends them.
///
/// Ends after the stream's terminal event (`[DONE]`, or the operation's
/// last event); a body that ends before it is an error for which
/// [`Error::is_truncated`](crate::Error::is_truncated) holds, never a silent
/// end. An error event of the server is an API error. After an error the
/// stream ends.
pub struct EventStream<T> {
    inner: oai_transport::JsonStream<T>,
    /// The call's GenAI span, closed at the end, the error or the drop.
    telemetry: Option<crate::telemetry::Telemetry>,
}

impl<T> EventStream<T> {
    pub(crate) fn observed(mut self, telemetry: crate::telemetry::Telemetry) -> Self {
        self.telemetry = Some(telemetry);
        self
    }
}

impl<T> Drop for EventStream<T> {
    fn drop(&mut self) {
        if let Some(t) = &self.telemetry {
            t.close(None);
        }
    }
}

impl<T> fmt::Debug for EventStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl<T: DeserializeOwned> EventStream<T> {
    /// The response's metadata (status, request id, rate limits).
    pub fn meta(&self) -> &ResponseMeta {
        self.inner.meta()
    }
}

impl<T> From<oai_transport::JsonStream<T>> for EventStream<T> {
    fn from(inner: oai_transport::JsonStream<T>) -> Self {
        Self {
            inner,
            telemetry: None,
        }
    }
}

impl<T: DeserializeOwned + Send + 'static> Stream for EventStream<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self
            .inner
            .poll_next_unpin(cx)
            .map(|event| event.map(|e| e.map_err(Error::from)));
        if let (Poll::Ready(item), Some(t)) = (&polled, &self.telemetry) {
            match item {
                Some(Ok(_)) => t.first_chunk(),
                Some(Err(e)) => t.fail(e),
                None => t.close(None),
            }
        }
        polled
    }
}

/// Every page of a list, fetched lazily as the stream is read; the stream
/// ends after the last page. A cursor the server repeats is an error
/// ([`ErrorKind::Protocol`](crate::ErrorKind::Protocol)), never a loop.
pub struct PageStream<T> {
    inner: Walk<oai_transport::PageStream<T>>,
}

/// A walk over a list, or the error that kept it from starting (yielded
/// once, then the end).
enum Walk<S> {
    Live(S),
    Failed(Option<Error>),
}

impl<S> Walk<S> {
    fn map(self, f: impl FnOnce(S) -> S) -> Self {
        match self {
            Self::Live(s) => Self::Live(f(s)),
            failed => failed,
        }
    }

    fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        next: impl FnOnce(&mut S, &mut Context<'_>) -> Poll<Option<oai_transport::Result<T>>>,
    ) -> Poll<Option<Result<T>>> {
        match self {
            Self::Live(s) => next(s, cx).map(|item| item.map(|i| i.map_err(Into::into))),
            Self::Failed(e) => Poll::Ready(e.take().map(Err)),
        }
    }
}

impl<T> fmt::Debug for PageStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Walk::Live(s) => fmt::Debug::fmt(s, f),
            Walk::Failed(e) => f.debug_tuple("PageStream").field(e).finish(),
        }
    }
}

impl<T> From<oai_transport::PageStream<T>> for PageStream<T> {
    fn from(inner: oai_transport::PageStream<T>) -> Self {
        Self {
            inner: Walk::Live(inner),
        }
    }
}

impl<T> PageStream<T> {
    /// A walk that yields `error` and ends.
    pub(crate) fn failed(error: Error) -> Self {
        Self {
            inner: Walk::Failed(Some(error)),
        }
    }
}

impl<T: DeserializeOwned + Send + 'static> PageStream<T> {
    /// Fetch at most `pages` pages: when the list has more, the stream
    /// yields an error for which [`Error::is_limit`](crate::Error::is_limit)
    /// holds instead of fetching the next one.
    #[must_use]
    pub fn max_pages(self, pages: u64) -> Self {
        Self {
            inner: self.inner.map(|s| s.max_pages(pages)),
        }
    }

    /// Yield at most `items` items from [`items`](Self::items) and
    /// [`collect_all`](Self::collect_all); one more is a limit error.
    #[must_use]
    pub fn max_items(self, items: u64) -> Self {
        Self {
            inner: self.inner.map(|s| s.max_items(items)),
        }
    }

    /// The items of every page, in order, fetching pages lazily.
    pub fn items(self) -> ItemStream<T> {
        ItemStream {
            inner: match self.inner {
                Walk::Live(s) => Walk::Live(s.items()),
                Walk::Failed(e) => Walk::Failed(e),
            },
        }
    }

    /// Collects every item of every page.
    ///
    /// # Errors
    /// The first error of any page, or the page or item limit.
    pub async fn collect_all(self) -> Result<Vec<T>> {
        match self.inner {
            Walk::Live(s) => Ok(s.collect_all().await?),
            Walk::Failed(Some(e)) => Err(e),
            Walk::Failed(None) => Ok(Vec::new()),
        }
    }
}

impl<T: DeserializeOwned> Stream for PageStream<T> {
    type Item = Result<Page<T>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll(cx, |s, cx| s.poll_next_unpin(cx))
    }
}

/// The items of every page of a list, in order.
pub struct ItemStream<T> {
    inner: Walk<oai_transport::ItemStream<T>>,
}

impl<T> fmt::Debug for ItemStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Walk::Live(s) => fmt::Debug::fmt(s, f),
            Walk::Failed(e) => f.debug_tuple("ItemStream").field(e).finish(),
        }
    }
}

impl<T> ItemStream<T> {
    /// Yield at most `items` items; one more is a limit error and the end.
    #[must_use]
    pub fn max_items(self, items: u64) -> Self {
        Self {
            inner: self.inner.map(|s| s.max_items(items)),
        }
    }
}

impl<T: DeserializeOwned> Stream for ItemStream<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll(cx, |s, cx| s.poll_next_unpin(cx))
    }
}

/// The body of a binary answer as it arrives (file contents, audio, video):
/// see [`Call::bytes_stream`](crate::Call::bytes_stream). Its length is
/// checked against the declared `Content-Length`: a body cut short ends with
/// an error for which [`Error::is_truncated`](crate::Error::is_truncated)
/// holds.
pub struct ByteStream {
    inner: oai_transport::ByteStream,
}

impl fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl From<oai_transport::ByteStream> for ByteStream {
    fn from(inner: oai_transport::ByteStream) -> Self {
        Self { inner }
    }
}

impl ByteStream {
    /// The response's metadata (status, request id, rate limits).
    pub fn meta(&self) -> &ResponseMeta {
        self.inner.meta()
    }

    /// The length the server declared (`Content-Length`), if it did.
    pub fn declared_length(&self) -> Option<u64> {
        self.inner.declared_length()
    }

    /// How many bytes have been read so far.
    pub fn bytes_read(&self) -> u64 {
        self.inner.bytes_read()
    }
}

impl Stream for ByteStream {
    type Item = Result<bytes::Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner
            .poll_next_unpin(cx)
            .map(|chunk| chunk.map(|c| c.map_err(Into::into)))
    }
}
