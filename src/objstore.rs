//! Object-store buckets bridgerest itself reads and writes (today: drill reports, with
//! `drill.reports_url` and `drills --from`), through the Arrow project's `object_store` crate:
//! one trait over S3, Azure Blob Storage and GCS, its own request signing (never ours), on the
//! same reqwest and ring as the rest of the binary.
//!
//! How a store is reached, in the order each overrides the one before:
//! 1. the environment, as each store's own tools read it (`AWS_ACCESS_KEY_ID`,
//!    `AWS_WEB_IDENTITY_TOKEN_FILE`, `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_FEDERATED_TOKEN_FILE`,
//!    `GOOGLE_SERVICE_ACCOUNT`, ...: what a Kubernetes Secret or a workload identity gives a
//!    pod);
//! 2. `drill.reports_options`: the store's settings that are no secret (endpoint, region,
//!    account name), by `object_store`'s own option names (`aws_endpoint`, `aws_region`,
//!    `azure_storage_account_name`, `google_service_account`, `allow_http`, ...);
//! 3. a secrets file of the same `key = "value"` form (0600), `drill.reports_secrets_file` or the
//!    systemd credential `reports-store`: secret keys, SAS tokens, session tokens.
//!
//! A secret option in the config itself is refused (the config is 0644). Client options (the
//! options every store takes: `allow_http`, `timeout`, `proxy_url`) go in the config's table;
//! `drill.reports_ca_file` adds a CA (a private endpoint's) to the system's.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::{ClientOptions, ObjectStore, ObjectStoreScheme, RetryConfig};
use secrecy::{ExposeSecret, SecretString};

pub use object_store::path::Path as Key;

/// Which store a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    S3,
    Azure,
    Gcs,
}

impl Kind {
    /// The store a bucket URL names: `s3://bucket/prefix`, `az://container/prefix` (also
    /// `azure://`, `abfs(s)://`, `adl://`), `gs://bucket/prefix`.
    pub fn of(url: &url::Url) -> Result<(Kind, Key), String> {
        let (scheme, path) = ObjectStoreScheme::parse(url).map_err(|e| e.to_string())?;
        let kind = match scheme {
            ObjectStoreScheme::AmazonS3 => Kind::S3,
            ObjectStoreScheme::MicrosoftAzure => Kind::Azure,
            ObjectStoreScheme::GoogleCloudStorage => Kind::Gcs,
            _ => return Err("not a bucket: give s3://BUCKET/PREFIX, az://CONTAINER/PREFIX or gs://BUCKET/PREFIX".into()),
        };
        if !matches!(
            url.scheme(),
            "s3" | "s3a" | "az" | "azure" | "abfs" | "abfss" | "adl" | "gs"
        ) {
            return Err(
                "give the bucket as s3://BUCKET/PREFIX, az://CONTAINER/PREFIX or gs://BUCKET/PREFIX (the endpoint goes in drill.reports_options)"
                    .into(),
            );
        }
        // abfs(s)://CONTAINER@ACCOUNT... names the container where a user would stand.
        let container_at = matches!(url.scheme(), "abfs" | "abfss");
        if (!url.username().is_empty() && !container_at)
            || url.password().is_some()
            || url.query().is_some()
        {
            return Err("the URL holds a user, password or query: give the bucket and prefix alone, the credentials in drill.reports_secrets_file or the environment".into());
        }
        Ok((kind, path))
    }

    fn name(self) -> &'static str {
        match self {
            Kind::S3 => "S3",
            Kind::Azure => "Azure Blob Storage",
            Kind::Gcs => "GCS",
        }
    }
}

/// Whether `key` is an option of `kind`'s store, and whether it is a secret.
pub fn option(kind: Kind, key: &str) -> Result<Secret, String> {
    let k = key.to_ascii_lowercase();
    let secret = match kind {
        Kind::S3 => matches!(
            AmazonS3ConfigKey::from_str(&k).map_err(|_| unknown(kind, key))?,
            AmazonS3ConfigKey::SecretAccessKey | AmazonS3ConfigKey::Token
        ),
        Kind::Azure => matches!(
            AzureConfigKey::from_str(&k).map_err(|_| unknown(kind, key))?,
            AzureConfigKey::AccessKey
                | AzureConfigKey::ClientSecret
                | AzureConfigKey::SasKey
                | AzureConfigKey::Token
                | AzureConfigKey::FabricSessionToken
        ),
        Kind::Gcs => matches!(
            GoogleConfigKey::from_str(&k).map_err(|_| unknown(kind, key))?,
            GoogleConfigKey::ServiceAccountKey | GoogleConfigKey::BearerToken
        ),
    };
    Ok(if secret { Secret::Yes } else { Secret::No })
}

/// Whether an option holds a secret (only a secrets file may give it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    Yes,
    No,
}

