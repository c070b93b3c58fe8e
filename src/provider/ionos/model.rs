//! The API model's enums, as bridgerest accepts them in what it copies and sends, and reads
//! in what IONOS answers: their wire values, which are not the SDKs' symbolic names
//! (`StorageType.SSD_PREMIUM` is sent as "SSD Premium"). Taken from the official SDKs' models
//! (Python ionoscloud-dbaas-postgres 1.2.0 `models/*.py` `allowable_values`; Go
//! sdk-go-dbaas-postgres 1.1.4 `model_*.go`); a test holds each to the installed Python SDK's
//! model of the same name (`tests/providers.rs`).

/// `StorageType`. "SSD" is deprecated ("use the equivalent SSD Premium", the Go model says)
/// but still a value a cluster may report.
pub const STORAGE_TYPES: &[&str] = &["HDD", "SSD", "SSD Standard", "SSD Premium"];

/// `SynchronizationMode`.
pub const SYNCHRONIZATION_MODES: &[&str] = &["ASYNCHRONOUS", "SYNCHRONOUS", "STRICTLY_SYNCHRONOUS"];

/// `DayOfTheWeek` (`maintenanceWindow.dayOfTheWeek`).
pub const DAYS_OF_THE_WEEK: &[&str] = &[
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// `PoolMode` (`connectionPooler.poolMode`). Only the Go SDK's model has it (from 1.1.3 on,
/// `model_pool_mode.go`, with `connectionPooler` in `ClusterProperties` and
/// `CreateClusterProperties`); the Python SDK 1.2.0 predates it.
pub const POOL_MODES: &[&str] = &["transaction", "session"];

/// The fields of the model's `ConnectionPooler`: what a new cluster copies of the source's.
pub const POOLER_FIELDS: &[&str] = &["enabled", "poolMode"];

/// `State` (a cluster's and a backup chain's `metadata.state`).
pub const STATES: &[&str] = &[
    "AVAILABLE",
    "BUSY",
    "DESTROYING",
    "DEGRADED",
    "FAILED",
    "UNKNOWN",
];

/// Every enum above, by the model's name for it.
pub const ENUMS: &[(&str, &[&str])] = &[
    ("StorageType", STORAGE_TYPES),
    ("SynchronizationMode", SYNCHRONIZATION_MODES),
    ("DayOfTheWeek", DAYS_OF_THE_WEEK),
    ("PoolMode", POOL_MODES),
    ("State", STATES),
];

/// `values` for a message: `"HDD", "SSD", "SSD Standard" and "SSD Premium"`.
pub fn listed(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}
