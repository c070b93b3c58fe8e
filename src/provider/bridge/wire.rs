//! The backup token as Bridge sends it (`POST /clusters/{id}/backup-tokens`), decoded and
//! checked into a [`BackupToken`]: where the documentation is silent (a GCP cluster's type
//! string and credential), every plausible form is accepted.

use crate::text::excerpt;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::ids::is_stanza_name;
use crate::provider::http::serde_detail;
use crate::provider::{
    AzureKeyType, AzureStore, BackupToken, GcsCredential, GcsStore, S3Store, Store,
};

/// Why a backup token does not describe a usable repository (carried to callers as
/// [`ApiError::Unusable`](crate::provider::http::ApiError::Unusable)).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("unknown store type \"{0}\" (bridgerest knows s3, azure and gcs): upgrade bridgerest")]
    UnknownType(String),
    #[error("type is {kind} but the token has no `{field}` object")]
    MissingStore {
        kind: &'static str,
        field: &'static str,
    },
    #[error("field `{field}`: {detail}")]
    Field { field: &'static str, detail: String },
    #[error("field `{0}` contains a line break or control character")]
    BadValue(&'static str),
    #[error("stanza \"{0}\" is not a valid pgBackRest stanza name: set `stanza` for this cluster in the config")]
    BadStanza(String),
    #[error("field `gcp.gcs_key` is neither a JSON object nor a string holding one")]
    BadGcsKey,
}

#[derive(Deserialize)]
pub(super) struct RawToken {
    id: String,
    #[serde(default)]
    cluster_id: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    repo_path: String,
    stanza: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    aws: Option<serde_json::Value>,
    #[serde(default)]
    azure: Option<serde_json::Value>,
    #[serde(default)]
    gcp: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawAws {
    s3_bucket: String,
    s3_key: String,
    s3_key_secret: String,
    #[serde(default)]
    s3_kms_key_id: Option<String>,
    s3_region: String,
    s3_token: String,
}

#[derive(Deserialize)]
struct RawAzure {
    azure_account: String,
    azure_container: String,
    azure_key: String,
    #[serde(default)]
    azure_key_type: Option<String>,
}

#[derive(Deserialize)]
struct RawGcp {
    gcs_bucket: String,
    #[serde(default)]
    gcs_token: Option<String>,
    #[serde(default)]
    gcs_key: Option<serde_json::Value>,
}

fn field<T: DeserializeOwned>(
    name: &'static str,
    v: Option<serde_json::Value>,
    kind: &'static str,
) -> Result<T, TokenError> {
    let v = v
        .filter(|v| !v.is_null())
        .ok_or(TokenError::MissingStore { kind, field: name })?;
    serde_json::from_value(v).map_err(|e| TokenError::Field {
        field: name,
        detail: serde_detail(&e),
    })
}

fn clean(name: &'static str, s: String) -> Result<String, TokenError> {
    if s.chars().any(char::is_control) {
        return Err(TokenError::BadValue(name));
    }
    Ok(s)
}

fn nonempty(name: &'static str, s: String) -> Result<String, TokenError> {
    let s = clean(name, s)?;
    if s.trim().is_empty() {
        return Err(TokenError::Field {
            field: name,
            detail: "is empty".into(),
        });
    }
    Ok(s)
}

/// A secret of a token: registered with the redactor as it arrives.
fn secret(name: &'static str, s: String) -> Result<SecretString, TokenError> {
    nonempty(name, s).map(registered)
}

fn registered(s: String) -> SecretString {
    crate::redact::register_issued(&s);
    SecretString::from(s)
}

impl RawToken {
    pub(super) fn into_token(self, requested: &str) -> Result<BackupToken, TokenError> {
        if !is_stanza_name(&self.stanza) {
            return Err(TokenError::BadStanza(excerpt(&self.stanza, 80)));
        }
        let store = match self.kind.as_str() {
            "s3" => {
                let a: RawAws = field("aws", self.aws, "s3")?;
                Store::S3(S3Store {
                    bucket: nonempty("aws.s3_bucket", a.s3_bucket)?,
                    region: nonempty("aws.s3_region", a.s3_region)?,
                    key: secret("aws.s3_key", a.s3_key)?,
                    key_secret: secret("aws.s3_key_secret", a.s3_key_secret)?,
                    token: secret("aws.s3_token", a.s3_token)?,
                    kms_key_id: a
                        .s3_kms_key_id
                        .map(|k| clean("aws.s3_kms_key_id", k))
                        .transpose()?
                        .filter(|k| !k.is_empty()),
                })
            }
            "azure" => {
                let a: RawAzure = field("azure", self.azure, "azure")?;
                let key_type = match a.azure_key_type.as_deref().unwrap_or("shared") {
                    "shared" => AzureKeyType::Shared,
                    "sas" => AzureKeyType::Sas,
                    other => {
                        return Err(TokenError::Field {
                            field: "azure.azure_key_type",
                            detail: format!(
                                "unknown key type \"{}\" (expected shared or sas)",
                                excerpt(other, 40)
                            ),
                        })
                    }
                };
                let key = nonempty("azure.azure_key", a.azure_key)?;
                // pgBackRest wants the SAS without its leading '?'.
                let key = match key_type {
                    AzureKeyType::Sas => key.trim_start_matches('?').to_string(),
                    AzureKeyType::Shared => key,
                };
                Store::Azure(AzureStore {
                    account: secret("azure.azure_account", a.azure_account)?,
                    container: nonempty("azure.azure_container", a.azure_container)?,
                    key: registered(key),
                    key_type,
                })
            }
            // Bridge documents only `s3` and `azure`: a GCP cluster's type string is unknown
            // (`gcs` or `gcp`), so a `gcp` object decides, whatever the type says.
            kind if kind == "gcs"
                || kind == "gcp"
                || self.gcp.as_ref().is_some_and(|v| v.is_object()) =>
            {
                let g: RawGcp = field("gcp", self.gcp, "gcs")?;
                // Documented: `gcs_bucket` alone. Two undocumented credential forms are
                // accepted should a token carry one; without one, the user's key is used.
                let credential = match (g.gcs_token, g.gcs_key) {
                    (Some(t), _) if !t.trim().is_empty() => {
                        Some(GcsCredential::Token(secret("gcp.gcs_token", t)?))
                    }
                    (_, Some(serde_json::Value::String(s))) if !s.trim().is_empty() => {
                        Some(GcsCredential::ServiceKey(registered(s)))
                    }
                    (_, Some(v @ serde_json::Value::Object(_))) => {
                        Some(GcsCredential::ServiceKey(registered(v.to_string())))
                    }
                    (_, None | Some(serde_json::Value::Null)) => None,
                    (_, Some(serde_json::Value::String(_))) => None,
                    (_, Some(_)) => return Err(TokenError::BadGcsKey),
                };
                Store::Gcs(GcsStore {
                    bucket: nonempty("gcp.gcs_bucket", g.gcs_bucket)?,
                    credential,
                })
            }
            other => return Err(TokenError::UnknownType(excerpt(other, 40))),
        };
        let expires_at = match &store {
            Store::Azure(a) if a.key_type == AzureKeyType::Sas => {
                crate::provider::sas_expiry(a.key.expose_secret())
            }
            _ => None,
        };
        Ok(BackupToken {
            expires_at,
            id: clean("id", self.id)?,
            cluster_id: clean(
                "cluster_id",
                self.cluster_id.unwrap_or_else(|| requested.to_string()),
            )?,
            team_id: clean("team_id", self.team_id.unwrap_or_default())?,
            repo_path: nonempty("repo_path", self.repo_path)?,
            stanza: self.stanza,
            store,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_token(json: &str) -> Result<BackupToken, TokenError> {
        let raw: RawToken = serde_json::from_str(json).map_err(|e| TokenError::Field {
            field: "(body)",
            detail: e.to_string(),
        })?;
        raw.into_token("rvf73a77ozfsvcttryebfrnlem")
    }

    const S3: &str = r#"{"aws":{"s3_bucket":"the-bucket","s3_key":"key","s3_key_secret":"secret","s3_kms_key_id":null,"s3_region":"us-west-1","s3_token":"token"},"cluster_id":"rvf73a77ozfsvcttryebfrnlem","id":"agaqf6fanse45vspjcctakuyky","repo_path":"/the-path","stanza":"2qc6yv2ztfcw7a7yoripu4zlsm","team_id":"eaevtjiudzeq7bsqbbpiscund4","type":"s3","new_field":{"x":1}}"#;

    #[test]
    fn documented_s3_example_decodes_and_ignores_unknown_fields() {
        let t = decode_token(S3).unwrap();
        assert_eq!(t.stanza, "2qc6yv2ztfcw7a7yoripu4zlsm");
        let Store::S3(s) = t.store else {
            panic!("not s3")
        };
        assert_eq!(s.bucket, "the-bucket");
        assert_eq!(s.key_secret.expose_secret(), "secret");
        assert!(s.kms_key_id.is_none());
    }

    #[test]
    fn missing_field_is_named() {
        let json = S3.replace(r#""s3_key":"key","#, "");
        let err = decode_token(&json).unwrap_err().to_string();
        assert!(err.contains("aws") && err.contains("s3_key"), "{err}");
    }

    #[test]
    fn line_breaks_in_values_are_refused() {
        let json = S3.replace("the-bucket", "b\\nrepo1-type=posix");
        assert!(matches!(
            decode_token(&json),
            Err(TokenError::BadValue("aws.s3_bucket"))
        ));
    }

    #[test]
    fn gcs_forms() {
        let base = r#"{"id":"x","repo_path":"/p","stanza":"s","type":"gcs","gcp":GCP}"#;
        let tok = decode_token(&base.replace("GCP", r#"{"gcs_bucket":"b","gcs_token":"ya29.t"}"#))
            .unwrap();
        assert!(matches!(
            tok.store,
            Store::Gcs(GcsStore {
                credential: Some(GcsCredential::Token(_)),
                ..
            })
        ));
        let key = decode_token(&base.replace(
            "GCP",
            r#"{"gcs_bucket":"b","gcs_key":{"type":"service_account"}}"#,
        ))
        .unwrap();
        let Store::Gcs(GcsStore {
            credential: Some(GcsCredential::ServiceKey(k)),
            ..
        }) = key.store
        else {
            panic!("not a key")
        };
        assert_eq!(k.expose_secret(), r#"{"type":"service_account"}"#);
        // As documented: a bucket and no credential, under either type string.
        for ty in ["gcs", "gcp", "google"] {
            let json = base
                .replace("GCP", r#"{"gcs_bucket":"b"}"#)
                .replace(r#""type":"gcs""#, &format!(r#""type":"{ty}""#));
            let none = decode_token(&json).unwrap();
            assert!(
                matches!(&none.store, Store::Gcs(GcsStore { credential: None, bucket }) if bucket == "b"),
                "{ty}"
            );
        }
    }

    #[test]
    fn api_text_in_errors_is_short_and_escaped() {
        let long = "x".repeat(100_000);
        let json = S3.replace(r#""type":"s3""#, &format!(r#""type":"\u001b[2J{long}""#));
        let err = decode_token(&json).unwrap_err().to_string();
        assert!(
            err.len() < 300 && !err.contains('\u{1b}'),
            "{}",
            &err[..300.min(err.len())]
        );
        let json = S3.replace("2qc6yv2ztfcw7a7yoripu4zlsm", &long);
        assert!(decode_token(&json).unwrap_err().to_string().len() < 300);
    }

    #[test]
    fn sas_loses_leading_question_mark() {
        let json = r#"{"id":"x","repo_path":"/p","stanza":"s","type":"azure","azure":{"azure_account":"acct","azure_container":"c","azure_key":"?se=2026&sig=abc","azure_key_type":"sas"}}"#;
        let Store::Azure(a) = decode_token(json).unwrap().store else {
            panic!("not azure")
        };
        assert_eq!(a.key.expose_secret(), "se=2026&sig=abc");
        assert_eq!(a.key_type, AzureKeyType::Sas);
    }
}
