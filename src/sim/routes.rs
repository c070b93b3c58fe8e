//! The simulator's HTTP side: auth, faults and idempotency for every API, dispatching to
//! Crunchy Bridge ([`super::bridge`]), IONOS and Launcher, plus the
//! `/_sim/` admin endpoints.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::faults::{take_fault, Fault, FaultKind};
use super::{account, error, Sim};

/// Every request: the admin endpoints at once; an API's answer [`answer`] makes, sent
/// `latency_ms` after the request came (or when it is ready, if that is later). The latency is
/// the whole time the answer takes, as a client sees an API's: the simulator's own work (the
/// lock, a token's keys, the JSON) is inside it, not added to it, so that 20 ms is 20 ms with
/// any number of requests in flight.
pub(super) async fn handle(
    State(sim): State<Sim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(admin) = uri.path().strip_prefix("/_sim/") {
        return admin_route(&sim, &method, admin, body);
    }
    let due = std::time::Instant::now() + Duration::from_millis(sim.lock().state.latency_ms);
    let resp = answer(sim, method, uri, headers, body).await;
    hold_until(due).await;
    resp
}

/// An API's answer to one request: auth, faults, idempotency, the provider's route.
async fn answer(sim: Sim, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let api = Api::of(&path);
    let error = |status: StatusCode, message: &str| api.error(status, message);
    // Count, pick a fault; then answer.
    let (fault, authorized) = {
        let mut g = sim.lock();
        g.stats.requests += 1;
        *g.stats
            .by_path
            .entry(format!("{method} {}", normalize(&path)))
            .or_default() += 1;
        if let Some(k) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
            g.stats.idempotency_keys.push(k.to_string());
        }
        let fault = take_fault(&mut g.state.faults, &method, &path);
        let authorized =
            match &api {
                Api::Bridge => headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .is_some_and(|k| account::authorized(&g, k)),
                Api::Ionos(_) => g
                    .state
                    .ionos
                    .as_ref()
                    .is_some_and(|i| super::ionos::authorized(i, &headers)),
                Api::Launcher(tenant, _) => g.state.launcher.as_ref().is_some_and(|l| {
                    &l.tenant == tenant && super::launcher::authorized(l, &headers)
                }),
            };
        (fault, authorized)
    };
    match fault {
        Some(FaultKind::Unauthorized) => return error(StatusCode::UNAUTHORIZED, "Unauthorized."),
        Some(FaultKind::RateLimit { retry_after }) => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded. Retry later.",
            );
            if let Ok(v) = retry_after.to_string().parse() {
                r.headers_mut().insert("retry-after", v);
            }
            return r;
        }
        Some(FaultKind::ServerError { status }) => {
            let s = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(s, "Internal server error.");
        }
        Some(FaultKind::Slow { delay_ms }) => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await
        }
        Some(FaultKind::LateAnswer { .. }) => {}
        Some(FaultKind::Error { status, message }) => {
            let s = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            return error(s, &message);
        }
        Some(FaultKind::Malformed) => {
            return (
                StatusCode::OK,
                [("content-type", "application/json")],
                "{\"backups\": [ {\"name\": ",
            )
                .into_response()
        }
        Some(FaultKind::Redirect { location, status }) => {
            let s = StatusCode::from_u16(status).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
            return (s, [("location", location)], "").into_response();
        }
        Some(FaultKind::HugeBody { bytes }) => {
            let mut body = b"{\"message\": \"".to_vec();
            body.resize(bytes.max(body.len()), b'x');
            return (StatusCode::OK, [("content-type", "application/json")], body).into_response();
        }
        Some(FaultKind::CursorLoop) => {
            let next = if uri.query().unwrap_or("").contains("cursor=A") {
                "B"
            } else {
                "A"
            };
            let field = path.rsplit('/').next().unwrap_or("clusters");
            return axum::Json(json!({ field: [], "has_more": true, "next_cursor": next }))
                .into_response();
        }
        Some(FaultKind::EndlessPages { items }) => {
            let page: u64 = uri
                .query()
                .unwrap_or("")
                .split('&')
                .find_map(|kv| kv.strip_prefix("cursor=")?.parse().ok())
                .unwrap_or(0);
            let field = path.rsplit('/').next().unwrap_or("backups");
            let list: Vec<serde_json::Value> = (0..items)
                .map(|i| json!({"name": format!("b{page}-{i}"), "started_at": "2026-01-01T00:00:00Z"}))
                .collect();
            return axum::Json(
                json!({ field: list, "has_more": true, "next_cursor": (page + 1).to_string() }),
            )
            .into_response();
        }
        Some(FaultKind::ForkEnds { .. }) => {}
        Some(FaultKind::EchoBody { status, field }) => {
            let s = StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let sent = String::from_utf8_lossy(&body).into_owned();
            let (at, quoted) = match field {
                Some(f) => (
                    format!("(root){}", f.replace('/', ".")),
                    serde_json::from_str::<serde_json::Value>(&sent)
                        .ok()
                        .and_then(|v| v.pointer(&f).map(|x| x.to_string()))
                        .unwrap_or_default(),
                ),
                None => ("(root)".to_string(), sent),
            };
            return api.error(s, &format!("[{at}] is not valid: {quoted}"));
        }
        None => {}
    }
    let late = match fault {
        Some(FaultKind::LateAnswer { delay_ms }) => Duration::from_millis(delay_ms),
        _ => Duration::ZERO,
    };
    if method == Method::POST && path == "/access-tokens" {
        return account::create_access_token(&mut sim.lock(), &body);
    }
    if !authorized {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized.");
    }
    let q = || -> BTreeMap<String, String> {
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect()
    };
    let other = match &api {
        Api::Ionos(rest) => Some(super::ionos::route(
            &mut sim.lock(),
            method.as_str(),
            rest,
            &q(),
            &body,
        )),
        Api::Launcher(_, rest) => Some(super::launcher::route(
            &mut sim.lock(),
            method.as_str(),
            rest,
            &q(),
            &body,
        )),
        Api::Bridge => None,
    };
    if let Some(resp) = other {
        // The work is done; a late answer comes after it (the client may have given up).
        answer_late(late).await;
        return resp;
    }
    // Idempotency (provider-apis.md): the same key and request → the first answer again; the
    // same key with another request → 409. Answers of 5xx are not kept (a retry may succeed).
    let idem = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|_| method != Method::GET)
        .map(str::to_string);
    let request = format!("{method} {path}\n{}", String::from_utf8_lossy(&body));
    if let Some(key) = &idem {
        if let Some((seen, status, bytes)) = sim.lock().idempotency.get(key).cloned() {
            if seen != request {
                return error(
                    StatusCode::CONFLICT,
                    "Idempotency key reused with a different request.",
                );
            }
            return (status, [("content-type", "application/json")], bytes).into_response();
        }
    }
    let resp = match (
        method.as_str(),
        path.strip_prefix("/clusters/")
            .and_then(|p| p.strip_suffix("/backup-tokens")),
    ) {
        ("POST", Some(id)) => super::bridge::create_token(&sim, id).await,
        _ => {
            let ends = match &fault {
                Some(FaultKind::ForkEnds { state }) => Some(state.clone()),
                _ => None,
            };
            // A fork's repository credentials are issued here, before the state is locked.
            let fork_of = path
                .strip_prefix("/clusters/")
                .and_then(|p| p.strip_suffix("/forks"))
                .filter(|id| method == Method::POST && !id.contains('/'));
            let repository = match fork_of {
                Some(id) => super::bridge::fork_repository(&sim, id).await,
                None => Ok(None),
            };
            match repository {
                Ok(repository) => super::bridge::route(
                    &sim,
                    &method,
                    &path,
                    uri.query().unwrap_or(""),
                    &body,
                    ends,
                    repository,
                ),
                // Issuing failed: answered as `POST backup-tokens` answers it (late or not).
                Err(resp) => resp,
            }
        }
    };
    answer_late(late).await;
    match idem {
        Some(key) if !resp.status().is_server_error() => {
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap_or_default();
            sim.lock()
                .idempotency
                .insert(key, (request, status, bytes.clone()));
            (status, [("content-type", "application/json")], bytes).into_response()
        }
        _ => resp,
    }
}

