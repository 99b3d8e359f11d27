//! Waiting for the server's work: polling helpers where the official SDKs
//! have them (a file added to a vector store, a batch of them, a video, a
//! file's processing).
//!
//! Each helper retrieves the object until its status leaves the working
//! states, waiting between retrievals what the server asks in
//! `openai-poll-after-ms`, else [`Poll::interval`]; it returns the object in
//! its final state (`completed`, `failed`, `cancelled`: look at `status`),
//! and a [`Timeout`](crate::ErrorKind::Timeout) error once
//! [`Poll::max_wait`] has passed.
//!
//! ```no_run
//! # async fn demo(client: oai::Client) -> oai::Result<()> {
//! use oai::poll::Poll;
//! use oai::types::InputFile;
//!
//! // Upload a file into a vector store and wait until it is indexed.
//! let file = client
//!     .vector_stores()
//!     .files()
//!     .upload_and_poll("vs_abc123", InputFile::from_path("handbook.pdf"), Poll::new())
//!     .await?;
//! println!("{}: {:?}", file.id, file.status);
//! # Ok(()) }
//! ```

use std::time::Duration;

use crate::{Error, ErrorKind, Result, WithMeta};

/// How often and how long a helper polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Poll {
    interval: Duration,
    max_wait: Option<Duration>,
}

impl Default for Poll {
    /// Every second (unless the server asks otherwise), with no limit.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            max_wait: None,
        }
    }
}

impl Poll {
    /// Every second (unless the server asks otherwise), with no limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// The wait between two retrievals when the server does not ask for one
    /// (`openai-poll-after-ms`).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The longest to wait in all; past it the helper returns a timeout
    /// error (the work goes on on the server: poll again with the id).
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }
}

/// The longest wait a server can ask for between two retrievals (a larger
/// `openai-poll-after-ms` is read as this).
const MAX_SERVER_WAIT: Duration = Duration::from_secs(600);

/// Retrieves with `fetch` until `working` is false of the object, waiting as
/// the server or `poll` says.
#[cfg_attr(
    not(any(feature = "vector-stores", feature = "videos", feature = "files")),
    allow(dead_code)
)]
async fn until_done<T, F, Fut>(
    poll: Poll,
    what: &str,
    mut fetch: F,
    working: impl Fn(&T) -> bool,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<WithMeta<T>>>,
{
    let started = tokio::time::Instant::now();
    loop {
        let answer = fetch().await?;
        if !working(&answer.data) {
            return Ok(answer.data);
        }
        let asked = answer
            .meta
            .headers()
            .get("openai-poll-after-ms")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|ms| Duration::from_millis(ms).min(MAX_SERVER_WAIT));
        let wait = asked.unwrap_or(poll.interval);
        if let Some(max) = poll.max_wait
            && started.elapsed() + wait > max
        {
            return Err(Error::own(
                ErrorKind::Timeout,
                format!(
                    "{what} was still in progress after {:.1} s (the limit set); poll again \
                     with its id",
                    max.as_secs_f64()
                ),
            ));
        }
        tokio::time::sleep(wait).await;
    }
}

#[cfg(feature = "vector-stores")]
mod vector_stores {
    #[cfg(feature = "files")]
    use oai_types::InputFile;
    use oai_types::{
        CreateVectorStoreFileBatchRequest, CreateVectorStoreFileRequest,
        VectorStoreFileBatchObject, VectorStoreFileBatchObjectStatus, VectorStoreFileObject,
    };

    use super::{Poll, until_done};
    use crate::Result;
    use crate::resources::{VectorStoresFileBatches, VectorStoresFiles};

    /// A file of a vector store, or a batch, still being indexed.
    fn indexing(status: &VectorStoreFileBatchObjectStatus) -> bool {
        matches!(status, VectorStoreFileBatchObjectStatus::InProgress)
    }

    impl VectorStoresFiles<'_> {
        /// Retrieves the vector store's file until it is no longer
        /// `in_progress`, and returns it (`completed`, `failed`, `cancelled`).
        ///
        /// # Errors
        /// Any [`crate::Error`] of a retrieval, or a timeout past
        /// [`Poll::max_wait`].
        pub async fn poll(
            &self,
            vector_store_id: &str,
            file_id: &str,
            poll: Poll,
        ) -> Result<VectorStoreFileObject> {
            until_done(
                poll,
                "the vector store file",
                || self.retrieve(vector_store_id, file_id).with_meta(),
                |f: &VectorStoreFileObject| indexing(&f.status),
            )
            .await
        }

        /// Adds a file to the vector store, then [`poll`](Self::poll)s it.
        ///
        /// # Errors
        /// As [`poll`](Self::poll), and the creation's.
        pub async fn create_and_poll(
            &self,
            vector_store_id: &str,
            request: impl Into<CreateVectorStoreFileRequest>,
            poll: Poll,
        ) -> Result<VectorStoreFileObject> {
            let file = self.create(vector_store_id, request).await?;
            if !indexing(&file.status) {
                return Ok(file);
            }
            self.poll(vector_store_id, &file.id, poll).await
        }

