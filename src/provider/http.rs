//! The HTTP transport every provider client shares: one reqwest client (rustls, no redirects
//! followed), the provider's auth ([`Auth`]: Bearer, Basic, or a key header), retries with
//! backoff and jitter on connect errors, timeouts and 5xx, `Retry-After` on 429, an
//! `Idempotency-Key` per logical POST reused on its retries where the provider has one (and no
//! blind retry of a POST where it has none: [`Retry::Once`]), request ids, bodies capped at
//! [`MAX_BODY`]; and [`ApiError`], whose variants decide what callers do.

use std::error::Error as _;
use std::time::Duration;

use reqwest::{header, Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use super::{ApiSettings, FailureKind};
use crate::text::excerpt;

/// Longest `Retry-After` bridgerest will honour before giving up on a 429.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// The largest response body read (the API's answers are kilobytes); more is an error.
pub const MAX_BODY: usize = 4 << 20;
/// The most characters of any text from the API that an error, log line or status repeats.
pub const EXCERPT: usize = 200;

/// Why an API call failed. The variant decides what the caller does (retry, re-auth, give up).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{req}: {} ({status}: {message}{rid}): {}", .hints.refused, .hints.refused_fix, rid = rid(.request_id))]
    Unauthorized {
        req: String,
        status: StatusCode,
        message: String,
        request_id: Option<String>,
        hints: &'static Hints,
    },
    #[error("{req}: {} (403: {message}{rid}): {}", .hints.no_access, .hints.no_access_fix, rid = rid(.request_id))]
    NoAccess {
        req: String,
        message: String,
        request_id: Option<String>,
        hints: &'static Hints,
    },
    #[error("{req}: not found (404: {message}{rid}): {}", .hints.lookup, rid = rid(.request_id))]
    NotFound {
        req: String,
        message: String,
        request_id: Option<String>,
        hints: &'static Hints,
    },
    #[error("{req}: the API refused the request ({status}: {message}{rid})", rid = rid(.request_id))]
    Client {
        req: String,
        status: StatusCode,
        message: String,
        request_id: Option<String>,
    },
    #[error("{req}: the API failed ({status}: {message}{rid}) {attempts} times; try again later", rid = rid(.request_id))]
    Server {
        req: String,
        status: StatusCode,
        message: String,
        request_id: Option<String>,
        attempts: u32,
    },
    #[error("{req}: still rate limited (429) after {attempts} attempts; lower api.concurrency or try again later")]
    RateLimited { req: String, attempts: u32 },
    #[error("{req}: cannot reach the API after {attempts} attempts: {detail}: check {} and the network", .hints.url_key)]
    Transport {
        req: String,
        attempts: u32,
        detail: String,
        hints: &'static Hints,
    },
    #[error("{req}: the API answered with a body bridgerest cannot read: {detail}")]
    Malformed { req: String, detail: String },
    #[error("{req}: the API answered with a redirect ({status}) to {location}; bridgerest does not follow redirects (the API uses none, and credentials must come from {key} itself): check {key}", key = .hints.url_key)]
    Redirect {
        req: String,
        status: StatusCode,
        location: String,
        hints: &'static Hints,
    },
    /// An answer that was read but does not describe what was asked for in a way bridgerest can
    /// use; the provider's folder says why (`what`: what was asked for, e.g. a cluster's
    /// backup token).
    #[error("{what}: {why}")]
    Unusable {
        what: String,
        why: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// What a provider's errors tell the user to do: the texts of [`ApiError`]'s access errors.
#[derive(Debug)]
pub struct Hints {
    /// What a 401 means, e.g. "the API key was refused".
    pub refused: &'static str,
    /// What to check after a 401.
    pub refused_fix: &'static str,
    /// What a 403 means.
    pub no_access: &'static str,
    /// What to check after a 403.
    pub no_access_fix: &'static str,
    /// How to find the right id after a 404.
    pub lookup: &'static str,
    /// The config key that sets the API's address, which errors of reaching it name
    /// (`api.url`, `ionos.url`, ...).
    pub url_key: &'static str,
}

/// How a provider wants to be authenticated. Every form is a secret: never shown.
#[derive(Clone)]
pub enum Auth {
    /// `Authorization: Bearer <token>` (Bridge API keys and access tokens, IONOS tokens,
    /// Launcher JWTs).
    Bearer(SecretString),
    /// `Authorization: Basic base64(user:password)` (IONOS).
    Basic {
        user: String,
        password: SecretString,
    },
    /// A header of the provider's own (Launcher's `x-lnchr-key`).
    Header(&'static str, SecretString),
}

/// Whether a request may be sent again after it failed in a way that leaves open whether the
/// provider acted on it (a timeout, a 5xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Reads (GET): always safe to repeat.
    Read,
    /// A write with an `Idempotency-Key` (Bridge): repeated with the same key, which the API
    /// answers once.
    Keyed,
    /// A write the provider documents no idempotency key for (IONOS, Launcher): repeated only
    /// where it cannot have been acted on (a 429, a connection that was never made). After a
    /// timeout or a 5xx the caller decides (looks for what it asked to create first).
    Once,
}

/// A secret as a header value marked sensitive (as `bearer_auth` marks its own), so that no
/// debug output of the request shows it and HTTP/2 never indexes it.
pub fn sensitive_value(secret: &SecretString) -> Option<header::HeaderValue> {
    let mut v = header::HeaderValue::from_str(secret.expose_secret()).ok()?;
    v.set_sensitive(true);
    Some(v)
}

pub(crate) fn req(method: &Method, url: &Url) -> String {
    format!("{method} {url}")
}

fn rid(request_id: &Option<String>) -> String {
    request_id
        .as_ref()
        .map(|r| format!(", request_id {r}"))
        .unwrap_or_default()
}

impl ApiError {
    /// Whether a later attempt (the next scheduled refresh) may succeed without a change here.
    pub fn is_transient(&self) -> bool {
        self.kind() == FailureKind::Transient
    }

    /// What kind of failure this is (what the daemon does next).
    pub fn kind(&self) -> FailureKind {
        match self {
            ApiError::Unauthorized { .. } => FailureKind::Auth,
            ApiError::NoAccess { .. } | ApiError::NotFound { .. } => FailureKind::NotFound,
            ApiError::Server { .. } | ApiError::RateLimited { .. } | ApiError::Transport { .. } => {
                FailureKind::Transient
            }
            ApiError::Malformed { .. } | ApiError::Redirect { .. } | ApiError::Unusable { .. } => {
                FailureKind::Malformed
            }
            ApiError::Client { .. } => FailureKind::Malformed,
        }
    }

    /// Whether the request may have reached the provider and been acted on although no answer
    /// said so (a timeout, a 5xx): a write without an idempotency key must not be sent again
    /// before checking.
    pub fn maybe_acted(&self) -> bool {
        matches!(self, ApiError::Server { .. } | ApiError::Transport { .. })
    }
}

/// One provider API's HTTP client. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    base: Url,
    auth: Auth,
    hints: &'static Hints,
    retries: u32,
    retry_base: Duration,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// A transport for the API at `base`, with `api`'s timeout, retries and concurrency
    /// (`[api]` sets them for every provider).
    pub fn new(
        api: &ApiSettings,
        base: Url,
        auth: Auth,
        hints: &'static Hints,
    ) -> Result<Self, BuildError> {
        crate::init_tls();
        let http = reqwest::Client::builder()
            .user_agent(concat!("bridgerest/", env!("CARGO_PKG_VERSION")))
            .timeout(api.timeout)
            .connect_timeout(api.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(api.concurrency)
            .build()
            .map_err(BuildError)?;
        Ok(Self {
            http,
            base,
            auth,
            hints,
            retries: api.retries,
            retry_base: api.retry_base,
        })
    }

    pub fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{}", self.base.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url
    }

    /// Sends one logical request without a body, retrying what may succeed later (as `retry`
    /// allows). Returns the final URL and body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        retry: Retry,
    ) -> Result<(Url, String), ApiError> {
        self.send_json(method, path, query, None, retry).await
    }

    /// Sends a server-side restore's request as it was planned.
    pub async fn send_call(&self, call: &super::Call) -> Result<(Url, String), ApiError> {
        self.send_json(
            call.method.clone(),
            &call.path,
            &[],
            Some(&call.body),
            call.retry,
        )
        .await
    }

    /// A POST of `body` to `path`, planned (shown by a dry run, sent by [`Transport::send_call`]).
    pub fn post(
        &self,
        path: String,
        body: serde_json::Value,
        retry: Retry,
        cluster: Option<String>,
    ) -> super::Call {
        super::Call {
            method: Method::POST,
            url: self.url(&path).to_string(),
            path,
            shown: body.clone(),
            body,
            retry,
            cluster,
        }
    }

    /// Like [`Transport::send`], with a JSON body.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        json: Option<&serde_json::Value>,
        retry: Retry,
    ) -> Result<(Url, String), ApiError> {
        let mut url = self.url(path);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        // One key per logical request, reused on every retry, so a retried POST is not repeated.
        let idem = (retry == Retry::Keyed).then(|| uuid::Uuid::new_v4().to_string());
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(header::ACCEPT, "application/json");
            request = match &self.auth {
                Auth::Bearer(k) => request.bearer_auth(k.expose_secret()),
                Auth::Basic { user, password } => {
                    request.basic_auth(user, Some(password.expose_secret()))
                }
                Auth::Header(name, k) => match sensitive_value(k) {
                    Some(v) => request.header(*name, v),
                    // Not a valid header value: reqwest refuses the request as built.
                    None => request.header(*name, k.expose_secret()),
                },
            };
            if let Some(body) = json {
                request = request.json(body);
            }
            if let Some(k) = &idem {
                request = request.header("Idempotency-Key", k);
            }
            let retry_left = attempt <= self.retries;
            // A timeout or 5xx of a write without a key is not repeated: it may have been done.
            let blind_ok = retry_left && retry != Retry::Once;
            let (status, retry_after, header_rid, location, body) = match Self::exchange(request)
                .await
            {
                Ok(Ok(r)) => r,
                Ok(Err(too_big)) => {
                    return Err(ApiError::Malformed {
                        req: req(&method, &url),
                        detail: too_big,
                    })
                }
                Err(e)
                    if (blind_ok
                        && (e.is_connect() || e.is_timeout() || e.is_request() || e.is_body()))
                        || (retry_left && e.is_connect()) =>
                {
                    let wait = self.backoff(attempt);
                    tracing::warn!(%method, %url, attempt, wait_ms = wait.as_millis() as u64, error = %chain(&e), "request failed; retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Err(e) => {
                    return Err(ApiError::Transport {
                        req: req(&method, &url),
                        attempts: attempt,
                        detail: chain(&e),
                        hints: self.hints,
                    })
                }
            };
            if status.is_success() {
                return Ok((url, body));
            }
            if status.is_redirection() {
                return Err(ApiError::Redirect {
                    req: req(&method, &url),
                    status,
                    location: location.unwrap_or_else(|| "(no Location)".into()),
                    hints: self.hints,
                });
            }
            let (message, body_rid) = error_body(&body, status);
            let request_id = body_rid.or(header_rid);
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_after.unwrap_or_else(|| self.backoff(attempt));
                if !retry_left || wait > MAX_RETRY_AFTER {
                    return Err(ApiError::RateLimited {
                        req: req(&method, &url),
                        attempts: attempt,
                    });
                }
                tracing::warn!(%method, %url, attempt, wait_s = wait.as_secs_f64(), "rate limited (429); waiting as Retry-After asks");
                tokio::time::sleep(wait).await;
                continue;
            }
            if status.is_server_error() {
                if blind_ok {
                    let wait = self.backoff(attempt);
                    tracing::warn!(%method, %url, attempt, %status, wait_ms = wait.as_millis() as u64, "server error; retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(ApiError::Server {
                    req: req(&method, &url),
                    status,
                    message,
                    request_id,
                    attempts: attempt,
                });
            }
            return Err(match status {
                // 403: the official client reads it as "does not exist, or you do not have
                // access to it"; the API does not say which. 401 is the refused key.
                StatusCode::FORBIDDEN => ApiError::NoAccess {
                    req: req(&method, &url),
                    message,
                    request_id,
                    hints: self.hints,
                },
                StatusCode::UNAUTHORIZED => ApiError::Unauthorized {
                    req: req(&method, &url),
                    status,
                    message,
                    request_id,
                    hints: self.hints,
                },
                StatusCode::NOT_FOUND => ApiError::NotFound {
                    req: req(&method, &url),
                    message,
                    request_id,
                    hints: self.hints,
                },
                _ => ApiError::Client {
                    req: req(&method, &url),
                    status,
                    message,
                    request_id,
                },
            });
        }
    }

    /// One request and its whole answer: status, `Retry-After`, `X-Request-Id`, `Location`
    /// (an excerpt), body. A body over [`MAX_BODY`] is not read on: the inner error says so.
    #[allow(clippy::type_complexity)]
    async fn exchange(
        request: reqwest::RequestBuilder,
    ) -> Result<
        Result<
            (
                StatusCode,
                Option<Duration>,
                Option<String>,
                Option<String>,
                String,
            ),
            String,
        >,
        reqwest::Error,
    > {
        let mut resp = request.send().await?;
        let status = resp.status();
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header(header::RETRY_AFTER)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let request_id =
            header(header::HeaderName::from_static("x-request-id")).map(|r| excerpt(&r, 80));
        let location = header(header::LOCATION).map(|l| excerpt(&l, EXCERPT));
        let too_big = || {
            format!(
                "{status} with a body larger than {} MiB; bridgerest reads no further",
                MAX_BODY >> 20
            )
        };
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Ok(Err(too_big()));
        }
        let mut body: Vec<u8> = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY {
                return Ok(Err(too_big()));
            }
            body.extend_from_slice(&chunk);
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        Ok(Ok((status, retry_after, request_id, location, body)))
    }

    /// Exponential backoff with full jitter: uniform in [base·2^(n-1) / 2, base·2^(n-1)], capped at 30 s.
    fn backoff(&self, attempt: u32) -> Duration {
        crate::backoff::delay(
            self.retry_base,
            attempt,
            Duration::from_secs(30),
            fastrand::f64(),
        )
    }
}

