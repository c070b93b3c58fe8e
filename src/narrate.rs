//! How an operation below the commands says what it does as it goes: through a [`Narrator`]
//! the caller passes in. The commands pass one that writes to the terminal
//! (`commands::Terminal`); the tests one that keeps the lines ([`Kept`]); the daemon none (its
//! drills have their log). Nothing below the commands writes to stdout or stderr itself; what an
//! operation ends with is its typed outcome, which the command prints.

use std::sync::{Arc, Mutex};

/// Where an operation's account goes.
pub trait Narrator: Send + Sync + std::fmt::Debug {
    /// A line of the account (the plan, a step done): the terminal's stdout.
    fn say(&self, line: &str);
    /// A line beside the account (an interruption, a state seen while waiting, pgBackRest's
    /// own messages): the terminal's stderr.
    fn note(&self, line: &str);
    /// Whether a status line may be redrawn in place and a progress bar drawn (a terminal).
    fn live(&self) -> bool {
        false
    }
    /// A status line that replaces the one before (only when [`live`](Narrator::live)).
    fn status(&self, line: &str) {
        self.note(line)
    }
    /// Ends a run of status lines (a terminal: the line is kept and the next starts below).
    fn end_status(&self) {}
}

/// A narrator shared by an operation's parts (a progress bar, a wait, the workflow).
pub type Narrate = Arc<dyn Narrator>;

/// A narrator a value may carry beside its data (a drill's report as it is made): no part of
/// the value's equality, shown only as there or not.
#[derive(Clone, Default)]
pub struct Along(pub Option<Narrate>);

impl Along {
    /// A line beside the account, if there is a narrator.
    pub fn note(&self, line: &str) {
        if let Some(n) = &self.0 {
            n.note(line);
        }
    }
}

impl PartialEq for Along {
    fn eq(&self, _: &Along) -> bool {
        true
    }
}

impl std::fmt::Debug for Along {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Along(narrating)"
        } else {
            "Along(quiet)"
        })
    }
}

/// Keeps every line, in order, `say` and `note` alike (tests; a caller that shows the account
/// elsewhere).
#[derive(Debug, Default)]
pub struct Kept(Mutex<Vec<String>>);

impl Kept {
    /// The lines said so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Narrator for Kept {
    fn say(&self, line: &str) {
        if let Ok(mut l) = self.0.lock() {
            l.push(line.to_string());
        }
    }
    fn note(&self, line: &str) {
        self.say(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_lines_are_in_order_and_status_falls_back_to_a_note() {
        let k = Kept::default();
        k.say("plan");
        k.status("cluster c: creating");
        k.note("interrupted");
        k.end_status();
        assert!(!k.live());
        assert_eq!(k.lines(), ["plan", "cluster c: creating", "interrupted"]);
    }
}
