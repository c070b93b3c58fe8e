//! Shutdown as a value the caller passes in (mini-redis's `shutdown` parameter): an operation
//! below the commands never installs a signal handler of its own; it waits on a [`Shutdown`]
//! beside its work, so a test can stop it and the command decides which signals stop it.

use tokio::sync::watch;

/// Resolves [`wait`](Shutdown::wait) once shutdown is asked for; cloned freely.
#[derive(Debug, Clone)]
pub struct Shutdown(Option<watch::Receiver<bool>>);

/// Asks for shutdown (tests; a caller with its own reasons).
#[derive(Debug)]
pub struct Trigger(watch::Sender<bool>);

impl Trigger {
    pub fn fire(&self) {
        let _ = self.0.send(true);
    }
}

impl Shutdown {
    /// Never asked for.
    pub fn never() -> Shutdown {
        Shutdown(None)
    }

    /// A shutdown asked for by the [`Trigger`] returned with it.
    pub fn manual() -> (Shutdown, Trigger) {
        let (tx, rx) = watch::channel(false);
        (Shutdown(Some(rx)), Trigger(tx))
    }

    /// Asked for when `rx` turns true (the daemon's stop).
    pub fn from_watch(rx: watch::Receiver<bool>) -> Shutdown {
        Shutdown(Some(rx))
    }

    /// Asked for by Ctrl-C (SIGINT) or SIGTERM. The handlers are installed now, so from here
    /// on these signals stop only what waits on this value: every long wait must.
    pub fn on_signals() -> std::io::Result<Shutdown> {
        use tokio::signal::unix::{signal, SignalKind};
        let (mut int, mut term) = (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        );
        let (shutdown, trigger) = Shutdown::manual();
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            trigger.fire();
        });
        Ok(shutdown)
    }

    /// Resolves once shutdown is asked for (never, for [`Shutdown::never`]).
    pub async fn wait(&self) {
        if let Some(rx) = &self.0 {
            let mut rx = rx.clone();
            if rx.wait_for(|asked| *asked).await.is_ok() {
                return;
            }
        }
        std::future::pending::<()>().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_trigger_ends_every_wait_and_never_never_does() {
        let (s, t) = Shutdown::manual();
        let other = s.clone();
        let waiting = tokio::spawn(async move { other.wait().await });
        let quiet = tokio::time::timeout(std::time::Duration::from_millis(50), s.wait()).await;
        assert!(quiet.is_err(), "not asked for yet");
        t.fire();
        waiting.await.unwrap();
        s.wait().await;
        let never = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            Shutdown::never().wait(),
        )
        .await;
        assert!(never.is_err());
    }
}
