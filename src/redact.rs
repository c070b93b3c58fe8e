//! The one redactor. Every secret bridgerest holds is registered here as it is read or received
//! (the API key and the providers' passwords and keys from the config's key loading, the
//! repository credentials of each token from the Bridge client), and every text that comes
//! from outside is passed through [`apply`] before it is shown, logged, or written to a report
//! or the status file: API error bodies (an IONOS validation error may echo the create
//! request, password and all), pgBackRest's output, PostgreSQL's log (where `archive-get`'s
//! errors land). [`crate::text::excerpt`], the shape every such text is shown in, applies it.
//!
//! Besides the registered secrets, two shapes are hidden whoever's secret they hold: a SAS
//! signature (`sig=...`) and the value of a JSON field whose name ends in password, secret,
//! token or key (`"password": "..."`).

use std::sync::Mutex;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

struct Secrets {
    /// The config's keys and passwords: kept for the life of the process.
    held: Vec<String>,
    /// Credentials handed out, oldest first: the last [`ISSUED_KEPT`] (a daemon gets new ones
    /// every refresh; the old ones have expired).
    issued: std::collections::VecDeque<String>,
    /// The same, to look one up (a refresh registers hundreds in a row).
    issued_set: std::collections::BTreeSet<String>,
    /// Both, the longest first (so a secret that holds another is hidden whole), as the last
    /// [`apply`] ordered them: `None` after a registration. A refresh registers a few secrets
    /// per cluster, hundreds in a row; ordering once at the next [`apply`], not after each
    /// registration, keeps that linear.
    longest_first: Option<Vec<String>>,
}

impl Secrets {
    fn longest_first(&mut self) -> &[String] {
        let (held, issued) = (&self.held, &self.issued);
        self.longest_first.get_or_insert_with(|| {
            let mut all: Vec<String> = held.iter().chain(issued.iter()).cloned().collect();
            all.sort_by_key(|v| std::cmp::Reverse(v.len()));
            all
        })
    }
}

static SECRETS: Mutex<Secrets> = Mutex::new(Secrets {
    held: Vec::new(),
    issued: std::collections::VecDeque::new(),
    issued_set: std::collections::BTreeSet::new(),
    longest_first: None,
});

/// How many handed-out credentials (each with its URL-encoded form) are remembered.
const ISSUED_KEPT: usize = 512;

/// `secret` and its URL-encoded form, unless it is too short to hide (under 4 characters it
/// would hide ordinary text).
fn forms(secret: &str) -> Vec<String> {
    let secret = secret.trim();
    if secret.len() < 4 {
        return vec![];
    }
    let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let mut v = vec![secret.to_string()];
    if encoded != secret {
        v.push(encoded);
    }
    v
}

/// Registers a secret of the config (an API key, a password) to be hidden from everything
/// [`apply`] sees from now on.
pub fn register(secret: &str) {
    let mut s = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    for v in forms(secret) {
        if !s.held.contains(&v) {
            s.held.push(v);
            s.longest_first = None;
        }
    }
}

/// Registers a credential a provider handed out (a token's keys, a SAS).
pub fn register_issued(secret: &str) {
    let mut s = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    for v in forms(secret) {
        if s.issued_set.insert(v.clone()) {
            s.issued.push_back(v);
            s.longest_first = None;
        }
    }
    while s.issued.len() > ISSUED_KEPT {
        if let Some(old) = s.issued.pop_front() {
            s.issued_set.remove(&old);
        }
    }
}

/// `text` with every registered secret, every SAS signature and every secret-named JSON
/// field's value replaced by [`REDACTED`].
pub fn apply(text: &str) -> String {
    let mut out = text.to_string();
    {
        let mut s = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
        for v in s.longest_first() {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), REDACTED);
            }
        }
    }
    out = signatures(&out);
    json_fields(&out)
}

/// Every `sig=VALUE` (a SAS token's signature) with its value hidden.
fn signatures(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("sig=") {
        out.push_str(&rest[..i + 4]);
        let after = &rest[i + 4..];
        let end = after
            .find(|c: char| c == '&' || c == '"' || c == '\'' || c.is_whitespace())
            .unwrap_or(after.len());
        if end > 0 && !after.starts_with(REDACTED) {
            out.push_str(REDACTED);
        } else {
            out.push_str(&after[..end]);
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Whether a JSON field of this name holds a secret.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["password", "secret", "token", "key", "passphrase"]
        .iter()
        .any(|s| n.ends_with(s))
}

/// Every `"NAME": "VALUE"` whose NAME [`secret_name`] says holds a secret, with VALUE hidden
/// (also with the quotes escaped, as a message quoting JSON has them).
fn json_fields(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // The end of a quoted name followed by a colon: `name": "` or `name\": \"`.
    while let Some(colon) = rest.find(':') {
        let (before, after) = rest.split_at(colon);
        let quote = if before.ends_with("\\\"") {
            "\\\""
        } else if before.ends_with('"') {
            "\""
        } else {
            out.push_str(&rest[..colon + 1]);
            rest = &rest[colon + 1..];
            continue;
        };
        let name_end = before.len() - quote.len();
        let name_start = before[..name_end]
            .rfind(quote)
            .map_or(0, |i| i + quote.len());
        let name = &before[name_start..name_end];
        let value = after[1..].trim_start();
        let skipped = after.len() - 1 - value.len();
        if secret_name(name) && value.starts_with(quote) {
            let body = &value[quote.len()..];
            if let Some(end) = body.find(quote) {
                out.push_str(before);
                out.push(':');
                out.push_str(&after[1..1 + skipped]);
                out.push_str(quote);
                out.push_str(REDACTED);
                out.push_str(quote);
                rest = &body[end + quote.len()..];
                continue;
            }
        }
        out.push_str(&rest[..colon + 1]);
        rest = &rest[colon + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_signatures_and_secret_fields_are_hidden() {
        register("hunter2-Pa55/word");
        let said = apply(
            "400: invalid request {\"name\":\"x\",\"credentials\":{\"username\":\"restore_admin\",\"password\": \"hunter2-Pa55/word\"}} at hunter2-Pa55%2Fword",
        );
        assert!(!said.contains("hunter2"), "{said}");
        assert!(said.contains("\"username\":\"restore_admin\""), "{said}");
        assert!(said.contains("\"password\": \"[redacted]\""), "{said}");
        // Unregistered values in a secret-named field, escaped or not; a SAS signature.
        let said = apply(
            r#"echo: {\"dbPassword\": \"never-seen\", \"port\": 5432} https://a.blob/c?sv=1&sig=abc%2Fdef&se=2"#,
        );
        assert!(
            !said.contains("never-seen") && !said.contains("abc%2Fdef"),
            "{said}"
        );
        assert!(
            said.contains("\\\"port\\\": 5432") && said.contains("&se=2"),
            "{said}"
        );
        // Ordinary text is left as it is.
        let plain = "target: 2026-11-21 09:14:00+00, key: value, \"keyless\": 1";
        assert_eq!(apply(plain), plain);
        register("abc");
        assert_eq!(apply("abcdef"), "abcdef");
        // Handed-out credentials are remembered up to a bound; the config's for good.
        register_issued("first-issued-secret");
        for i in 0..ISSUED_KEPT {
            register_issued(&format!("issued-{i:04}"));
        }
        assert_eq!(apply("first-issued-secret"), "first-issued-secret");
        assert_eq!(
            apply("issued-0511 hunter2-Pa55/word"),
            "[redacted] [redacted]"
        );
    }
}