/// The error body's message and request id, in whichever provider's shape it comes: Bridge
/// `{message, request_id}`, IONOS `{httpStatus, messages: [{errorCode, message}]}`, Launcher
/// `{success: false, error: {code, message}}`. Anything else: an excerpt of the body.
fn error_body(body: &str, status: StatusCode) -> (String, Option<String>) {
    let fallback = || status.canonical_reason().unwrap_or("error").to_string();
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        let text = excerpt(body, 120);
        return match text.trim().is_empty() {
            true => (fallback(), None),
            false => (text, None),
        };
    };
    let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let request_id = v.get("request_id").and_then(s).map(|r| excerpt(&r, 80));
    let coded = |code: Option<String>, msg: Option<String>| match (code, msg) {
        (Some(c), Some(m)) => Some(format!("{c}: {m}")),
        (None, m) => m,
        (Some(c), None) => Some(c),
    };
    let message = v
        .get("message")
        .and_then(s)
        .or_else(|| {
            let list = v.get("messages")?.as_array()?;
            let parts: Vec<String> = list
                .iter()
                .filter_map(|m| coded(m.get("errorCode").and_then(s), m.get("message").and_then(s)))
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        })
        .or_else(|| {
            let e = v.get("error")?;
            match e.as_str() {
                Some(m) => Some(m.to_string()),
                None => coded(e.get("code").and_then(s), e.get("message").and_then(s)),
            }
        });
    (
        message.map_or_else(fallback, |m| excerpt(&m, EXCERPT)),
        request_id,
    )
}

