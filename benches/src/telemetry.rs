//! Reading port counters of a running DPDK process through EAL's
//! telemetry socket (`/ethdev/stats,N`).
//!
//! The same reader works for rvsd and dpdk-testpmd, so both are measured
//! the same way, live, without stopping them: the harness samples the
//! counters every few milliseconds and tells the connection-creation pass
//! from the steady state by the packet count.

use serde_json::Value;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Counters of one port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortCounters {
    pub ipackets: u64,
    pub opackets: u64,
    pub imissed: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

/// A connection to one process's telemetry socket.
pub struct Telemetry {
    sock: Socket,
    buf: Vec<u8>,
}

/// Where EAL puts the socket for `--file-prefix prefix` (root: /var/run;
/// others: $XDG_RUNTIME_DIR or /tmp).
pub fn socket_path(prefix: &str) -> PathBuf {
    let base = if std::fs::metadata("/var/run/dpdk").is_ok() && is_root() {
        PathBuf::from("/var/run/dpdk")
    } else if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR") {
        PathBuf::from(x).join("dpdk")
    } else {
        PathBuf::from("/tmp/dpdk")
    };
    base.join(prefix).join("dpdk_telemetry.v2")
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

impl Telemetry {
    /// Connect, retrying until `timeout` (the socket appears during EAL
    /// init, a moment after the process starts).
    pub fn connect(prefix: &str, timeout: Duration) -> io::Result<Telemetry> {
        let path = socket_path(prefix);
        let t0 = Instant::now();
        loop {
            match Self::try_connect(&path) {
                Ok(t) => return Ok(t),
                Err(e) if t0.elapsed() >= timeout => {
                    return Err(io::Error::new(e.kind(), format!("telemetry {}: {e}", path.display())))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    fn try_connect(path: &std::path::Path) -> io::Result<Telemetry> {
        let sock = Socket::new(Domain::UNIX, Type::SEQPACKET, None)?;
        sock.connect(&SockAddr::unix(path)?)?;
        sock.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut t = Telemetry { sock, buf: vec![0; 1 << 16] };
        t.read_msg()?; // the greeting: {"version":..., "pid":..., ...}
        Ok(t)
    }

    fn read_msg(&mut self) -> io::Result<Value> {
        let n = (&self.sock).read(&mut self.buf)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "telemetry socket closed"));
        }
        serde_json::from_slice(&self.buf[..n]).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Send one command and return the value under its name.
    pub fn query(&mut self, cmd: &str) -> io::Result<Value> {
        (&self.sock).write_all(cmd.as_bytes())?;
        let v = self.read_msg()?;
        let key = cmd.split(',').next().unwrap_or(cmd);
        Ok(v.get(key).cloned().unwrap_or(Value::Null))
    }

    pub fn port(&mut self, port: u16) -> io::Result<PortCounters> {
        let v = self.query(&format!("/ethdev/stats,{port}"))?;
        let g = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        if v.is_null() {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("no stats for port {port}")));
        }
        Ok(PortCounters {
            ipackets: g("ipackets"),
            opackets: g("opackets"),
            imissed: g("imissed"),
            oerrors: g("oerrors"),
            rx_nombuf: g("rx_nombuf"),
        })
    }
}
