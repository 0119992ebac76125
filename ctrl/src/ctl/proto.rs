//! The control socket's messages: newline-delimited JSON, versioned.
//!
//! A request is one line `{"version":1,"request":{...}}`; the answer is
//! one line `{"version":1,"ok":{...}}` or `{"version":1,"error":"..."}`
//! (plus `"adm"`, the structured [`AdmError`], when the error is one of
//! ipvsadm's, so rvsadm can print its wording and exit with its code).
//! JSON lines keep the protocol debuggable with `socat` and let any
//! language drive rvsd; the version field lets a future rvsadm and an
//! older rvsd refuse each other clearly instead of misreading.
//!
//! Requests are bounded ([`MAX_REQUEST`]) so a broken or hostile client
//! costs the daemon at most that much memory; replies may be larger (a
//! 10,000-service listing), so the client's bound is [`MAX_REPLY`].

use crate::adm::view::{ConnView, TableView, Timeouts, WorkersView};
use crate::adm::{AdmCommand, AdmError};
use rvs_conf::ServiceKey;
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead};

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;
/// Largest request rvsd reads (16 MiB: a 160,000-line `-R` file fits).
pub const MAX_REQUEST: usize = 16 << 20;
/// Largest reply rvsadm reads.
pub const MAX_REPLY: usize = 1 << 30;

/// What a client asks of rvsd.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Editing commands (`-A -E -D -C -a -e -d -Z --set`) applied as one
    /// transaction. The number with each command is its `-R` line, or 0
    /// for a command from argv (errors then carry no line number).
    Apply {
        cmds: Vec<(usize, AdmCommand)>,
        #[serde(default)]
        dry_run: bool,
    },
    /// `-R`: restore text, parsed by rvsd with the same parser rvsadm
    /// uses. Text is about a quarter of the size of the parsed commands
    /// in JSON, which keeps large restores under [`MAX_REQUEST`].
    Restore {
        text: String,
        #[serde(default)]
        dry_run: bool,
    },
    /// `-L`: the table with counters and rates.
    Get,
    /// `-c`: up to `max` connection entries of each worker.
    Conns { max: usize },
    /// `--timeout`.
    Timeouts,
    /// `--set` (also possible as an `Apply` command).
    SetTimeouts(Timeouts),
    /// `-Z [service]` (also possible as an `Apply` command).
    Zero(Option<ServiceKey>),
    /// `--workers`.
    Workers,
    /// `-S`: the table without counters.
    Save,
    /// `--drain [SECONDS]`: withdraw the routes, serve established
    /// connections until none is left or `timeout` seconds passed (unset:
    /// `shutdown.drain_timeout`, else 60), then exit.
    Drain { timeout: Option<u32> },
    /// `-L --daemon`: the sync daemons.
    Daemons,
    /// `--start-daemon`: start a master or a backup (answered with the
    /// daemons that run then).
    StartDaemon(rvs_conf::SyncConf),
    /// `--stop-daemon`.
    StopDaemon(rvs_conf::SyncRole),
}

/// The payload of a successful reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Applied(ApplyReport),
    Table(TableView),
    Conns(ConnsView),
    Timeouts(Timeouts),
    Workers(WorkersView),
    Draining(DrainReport),
    Daemons(Vec<crate::adm::view::DaemonView>),
}

/// A drain under way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainReport {
    /// Seconds it may still last.
    pub remaining: u64,
    /// Established connections now.
    pub established: u64,
    /// Whether routes are announced through BIRD at all.
    pub announcing: bool,
}

/// What a committed (or dry-run) transaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// Generation now published (unchanged when nothing changed).
    pub generation: u64,
    /// A new snapshot was published.
    pub published: bool,
    pub dry_run: bool,
    /// Commands in the transaction.
    pub commands: usize,
    /// The table after the transaction.
    pub services: usize,
    pub dests: usize,
    /// Every worker runs `generation` (or newer).
    pub synced: bool,
    /// The oldest generation a worker ran when the wait ended.
    pub workers_min_generation: u64,
    /// Time to apply the commands and build the snapshot, µs.
    pub build_us: u64,
    /// Time from the swap until every worker ran it, µs.
    pub sync_us: u64,
}

/// `-c`: the entries and how many there were in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnsView {
    pub conns: Vec<ConnView>,
    /// Entries in all tables (more than `conns.len()` when cut at `max`).
    pub total: usize,
    /// Workers that did not answer in time (their entries are missing).
    pub missing_workers: Vec<usize>,
}

/// A request line.
#[derive(Debug, Serialize, Deserialize)]
pub struct RequestMsg {
    pub version: u32,
    pub request: Request,
}

/// A reply line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyMsg {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<Reply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The ipvsadm-level error behind `error`, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adm: Option<AdmError>,
}

/// A failed request: the message, and the ipvsadm error if it is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyError {
    pub message: String,
    pub adm: Option<AdmError>,
}

impl ReplyError {
    pub fn msg(m: impl Into<String>) -> Self {
        ReplyError { message: m.into(), adm: None }
    }
}

impl From<AdmError> for ReplyError {
    fn from(e: AdmError) -> Self {
        ReplyError { message: e.to_string(), adm: Some(e) }
    }
}

impl ReplyMsg {
    pub fn from_result(r: Result<Reply, ReplyError>) -> Self {
        match r {
            Ok(v) => ReplyMsg { version: VERSION, ok: Some(v), error: None, adm: None },
            Err(e) => ReplyMsg { version: VERSION, ok: None, error: Some(e.message), adm: e.adm },
        }
    }

