//! What the simulated IONOS API checks in a create request, as the public model states it:
//! fields, types, enums, ranges, one free connection, the database user.

use serde_json::Value;

use super::IonosSim;

/// The fields of the model's `CreateClusterProperties`: those of ionoscloud-dbaas-postgres 1.x
/// (Python) and `connectionPooler`, which the Go SDK's model has from sdk-go-dbaas-postgres
/// 1.1.3 on (`model_create_cluster_properties.go`) and the Python SDK 1.2.0 predates.
const CREATE_FIELDS: &[&str] = &[
    "postgresVersion",
    "instances",
    "cores",
    "ram",
    "storageSize",
    "storageType",
    "connections",
    "location",
    "backupLocation",
    "displayName",
    "maintenanceWindow",
    "credentials",
    "synchronizationMode",
    "fromBackup",
    "connectionPooler",
];

/// The model's enums the simulated API checks in a create request, by the model's name. It
/// shares none with bridgerest's client (`provider::ionos::model`): a test holds both to the
/// official SDK's models.
pub const ENUMS: &[(&str, &[&str])] = &[
    ("StorageType", STORAGE_TYPES),
    ("SynchronizationMode", SYNCHRONIZATION_MODES),
    ("DayOfTheWeek", DAYS_OF_THE_WEEK),
    ("PoolMode", POOL_MODES),
];
/// The wire values ("SSD Premium"), not the SDKs' symbolic names (`SSD_PREMIUM`); "SSD" is
/// deprecated ("use the equivalent SSD Premium") but still in the model.
const STORAGE_TYPES: &[&str] = &["HDD", "SSD", "SSD Standard", "SSD Premium"];
/// `PoolMode` (Go SDK `model_pool_mode.go`; not in the Python SDK 1.2.0).
const POOL_MODES: &[&str] = &["transaction", "session"];
const SYNCHRONIZATION_MODES: &[&str] = &["ASYNCHRONOUS", "SYNCHRONOUS", "STRICTLY_SYNCHRONOUS"];
const DAYS_OF_THE_WEEK: &[&str] = &[
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A create request's properties as the API checks them: the model's fields only, each of
/// its type, enum and range, one connection on a valid and free address, a database user
/// that is not reserved with a password of at least 10 characters. `Err`: the message.
pub(super) fn check_create(io: &IonosSim, p: &Value) -> Result<(), String> {
    let Some(o) = p.as_object() else {
        return Err("properties must be an object".into());
    };
    if let Some(k) = o.keys().find(|k| !CREATE_FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "[(root).properties.{k}] is not a field of CreateClusterProperties"
        ));
    }
    let s = |k: &str| -> Result<&str, String> {
        o.get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("[(root).properties.{k}] is required and must be a string"))
    };
    let int = |k: &str, lo: u64, hi: u64| -> Result<u64, String> {
        let v = o
            .get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("[(root).properties.{k}] is required and must be an integer"))?;
        if v < lo || v > hi {
            return Err(format!(
                "[(root).properties.{k}] must be between {lo} and {hi}"
            ));
        }
        Ok(v)
    };
    s("postgresVersion")?;
    int("instances", 1, 5)?;
    int("cores", 1, 62)?;
    if int("ram", 2048, 1 << 20)? % 1024 != 0 {
        return Err("[(root).properties.ram] must be a multiple of 1024".into());
    }
    int("storageSize", 2048, 2_097_152)?;
    let one_of = |k: &str, allowed: &[&str]| -> Result<(), String> {
        let v = s(k)?;
        if !allowed.contains(&v) {
            return Err(format!(
                "[(root).properties.{k}] must be one of {}",
                allowed.join(", ")
            ));
        }
        Ok(())
    };
    one_of("storageType", STORAGE_TYPES)?;
    one_of("synchronizationMode", SYNCHRONIZATION_MODES)?;
    s("location")?;
    if o.contains_key("backupLocation") {
        s("backupLocation")?;
    }
    let name = s("displayName")?;
    if name.chars().count() > 100 {
        return Err("[(root).properties.displayName] must be at most 100 characters".into());
    }
    if let Some(c) = o.get("connectionPooler") {
        let fields_ok = c
            .as_object()
            .is_some_and(|c| c.keys().all(|k| k == "enabled" || k == "poolMode"));
        let enabled_ok = c.get("enabled").is_none_or(Value::is_boolean);
        let mode_ok = c
            .get("poolMode")
            .is_none_or(|m| m.as_str().is_some_and(|m| POOL_MODES.contains(&m)));
        if !fields_ok || !enabled_ok || !mode_ok {
            return Err(format!(
                "[(root).properties.connectionPooler] takes enabled (a boolean) and poolMode (one of {}), nothing else",
                POOL_MODES.join(", ")
            ));
        }
    }
    if let Some(m) = o.get("maintenanceWindow") {
        let time_ok = m.get("time").and_then(Value::as_str).is_some_and(|t| {
            let f: Vec<&str> = t.split(':').collect();
            f.len() == 3
                && f.iter()
                    .all(|x| x.len() == 2 && x.bytes().all(|c| c.is_ascii_digit()))
        });
        let day_ok = m
            .get("dayOfTheWeek")
            .and_then(Value::as_str)
            .is_some_and(|d| DAYS_OF_THE_WEEK.contains(&d));
        if !time_ok || !day_ok || m.as_object().is_some_and(|m| m.len() != 2) {
            return Err("[(root).properties.maintenanceWindow] needs time (HH:MM:SS) and dayOfTheWeek (Sunday..Saturday), nothing else".into());
        }
    }
    let conns = o
        .get("connections")
        .and_then(Value::as_array)
        .filter(|c| c.len() == 1)
        .ok_or_else(|| {
            "[(root).properties.connections] must hold exactly one connection".to_string()
        })?;
    let c = &conns[0];
    let field = |k: &str| {
        c.get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                format!("[(root).properties.connections[0].{k}] is required and must be a string")
            })
    };
    let (dc, lan, cidr) = (field("datacenterId")?, field("lanId")?, field("cidr")?);
    if c.as_object().is_some_and(|c| c.len() != 3) {
        return Err(
            "[(root).properties.connections[0]] has fields beside datacenterId, lanId and cidr"
                .into(),
        );
    }
    if let Some(why) = cidr_refused(cidr) {
        return Err(format!("[(root).properties.connections[0].cidr] {why}"));
    }
    let ip = |c: &str| c.split('/').next().unwrap_or("").to_string();
    if let Some(other) = io.clusters.iter().find(|x| {
        x.connection.get("datacenterId").and_then(Value::as_str) == Some(dc)
            && x.connection.get("lanId").and_then(Value::as_str) == Some(lan)
            && x.connection.get("cidr").and_then(Value::as_str).map(ip) == Some(ip(cidr))
    }) {
        return Err(format!(
            "The IP address {} is already used by cluster {} in LAN {lan} of datacenter {dc}.",
            ip(cidr),
            other.id
        ));
    }
    let user = p
        .pointer("/credentials/username")
        .and_then(Value::as_str)
        .unwrap_or("");
    let pass = p
        .pointer("/credentials/password")
        .and_then(Value::as_str)
        .unwrap_or("");
    if user.is_empty() || pass.len() < 10 {
        return Err("[(root).properties.credentials] needs a username and a password of at least 10 characters".into());
    }
    if RESTRICTED_USERS.contains(&user.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "[(root).properties.credentials.username] {user} is a reserved user name"
        ));
    }
    Ok(())
}

