//! What the providers' config sections share: their API's URL, checked. Each provider's own
//! section (`[ionos]`, `[launcher]`) is its folder's `section.rs`: the keys serde reads, and
//! their checks; [`crate::config`] calls them and names the file. A check's error is the whole
//! message, naming the key and what to do.

use std::net::IpAddr;
use std::path::Path;

use reqwest::Url;
use secrecy::SecretString;

use super::http::Auth;

/// `return Err(format!(...))`.
macro_rules! invalid {
    ($($t:tt)*) => { return Err(format!($($t)*)) };
}
pub(crate) use invalid;

/// A provider API's URL (`key`): HTTPS except on loopback, no user name or password in it
/// (they belong in `secret_home`).
pub fn parse_url(key: &str, text: &str, secret_home: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| match text.contains('@') {
        true => format!("{key} is not a URL ({e})"), // may hold a password: not echoed
        false => format!("{key} \"{text}\" is not a URL"),
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo it: the password would end up in logs and journals.
        invalid!(
            "{key} contains a user name or password: remove them (secrets go in {secret_home})"
        );
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => invalid!(
            "{key} \"{text}\" must use https:// (plain http is allowed only on a loopback address)"
        ),
    }
    if url.host().is_none() {
        invalid!("{key} \"{text}\" has no host");
    }
    Ok(url)
}

/// Where one secret is looked for, in this order: the environment variable `env`, the systemd
/// credential `credential` (`$CREDENTIALS_DIRECTORY/<credential>`, from `LoadCredential=`),
/// the file `file` (the config key `file_key`).
pub struct SecretSpec<'a> {
    /// What it is, in messages ("the Crunchy Bridge API key").
    pub what: &'static str,
    pub env: &'static str,
    pub credential: &'static str,
    pub file: Option<&'a Path>,
    pub file_key: &'static str,
    /// Where to get one, for a missing or empty file.
    pub get_one: &'static str,
}

/// How a provider's client signs its requests, with the secrets it needs still to be read:
/// each provider's section says which, the config layer reads them.
pub enum Credentials<'a> {
    Bearer(SecretSpec<'a>),
    Basic {
        user: String,
        password: SecretSpec<'a>,
    },
    /// A key sent in the header named here.
    Header(&'static str, SecretSpec<'a>),
}

impl Credentials<'_> {
    /// The transport's [`Auth`], with each secret read by `read` (the environment, a systemd
    /// credential, a file: [`crate::config::load_secret`]).
    pub fn read<E>(self, read: impl Fn(&SecretSpec) -> Result<SecretString, E>) -> Result<Auth, E> {
        Ok(match self {
            Credentials::Bearer(s) => Auth::Bearer(read(&s)?),
            Credentials::Basic { user, password } => Auth::Basic {
                user,
                password: read(&password)?,
            },
            Credentials::Header(name, s) => Auth::Header(name, read(&s)?),
        })
    }
}
