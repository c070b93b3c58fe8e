//! The IONOS create request's limits, as the public API model states them: checked before a
//! request is sent, each refusal naming the allowed range.

use serde_json::{Map, Value};

use super::model::{listed, DAYS_OF_THE_WEEK, POOL_MODES, STORAGE_TYPES, SYNCHRONIZATION_MODES};

/// User names IONOS keeps for itself (the model: 'Some system usernames are restricted (e.g.
/// "postgres", "admin", "standby")'; the full list is not published).
pub const RESERVED_USERS: &[&str] = &["postgres", "admin", "standby", "replicator", "root"];

/// Addresses a cluster may not take (the model's `Connection.cidr`).
const UNAVAILABLE: &[(&str, u8)] = &[
    ("10.233.64.0", 18),
    ("10.233.0.0", 18),
    ("10.233.114.0", 24),
];

/// Whether `cidr` is an IPv4 `ADDR/PREFIX` a cluster may take; why not, if not.
pub fn check_cidr(cidr: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "{:?} is not ADDR/PREFIX (e.g. 192.168.1.20/24)",
            crate::text::excerpt(cidr, 60)
        )
    };
    let (addr, prefix) = cidr.split_once('/').ok_or_else(bad)?;
    let addr: std::net::Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let _prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|p| (1..=32).contains(p))
        .ok_or_else(bad)?;
    for (net, bits) in UNAVAILABLE {
        let net: std::net::Ipv4Addr = net.parse().map_err(|_| bad())?;
        let mask = u32::MAX << (32 - u32::from(*bits));
        if u32::from(addr) & mask == u32::from(net) & mask {
            return Err(format!(
                "{cidr} is in {net}/{bits}, which IONOS keeps for itself (10.233.64.0/18, 10.233.0.0/18 and 10.233.114.0/24 are unavailable)"
            ));
        }
    }
    Ok(())
}

/// The create request's properties against the API's limits (the public model): what is out
/// of range, named with the range.
pub(super) fn check_create(
    p: &Map<String, Value>,
    user: &str,
    password_len: usize,
) -> Result<(), String> {
    let int = |k: &str| p.get(k).and_then(Value::as_u64);
    let need =
        |k: &str, what: &str| format!("the source reports no {k} for the new cluster ({what})");
    let instances = int("instances").ok_or_else(|| need("instances", "1 to 5"))?;
    if !(1..=5).contains(&instances) {
        return Err(format!("instances {instances}: IONOS allows 1 to 5"));
    }
    let cores = int("cores").ok_or_else(|| need("cores", "at least 1"))?;
    if cores < 1 {
        return Err(format!("cores {cores}: IONOS needs at least 1"));
    }
    let ram = int("ram").ok_or_else(|| need("ram", "MB, a multiple of 1024 from 2048"))?;
    if ram < 2048 || ram % 1024 != 0 {
        return Err(format!(
            "ram {ram} MB: IONOS needs a multiple of 1024 MB, at least 2048"
        ));
    }
    let storage = int("storageSize").ok_or_else(|| need("storageSize", "2048 to 2097152 MB"))?;
    if !(2048..=2_097_152).contains(&storage) {
        return Err(format!(
            "storageSize {storage} MB (--storage {} GB): IONOS allows 2048 to 2097152 MB (--storage 2 to 2048)",
            storage / 1024
        ));
    }
    // The model's enums, by their wire values (the source reports them so; a value the
    // model does not have would be refused by the API).
    let one_of = |what: &str, v: Option<&Value>, allowed: &[&str]| match v {
        Some(v) if !v.as_str().is_some_and(|v| allowed.contains(&v)) => Err(format!(
            "{what} {} (the source's): the API model knows {}",
            crate::text::excerpt(&v.to_string(), 60),
            listed(allowed)
        )),
        _ => Ok(()),
    };
    one_of("storageType", p.get("storageType"), STORAGE_TYPES)?;
    one_of(
        "synchronizationMode",
        p.get("synchronizationMode"),
        SYNCHRONIZATION_MODES,
    )?;
    one_of(
        "maintenanceWindow.dayOfTheWeek",
        p.get("maintenanceWindow")
            .and_then(|w| w.get("dayOfTheWeek")),
        DAYS_OF_THE_WEEK,
    )?;
    one_of(
        "connectionPooler.poolMode",
        p.get("connectionPooler").and_then(|c| c.get("poolMode")),
        POOL_MODES,
    )?;
    if let Some(e) = p
        .get("connectionPooler")
        .and_then(|c| c.get("enabled"))
        .filter(|e| !e.is_boolean())
    {
        return Err(format!(
            "connectionPooler.enabled {} (the source's): the API model takes true or false",
            crate::text::excerpt(&e.to_string(), 60)
        ));
    }
    let name = p.get("displayName").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() || name.chars().count() > 100 {
        return Err("displayName: 1 to 100 characters".into());
    }
    if let Some(c) = p
        .get("connections")
        .and_then(|c| c.pointer("/0/cidr"))
        .and_then(Value::as_str)
    {
        check_cidr(c)?;
    }
    if user.is_empty() || RESERVED_USERS.contains(&user.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "database user {:?} (ionos.db_username): IONOS keeps {} for itself; choose another name",
            crate::text::excerpt(user, 63),
            RESERVED_USERS.join(", ")
        ));
    }
    if password_len < 10 {
        return Err("the database password (ionos.db_password_file) has fewer than 10 characters, which IONOS refuses".into());
    }
    Ok(())
}