/// Holds an answer until `due`, to within a fraction of a millisecond: on a blocking thread,
/// since tokio's timer rounds every sleep up to its next millisecond tick and wakes after it,
/// which made a 20 ms latency 21–22 ms (the benchmarks timed the simulator's timer, not the
/// client).
async fn hold_until(due: std::time::Instant) {
    let Some(left) = due.checked_duration_since(std::time::Instant::now()) else {
        return;
    };
    if tokio::task::spawn_blocking(move || std::thread::sleep(left))
        .await
        .is_err()
    {
        tokio::time::sleep(left).await;
    }
}

/// Waits `late` (a `LateAnswer` fault's delay) before the answer goes out; nothing without
/// one. Not `sleep(ZERO)`: tokio's timer rounds every sleep up to its next millisecond tick,
/// so a zero sleep held each answer about a millisecond longer than `latency_ms` said.
async fn answer_late(late: Duration) {
    if !late.is_zero() {
        tokio::time::sleep(late).await;
    }
}

/// Which API a path is for: Bridge at the root, IONOS under `/ionos`, Launcher under
/// `/launcher/<tenant>/api/v1`. The IONOS and Launcher variants hold the path below that.
enum Api {
    Bridge,
    Ionos(String),
    Launcher(String, String),
}

impl Api {
    fn of(path: &str) -> Api {
        if let Some(rest) = path.strip_prefix("/ionos") {
            return Api::Ionos(rest.to_string());
        }
        if let Some(rest) = path.strip_prefix("/launcher/") {
            let (tenant, below) = rest.split_once('/').unwrap_or((rest, ""));
            let below = format!("/{below}");
            let api_path = below.strip_prefix("/api/v1").unwrap_or("/-").to_string();
            return Api::Launcher(tenant.to_string(), api_path);
        }
        Api::Bridge
    }

    /// The API's own error body.
    fn error(&self, status: StatusCode, message: &str) -> Response {
        match self {
            Api::Bridge => error(status, message),
            Api::Ionos(_) => super::ionos::error(status, message),
            Api::Launcher(..) => super::launcher::error(status, message),
        }
    }
}

/// `/clusters/abc/backups` → `/clusters/{id}/backups`, for stats (EIDs and UUIDs).
fn normalize(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if (seg.len() == 26 && crate::ids::is_eid(seg)) || crate::ids::is_uuid(seg) {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn admin_route(sim: &Sim, method: &Method, path: &str, body: Bytes) -> Response {
    match (method.as_str(), path) {
        ("GET", "stats") => axum::Json(sim.stats()).into_response(),
        ("GET", "issued") => axum::Json(sim.issued_secrets()).into_response(),
        ("PUT", "faults") => match serde_json::from_slice::<Vec<Fault>>(&body) {
            Ok(f) => {
                sim.set_faults(f);
                StatusCode::NO_CONTENT.into_response()
            }
            Err(e) => error(StatusCode::BAD_REQUEST, &format!("faults: {e}")),
        },
        _ => error(StatusCode::NOT_FOUND, "No such simulator endpoint."),
    }
}
