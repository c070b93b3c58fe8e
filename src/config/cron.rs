//! The daemon's schedules: cron expressions checked once, where the config is read.

/// A cron expression with seconds (sec min hour day month weekday, UTC), checked once, when
/// the config is read, by the scheduler's own parser (so one `check` accepts is one the daemon
/// runs); the daemon's jobs are made from it. tokio-cron-scheduler takes its schedule as text,
/// so that text is what this holds.
#[derive(Clone, PartialEq, Eq)]
pub struct Cron(String);

impl Cron {
    pub fn parse(text: &str) -> Option<Cron> {
        tokio_cron_scheduler::Job::new_async(text, |_, _| Box::pin(async {}))
            .ok()
            .map(|_| Cron(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Cron {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl std::fmt::Display for Cron {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
