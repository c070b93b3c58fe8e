//! The simulator's Launcher API, under `/launcher/<tenant>/api/v1` (seed 003,
//! provider-apis.md): `x-lnchr-key` or Bearer auth, the `{success, data}` envelope and
//! `{success: false, error: {code, message}}` errors, databases and their backups in pages,
//! the recovery window, `pitr-clone` / `pitr` / `restore` that take `restore_ms`, manual
//! backups that run `backup_duration_ms`, and `DELETE /databases/:id` (`deleting` for
//! `delete_ms`, then 404; the delete is not documented: an inference).
//!
//! Launcher leaves much undocumented: the database list, pagination (`page`, `limit`, a
//! `pagination` object with `total`), the database and backup fields, the recovery window's
//! shape (`earliest`, `latest` here) and the answers to `pitr`/`pitr-clone` (the database,
//! here). The simulator picks one plausible form of each; bridgerest accepts several.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::postgres::{self, Contents, Fleet};
use super::{Inner, SimRole};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LauncherSim {
    /// The tenant id in the path (`/launcher/<tenant>/api/v1/...`).
    pub tenant: String,
    /// Accepted service keys (`x-lnchr-key`).
    pub keys: Vec<String>,
    /// Accepted Bearer JWTs.
    #[serde(default)]
    pub tokens: Vec<String>,
    #[serde(default)]
    pub databases: Vec<LauncherDb>,
    /// If set, every restore ends `failed` with this message.
    #[serde(default)]
    pub fail_restores: Option<String>,
    /// Which of the two plausible `pitr` forms is served (the seed lists `switch`, "Switch to
    /// restored database", beside it). Off: `pitr` restores the database in place (it is
    /// `restoring`, then `running`). On: `pitr` restores into a side database (`<name>-pitr`,
    /// named in the answer) and the source is untouched until `POST /databases/:id/switch`,
    /// which puts the side database's data in its place (`switching`, then `running`).
    #[serde(default)]
    pub pitr_side: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LauncherDb {
    pub id: String,
    pub name: String,
    #[serde(default = "running")]
    pub status: String,
    /// Backup objects, verbatim.
    #[serde(default)]
    pub backups: Vec<Value>,
    /// The start of the recovery window (RFC 3339); none: no window yet.
    #[serde(default)]
    pub earliest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// The states to come, each from its time on.
    #[serde(skip)]
    pending: crate::sim::staged::Staged,
    /// The database this one was restored beside (a side database of `pitr_side`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side_of: Option<String>,
    /// What it was restored to (the request body), for tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_from: Option<Value>,
    /// Manual backups still running: their id and when they finish.
    #[serde(skip)]
    running_backups: Vec<(String, OffsetDateTime)>,
    /// The login roles the database has (Launcher documents no user or password in its
    /// answers, and none is served; a client knows its own roles). A clone keeps its source's;
    /// its real PostgreSQL, if any, has them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<SimRole>,
}

/// The password of the sample database's role `drill_reader` (a secret: the leak scans look
/// for it).
pub const LAUNCHER_READER_PASSWORD: &str = "launcher-drill-reader-password";

fn running() -> String {
    "running".into()
}

impl LauncherDb {
    pub fn new(id: &str, name: &str, backups: Vec<Value>, earliest: Option<String>) -> LauncherDb {
        LauncherDb {
            id: id.into(),
            name: name.into(),
            status: running(),
            backups,
            earliest,
            status_message: None,
            pending: Default::default(),
            side_of: None,
            restored_from: None,
            running_backups: Vec::new(),
            roles: Vec::new(),
        }
    }
}

/// The documented error envelope; `code` is the documented name of the status.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let code = match status.as_u16() {
        400 => "BAD_REQUEST",
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        409 => "CONFLICT",
        429 => "TOO_MANY_REQUESTS",
        503 => "SERVICE_UNAVAILABLE",
        _ => "INTERNAL_ERROR",
    };
    (
        status,
        axum::Json(json!({"success": false, "error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn ok(status: StatusCode, data: Value) -> Response {
    (status, axum::Json(json!({"success": true, "data": data}))).into_response()
}

pub(crate) fn authorized(l: &LauncherSim, headers: &HeaderMap) -> bool {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    h("x-lnchr-key").is_some_and(|k| l.keys.iter().any(|x| x == k))
        || h("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| l.tokens.iter().any(|x| x == t))
}

/// The status a deleted database's last stage leaves it in: no longer there.
const GONE: &str = "(gone)";

fn settle(l: &mut LauncherSim, real: Option<&Fleet>) {
    let now = OffsetDateTime::now_utc();
    let msg = l.fail_restores.clone();
    for d in &mut l.databases {
        // Not running before its real PostgreSQL is (failed if it did not start); not gone
        // before it has stopped.
        let held = |s: &str| postgres::holds(real, &d.id, s, "running", GONE);
        for state in d.pending.due_unless(now, held) {
            if state == "failed" {
                d.status_message = msg.clone();
            }
            if state == "running" {
                let (status, why) = postgres::outcome(real, &d.id, "running", "failed");
                d.status_message = why;
                d.status = status;
                continue;
            }
            d.status = state;
        }
        let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut d.running_backups)
            .into_iter()
            .partition(|(_, at)| *at <= now);
        d.running_backups = running;
        for (id, at) in done {
            if let Some(b) = d.backups.iter_mut().find(|b| b["id"] == id.as_str()) {
                b["status"] = json!("completed");
                b["completed_at"] = json!(at.format(&Rfc3339).unwrap_or_default());
                b["size_bytes"] = json!(512_000_000u64);
            }
        }
    }
    l.databases.retain(|d| d.status != GONE);
}

fn db_json(d: &LauncherDb, real: Option<&Fleet>) -> Value {
    let short = d.id.split('-').next().unwrap_or("db");
    let host = match real.and_then(|f| f.address(&d.id)) {
        Some(a) => a.to_string(),
        None => format!("{short}.db.lnchr.cloud"),
    };
    json!({"id": d.id, "name": d.name, "engine": "postgresql", "version": "16", "status": d.status,
           "status_message": d.status_message, "host": host, "port": 5432,
           "region": "eu-west", "created_at": "2026-01-01T00:00:00Z"})
}

/// One page: `?page=` (from 1) and `?limit=`, with `pagination: {page, limit, total}`.
fn page(items: Vec<Value>, q: &BTreeMap<String, String>) -> Response {
    let num = |k: &str, d: usize| q.get(k).and_then(|v| v.parse::<usize>().ok()).unwrap_or(d);
    let (page, limit) = (num("page", 1).max(1), num("limit", 20).clamp(1, 100));
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .collect();
    axum::Json(json!({"success": true, "data": slice, "pagination": {"page": page, "limit": limit, "total": total}})).into_response()
}

/// The target time of a restore request, checked against the database's window.
fn target(d: &LauncherDb, body: &Value) -> Result<OffsetDateTime, Box<Response>> {
    let bad = |m: &str| Box::new(error(StatusCode::BAD_REQUEST, m));
    let t = body
        .get("target_time")
        .and_then(Value::as_str)
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
        .ok_or_else(|| bad("target_time must be an RFC 3339 time"))?;
    let earliest = d
        .earliest
        .as_deref()
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok());
    match earliest {
        Some(e) if t >= e && t <= OffsetDateTime::now_utc() => Ok(t),
        _ => Err(bad("target_time is outside the recovery window")),
    }
}

/// Answers one Launcher request (`path` below `/api/v1`), already authorized.
pub(crate) fn route(
    g: &mut Inner,
    method: &str,
    path: &str,
    q: &BTreeMap<String, String>,
    body: &[u8],
) -> Response {
    let restore_ms = g.state.restore_ms;
    let start_ms = g.state.restore_start_ms;
    let delete_ms = g.state.delete_ms;
    let backup_ms = g.state.backup_duration_ms;
    let real = g.real.as_ref();
    let Some(l) = g.state.launcher.as_mut() else {
        return error(
            StatusCode::NOT_FOUND,
            "Launcher is not simulated in this state.",
        );
    };
    settle(l, real);
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let find = |l: &LauncherSim, id: &str| l.databases.iter().position(|d| d.id == id);
    let now = OffsetDateTime::now_utc();
    // An accepted restore changes nothing for `restore_start_ms`, then works `restore_ms`.
    let begins = now + std::time::Duration::from_millis(start_ms);
    let done = begins + std::time::Duration::from_millis(restore_ms);
    let end = if l.fail_restores.is_some() {
        "failed"
    } else {
        "running"
    };
    match (method, segs.as_slice()) {
        ("GET", ["databases"]) => page(l.databases.iter().map(|d| db_json(d, real)).collect(), q),
        ("GET", ["databases", id, rest @ ..]) => {
            let Some(i) = find(l, id) else {
                return error(StatusCode::NOT_FOUND, "Database not found");
            };
            let d = &l.databases[i];
            match rest {
                [] => ok(StatusCode::OK, db_json(d, real)),
                ["backups"] => page(d.backups.clone(), q),
                ["recovery-window"] => ok(
                    StatusCode::OK,
                    json!({"earliest": d.earliest, "latest": super::now_rfc3339()}),
                ),
                _ => error(StatusCode::NOT_FOUND, "Not found"),
            }
        }
        ("POST", ["databases", id, action @ ("pitr" | "pitr-clone")]) => {
            let Some(i) = find(l, id) else {
                return error(StatusCode::NOT_FOUND, "Database not found");
            };
            let req: Value = match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(_) => return error(StatusCode::BAD_REQUEST, "body must be JSON"),
            };
            if let Err(r) = target(&l.databases[i], &req) {
                return *r;
            }
            if *action == "pitr" {
                if l.databases[i].status != "running" || !l.databases[i].pending.is_empty() {
                    return error(StatusCode::CONFLICT, "a restore is already running");
                }
                if l.pitr_side {
                    let src = &l.databases[i];
                    let mut side = LauncherDb::new(
                        &uuid::Uuid::new_v4().to_string(),
                        &format!("{}-pitr", src.name),
                        vec![],
                        None,
                    );
                    side.side_of = Some(src.id.clone());
                    side.status = "creating".into();
                    side.roles = src.roles.clone();
                    if let Err(r) = start_real(real, &side.id, src, &req, end) {
                        return *r;
                    }
                    side.pending = crate::sim::staged::Staged::new([(done, end.into())]);
                    side.restored_from = Some(req);
                    let out = db_json(&side, real);
                    for old in l
                        .databases
                        .iter()
                        .filter(|d| d.side_of.as_deref() == Some(id))
                    {
                        if let Some(real) = real {
                            real.remove(&old.id);
                        }
                    }
                    l.databases.retain(|d| d.side_of.as_deref() != Some(id));
                    l.databases.push(side);
                    return ok(StatusCode::ACCEPTED, out);
                }
                let d = &mut l.databases[i];
                if let Err(r) = start_real(real, &d.id, d, &req, end) {
                    return *r;
                }
                d.pending = crate::sim::staged::Staged::new([
                    (begins, "restoring".into()),
                    (done, end.into()),
                ]);
                if start_ms == 0 {
                    d.status = "restoring".into();
                }
                d.restored_from = Some(req);
                return ok(StatusCode::ACCEPTED, db_json(d, real));
            }
            let Some(name) = req
                .get("new_name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            else {
                return error(StatusCode::BAD_REQUEST, "new_name is required");
            };
            if l.databases.iter().any(|d| d.name == name) {
                return error(StatusCode::CONFLICT, "a database with this name exists");
            }
            let mut d = LauncherDb::new(&uuid::Uuid::new_v4().to_string(), name, vec![], None);
            d.status = "creating".into();
            d.roles = l.databases[i].roles.clone();
            if let Err(r) = start_real(real, &d.id, &l.databases[i], &req, end) {
                return *r;
            }
            d.pending = crate::sim::staged::Staged::new([(done, end.into())]);
            d.restored_from = Some(req);
            let out = db_json(&d, real);
            l.databases.push(d);
            ok(StatusCode::CREATED, out)
        }
        // Not documented (seed 003 has DELETE for destinations and schedules only): the REST
        // form, `deleting` for `delete_ms`, then 404.
        ("DELETE", ["databases", id]) => {
            let Some(i) = find(l, id) else {
                return error(StatusCode::NOT_FOUND, "Database not found");
            };
            let d = &mut l.databases[i];
            d.status = "deleting".into();
            d.pending = crate::sim::staged::Staged::new([(
                now + std::time::Duration::from_millis(delete_ms),
                GONE.into(),
            )]);
            if let Some(real) = real {
                real.remove(&d.id);
            }
            ok(StatusCode::OK, db_json(d, real))
        }
        // "Create manual backup": running for `backup_duration_ms`, then completed; one while
        // another runs is a conflict.
        ("POST", ["databases", id, "backups"]) => {
            let Some(i) = find(l, id) else {
                return error(StatusCode::NOT_FOUND, "Database not found");
            };
            let d = &mut l.databases[i];
            if d.status != "running" {
                return error(StatusCode::CONFLICT, "the database is not running");
            }
            if !d.running_backups.is_empty() {
                return error(StatusCode::CONFLICT, "a backup is already running");
            }
            let bid = uuid::Uuid::new_v4().to_string();
            let b = json!({"id": bid, "type": "manual", "status": "running", "size_bytes": null,
                           "created_at": super::now_rfc3339(), "completed_at": null});
            d.backups.push(b.clone());
            d.running_backups
                .push((bid, now + std::time::Duration::from_millis(backup_ms)));
            ok(StatusCode::CREATED, b)
        }
        // "Restore from backup" (seed 003), in place: `{backup_id}` (the field's name is not
        // documented), a completed backup of the database.
        ("POST", ["databases", id, "restore"]) => {
            let Some(i) = find(l, id) else {
                return error(StatusCode::NOT_FOUND, "Database not found");
            };
            let req: Value = match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(_) => return error(StatusCode::BAD_REQUEST, "body must be JSON"),
            };
            let d = &mut l.databases[i];
            let Some(bid) = req.get("backup_id").and_then(Value::as_str) else {
                return error(StatusCode::BAD_REQUEST, "backup_id is required");
            };
            if !d
                .backups
                .iter()
                .any(|b| b["id"] == bid && b["status"] == "completed")
            {
                return error(StatusCode::NOT_FOUND, "no completed backup with this id");
            }
            if d.status != "running" || !d.pending.is_empty() {
                return error(StatusCode::CONFLICT, "a restore is already running");
            }
            // Restored to the backup's end: the same as a pitr to that time.
            let at = d
                .backups
                .iter()
                .find(|b| b["id"] == bid)
                .and_then(|b| b["completed_at"].as_str())
                .map(str::to_string);
            let to = json!({ "target_time": at });
            if let Err(r) = start_real(real, &d.id, d, &to, end) {
                return *r;
            }
            d.pending =
                crate::sim::staged::Staged::new([(begins, "restoring".into()), (done, end.into())]);
            if start_ms == 0 {
                d.status = "restoring".into();
            }
            d.restored_from = Some(req);
            ok(StatusCode::ACCEPTED, db_json(d, real))
        }
        ("POST", ["databases", id, "switch"]) => {
            let Some(i) = find(l, id) else {
                return error(StatusCode::NOT_FOUND, "Database not found");
            };
            let side = l
                .databases
                .iter()
                .position(|d| d.side_of.as_deref() == Some(*id) && d.status == "running");
            let Some(s) = side else {
                return error(
                    StatusCode::CONFLICT,
                    "there is no restored database to switch to",
                );
            };
            let side = l.databases.remove(s);
            let i = if s < i { i - 1 } else { i };
            let d = &mut l.databases[i];
            // The side database's data takes the database's place: made again on its address,
            // to the side's target; the side's own PostgreSQL goes.
            if let (Some(f), Some(req)) = (real, &side.restored_from) {
                f.remove(&side.id);
                if let Err(r) = start_real(real, &d.id, d, req, "running") {
                    return *r;
                }
            }
            d.status = "switching".into();
            d.pending = crate::sim::staged::Staged::new([(
                now + std::time::Duration::from_millis(restore_ms),
                "running".into(),
            )]);
            d.restored_from = side.restored_from;
            ok(StatusCode::ACCEPTED, db_json(d, real))
        }
        _ => error(StatusCode::NOT_FOUND, "Not found"),
    }
}