        /// Uploads `file` (purpose `assistants`), adds it to the vector
        /// store and waits until it is indexed.
        ///
        /// # Errors
        /// As [`create_and_poll`](Self::create_and_poll), and the upload's.
        #[cfg(feature = "files")]
        pub async fn upload_and_poll(
            &self,
            vector_store_id: &str,
            file: InputFile,
            poll: Poll,
        ) -> Result<VectorStoreFileObject> {
            let uploaded = upload(self.client, file).await?;
            let request = CreateVectorStoreFileRequest {
                file_id: uploaded,
                ..oai_types::tolerant::Empty::empty()
            };
            self.create_and_poll(vector_store_id, request, poll).await
        }
    }

    impl VectorStoresFileBatches<'_> {
        /// Retrieves the batch until it is no longer `in_progress`, and
        /// returns it.
        ///
        /// # Errors
        /// Any [`crate::Error`] of a retrieval, or a timeout past
        /// [`Poll::max_wait`].
        pub async fn poll(
            &self,
            vector_store_id: &str,
            batch_id: &str,
            poll: Poll,
        ) -> Result<VectorStoreFileBatchObject> {
            until_done(
                poll,
                "the vector store file batch",
                || self.retrieve(vector_store_id, batch_id).with_meta(),
                |b: &VectorStoreFileBatchObject| indexing(&b.status),
            )
            .await
        }

        /// Creates a batch, then [`poll`](Self::poll)s it.
        ///
        /// # Errors
        /// As [`poll`](Self::poll), and the creation's.
        pub async fn create_and_poll(
            &self,
            vector_store_id: &str,
            request: impl Into<CreateVectorStoreFileBatchRequest>,
            poll: Poll,
        ) -> Result<VectorStoreFileBatchObject> {
            let batch = self.create(vector_store_id, request).await?;
            if !indexing(&batch.status) {
                return Ok(batch);
            }
            self.poll(vector_store_id, &batch.id, poll).await
        }

        /// Uploads `files` (purpose `assistants`, at most `concurrency` at
        /// a time), adds them and the already uploaded `file_ids` to the
        /// vector store as one batch, and waits until it is indexed.
        ///
        /// # Errors
        /// The first failed upload (nothing is added then; files uploaded
        /// before it stay in the account), or as
        /// [`create_and_poll`](Self::create_and_poll).
        #[cfg(feature = "files")]
        pub async fn upload_and_poll(
            &self,
            vector_store_id: &str,
            files: Vec<InputFile>,
            file_ids: Vec<String>,
            concurrency: usize,
            poll: Poll,
        ) -> Result<VectorStoreFileBatchObject> {
            use futures_util::{StreamExt, TryStreamExt};
            let client = self.client;
            let mut ids: Vec<String> = futures_util::stream::iter(files)
                .map(|file| upload(client, file))
                .buffered(concurrency.max(1))
                .try_collect()
                .await?;
            ids.splice(0..0, file_ids);
            let request = CreateVectorStoreFileBatchRequest {
                file_ids: Some(ids),
                ..oai_types::tolerant::Empty::empty()
            };
            self.create_and_poll(vector_store_id, request, poll).await
        }
    }

    /// Uploads `file` for vector stores; its id.
    #[cfg(feature = "files")]
    async fn upload(client: &crate::Client, file: InputFile) -> Result<String> {
        let request = oai_types::CreateFileRequest {
            file,
            purpose: oai_types::CreateFileRequestPurpose::Assistants,
            ..oai_types::tolerant::Empty::empty()
        };
        Ok(client.files().create(request).await?.id)
    }
}

#[cfg(feature = "videos")]
mod videos {
    use oai_types::{CreateVideoMultipartBody, VideoResource, VideoStatus};

    use super::{Poll, until_done};
    use crate::Result;
    use crate::resources::Videos;

    // The API description marks the Videos operations deprecated; so are
    // these helpers, which call them.
    #[allow(deprecated)]
    impl Videos<'_> {
        /// Retrieves the video until it is neither `queued` nor
        /// `in_progress`, and returns it (`completed` or `failed`).
        ///
        /// # Errors
        /// Any [`crate::Error`] of a retrieval, or a timeout past
        /// [`Poll::max_wait`].
        #[deprecated(note = "the Videos operations are deprecated in the OpenAI API description")]
        pub async fn poll(&self, video_id: &str, poll: Poll) -> Result<VideoResource> {
            until_done(
                poll,
                "the video",
                || self.retrieve(video_id).with_meta(),
                |v: &VideoResource| {
                    matches!(v.status, VideoStatus::Queued | VideoStatus::InProgress)
                },
            )
            .await
        }

        /// Creates a video, then [`poll`](Self::poll)s it until it is done.
        ///
        /// # Errors
        /// As [`poll`](Self::poll), and the creation's.
        #[deprecated(note = "the Videos operations are deprecated in the OpenAI API description")]
        pub async fn create_and_poll(
            &self,
            request: impl Into<CreateVideoMultipartBody>,
            poll: Poll,
        ) -> Result<VideoResource> {
            let video = self.create(request).await?;
            self.poll(&video.id, poll).await
        }
    }
}

#[cfg(feature = "files")]
mod files {
    use std::time::Duration;

    use oai_types::{OpenAIFile, OpenAIFileStatus};

    use super::{Poll, until_done};
    use crate::Result;
    use crate::resources::Files;

    impl Files<'_> {
        /// Retrieves the file until it is `processed` or `error` (or gone),
        /// every 5 seconds and for at most 30 minutes unless `poll` says
        /// otherwise ([`Poll::new`] takes those defaults here), as the
        /// official SDKs' `wait_for_processing` does.
        ///
        /// # Errors
        /// Any [`crate::Error`] of a retrieval, or a timeout.
        pub async fn wait_for_processing(&self, file_id: &str, poll: Poll) -> Result<OpenAIFile> {
            let poll = if poll == Poll::new() {
                Poll::new()
                    .interval(Duration::from_secs(5))
                    .max_wait(Duration::from_secs(30 * 60))
            } else {
                poll
            };
            until_done(
                poll,
                "the file's processing",
                || self.retrieve(file_id).with_meta(),
                |f: &OpenAIFile| matches!(f.status, OpenAIFileStatus::Uploaded),
            )
            .await
        }
    }
}
