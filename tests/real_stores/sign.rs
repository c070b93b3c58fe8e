//! Request signing for the local stores: AWS Signature Version 4 (moto's IAM, STS and S3 APIs)
//! and Azure shared access signatures (Azurite).

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

type HmacSha256 = hmac::Hmac<Sha256>;

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap();
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub struct AwsCreds {
    pub key: String,
    pub secret: String,
    pub token: Option<String>,
}

/// Headers that sign a request with SigV4. `query` must already be canonical (sorted, encoded).
#[allow(clippy::too_many_arguments)]
pub fn sigv4(
    creds: &AwsCreds,
    service: &str,
    region: &str,
    method: &str,
    host: &str,
    path: &str,
    query: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<(String, String)> {
    let now = OffsetDateTime::now_utc();
    let amz_date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let date = &amz_date[..8];
    let payload = sha256_hex(body);
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), host.into()),
        ("x-amz-content-sha256".into(), payload.clone()),
        ("x-amz-date".into(), amz_date.clone()),
    ];
    if let Some(ct) = content_type {
        headers.push(("content-type".into(), ct.into()));
    }
    if let Some(t) = &creds.token {
        headers.push(("x-amz-security-token".into(), t.clone()));
    }
    headers.sort();
    let canonical_headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical = format!("{method}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{payload}");
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let k = hmac(format!("AWS4{}", creds.secret).as_bytes(), date);
    let k = hmac(&k, region);
    let k = hmac(&k, service);
    let k = hmac(&k, "aws4_request");
    let sig = hex(&hmac(&k, &to_sign));
    headers.retain(|(k, _)| k != "host");
    headers.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={sig}",
            creds.key
        ),
    ));
    headers
}

/// Percent-encodes for a query string (RFC 3986 unreserved kept).
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A form body from pairs, encoded as SigV4 expects.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

const SAS_VERSION: &str = "2018-11-09";

fn azure_sig(account_key_b64: &str, to_sign: &str) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(account_key_b64)
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(hmac(&key, to_sign))
}

/// A service SAS for one container (what a Bridge token carries), valid until `expiry`.
pub fn container_sas(
    account: &str,
    account_key: &str,
    container: &str,
    perms: &str,
    expiry: OffsetDateTime,
) -> String {
    let se = iso(expiry);
    let resource = format!("/blob/{account}/{container}");
    // sp, st, se, resource, si, sip, spr, sv, sr, snapshot time, rscc, rscd, rsce, rscl, rsct
    let to_sign = format!("{perms}\n\n{se}\n{resource}\n\n\n\n{SAS_VERSION}\nc\n\n\n\n\n\n");
    let sig = azure_sig(account_key, &to_sign);
    format!(
        "sv={SAS_VERSION}&sr=c&sp={perms}&se={}&sig={}",
        enc(&se),
        enc(&sig)
    )
}

/// An account SAS (to create containers in test setup).
pub fn account_sas(account: &str, account_key: &str, expiry: OffsetDateTime) -> String {
    let se = iso(expiry);
    let to_sign = format!("{account}\nrwdlac\nb\nsco\n\n{se}\n\n\n{SAS_VERSION}\n");
    let sig = azure_sig(account_key, &to_sign);
    format!(
        "sv={SAS_VERSION}&ss=b&srt=sco&sp=rwdlac&se={}&sig={}",
        enc(&se),
        enc(&sig)
    )
}
