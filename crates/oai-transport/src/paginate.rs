//! Lazy cursor pagination over the network.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::stream::{self, BoxStream, StreamExt};
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::error::{Error, Result};
use crate::page::{Cursor, Page, parse_page};
use crate::response::RawResponse;
use crate::transport::{Request, Transport};

/// Fetches one page of `request`.
///
/// # Errors
/// As [`Transport::execute`], or a decode error for a body that is not a page.
pub async fn fetch_page<T: DeserializeOwned>(
    transport: &Transport,
    request: &Request,
) -> Result<Page<T>> {
    let raw = transport.execute(request).await?;
    parse_page(&raw.body).map_err(|e| Error::decode(Some(raw.meta.status()), &raw.body, e))
}

/// The pages of a list, fetched one at a time, each only when the consumer asks
/// for it. Ends after the page whose `has_more` is false.
pub struct PageStream<T> {
    /// The raw pages: fetched, cursor followed, not yet decoded. Not generic,
    /// so the fetching machinery is compiled once for every item type.
    inner: BoxStream<'static, Result<RawResponse>>,
    _items: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for PageStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageStream").finish_non_exhaustive()
    }
}

struct State {
    transport: Transport,
    request: Request,
    next: Option<Option<Cursor>>,
}

/// The bodies of the pages of `request`, following the cursor of each.
fn raw_pages(transport: Transport, request: Request) -> BoxStream<'static, Result<RawResponse>> {
    let state = State {
        transport,
        request,
        next: Some(None),
    };
    stream::unfold(state, |mut st| async move {
        let cursor = st.next.take()?;
        if let Some(c) = &cursor {
            let (name, value) = c.query_pair();
            st.request.set_query(name, value);
        }
        let raw = match st.transport.execute(&st.request).await {
            Ok(raw) => raw,
            Err(e) => return Some((Err(e), st)),
        };
        // The envelope alone, for the cursor; the items are decoded later.
        let next = match parse_page::<IgnoredAny>(&raw.body) {
            Ok(page) => page.next_cursor(),
            Err(e) => {
                let e = Error::decode(Some(raw.meta.status()), &raw.body, e);
                return Some((Err(e), st));
            }
        };
        if next.is_some() && next == cursor {
            let e = Error::decode(
                None,
                b"",
                std::io::Error::other("the server sent the same page cursor twice"),
            );
            return Some((Err(e), st));
        }
        st.next = next.map(Some);
        Some((Ok(raw), st))
    })
    .boxed()
}

impl<T: DeserializeOwned + Send + 'static> PageStream<T> {
    /// Pages of `request`, starting from the cursor already in its query, if any.
    pub fn new(transport: Transport, request: Request) -> Self {
        Self {
            inner: raw_pages(transport, request),
            _items: PhantomData,
        }
    }

    /// The items of every page, in order, fetching pages lazily.
    pub fn items(self) -> ItemStream<T> {
        ItemStream {
            pages: self,
            buffer: VecDeque::new(),
            done: false,
        }
    }

    /// Collects every item of every page.
    ///
    /// # Errors
    /// The first error of any page.
    pub async fn collect_all(self) -> Result<Vec<T>> {
        let mut items = self.items();
        let mut out = Vec::new();
        while let Some(item) = items.next().await {
            out.push(item?);
        }
        Ok(out)
    }
}

impl<T: DeserializeOwned> Stream for PageStream<T> {
    type Item = Result<Page<T>>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx).map(|page| {
            page.map(|raw| {
                raw.and_then(|raw| {
                    parse_page(&raw.body)
                        .map_err(|e| Error::decode(Some(raw.meta.status()), &raw.body, e))
                })
            })
        })
    }
}

/// The items of a [`PageStream`].
pub struct ItemStream<T> {
    pages: PageStream<T>,
    buffer: VecDeque<T>,
    done: bool,
}

impl<T> std::fmt::Debug for ItemStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemStream")
            .field("buffered", &self.buffer.len())
            .finish()
    }
}

impl<T> Unpin for ItemStream<T> {}

impl<T: DeserializeOwned> Stream for ItemStream<T> {
    type Item = Result<T>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            match self.pages.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.done = true;
                }
                Poll::Ready(Some(Err(e))) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Ok(page))) => self.buffer.extend(page.data),
            }
        }
    }
}