fn unknown(kind: Kind, key: &str) -> String {
    format!(
        "{key:?} is not an option of the {} store (object_store's option names: e.g. {})",
        kind.name(),
        match kind {
            Kind::S3 => "aws_endpoint, aws_region, aws_access_key_id, allow_http",
            Kind::Azure =>
                "azure_storage_account_name, azure_storage_endpoint, azure_storage_sas_key",
            Kind::Gcs => "google_service_account, google_base_url",
        }
    )
}

/// How one bucket is reached: its URL, options, secret options and an extra CA.
pub struct Reach<'a> {
    pub url: &'a url::Url,
    pub options: &'a [(String, String)],
    pub secrets: &'a [(String, SecretString)],
    pub ca_pem: Option<&'a [u8]>,
    /// Per request; retries stop at twice it.
    pub timeout: Duration,
}

/// The store `reach` names, and the prefix inside it.
pub fn open(reach: &Reach) -> Result<(Arc<dyn ObjectStore>, Key), String> {
    crate::init_tls();
    let (kind, prefix) = Kind::of(reach.url)?;
    let mut client = ClientOptions::new()
        .with_timeout(reach.timeout)
        .with_connect_timeout(reach.timeout.min(Duration::from_secs(10)))
        .with_user_agent(reqwest::header::HeaderValue::from_static(concat!(
            "bridgerest/",
            env!("CARGO_PKG_VERSION")
        )));
    if let Some(pem) = reach.ca_pem {
        for cert in object_store::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())? {
            client = client.with_root_certificate(cert);
        }
    }
    let retry = RetryConfig {
        max_retries: 3,
        retry_timeout: reach.timeout * 2,
        ..RetryConfig::default()
    };
    let all = reach
        .options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(
            reach
                .secrets
                .iter()
                .map(|(k, v)| (k.as_str(), v.expose_secret())),
        );
    let url = reach.url.as_str();
    // The three builders share no trait: the same steps, spelled once.
    macro_rules! build {
        ($builder:ty, $key:ty) => {{
            let mut b = <$builder>::from_env()
                .with_url(url)
                .with_client_options(client)
                .with_retry(retry);
            for (k, v) in all {
                let key =
                    <$key>::from_str(&k.to_ascii_lowercase()).map_err(|_| unknown(kind, k))?;
                b = b.with_config(key, v);
            }
            Arc::new(b.build().map_err(redacted)?) as Arc<dyn ObjectStore>
        }};
    }
    let store = match kind {
        Kind::S3 => build!(AmazonS3Builder, AmazonS3ConfigKey),
        Kind::Azure => build!(MicrosoftAzureBuilder, AzureConfigKey),
        Kind::Gcs => build!(GoogleCloudStorageBuilder, GoogleConfigKey),
    };
    Ok((store, prefix))
}

/// An `object_store` error as a message with every registered secret masked (a store's
/// answer can echo a request).
pub fn redacted(e: impl std::fmt::Display) -> String {
    crate::redact::apply(&e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn bucket_urls_name_their_store_and_nothing_else_passes() {
        for (u, kind, prefix) in [
            ("s3://drills/fleet-a", Kind::S3, "fleet-a"),
            ("s3a://drills/a/b", Kind::S3, "a/b"),
            ("az://reports/fleet", Kind::Azure, "fleet"),
            ("abfss://c@acct.dfs.core.windows.net/p", Kind::Azure, "p"),
            ("gs://drills/x", Kind::Gcs, "x"),
        ] {
            let (k, p) = Kind::of(&url(u)).unwrap();
            assert_eq!((k, p.as_ref()), (kind, prefix), "{u}");
        }
        for u in [
            "https://s3.example/b/p",
            "file:///tmp/reports",
            "memory:///",
            "s3://key:secret@drills/p",
            "s3://drills/p?x-amz-security-token=t",
        ] {
            assert!(Kind::of(&url(u)).is_err(), "{u}");
        }
    }

    #[test]
    fn each_stores_secret_options_are_told_apart_and_unknown_ones_refused() {
        for (kind, key) in [
            (Kind::S3, "aws_secret_access_key"),
            (Kind::S3, "AWS_SESSION_TOKEN"),
            (Kind::Azure, "azure_storage_sas_key"),
            (Kind::Azure, "azure_storage_account_key"),
            (Kind::Azure, "azure_client_secret"),
            (Kind::Gcs, "google_service_account_key"),
        ] {
            assert_eq!(option(kind, key), Ok(Secret::Yes), "{key}");
        }
        for (kind, key) in [
            (Kind::S3, "aws_endpoint"),
            (Kind::S3, "allow_http"),
            (Kind::Azure, "azure_storage_account_name"),
            (Kind::Gcs, "google_service_account"),
        ] {
            assert_eq!(option(kind, key), Ok(Secret::No), "{key}");
        }
        assert!(option(Kind::Gcs, "aws_region").is_err());
        assert!(option(Kind::S3, "aws_endpiont")
            .unwrap_err()
            .contains("aws_endpiont"));
    }
}
