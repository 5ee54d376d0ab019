//! Photos in an S3-compatible bucket, through the `object_store` crate. Keys, under an
//! optional prefix:
//!
//! - `photos/<first two hex digits>/<sha256>.jpg`: verified photos;
//! - `partial/<sha256>/<offset, 16 digits>`: the pieces of an upload in progress, each written
//!   once (`If-None-Match: *`), so two server processes can never both write the piece at one
//!   offset: the second is told another request is appending;
//! - `derived/<name>`: thumbnails.
//!
//! An upload's bytes held are the pieces that follow each other from offset 0. A body is cut
//! into pieces of at most [`PIECE_BYTES`], so memory per upload stays bounded, and a body that
//! breaks off keeps the pieces written and the one being filled.

use super::{AppendOutcome, Blob, BlobStore, ByteStream, next_chunk};
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use fieldcheck_domain::limits::is_sha256;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path;
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig,
};
use serde::Deserialize;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Largest piece of an upload kept as one object (and held in memory while it fills).
pub const PIECE_BYTES: usize = 1024 * 1024;

/// Where the bucket is and how to reach it (the `[s3]` table of the configuration file, or
/// `FIELDCHECK_S3_*` variables). Credentials come from the environment
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`) or from `credentials_file`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// The service's URL, e.g. `https://oss-cn-hangzhou.aliyuncs.com` or
    /// `http://127.0.0.1:9000`; empty for AWS itself.
    pub endpoint: String,
    /// The bucket (it must exist).
    pub bucket: String,
    /// The region; `us-east-1` when empty (most S3-compatible servers ignore it).
    pub region: String,
    /// Bucket in the path (`endpoint/bucket/key`, MinIO, Garage, Ceph) rather than in the host
    /// name (`bucket.endpoint/key`, OSS, COS, OBS).
    pub path_style: bool,
    /// Prefix of every key, to share a bucket (e.g. `county-330106/`).
    pub prefix: String,
    /// A file with two lines, `access_key_id` and `secret_access_key` (`KEY=value` or the two
    /// values alone); when empty, the `AWS_*` environment variables are used.
    pub credentials_file: String,
}

/// What [`BlobStore::probe`] says of a bucket that overwrites an object written with
/// `If-None-Match: *` (Garage 2.5 does): nothing wrong is stored, since a photo is stored only
/// once its bytes match its SHA-256, but an upload may have to be sent again.
const IGNORES_IF_NONE_MATCH: &str = "此存储不支持条件写入（If-None-Match），同一照片的两个并发续传不能互斥，平板可能需要重传；照片入库前仍校验 SHA-256，不会存错 / \
     the bucket does not refuse a second write of an object (If-None-Match: *): two requests \
     resuming one photo at once are not kept apart and a tablet may have to send it again; \
     nothing wrong is stored, each photo is checked against its SHA-256";

/// Photos in an object store.
pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    what: String,
}

/// How long one request to the store may take, and how long to keep retrying one that failed
/// (a 503, a reset connection) before the tablet's request is answered with an error and the
/// tablet resumes later.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RETRY_FOR: Duration = Duration::from_secs(15);

impl ObjectBlobs {
    /// A store over an S3-compatible bucket. Fails when the configuration is incomplete or the
    /// credentials file cannot be read; does not contact the service (see
    /// [`BlobStore::probe`]).
    pub fn s3(config: &S3Config) -> io::Result<Self> {
        if config.bucket.is_empty() {
            return Err(io::Error::other("s3: no bucket configured"));
        }
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            .with_region(if config.region.is_empty() {
                "us-east-1"
            } else {
                &config.region
            })
            .with_virtual_hosted_style_request(!config.path_style)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(true)
                    .with_timeout(REQUEST_TIMEOUT)
                    .with_connect_timeout(CONNECT_TIMEOUT),
            )
            .with_retry(RetryConfig {
                max_retries: 4,
                retry_timeout: RETRY_FOR,
                ..RetryConfig::default()
            });
        if !config.endpoint.is_empty() {
            builder = builder.with_endpoint(&config.endpoint);
        }
        if !config.credentials_file.is_empty() {
            let (id, secret) = read_credentials(std::path::Path::new(&config.credentials_file))?;
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        let store = builder.build().map_err(io::Error::other)?;
        let what = format!(
            "S3 存储桶 / S3 bucket {} at {}{}",
            config.bucket,
            if config.endpoint.is_empty() {
                "AWS"
            } else {
                &config.endpoint
            },
            if config.prefix.is_empty() {
                String::new()
            } else {
                format!(", keys under {}", config.prefix)
            }
        );
        Ok(Self::new(Arc::new(store), &config.prefix, what))
    }

