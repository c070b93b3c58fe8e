//! States a simulated cluster passes through on its own once a request started them (a restore
//! that takes time, as the real APIs' do): IONOS's and Launcher's restores are staged with it.

use time::OffsetDateTime;

/// The states still to come, each from its time on, in order.
#[derive(Debug, Clone, Default)]
pub struct Staged(Vec<(OffsetDateTime, String)>);

impl Staged {
    pub fn new(steps: impl IntoIterator<Item = (OffsetDateTime, String)>) -> Staged {
        Staged(steps.into_iter().collect())
    }

    /// Whether nothing is under way.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The states whose time has come by `now`, in order; they leave the queue.
    pub fn due(&mut self, now: OffsetDateTime) -> Vec<String> {
        self.due_unless(now, |_| false)
    }

    /// [`Staged::due`], stopping before the first state `hold` holds back: it and those after
    /// it stay queued (a cluster is not ready before its real PostgreSQL is).
    pub fn due_unless(&mut self, now: OffsetDateTime, hold: impl Fn(&str) -> bool) -> Vec<String> {
        let n = self
            .0
            .iter()
            .take_while(|(at, s)| *at <= now && !hold(s))
            .count();
        self.0.drain(..n).map(|(_, s)| s).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_come_due_in_order_and_once() {
        let t0 = time::macros::datetime!(2026-12-03 10:00 UTC);
        let mut s = Staged::new([
            (t0, "BUSY".to_string()),
            (t0 + time::Duration::seconds(5), "AVAILABLE".to_string()),
        ]);
        assert!(s.due(t0 - time::Duration::seconds(1)).is_empty());
        assert_eq!(s.due(t0), ["BUSY"]);
        assert!(!s.is_empty());
        assert_eq!(s.due(t0 + time::Duration::seconds(9)), ["AVAILABLE"]);
        assert!(s.is_empty() && s.due(t0 + time::Duration::hours(1)).is_empty());
        // A held state waits, with those after it, until it is let through.
        let mut s = Staged::new([
            (t0, "BUSY".to_string()),
            (t0, "AVAILABLE".to_string()),
            (t0, "(gone)".to_string()),
        ]);
        assert_eq!(s.due_unless(t0, |s| s == "AVAILABLE"), ["BUSY"]);
        assert!(s.due_unless(t0, |s| s == "AVAILABLE").is_empty());
        assert_eq!(s.due(t0), ["AVAILABLE", "(gone)"]);
    }
}
