//! What the providers' config sections share: their API's URL, checked. Each provider's own
//! section (`[ionos]`, `[launcher]`) is its folder's `section.rs`: the keys serde reads, and
//! their checks; [`crate::config`] calls them and names the file. A check's error is the whole
//! message, naming the key and what to do.

use std::net::IpAddr;

use reqwest::Url;

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
