//! The simulator's account side: teams (`GET /teams`, `GET /teams/{id}`, which teams a key
//! sees), `GET /account`, short-lived access tokens (`POST /access-tokens`), and the network
//! firewall rules the official client reads. Fields are those of provider-apis.md and the
//! official client's models (`cb`): teams `id`, `name`, `role`, `is_personal`; an account `id`,
//! `name`, `email`; a firewall rule `id`, `description`, `rule`; an access token
//! `access_token`, `account_id`, `api_key_id`, `created_at`, `expires_at`, `expires_in`, `id`,
//! `token_type` (`cb`'s `CB::Model::AccessToken`, every field required). Nothing else is made
//! up.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::pages::paginate;
use super::{error, new_eid, Inner};

/// The personal team of the sample state's key (every sample cluster is in it).
pub const PERSONAL_TEAM: &str = "eaevtjiudzeq7bsqbbpiscund4";

/// The account of the sample state's key (`GET /account`), whose user role on a cluster is
/// `u_<id>`.
pub const ACCOUNT_ID: &str = "vwdd3yfeyvcnlhvthp4t6fikui";
pub const ACCOUNT_EMAIL: &str = "user@example.com";

/// How long an access token from `POST /access-tokens` works (provider-apis.md: 3600 s).
pub const ACCESS_TOKEN_SECS: i64 = 3600;

/// A team the simulator's keys can see.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimTeam {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub is_personal: bool,
}

pub fn default_teams() -> Vec<SimTeam> {
    vec![SimTeam {
        id: PERSONAL_TEAM.into(),
        name: "Personal".into(),
        role: Some("admin".into()),
        is_personal: true,
    }]
}

fn team_json(t: &SimTeam) -> Value {
    json!({"id": t.id, "name": t.name, "role": t.role, "is_personal": t.is_personal})
}

/// Whether the keys see the team `id`.
pub(crate) fn visible(g: &Inner, team: &str) -> bool {
    g.state.teams.iter().any(|t| t.id == team)
}

/// The team `GET /clusters` lists: `team_id` when given (403 if the key cannot see it), else
/// the personal team (seed 004: without `team_id`, only the caller's personal team).
pub(crate) fn clusters_team(
    g: &Inner,
    q: &BTreeMap<String, String>,
) -> Result<String, Box<Response>> {
    match q.get("team_id") {
        Some(t) if visible(g, t) => Ok(t.clone()),
        Some(_) => Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "You do not have access to this team.",
        ))),
        None => Ok(g
            .state
            .teams
            .iter()
            .find(|t| t.is_personal)
            .map(|t| t.id.clone())
            .unwrap_or_default()),
    }
}

/// `GET /teams`, `GET /teams/{id}`, `GET /account`, `GET /networks/{id}/firewall-rules`.
pub(crate) fn route(g: &Inner, segs: &[&str], q: &BTreeMap<String, String>) -> Option<Response> {
    Some(match segs {
        ["teams"] => {
            let items = g.state.teams.iter().map(team_json).collect();
            paginate(items, q, "teams", &["id", "name"], "name")
        }
        ["teams", id] => match g.state.teams.iter().find(|t| &t.id == id) {
            Some(t) => axum::Json(team_json(t)).into_response(),
            None => error(
                StatusCode::FORBIDDEN,
                "You do not have access to this team.",
            ),
        },
        ["account"] => axum::Json(json!({
            "id": ACCOUNT_ID, "name": "Simulated User", "email": ACCOUNT_EMAIL
        }))
        .into_response(),
        ["networks", id, "firewall-rules"] => {
            if !g.state.clusters.iter().any(|c| c.network_id() == *id) {
                return Some(error(StatusCode::NOT_FOUND, "Network not found."));
            }
            axum::Json(json!({"firewall_rules": [
                {"id": "shofthj3fzaipie44lt6a5i3de", "description": "anywhere", "rule": "0.0.0.0/0"}
            ]}))
            .into_response()
        }
        _ => return None,
    })
}

/// `POST /access-tokens` with the form `grant_type=client_credential&client_secret=<API key>`:
/// a `cbat_` token that works as a Bearer for an hour.
pub(crate) fn create_access_token(g: &mut Inner, form: &[u8]) -> Response {
    let f: BTreeMap<String, String> = url::form_urlencoded::parse(form).into_owned().collect();
    if f.get("grant_type").map(String::as_str) != Some("client_credential") {
        return error(
            StatusCode::BAD_REQUEST,
            "grant_type must be client_credential.",
        );
    }
    let Some(secret) = f.get("client_secret") else {
        return error(StatusCode::BAD_REQUEST, "client_secret is required.");
    };
    if !g.state.api_keys.iter().any(|k| k == secret) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized.");
    }
    let token = format!("cbat_{}", new_eid());
    let created = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let expires = created + time::Duration::seconds(ACCESS_TOKEN_SECS);
    g.access_tokens.push((token.clone(), expires));
    g.issued.push(token.clone());
    // Each API key has an id of its own (the API's keys are objects; the state lists their
    // secrets only): made on its first exchange, the same afterwards.
    let key_id = g
        .api_key_ids
        .entry(secret.clone())
        .or_insert_with(new_eid)
        .clone();
    let time = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "access_token": token,
            "account_id": ACCOUNT_ID,
            "api_key_id": key_id,
            "created_at": time(created),
            "expires_at": time(expires),
            "expires_in": ACCESS_TOKEN_SECS,
            "id": new_eid(),
            "token_type": "bearer",
        })),
    )
        .into_response()
}

/// Whether `bearer` is an API key or a live access token.
pub(crate) fn authorized(g: &Inner, bearer: &str) -> bool {
    let now = OffsetDateTime::now_utc();
    g.state.api_keys.iter().any(|a| a == bearer)
        || g.access_tokens
            .iter()
            .any(|(t, exp)| t == bearer && *exp > now)
}