pub(crate) fn decode<T: DeserializeOwned>(
    method: &Method,
    url: &Url,
    body: &str,
) -> Result<T, ApiError> {
    serde_json::from_str(body).map_err(|e| ApiError::Malformed {
        req: req(method, url),
        detail: serde_detail(&e),
    })
}

/// serde_json's message without the value it quotes: `invalid type: string "s3cr3t", expected
/// u64` names what the value was, never the value (it may be a secret).
pub fn serde_detail(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    for lead in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = msg.strip_prefix(lead) {
            if let Some(cut) = rest.rfind(", expected ") {
                let what = rest[..cut].split([' ', ':']).next().unwrap_or("value");
                return format!("{lead}{what}{}", &rest[cut..]);
            }
        }
    }
    if msg.starts_with("unknown variant") {
        return format!("unknown variant at line {} column {}", e.line(), e.column());
    }
    excerpt(&msg, EXCERPT)
}

/// An error's causes on one line.
/// reqwest's own message only repeats the URL, so its causes are used when there are any.
fn chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut src = e.source();
    while let Some(c) = src {
        parts.push(c.to_string());
        src = c.source();
    }
    if parts.is_empty() {
        if e.is_timeout() {
            return "timed out (api.timeout)".into();
        }
        return e.to_string();
    }
    parts.join(": ")
}

