//! Faults the simulator injects into matching requests: the documented failures (401, 429 with
//! Retry-After, 5xx, slow and malformed answers) and, for hardening tests, answers the real API
//! never gives (redirects, oversized bodies, pagination loops).

use axum::http::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A fault injected into matching requests. In JSON (`PUT /_sim/faults`, a state file's
/// `faults`) one flat object: `kind` and its fields beside `path`, `method`, `times`, e.g.
/// `{"kind":"rate_limit","retry_after":2,"times":3,"path":"backup-tokens"}`. Unknown fields are
/// refused by name (serde cannot combine `deny_unknown_fields` with a flattened tagged enum, so
/// the flat form is its own struct).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RawFault", into = "RawFault")]
pub struct Fault {
    /// Applies to requests whose path contains this (all requests if unset).
    pub path: Option<String>,
    /// Applies only to this method (all if unset).
    pub method: Option<String>,
    /// How many requests it hits before it is used up (forever if unset).
    pub times: Option<u32>,
    pub kind: FaultKind,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// 401 with the documented error body.
    Unauthorized,
    /// 429 with `Retry-After: retry_after` seconds.
    RateLimit { retry_after: u64 },
    /// A 5xx answer (default 500).
    ServerError {
        #[serde(default = "default_500")]
        status: u16,
    },
    /// Answers after `delay_ms`.
    Slow { delay_ms: u64 },
    /// Does what was asked, then answers after `delay_ms`: a client that times out meanwhile
    /// has created what it asked for without hearing so.
    LateAnswer { delay_ms: u64 },
    /// An error answer: `status` with `message`, in the API's error shape (e.g. 403, 404).
    Error { status: u16, message: String },
    /// 200 with a body that is not JSON.
    Malformed,
    /// Hostile or broken answers the documented API never gives, for hardening tests:
    /// a redirect (`status`, default 307) to `location`.
    Redirect {
        location: String,
        #[serde(default = "default_307")]
        status: u16,
    },
    /// 200 with a body of `bytes` bytes (the start of a JSON object that never ends).
    HugeBody { bytes: usize },
    /// A list page that always says `has_more` with a cursor alternating between "A" and "B".
    CursorLoop,
    /// A list without end: every page holds `items` small backups and a new cursor.
    EndlessPages { items: usize },
    /// On `POST /clusters/{id}/forks`: the fork is made, passes through its states
    /// (`fork_states`), and ends in `state` (e.g. `suspended`, `destroying`) instead of
    /// `ready`.
    ForkEnds { state: String },
    /// An error answer (`status`, default 422) whose message repeats the request's body, or
    /// the part of it at the JSON pointer `field` (`/properties/credentials`), as a validation
    /// error may (IONOS's name the offending field and value): a client must not show the
    /// secrets it sent.
    EchoBody {
        #[serde(default = "default_422")]
        status: u16,
        #[serde(default)]
        field: Option<String>,
    },
}

/// The flat JSON form of a [`Fault`].
#[derive(Serialize, Deserialize)]
struct RawFault {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    times: Option<u32>,
    /// `kind` and the fields of that kind.
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

impl TryFrom<RawFault> for Fault {
    type Error = String;
    fn try_from(raw: RawFault) -> Result<Self, String> {
        let kind = serde_json::from_value(Value::Object(raw.rest)).map_err(|e| e.to_string())?;
        Ok(Fault {
            path: raw.path,
            method: raw.method,
            times: raw.times,
            kind,
        })
    }
}

impl From<Fault> for RawFault {
    fn from(f: Fault) -> Self {
        let rest = match serde_json::to_value(&f.kind) {
            Ok(Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        RawFault {
            path: f.path,
            method: f.method,
            times: f.times,
            rest,
        }
    }
}

fn default_307() -> u16 {
    307
}

fn default_500() -> u16 {
    500
}

fn default_422() -> u16 {
    422
}

pub(crate) fn take_fault(
    faults: &mut Vec<Fault>,
    method: &Method,
    path: &str,
) -> Option<FaultKind> {
    let i = faults.iter().position(|f| {
        f.path.as_deref().is_none_or(|p| path.contains(p))
            && f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
    })?;
    let kind = faults[i].kind.clone();
    if let Some(t) = &mut faults[i].times {
        *t = t.saturating_sub(1);
        if *t == 0 {
            faults.remove(i);
        }
    }
    Some(kind)
}
