//! The API model's enums, as bridgerest accepts them in what it copies and sends, and reads
//! in what IONOS answers. A test holds each to the official SDK's model of the same name.

/// `StorageType`.
pub const STORAGE_TYPES: &[&str] = &["HDD", "SSD", "SSD_STANDARD", "SSD_PREMIUM"];

/// `SynchronizationMode`.
pub const SYNCHRONIZATION_MODES: &[&str] = &["ASYNCHRONOUS", "SYNCHRONOUS", "STRICTLY_SYNCHRONOUS"];

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
    ("State", STATES),
];