/// The HTTP client cannot be made (this host's TLS setup).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client: {0}")]
pub struct BuildError(reqwest::Error);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_in_a_header_of_its_own_is_marked_sensitive() {
        let v = sensitive_value(&SecretString::from("lnchr_key")).unwrap();
        assert!(v.is_sensitive());
        assert_eq!(format!("{v:?}"), "Sensitive");
        assert!(sensitive_value(&SecretString::from("bad\nvalue")).is_none());
    }

    #[test]
    fn error_bodies_of_every_provider_give_their_message() {
        let s = StatusCode::FORBIDDEN;
        assert_eq!(
            error_body(r#"{"message": "Forbidden.", "request_id": "r1"}"#, s),
            ("Forbidden.".into(), Some("r1".into()))
        );
        assert_eq!(
            error_body(
                r#"{"httpStatus": 403, "messages": [{"errorCode": "paas-auth-1", "message": "No access."}, {"message": "Ask an admin."}]}"#,
                s
            )
            .0,
            "paas-auth-1: No access.; Ask an admin."
        );
        assert_eq!(
            error_body(
                r#"{"success": false, "error": {"code": "FORBIDDEN", "message": "Nope."}}"#,
                s
            )
            .0,
            "FORBIDDEN: Nope."
        );
        assert_eq!(error_body("", s).0, "Forbidden");
        assert_eq!(error_body("{}", s).0, "Forbidden");
        assert_eq!(
            error_body("<html>\nbad gateway", s).0,
            "<html>\\nbad gateway"
        );
    }
}