/// Makes (or, for `id` that has one, remakes) database `id`'s real PostgreSQL, if the
/// simulator runs them: restored from `src` (its window, its roles, which may read the sample
/// data) to the request's `target_time` (none: now). Nothing for a restore that will fail
/// (`end`).
fn start_real(
    real: Option<&Fleet>,
    id: &str,
    src: &LauncherDb,
    req: &Value,
    end: &str,
) -> Result<(), Box<Response>> {
    let Some(real) = real.filter(|_| end == "running") else {
        return Ok(());
    };
    let target = req
        .get("target_time")
        .and_then(Value::as_str)
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .unwrap_or_else(OffsetDateTime::now_utc);
    let contents = Contents {
        source: format!("Launcher database {}", src.id),
        from: Contents::from_of(src.earliest.as_deref(), target),
        target,
        superuser_password: None,
        roles: src.roles.clone(),
        createdb: false,
        owner: None,
        repository: None,
    };
    real.replace(id, contents)
        .map(|_| ())
        .map_err(|e| Box::new(error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string())))
}

/// The sample Launcher database: daily backups for a week, a window from the oldest, and one
/// role, `drill_reader` ([`LAUNCHER_READER_PASSWORD`]).
pub fn sample() -> LauncherSim {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let t = |m: i64| {
        (now - time::Duration::minutes(m))
            .format(&Rfc3339)
            .unwrap_or_default()
    };
    let backups = (0..7)
        .map(|d| {
            let start = (7 - d) * 24 * 60;
            json!({"id": uuid::Uuid::new_v4().to_string(), "type": "full", "status": "completed",
                   "size_bytes": 512_000_000u64 + d as u64 * 1_000_000, "created_at": t(start), "completed_at": t(start - 4)})
        })
        .collect();
    LauncherSim {
        tenant: "sim-tenant".into(),
        keys: vec!["lnchr_simulator_key".into()],
        tokens: vec![],
        databases: vec![LauncherDb {
            roles: vec![SimRole {
                name: "drill_reader".into(),
                password: LAUNCHER_READER_PASSWORD.into(),
            }],
            ..LauncherDb::new(
                "0b7e4a52-8f3c-4d1e-9a2b-5c6d7e8f9a0b",
                "billing",
                backups,
                Some(t(7 * 24 * 60)),
            )
        }],
        fail_restores: None,
        pitr_side: false,
    }
}
