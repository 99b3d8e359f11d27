//! Lazy cursor pagination over the network.

use std::collections::{HashSet, VecDeque};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::stream::{self, BoxStream, StreamExt};
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::error::{Error, Result};
use crate::page::{Cursor, Page, explain_page, parse_page};
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
    page_of(&raw)
}

/// The page `raw` holds; a decode error names the item or field that failed.
fn page_of<T: DeserializeOwned>(raw: &RawResponse) -> Result<Page<T>> {
    parse_page(&raw.body).map_err(|e| {
        Error::decode_failure(
            Some(raw.meta.status()),
            &raw.body,
            explain_page::<T>(&raw.body, &e, raw.scrubber()),
            raw.scrubber(),
        )
    })
}

/// The pages of a list, fetched one at a time, each only when the consumer asks
/// for it. Ends after the page whose `has_more` is false.
///
/// A server cannot make the walk endless: a cursor seen before in this walk
/// (a cycle `a, b, a`, or the same cursor twice) ends it with a
/// [`Protocol`](crate::ErrorKind::Protocol) error after the page that sent
/// it. [`max_pages`](Self::max_pages) and [`max_items`](Self::max_items) bound
/// it further; without them a list is read to its end.
pub struct PageStream<T> {
    /// What to fetch, until the first poll builds `inner`; kept apart so the
    /// limits can still be set.
    start: Option<(Transport, Request)>,
    /// The raw pages: fetched, cursor followed, not yet decoded. Not generic,
    /// so the fetching machinery is compiled once for every item type.
    inner: Option<BoxStream<'static, Result<RawResponse>>>,
    max_pages: Option<u64>,
    max_items: Option<u64>,
    _items: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for PageStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageStream")
            .field("max_pages", &self.max_pages)
            .field("max_items", &self.max_items)
            .finish_non_exhaustive()
    }
}

struct State {
    transport: Transport,
    request: Request,
    next: Option<Option<Cursor>>,
    /// The cursors followed so far in this walk (their query pairs).
    seen: HashSet<(&'static str, String)>,
    /// Pages fetched so far.
    fetched: u64,
    max_pages: Option<u64>,
    /// An error to yield after the page that revealed it; the walk then ends.
    failed: Option<Error>,
}

/// The bodies of the pages of `request`, following the cursor of each.
fn raw_pages(
    transport: Transport,
    request: Request,
    max_pages: Option<u64>,
) -> BoxStream<'static, Result<RawResponse>> {
    let state = State {
        transport,
        request,
        next: Some(None),
        seen: HashSet::new(),
        fetched: 0,
        max_pages,
        failed: None,
    };
    stream::unfold(state, |mut st| async move {
        if let Some(e) = st.failed.take() {
            st.next = None;
            return Some((Err(e), st));
        }
        let cursor = st.next.take()?;
        if let Some(max) = st.max_pages
            && st.fetched >= max
        {
            return Some((Err(Error::limit("pages of a list", max)), st));
        }
        if let Some(c) = &cursor {
            let (name, value) = c.query_pair();
            st.request.set_query(name, value);
        }
        st.fetched += 1;
        let raw = match st.transport.execute(&st.request).await {
            Ok(raw) => raw,
            Err(e) => return Some((Err(e), st)),
        };
        // The envelope alone, for the cursor; the items are decoded later.
        let next = match parse_page::<IgnoredAny>(&raw.body) {
            Ok(page) => page.next_cursor(),
            Err(e) => return Some((Err(raw.decode_error(e)), st)),
        };
        if let Some(c) = &cursor {
            let (name, value) = c.query_pair();
            st.seen.insert((name, value.to_owned()));
        }
        match next {
            Some(c) => {
                let (name, value) = c.query_pair();
                if st.seen.contains(&(name, value.to_owned())) {
                    st.failed = Some(Error::protocol("a pagination cursor repeated"));
                } else {
                    st.next = Some(Some(c));
                }
            }
            None => st.next = None,
        }
        Some((Ok(raw), st))
    })
    .boxed()
}

impl<T: DeserializeOwned + Send + 'static> PageStream<T> {
    /// Pages of `request`, starting from the cursor already in its query, if any.
    pub fn new(transport: Transport, request: Request) -> Self {
        Self {
            start: Some((transport, request)),
            inner: None,
            max_pages: None,
            max_items: None,
            _items: PhantomData,
        }
    }

    /// Fetch at most `pages` pages: when the list has more, the stream
    /// yields an error for which [`Error::is_limit`] holds instead of
    /// fetching the next one. Set before the first page is asked for.
    #[must_use]
    pub fn max_pages(mut self, pages: u64) -> Self {
        self.max_pages = Some(pages);
        self
    }

    /// Yield at most `items` items from [`items`](Self::items) and
    /// [`collect_all`](Self::collect_all): when the list has more, the item
    /// after the last one allowed is an error for which
    /// [`Error::is_limit`] holds.
    #[must_use]
    pub fn max_items(mut self, items: u64) -> Self {
        self.max_items = Some(items);
        self
    }

    /// The items of every page, in order, fetching pages lazily.
    pub fn items(self) -> ItemStream<T> {
        let max_items = self.max_items;
        ItemStream {
            pages: self,
            buffer: VecDeque::new(),
            done: false,
            taken: 0,
            max_items,
        }
    }

    /// Collects every item of every page.
    ///
    /// # Errors
    /// The first error of any page, or the page or item limit.
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
        let this = &mut *self;
        if this.inner.is_none() {
            let Some((transport, request)) = this.start.take() else {
                return Poll::Ready(None);
            };
            this.inner = Some(raw_pages(transport, request, this.max_pages));
        }
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        inner
            .poll_next_unpin(cx)
            .map(|page| page.map(|raw| raw.and_then(|raw| page_of(&raw))))
    }
}

/// The items of a [`PageStream`].
pub struct ItemStream<T> {
    pages: PageStream<T>,
    buffer: VecDeque<T>,
    done: bool,
    /// Items yielded so far.
    taken: u64,
    max_items: Option<u64>,
}

impl<T> ItemStream<T> {
    /// Yield at most `items` items: when the list has more, the item after
    /// the last one allowed is an error for which [`Error::is_limit`]
    /// holds, and the stream ends.
    #[must_use]
    pub fn max_items(mut self, items: u64) -> Self {
        self.max_items = Some(items);
        self
    }
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
                if let Some(max) = self.max_items
                    && self.taken >= max
                {
                    self.done = true;
                    self.buffer.clear();
                    return Poll::Ready(Some(Err(Error::limit("items of a list", max))));
                }
                self.taken += 1;
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
