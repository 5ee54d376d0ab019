//! The HTTP calls of the sync API, one function each, with the server's errors mapped to
//! [`SyncError`]. Push bodies go gzip-compressed.

use super::SyncError;
use fieldcheck_protocol::{
    ErrorBody, LoginRequest, LoginResponse, PhotoMissingRequest, PhotoMissingResponse, PullRequest,
    PullResponse, PushRequest, PushResponse, RevocationStatus, ThumbnailsRequest,
    ThumbnailsResponse, UPLOAD_OFFSET_HEADER, UploadStatus,
};
use flate2::Compression;
use flate2::write::GzEncoder;
use reqwest::{Client, RequestBuilder, Response, StatusCode, header};
use serde::de::DeserializeOwned;
use std::io::Write;
use std::time::Duration;

/// A client of one server, signed in with a device token.
#[derive(Clone)]
pub struct ServerApi {
    http: Client,
    base: String,
    token: String,
}

/// How long to wait for the server: a stalled connection is given up, not waited on forever.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// To open a connection.
    pub connect: Duration,
    /// For a whole request, body included.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(120),
        }
    }
}

fn http(timeouts: Timeouts) -> Result<Client, SyncError> {
    Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.request)
        .build()
        .map_err(|e| SyncError::NoSignal(e.to_string()))
}

fn url(base: &str, path: &str) -> String {
    format!("{}/api/v1{path}", base.trim_end_matches('/'))
}

/// Signs in and registers the device; returns the server's answer with the token.
pub async fn login(
    base: &str,
    req: &LoginRequest,
    timeouts: Timeouts,
) -> Result<LoginResponse, SyncError> {
    let resp = http(timeouts)?
        .post(url(base, "/login"))
        .json(req)
        .send()
        .await
        .map_err(no_signal)?;
    read_json(resp).await
}

impl ServerApi {
    /// A client of `base` (e.g. `http://127.0.0.1:8080`) using `token`.
    pub fn new(base: &str, token: &str, timeouts: Timeouts) -> Result<ServerApi, SyncError> {
        Ok(ServerApi {
            http: http(timeouts)?,
            base: base.to_string(),
            token: token.to_string(),
        })
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.http
            .post(url(&self.base, path))
            .bearer_auth(&self.token)
    }

    /// Pushes one outbox batch; returns the server's ack and clock, plus the body size sent.
    pub async fn push(&self, req: &PushRequest) -> Result<(PushResponse, u64), SyncError> {
        let json = serde_json::to_vec(req).map_err(|e| SyncError::LocalFile(e.to_string()))?;
        let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::fast());
        gz.write_all(&json)
            .map_err(|e| SyncError::LocalFile(e.to_string()))?;
        let body = gz
            .finish()
            .map_err(|e| SyncError::LocalFile(e.to_string()))?;
        let sent = body.len() as u64;
        let resp = self
            .post("/sync/push")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_ENCODING, "gzip")
            .body(body)
            .send()
            .await
            .map_err(no_signal)?;
        Ok((read_json(resp).await?, sent))
    }

    /// Asks for this device's turn in the server's push line without sending a batch (the
    /// device holds a number): `Ok` when its turn has come (the server holds its place for the
    /// push that follows), [`SyncError::Queued`] with when to ask again otherwise. A server
    /// that has no line answers that it has no such route: that is a turn too.
    pub async fn turn(&self) -> Result<(), SyncError> {
        let resp = self.post("/sync/turn").send().await.map_err(no_signal)?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => Ok(()),
            _ => Err(read_json::<ErrorBody>(resp).await.err().unwrap_or_else(|| {
                SyncError::NoSignal("unexpected answer to a turn request".into())
            })),
        }
    }

    /// Pulls one page of server changes after the request's cursor.
    pub async fn pull(&self, req: &PullRequest) -> Result<PullResponse, SyncError> {
        read_json(
            self.post("/sync/pull")
                .json(req)
                .send()
                .await
                .map_err(no_signal)?,
        )
        .await
    }

    /// Which of these photo hashes the server still needs.
    pub async fn missing(&self, hashes: Vec<String>) -> Result<Vec<String>, SyncError> {
        let resp = self
            .post("/photos/missing")
            .json(&PhotoMissingRequest { hashes })
            .send()
            .await
            .map_err(no_signal)?;
        Ok(read_json::<PhotoMissingResponse>(resp).await?.missing)
    }

    /// Asks whether this token's device is revoked (answered for revoked tokens too).
    pub async fn revocation(&self) -> Result<RevocationStatus, SyncError> {
        let resp = self
            .http
            .get(url(&self.base, "/device/revocation"))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(no_signal)?;
        read_json(resp).await
    }

    /// How many bytes of a photo the server holds.
    pub async fn offset(&self, sha256: &str) -> Result<UploadStatus, SyncError> {
        let resp = self
            .http
            .get(url(&self.base, &format!("/photos/{sha256}/offset")))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(no_signal)?;
        read_json(resp).await
    }

    /// Sends the bytes of a photo from `offset` on. When the server holds another number of
    /// bytes than `offset` it says so (409 with `Upload-Offset`): that comes back as an
    /// incomplete status with the server's offset, to resume from.
    pub async fn upload(
        &self,
        sha256: &str,
        offset: u64,
        bytes: Vec<u8>,
    ) -> Result<UploadStatus, SyncError> {
        let resp = self
            .http
            .patch(url(&self.base, &format!("/photos/{sha256}")))
            .bearer_auth(&self.token)
            .header(UPLOAD_OFFSET_HEADER, offset)
            .header(header::CONTENT_TYPE, "application/offset+octet-stream")
            .body(bytes)
            .send()
            .await
            .map_err(no_signal)?;
        let held = resp
            .headers()
            .get(UPLOAD_OFFSET_HEADER)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
        if let (StatusCode::CONFLICT, Some(held)) = (resp.status(), held) {
            return Ok(UploadStatus {
                sha256: sha256.to_string(),
                offset: held,
                size: 0,
                complete: false,
                message: String::new(),
            });
        }
        read_json(resp).await
    }
}