    /// A store over any `object_store` backend, every key under `prefix`.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str, what: String) -> Self {
        Self {
            store,
            prefix: prefix.trim_matches('/').to_string(),
            what,
        }
    }

    fn key(&self, rest: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(rest)
        } else {
            Path::from(format!("{}/{rest}", self.prefix))
        }
    }

    fn photo_key(&self, sha256: &str) -> Path {
        self.key(&format!("photos/{}/{sha256}.jpg", &sha256[..2]))
    }

    fn pieces_dir(&self, sha256: &str) -> Path {
        self.key(&format!("partial/{sha256}"))
    }

    fn piece_key(&self, sha256: &str, offset: u64) -> Path {
        self.key(&format!("partial/{sha256}/{offset:016}"))
    }

    /// The pieces of an upload as (offset, size, key), in order of offset.
    async fn pieces(&self, sha256: &str) -> io::Result<Vec<(u64, u64, Path)>> {
        let metas: Vec<_> = self
            .store
            .list(Some(&self.pieces_dir(sha256)))
            .try_collect()
            .await
            .map_err(io::Error::other)?;
        let mut pieces: Vec<_> = metas
            .into_iter()
            .filter_map(|m| {
                let offset = m.location.filename()?.parse().ok()?;
                Some((offset, m.size, m.location))
            })
            .collect();
        pieces.sort_by_key(|p| p.0);
        Ok(pieces)
    }

    /// The pieces that follow each other from offset 0 (a piece past a gap is not held).
    async fn contiguous(&self, sha256: &str) -> io::Result<Vec<(u64, u64, Path)>> {
        let mut end = 0;
        let mut out = Vec::new();
        for piece in self.pieces(sha256).await? {
            if piece.0 != end {
                break;
            }
            end += piece.1;
            out.push(piece);
        }
        Ok(out)
    }

    /// Writes one piece unless one is already at its offset.
    async fn put_piece(&self, sha256: &str, offset: u64, bytes: Bytes) -> io::Result<bool> {
        let create = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&self.piece_key(sha256, offset), bytes.into(), create)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(io::Error::other(e)),
        }
    }

    /// The whole object at `key`; an error when it is not there.
    async fn get_bytes(&self, key: &Path) -> io::Result<Bytes> {
        self.store
            .get(key)
            .await
            .map_err(io::Error::other)?
            .bytes()
            .await
            .map_err(io::Error::other)
    }

    async fn get_if_there(&self, key: &Path) -> io::Result<Option<object_store::GetResult>> {
        match self.store.get(key).await {
            Ok(r) => Ok(Some(r)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io::Error::other(e)),
        }
    }
}

/// Reads `access_key_id` and `secret_access_key` from a file: two lines, each `KEY=value` or
/// the value alone, in that order.
fn read_credentials(path: &std::path::Path) -> io::Result<(String, String)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| io::Error::other(format!("s3 credentials file {}: {e}", path.display())))?;
    let values: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('=').map_or(l, |(_, v)| v.trim()).to_string())
        .collect();
    match values.as_slice() {
        [id, secret] => Ok((id.clone(), secret.clone())),
        _ => Err(io::Error::other(format!(
            "s3 credentials file {}: expected two lines, access key id and secret",
            path.display()
        ))),
    }
}

#[async_trait]
impl BlobStore for ObjectBlobs {
    fn describe(&self) -> String {
        self.what.clone()
    }

    async fn held(&self, sha256: &str) -> io::Result<u64> {
        Ok(self.contiguous(sha256).await?.iter().map(|p| p.1).sum())
    }

    async fn append(
        &self,
        sha256: &str,
        offset: u64,
        max_len: u64,
        mut body: ByteStream,
    ) -> io::Result<AppendOutcome> {
        let mut written: Vec<u64> = Vec::new();
        let mut piece = BytesMut::new();
        let mut start = offset;
        let mut len = offset;
        loop {
            let chunk = next_chunk(&mut body, sha256, len).await;
            if let Some(c) = &chunk {
                if len + c.len() as u64 > max_len {
                    for at in written {
                        self.store
                            .delete(&self.piece_key(sha256, at))
                            .await
                            .map_err(io::Error::other)?;
                    }
                    return Ok(AppendOutcome::TooLong);
                }
                piece.extend_from_slice(c);
                len += c.len() as u64;
            }
            if piece.len() >= PIECE_BYTES || (chunk.is_none() && !piece.is_empty()) {
                let bytes = piece.split().freeze();
                let n = bytes.len() as u64;
                if !self.put_piece(sha256, start, bytes).await? {
                    // Another request wrote here first: it is the one appending.
                    return Ok(if written.is_empty() {
                        AppendOutcome::Busy
                    } else {
                        AppendOutcome::Written(start)
                    });
                }
                written.push(start);
                start += n;
            }
            if chunk.is_none() {
                return Ok(AppendOutcome::Written(start));
            }
        }
    }

