//! The registry: every provider bridgerest knows, one line each in [`ProviderKind::ALL`], and
//! what needs the whole list (parsing a name, `--provider`'s values, messages naming them all).
//! It stands above the providers' folders, which build on `spec.rs` and name no other.

use serde::{Deserialize, Deserializer};

use super::spec::{BadId, ProviderKind};
use crate::text::excerpt;

impl ProviderKind {
    /// The registry: every provider bridgerest knows, one line each.
    pub const ALL: &'static [ProviderKind] = &[
        super::bridge::KIND,
        super::ionos::KIND,
        super::launcher::KIND,
        super::pgbackrest::KIND,
    ];

    /// The provider of a cluster whose entry names none (bridgerest began as Crunchy Bridge's).
    pub const DEFAULT: ProviderKind = super::bridge::KIND;

    pub fn parse(s: &str) -> Option<ProviderKind> {
        ProviderKind::ALL.iter().copied().find(|p| p.as_str() == s)
    }
}

impl<'de> Deserialize<'de> for ProviderKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        ProviderKind::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown provider {:?} (known: {})",
                excerpt(&name, 40),
                names()
            ))
        })
    }
}

impl clap::ValueEnum for ProviderKind {
    fn value_variants<'a>() -> &'a [Self] {
        ProviderKind::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.name).help(self.0.help))
    }
}

/// Every provider's name, as a list in a message: "bridge, ionos, launcher".
pub fn names() -> String {
    ProviderKind::ALL
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every provider's name quoted, the default first and named so: "\"bridge\" (the default),
/// \"ionos\" or \"launcher\"".
pub fn names_quoted() -> String {
    let others: Vec<String> = ProviderKind::ALL
        .iter()
        .filter(|p| **p != ProviderKind::DEFAULT)
        .map(|p| format!("\"{p}\""))
        .collect();
    let mut out = format!("\"{}\" (the default)", ProviderKind::DEFAULT);
    for (i, o) in others.iter().enumerate() {
        out.push_str(if i + 1 == others.len() { " or " } else { ", " });
        out.push_str(o);
    }
    out
}

/// The titles of the providers that can do what `can` asks, as a message lists them: "IONOS
/// DBaaS and Launcher" (`joiner` "and" or "or").
pub fn titles_that(can: fn(&super::Capabilities) -> bool, joiner: &str) -> String {
    titles_where(|s| can(&s.capabilities), joiner)
}

/// The titles of the providers whose spec passes `is` (as [`titles_that`]).
pub fn titles_where(is: impl Fn(&super::Spec) -> bool, joiner: &str) -> String {
    let titles: Vec<&str> = ProviderKind::ALL
        .iter()
        .filter(|p| is(p.spec()))
        .map(|p| p.title())
        .collect();
    match titles.split_last() {
        None => String::new(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} {joiner} {last}", rest.join(", ")),
    }
}

impl std::fmt::Display for BadId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "\"{}\" is not {}: see `bridgerest clusters",
            self.shown, self.provider.0.id_form
        )?;
        if self.provider != ProviderKind::DEFAULT {
            write!(f, " --provider {}", self.provider)?;
        }
        f.write_str("`")
    }
}