/// Most bytes accepted for one photo fetched from the server (a stored photo is far smaller).
pub const MAX_FETCHED_PHOTO_BYTES: usize = 16 * 1024 * 1024;

impl ServerApi {
    /// The thumbnails of these photos (at most
    /// [`fieldcheck_protocol::MAX_THUMBNAILS_PER_REQUEST`]) that the server holds, decoded
    /// from base64. A thumbnail that is not valid base64 is left out.
    pub async fn thumbnails(
        &self,
        hashes: Vec<String>,
    ) -> Result<Vec<(String, Vec<u8>)>, SyncError> {
        use base64::Engine as _;
        let resp = self
            .post("/photos/thumbnails")
            .json(&ThumbnailsRequest { hashes })
            .send()
            .await
            .map_err(no_signal)?;
        let answer: ThumbnailsResponse = read_json(resp).await?;
        Ok(answer
            .thumbnails
            .into_iter()
            .filter_map(|t| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(t.jpeg_base64)
                    .ok()?;
                Some((t.sha256, bytes))
            })
            .collect())
    }

    /// A photo's bytes, refused past [`MAX_FETCHED_PHOTO_BYTES`] (checked on the declared
    /// length and again while reading).
    pub async fn photo(&self, sha256: &str) -> Result<Vec<u8>, SyncError> {
        let resp = self
            .http
            .get(url(&self.base, &format!("/photos/{sha256}")))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(no_signal)?;
        if !resp.status().is_success() {
            return Err(read_json::<ErrorBody>(resp).await.err().unwrap_or_else(|| {
                SyncError::NoSignal("unexpected answer to a photo request".into())
            }));
        }
        read_capped(resp, MAX_FETCHED_PHOTO_BYTES).await
    }
}

fn no_signal(e: reqwest::Error) -> SyncError {
    SyncError::NoSignal(e.to_string())
}