    async fn staged(&self, sha256: &str) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        for (_, _, key) in self.contiguous(sha256).await? {
            out.extend_from_slice(&self.get_bytes(&key).await?);
        }
        Ok(out)
    }

    async fn discard(&self, sha256: &str) -> io::Result<()> {
        for (_, _, key) in self.pieces(sha256).await? {
            match self.store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(io::Error::other(e)),
            }
        }
        Ok(())
    }

    async fn put(&self, sha256: &str, bytes: Bytes) -> io::Result<()> {
        if !is_sha256(sha256) {
            return Err(io::Error::other(format!("{sha256:?} is not a photo hash")));
        }
        self.store
            .put(&self.photo_key(sha256), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(io::Error::other)
    }

    async fn read(&self, sha256: &str) -> io::Result<Option<Blob>> {
        if !is_sha256(sha256) {
            return Ok(None);
        }
        Ok(self
            .get_if_there(&self.photo_key(sha256))
            .await?
            .map(|got| Blob {
                size: got.meta.size,
                body: got.into_stream().map_err(io::Error::other).boxed(),
            }))
    }

    async fn put_derived(&self, name: &str, bytes: Bytes) -> io::Result<()> {
        self.store
            .put(
                &self.key(&format!("derived/{name}")),
                PutPayload::from(bytes),
            )
            .await
            .map(|_| ())
            .map_err(io::Error::other)
    }

    async fn read_derived(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        match self
            .get_if_there(&self.key(&format!("derived/{name}")))
            .await?
        {
            Some(got) => Ok(Some(got.bytes().await.map_err(io::Error::other)?.to_vec())),
            None => Ok(None),
        }
    }

    async fn remove_derived(&self, name: &str) -> io::Result<()> {
        match self
            .store
            .delete(&self.key(&format!("derived/{name}")))
            .await
        {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(io::Error::other(e)),
        }
    }

    async fn sweep(&self, stale_after: Duration) -> io::Result<usize> {
        let metas: Vec<_> = self
            .store
            .list(Some(&self.key("partial")))
            .try_collect()
            .await
            .map_err(io::Error::other)?;
        // Per upload, when its newest piece was written (ms since the epoch).
        let mut newest: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
        for m in metas {
            let parts: Vec<_> = m.location.parts().collect();
            if let Some(sha) = parts.iter().rev().nth(1).map(|p| p.as_ref().to_string())
                && is_sha256(&sha)
            {
                let written = m.last_modified.timestamp_millis();
                let at = newest.entry(sha).or_insert(written);
                *at = (*at).max(written);
            }
        }
        let mut removed = 0;
        for (sha, at) in newest {
            let age =
                Duration::from_millis(crate::clock::now_ms().saturating_sub(at).max(0) as u64);
            let stored = match self.store.head(&self.photo_key(&sha)).await {
                Ok(_) => true,
                Err(object_store::Error::NotFound { .. }) => false,
                Err(e) => return Err(io::Error::other(e)),
            };
            if stored || age > stale_after {
                self.discard(&sha).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn probe(&self) -> io::Result<Option<String>> {
        let key = self.key(&format!("derived/.probe-{}", uuid::Uuid::now_v7()));
        self.store
            .put(&key, PutPayload::from_static(b"probe"))
            .await
            .map_err(io::Error::other)?;
        let back = self.get_bytes(&key).await?;
        // Uploads rely on a second write of a piece being refused (two requests appending one
        // photo at once, on one server or two): write the probe again, as a piece is written.
        let create = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let again = self
            .store
            .put_opts(&key, PutPayload::from_static(b"again"), create)
            .await;
        self.store.delete(&key).await.map_err(io::Error::other)?;
        if back.as_ref() != b"probe" {
            return Err(io::Error::other("the probe object read back differently"));
        }
        Ok(match again {
            Err(object_store::Error::AlreadyExists { .. }) => None,
            Ok(_) => Some(IGNORES_IF_NONE_MATCH.to_string()),
            Err(e) => Some(format!("{IGNORES_IF_NONE_MATCH} ({e})")),
        })
    }
}
