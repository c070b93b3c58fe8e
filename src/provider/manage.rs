//! A cluster's end and an on-demand backup, as every provider answers them: whether a cluster
//! is still there (and on its way out), and what a backup request was answered with. The
//! folders fill these in; `lifecycle` (destroy, backup) reads them and names no provider.

/// Whether a cluster is still at its provider, as the API answers for it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// The API no longer knows it (404).
    Gone,
    /// The API refuses to say (Crunchy Bridge's 403: "the cluster does not exist or this key
    /// has no access to it"; provider-apis.md): gone, or out of this key's sight.
    Hidden,
    /// Still there: its state in the provider's words where it reports one, and whether that
    /// state is the provider's own state of deletion (`destroying`, `DESTROYING`, `deleting`).
    There {
        state: Option<String>,
        deleting: bool,
    },
}

/// What a provider answered to a backup request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupRequested {
    /// Its message, as it said it (shown bounded).
    pub message: Option<String>,
    /// The backup the answer names, if it names one.
    pub backup: Option<String>,
    /// When the provider documents that it may ignore the request, what it says of that
    /// (Crunchy Bridge: while a backup runs, or when one was requested recently).
    pub may_ignore: Option<&'static str>,
}