/// Most bytes of one JSON answer, after decompression (a pull page is a few megabytes at most;
/// a compressed answer that would grow past this is cut off while it is read).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// The body, refused past `max` bytes (checked on the declared length and while reading).
async fn read_capped(mut resp: Response, max: usize) -> Result<Vec<u8>, SyncError> {
    let too_big = || SyncError::Refused {
        seq: None,
        message: format!(
            "服务器的应答超过 {max} 字节，未接收 / the server's answer is over {max} bytes; not taken"
        ),
    };
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_big());
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(no_signal)? {
        if out.len() + chunk.len() > max {
            return Err(too_big());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Reads a success body as `T`, or maps the server's error body to a [`SyncError`].
async fn read_json<T: DeserializeOwned>(resp: Response) -> Result<T, SyncError> {
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let bytes = read_capped(resp, MAX_ANSWER_BYTES).await?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| SyncError::NoSignal(format!("truncated or garbled answer: {e}")));
    }
    let body: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
    let code = body.as_ref().map(|b| b.error.as_str()).unwrap_or("");
    let message = body
        .as_ref()
        .map(|b| b.message.clone())
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    Err(match (status, code) {
        // A push given a number in the server's line: come back when it says, in order.
        (StatusCode::SERVICE_UNAVAILABLE, "queued") => SyncError::Queued {
            retry_after: body
                .as_ref()
                .and_then(|b| b.retry_after_ms)
                .map(Duration::from_millis)
                .unwrap_or(Duration::from_secs(retry_after.unwrap_or(1))),
            ahead: body.as_ref().and_then(|b| b.ahead).unwrap_or(0),
        },
        (StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE, _) => SyncError::Busy {
            retry_after: Duration::from_secs(retry_after.unwrap_or(5)),
        },
        // Another request (often our own, cut off on this side while the server's side of the
        // connection is still open) is appending to this photo: it passes, so try again later.
        (StatusCode::CONFLICT, "upload_in_progress") => SyncError::Busy {
            retry_after: Duration::from_secs(retry_after.unwrap_or(2)),
        },
        (_, "device_revoked" | "token_revoked") => SyncError::Revoked,
        (_, "account_disabled") => SyncError::AccountDisabled,
        // A sign-in with a wrong password is not an expired login: say what the server says.
        (StatusCode::UNAUTHORIZED, "bad_credentials") => SyncError::WrongPassword,
        (StatusCode::UNAUTHORIZED, _) => SyncError::LoginExpired,
        (s, _) if s.is_server_error() => SyncError::Server {
            status: s.as_u16(),
            message,
        },
        (_, _) => SyncError::Refused {
            seq: body.as_ref().and_then(|b| b.seq),
            message,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback server answering every connection with `status` and `body` (no length),
    /// gzip-compressed when `gzip`; returns its base URL.
    async fn server(status: &'static str, body: Vec<u8>, gzip: bool) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (body, encoding) = if gzip {
            let mut gz = GzEncoder::new(Vec::new(), Compression::best());
            gz.write_all(&body).unwrap();
            (gz.finish().unwrap(), "content-encoding: gzip\r\n")
        } else {
            (body, "")
        };
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    let head = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{encoding}connection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(&body).await;
                });
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_wrong_password_is_not_called_an_expired_login() {
        let body = serde_json::to_vec(&ErrorBody {
            error: "bad_credentials".into(),
            message: "用户名或密码错误 / wrong user name or password".into(),
            expected_seq: None,
            seq: None,
            field: None,
            retry_after_ms: None,
            ahead: None,
        })
        .unwrap();
        let base = server("401 Unauthorized", body, false).await;
        let req = LoginRequest {
            username: "inspector1".into(),
            password: "wrong".into(),
            device_id: uuid::Uuid::nil(),
            device_public_key: "00".repeat(32),
            device_label: "tablet".into(),
            protocol_version: fieldcheck_protocol::PROTOCOL_VERSION,
        };
        let err = login(&base, &req, Timeouts::default()).await.unwrap_err();
        assert!(matches!(err, SyncError::WrongPassword), "{err:?}");
        assert!(err.to_string().starts_with("用户名或密码错误"), "{err}");
    }

    #[tokio::test]
    async fn a_number_in_the_line_is_told_apart_from_busy_with_its_wait_in_milliseconds() {
        let body = serde_json::to_vec(&ErrorBody {
            error: "queued".into(),
            message: "正在排队 / in line".into(),
            expected_seq: None,
            seq: None,
            field: None,
            retry_after_ms: Some(1_250),
            ahead: Some(37),
        })
        .unwrap();
        let base = server("503 Service Unavailable", body, false).await;
        let client = http(Timeouts::default()).unwrap();
        let resp = client.get(&base).send().await.unwrap();
        let err = read_json::<serde_json::Value>(resp).await.unwrap_err();
        assert!(
            matches!(err, SyncError::Queued { retry_after, ahead: 37 } if retry_after == std::time::Duration::from_millis(1_250)),
            "{err:?}"
        );
        assert!(err.is_transient());
        assert!(
            err.to_string().starts_with("正在排队：前面还有 37 台平板"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_turn_is_given_held_back_or_assumed_from_a_server_without_a_line() {
        let turn = |status: &'static str, body: Vec<u8>| async move {
            let base = server(status, body, false).await;
            ServerApi::new(&base, "token", Timeouts::default())
                .unwrap()
                .turn()
                .await
        };
        assert!(matches!(turn("204 No Content", vec![]).await, Ok(())));
        // An older server has no such route: its push is the turn.
        let no_route = br#"{"error":"no_route","message":"x / x"}"#.to_vec();
        assert!(matches!(turn("404 Not Found", no_route).await, Ok(())));
        let queued = br#"{"error":"queued","message":"x / x","retry_after_ms":800,"ahead":3}"#;
        let err = turn("503 Service Unavailable", queued.to_vec())
            .await
            .unwrap_err();
        assert!(
            matches!(err, SyncError::Queued { retry_after, ahead: 3 } if retry_after == std::time::Duration::from_millis(800)),
            "{err:?}"
        );
        let expired = br#"{"error":"unauthorized","message":"x / x"}"#.to_vec();
        let err = turn("401 Unauthorized", expired).await.unwrap_err();
        assert!(matches!(err, SyncError::LoginExpired), "{err:?}");
    }

    #[tokio::test]
    async fn a_compressed_answer_is_cut_off_at_the_cap_after_decompression() {
        // 1 MB of zeros is about 1 KB compressed: a small bomb.
        let url = server("200 OK", vec![0; 1_000_000], true).await;
        let client = http(Timeouts::default()).unwrap();
        let resp = client.get(&url).send().await.unwrap();
        let refused = read_capped(resp, 100_000).await;
        assert!(
            matches!(refused, Err(SyncError::Refused { .. })),
            "{refused:?}"
        );
        let resp = client.get(&url).send().await.unwrap();
        assert_eq!(read_capped(resp, 2_000_000).await.unwrap().len(), 1_000_000);
    }
}