    /// One line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_else(|e| {
            // Cannot happen for our types; still answer something valid.
            format!("{{\"version\":{VERSION},\"error\":\"cannot encode reply: {e}\"}}").into_bytes()
        });
        v.push(b'\n');
        v
    }
}

/// Encode a request as one line.
pub fn request_line(req: &Request) -> Vec<u8> {
    let mut v = serde_json::to_vec(&RequestMsg { version: VERSION, request: req.clone() }).expect("requests encode");
    v.push(b'\n');
    v
}

/// Decode a request line. The version is checked before the request, so
/// a client speaking another version hears that, not a parse error.
pub fn decode_request(line: &[u8]) -> Result<Request, ReplyError> {
    #[derive(Deserialize)]
    struct Raw {
        version: u32,
        request: serde_json::Value,
    }
    let raw: Raw = serde_json::from_slice(line).map_err(|e| ReplyError::msg(format!("malformed message: {e}")))?;
    if raw.version != VERSION {
        return Err(ReplyError::msg(format!("unsupported protocol version {} (rvsd speaks {VERSION})", raw.version)));
    }
    serde_json::from_value(raw.request).map_err(|e| ReplyError::msg(format!("malformed request: {e}")))
}

/// Why a frame could not be read.
#[derive(Debug)]
pub enum FrameError {
    /// Longer than the limit; the rest of the line was not read.
    TooLarge(usize),
    Io(io::Error),
}

/// Read one newline-terminated frame of at most `max` bytes (newline
/// excluded). `Ok(None)` at a clean end of stream; a last line without
/// newline still counts as a frame.
pub fn read_frame(r: &mut impl BufRead, max: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let mut out = Vec::new();
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FrameError::Io(e)),
        };
        if buf.is_empty() {
            return Ok((!out.is_empty()).then_some(out));
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (buf.len(), false),
        };
        if out.len() + take > max {
            return Err(FrameError::TooLarge(max));
        }
        out.extend_from_slice(&buf[..take]);
        r.consume(take + usize::from(done));
        if done {
            return Ok(Some(out));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adm::parse_args;
    use std::io::Cursor;

    #[test]
    fn request_round_trip() {
        let cmd = parse_args(&["-a", "-t", "10.0.0.1:80", "-r", "192.168.0.10", "-m"].map(String::from)).unwrap();
        for req in [
            Request::Apply { cmds: vec![(0, cmd)], dry_run: false },
            Request::Restore { text: "-C\n".into(), dry_run: true },
            Request::Get,
            Request::Conns { max: 10 },
            Request::Zero(None),
            Request::Workers,
            Request::Drain { timeout: Some(30) },
        ] {
            let line = request_line(&req);
            assert_eq!(*line.last().unwrap(), b'\n');
            assert_eq!(decode_request(&line[..line.len() - 1]).unwrap(), req);
        }
        // The documented shape.
        assert_eq!(decode_request(br#"{"version":1,"request":"get"}"#).unwrap(), Request::Get);
        assert_eq!(
            decode_request(br#"{"version":1,"request":{"conns":{"max":5}}}"#).unwrap(),
            Request::Conns { max: 5 }
        );
    }

    #[test]
    fn malformed_and_foreign_requests() {
        for (bad, want) in [
            (&b"not json"[..], "malformed message"),
            (b"{\"version\":1}", "malformed message"),
            (b"{\"version\":1,\"request\":\"fly\"}", "malformed request"),
            (b"{\"version\":1,\"request\":{\"conns\":{\"max\":-1}}}", "malformed request"),
            (b"{\"version\":2,\"request\":\"get\"}", "unsupported protocol version 2"),
            (b"\xff\xfe", "malformed message"),
        ] {
            let e = decode_request(bad).unwrap_err();
            assert!(e.message.starts_with(want), "{:?}: {}", String::from_utf8_lossy(bad), e.message);
        }
    }

    #[test]
    fn frames_are_bounded() {
        let mut c = Cursor::new(b"one\ntwo\nlast".to_vec());
        assert_eq!(read_frame(&mut c, 10).unwrap().unwrap(), b"one");
        assert_eq!(read_frame(&mut c, 10).unwrap().unwrap(), b"two");
        assert_eq!(read_frame(&mut c, 10).unwrap().unwrap(), b"last");
        assert!(read_frame(&mut c, 10).unwrap().is_none());
        // Exactly at the limit is fine; one more byte is not.
        let mut c = Cursor::new(b"0123456789\n".to_vec());
        assert_eq!(read_frame(&mut c, 10).unwrap().unwrap().len(), 10);
        let mut c = std::io::BufReader::with_capacity(4, Cursor::new(vec![b'x'; 100]));
        assert!(matches!(read_frame(&mut c, 10), Err(FrameError::TooLarge(10))));
    }

    #[test]
    fn replies_carry_adm_errors() {
        let m = ReplyMsg::from_result(Err(AdmError::DestExists.at_line(3).into()));
        let line = m.to_line();
        let back: ReplyMsg = serde_json::from_slice(&line).unwrap();
        assert_eq!(back.error.as_deref(), Some("line 3: Destination already exists"));
        assert_eq!(back.adm.as_ref().map(AdmError::exit_code), Some(255));
        assert!(back.ok.is_none());
        let ok = ReplyMsg::from_result(Ok(Reply::Timeouts(Timeouts { tcp: 1, tcpfin: 2, udp: 3 })));
        let s = String::from_utf8(ok.to_line()).unwrap();
        assert_eq!(s, "{\"version\":1,\"ok\":{\"timeouts\":{\"tcp\":1,\"tcpfin\":2,\"udp\":3}}}\n");
    }
}