/// The user names the API model says IONOS restricts ('Some system usernames are restricted
/// (e.g. "postgres", "admin", "standby")'). The full list is not published, so the simulator
/// refuses exactly these; it shares no check with bridgerest's client, which refuses more.
const RESTRICTED_USERS: &[&str] = &["postgres", "admin", "standby"];

/// The ranges the model's `Connection.cidr` says a cluster may not take.
const UNAVAILABLE: [(std::net::Ipv4Addr, u32); 3] = [
    (std::net::Ipv4Addr::new(10, 233, 64, 0), 18),
    (std::net::Ipv4Addr::new(10, 233, 0, 0), 18),
    (std::net::Ipv4Addr::new(10, 233, 114, 0), 24),
];

/// Why the API refuses `cidr` (an IPv4 `ADDR/PREFIX` outside the unavailable ranges), if it does.
fn cidr_refused(cidr: &str) -> Option<String> {
    let parsed = cidr.split_once('/').and_then(|(a, p)| {
        let addr: std::net::Ipv4Addr = a.parse().ok()?;
        let prefix: u32 = p.parse().ok().filter(|p| (1..=32).contains(p))?;
        Some((addr, prefix))
    });
    let Some((addr, _)) = parsed else {
        return Some(format!("{cidr:?} is not a valid IPv4 CIDR"));
    };
    UNAVAILABLE.iter().find_map(|(net, bits)| {
        let mask = u32::MAX << (32 - bits);
        (u32::from(addr) & mask == u32::from(*net) & mask)
            .then(|| format!("{cidr} is in the unavailable range {net}/{bits}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulator_refuses_what_the_model_states_and_no_guess() {
        assert_eq!(cidr_refused("192.168.1.20/24"), None);
        assert!(cidr_refused("10.233.70.1/24").is_some_and(|w| w.contains("10.233.64.0/18")));
        assert!(cidr_refused("10.233.1.9/32").is_some_and(|w| w.contains("10.233.0.0/18")));
        assert!(cidr_refused("10.233.128.1/24").is_none());
        assert!(cidr_refused("10.0.0.1").is_some());
        assert!(cidr_refused("10.0.0.1/33").is_some());
        // Published as restricted: refused; bridgerest's own guesses (replicator, root) are not
        // the simulator's to refuse.
        assert!(RESTRICTED_USERS.contains(&"standby"));
        assert!(!RESTRICTED_USERS.contains(&"replicator"));
        assert!(crate::provider::ionos::RESERVED_USERS.contains(&"replicator"));
    }

    /// A create request with `storageType` `storage` and the given `connectionPooler`.
    fn body(storage: &str, pooler: Option<Value>) -> Value {
        let mut b = serde_json::json!({"postgresVersion": "15", "instances": 1, "cores": 2, "ram": 4096,
            "storageSize": 20480, "storageType": storage, "location": "de/fra", "displayName": "x",
            "connections": [{"datacenterId": "dc-9", "lanId": "1", "cidr": "192.168.9.9/24"}],
            "credentials": {"username": "u", "password": "0123456789"},
            "synchronizationMode": "ASYNCHRONOUS",
            "maintenanceWindow": {"time": "16:30:59", "dayOfTheWeek": "Sunday"}});
        if let Some(p) = pooler {
            b["connectionPooler"] = p;
        }
        b
    }

    #[test]
    fn the_simulator_takes_the_models_wire_values_and_no_other_spelling() {
        let io = super::super::sample();
        for ok in ["HDD", "SSD", "SSD Standard", "SSD Premium"] {
            assert_eq!(check_create(&io, &body(ok, None)), Ok(()), "{ok}");
        }
        for bad in ["SSD_PREMIUM", "SSD_STANDARD", "ssd premium", "NVMe"] {
            let e = check_create(&io, &body(bad, None)).unwrap_err();
            assert!(e.contains("[(root).properties.storageType] must be one of HDD, SSD, SSD Standard, SSD Premium"), "{bad}: {e}");
        }
        let pooler = |p: Value| check_create(&io, &body("SSD Premium", Some(p)));
        assert_eq!(
            pooler(serde_json::json!({"enabled": true, "poolMode": "session"})),
            Ok(())
        );
        assert_eq!(pooler(serde_json::json!({"enabled": false})), Ok(()));
        for bad in [
            serde_json::json!({"enabled": true, "poolMode": "TRANSACTION"}),
            serde_json::json!({"enabled": "yes"}),
            serde_json::json!({"enabled": true, "poolMode": "session", "size": 5}),
            serde_json::json!("transaction"),
        ] {
            let e = pooler(bad.clone()).unwrap_err();
            assert!(
                e.contains("[(root).properties.connectionPooler"),
                "{bad}: {e}"
            );
        }
        let mut b = body("SSD Premium", None);
        b["maintenanceWindow"]["dayOfTheWeek"] = "SUNDAY".into();
        assert!(check_create(&io, &b).is_err());
    }
}
