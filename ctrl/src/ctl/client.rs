//! The client side of the control socket (rvsadm, tests, benchmarks).

use crate::adm::AdmError;
use crate::ctl::proto::{self, FrameError, Reply, ReplyMsg, Request, MAX_REPLY};
use std::io::{self, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where rvsadm looks for rvsd unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/rvs/rvsd.sock";
/// How long a request may take (a 10,000-service restore builds for a
/// while); a daemon that does not answer by then is reported as such.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Why a call failed.
#[derive(Debug)]
pub enum CallError {
    /// No daemon at the path (or no permission to talk to it).
    Connect(PathBuf, io::Error),
    Io(io::Error),
    /// The reply was not a valid protocol message.
    Protocol(String),
    /// rvsd refused the request.
    Daemon {
        message: String,
        adm: Option<AdmError>,
    },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Connect(p, e) => write!(f, "cannot connect to rvsd at {}: {e}", p.display()),
            CallError::Io(e) => write!(f, "control socket: {e}"),
            CallError::Protocol(m) => write!(f, "bad reply from rvsd: {m}"),
            CallError::Daemon { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for CallError {}

/// One request, one reply, on a fresh connection.
pub fn call(path: &Path, req: &Request) -> Result<Reply, CallError> {
    let mut s = UnixStream::connect(path).map_err(|e| CallError::Connect(path.to_path_buf(), e))?;
    s.set_read_timeout(Some(TIMEOUT)).map_err(CallError::Io)?;
    s.write_all(&proto::request_line(req)).map_err(CallError::Io)?;
    let mut r = BufReader::new(s);
    let line = match proto::read_frame(&mut r, MAX_REPLY) {
        Ok(Some(l)) => l,
        Ok(None) => return Err(CallError::Protocol("connection closed without a reply".into())),
        Err(FrameError::TooLarge(n)) => return Err(CallError::Protocol(format!("reply over {n} bytes"))),
        Err(FrameError::Io(e)) => return Err(CallError::Io(e)),
    };
    let m: ReplyMsg = serde_json::from_slice(&line).map_err(|e| CallError::Protocol(e.to_string()))?;
    if m.version != proto::VERSION {
        return Err(CallError::Protocol(format!("rvsd speaks protocol {}, rvsadm {}", m.version, proto::VERSION)));
    }
    match (m.ok, m.error) {
        (Some(ok), None) => Ok(ok),
        (_, Some(message)) => Err(CallError::Daemon { message, adm: m.adm }),
        (None, None) => Err(CallError::Protocol("reply has neither ok nor error".into())),
    }
}
