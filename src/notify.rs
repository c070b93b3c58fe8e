//! systemd's notification protocol (`sd_notify`): one datagram per message to
//! `$NOTIFY_SOCKET`. A no-op when not run by systemd with `Type=notify`.

use std::os::unix::net::UnixDatagram;

/// Sends `msg` (e.g. `READY=1`, `STATUS=...`, `WATCHDOG=1`); errors are logged, not fatal.
pub fn notify(msg: &str) {
    if let Some(path) = std::env::var_os("NOTIFY_SOCKET") {
        notify_to(&path.to_string_lossy(), msg);
    }
}

/// Sends `msg` to the socket at `path` (`@name`: an abstract socket).
pub fn notify_to(path: &str, msg: &str) {
    let sent = UnixDatagram::unbound().and_then(|sock| {
        if let Some(name) = path.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            sock.send_to_addr(msg.as_bytes(), &addr)
        } else {
            sock.send_to(msg.as_bytes(), path)
        }
    });
    if let Err(e) = sent {
        tracing::warn!(error = %e, socket = %path, "cannot notify systemd");
    }
}

/// The watchdog interval systemd asks for (`WATCHDOG_USEC`), if any and meant for us.
pub fn watchdog_interval() -> Option<std::time::Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    Some(std::time::Duration::from_micros(usec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_to_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let server = UnixDatagram::bind(&path).unwrap();
        notify_to(&path.to_string_lossy(), "READY=1");
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
    }
}
