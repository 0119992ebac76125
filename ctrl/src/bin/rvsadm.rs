//! rvsadm: ipvsadm's commands, sent to rvsd over its control socket.
//!
//! argv is parsed here (so usage errors need no daemon); edits go to rvsd
//! as one transaction, listings come back as data and are printed with
//! ipvsadm's formats. The socket is `--socket PATH`, else the
//! `control.socket` of the daemon's YAML given as `--config FILE`, else
//! `$RVSADM_SOCKET`, else `/run/rvs/rvsd.sock`.

#![forbid(unsafe_code)]

use rvs_ctrl::adm::cmd::{ListOpts, ListTarget};
use rvs_ctrl::adm::{self, format, AdmCommand, AdmError};
use rvs_ctrl::ctl::client::{self, CallError, DEFAULT_SOCKET};
use rvs_ctrl::ctl::proto::{Reply, Request};
use std::io::{Read, Write};
use std::path::PathBuf;

/// How a run ends: text for stdout, or an error and its exit status.
enum Fail {
    Adm(AdmError),
    /// A listing found nothing to list (`-L -t` of a service that is not
    /// there): ipvsadm's list functions print the error and exit 1.
    List(AdmError),
    /// rvsd cannot be reached: ipvsadm's "Can't initialize ipvs".
    NoDaemon(CallError),
    Other(String),
}

impl From<AdmError> for Fail {
    fn from(e: AdmError) -> Self {
        Fail::Adm(e)
    }
}

impl From<CallError> for Fail {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Daemon { adm: Some(a), .. } => Fail::Adm(a),
            e @ CallError::Connect(..) => Fail::NoDaemon(e),
            e => Fail::Other(e.to_string()),
        }
    }
}

fn main() {
    let mut argv: Vec<String> = std::env::args().collect();
    let prog = argv.remove(0);
    let prog = prog.rsplit('/').next().unwrap_or("rvsadm").to_string();
    if let Some(file) = take_import(&argv) {
        std::process::exit(import_keepalived(file));
    }
    let verbose = argv.iter().any(|w| w == "--verbose");
    argv.retain(|w| w != "--verbose");
    let ex = Exit { prog: &prog, verbose };
    let (socket, argv) = match take_socket(argv) {
        Ok(v) => v,
        Err(m) => ex.fail(Fail::Other(m)),
    };
    if let Some(t) = take_drain(&argv) {
        match t.map_err(Fail::Other).and_then(|t| drain(&socket, t)) {
            Ok(out) => print!("{out}"),
            Err(f) => ex.fail(f),
        }
        return;
    }
    match run(&prog, &socket, &argv) {
        Ok(out) => {
            let mut o = std::io::stdout().lock();
            // A closed pipe (`rvsadm -Ln | head`) is not an error.
            let _ = o.write_all(out.as_bytes());
            let _ = o.flush();
        }
        Err(f) => ex.fail(f),
    }
}

/// How errors are printed: ipvsadm's text and exit status, and with
/// `--verbose` (an rvsadm option) rvs's detail on a line of its own.
struct Exit<'a> {
    prog: &'a str,
    verbose: bool,
}

impl Exit<'_> {
    fn fail(&self, f: Fail) -> ! {
        let (text, detail, code) = match f {
            Fail::Adm(e) => (e.text(self.prog), e.detail(), e.exit_code()),
            Fail::List(e) => (e.text(self.prog), e.detail(), 1),
            // ipvsadm's words when it cannot talk to IPVS (`fail(2, ...)`
            // in its main), so monitoring that greps for them still fires.
            Fail::NoDaemon(e) => {
                let why = match &e {
                    CallError::Connect(_, io) => strerror(io),
                    _ => e.to_string(),
                };
                let text = format!(
                    "Can't initialize ipvs: {why}\nAre you sure that IP Virtual Server is built in the kernel or as module?"
                );
                (text, Some(e.to_string()), 2)
            }
            // Failures ipvsadm has no counterpart for: rvs's own words.
            Fail::Other(m) => (format!("{}: {m}", self.prog), None, 1),
        };
        eprintln!("{text}");
        if let Some(d) = detail.filter(|_| self.verbose) {
            eprintln!("{}: {d}", self.prog);
        }
        std::process::exit(code);
    }
}

/// An I/O error as C's strerror words it (Rust appends " (os error N)").
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Remove `--socket PATH` and `--config FILE` (also as `--opt=value`; rvsadm
/// options, not part of ipvsadm's grammar) from argv and resolve the
/// socket path: `--socket`, else the YAML's `control.socket`, else
/// `$RVSADM_SOCKET`, else the default.
fn take_socket(argv: Vec<String>) -> Result<(PathBuf, Vec<String>), String> {
    let (mut socket, mut config) = (None, None);
    let mut rest = Vec::with_capacity(argv.len());
    let mut it = argv.into_iter();
    while let Some(w) = it.next() {
        if w == "--" {
            rest.push(w);
            rest.extend(it.by_ref());
            break;
        }
        if w == "--socket" {
            socket = Some(it.next().ok_or("--socket: missing argument")?);
        } else if let Some(p) = w.strip_prefix("--socket=") {
            socket = Some(p.to_string());
        } else if w == "--config" {
            config = Some(it.next().ok_or("--config: missing argument")?);
        } else if let Some(p) = w.strip_prefix("--config=") {
            config = Some(p.to_string());
        } else {
            rest.push(w);
        }
    }
    let from_config = match (&socket, config) {
        (None, Some(f)) => {
            Some(rvs_conf::load_file(std::path::Path::new(&f)).map_err(|e| e.to_string())?.control.socket)
        }
        _ => None,
    };
    let socket = socket
        .or(from_config)
        .or_else(|| std::env::var("RVSADM_SOCKET").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| DEFAULT_SOCKET.to_string());
    Ok((PathBuf::from(socket), rest))
}

/// `--import-keepalived FILE` (also `=FILE`), an rvsadm-only command that
/// needs no daemon: `Some` when it is asked for, with the file or the
/// usage error.
fn take_import(argv: &[String]) -> Option<Result<String, String>> {
    let at = argv.iter().position(|w| w == "--import-keepalived" || w.starts_with("--import-keepalived="))?;
    let (file, used) = match argv[at].strip_prefix("--import-keepalived=") {
        Some(f) => (Some(f.to_string()), 1),
        None => (argv.get(at + 1).cloned(), 2),
    };
    Some(match file.filter(|f| !f.is_empty()) {
        None => Err("--import-keepalived: missing argument (the keepalived.conf to translate)".into()),
        Some(_) if argv.len() > used => Err("--import-keepalived takes no other options".into()),
        Some(f) => Ok(f),
    })
}

/// `--drain [SECONDS]` (also `=SECONDS`), an rvsadm-only command: `Some`
/// when it is asked for, with its timeout (if given) or the usage error.
fn take_drain(argv: &[String]) -> Option<Result<Option<u32>, String>> {
    let at = argv.iter().position(|w| w == "--drain" || w.starts_with("--drain="))?;
    let (secs, used) = match argv[at].strip_prefix("--drain=") {
        Some(s) => (Some(s.to_string()), 1),
        None => (argv.get(at + 1).cloned(), 1 + usize::from(argv.len() > at + 1)),
    };
    Some(if argv.len() > used {
        Err("--drain takes no other options".into())
    } else {
        secs.map(|s| s.parse::<u32>().map_err(|_| format!("--drain: {s:?} is not a number of seconds"))).transpose()
    })
}

/// Ask rvsd to drain; what it said, for the operator.
fn drain(socket: &std::path::Path, timeout: Option<u32>) -> Result<String, Fail> {
    let Reply::Draining(d) = client::call(socket, &Request::Drain { timeout })? else {
        return Err(unexpected());
    };
    let routes = if d.announcing { "routes withdrawn" } else { "no announce: section, so no route to withdraw" };
    Ok(format!(
        "rvsd is draining ({routes}): {} established connections; it exits when none is left, at the latest in {} s\n",
        d.established, d.remaining
    ))
}

/// Translate a keepalived.conf: the YAML on stdout, what was not
/// translated on stderr; the exit status (0 when something was
/// translated, 1 on an unreadable file, a syntax error or nothing to take).
fn import_keepalived(file: Result<String, String>) -> i32 {
    let fail = |m: &str| {
        eprintln!("rvsadm: {m}");
        1
    };
    let file = match file {
        Ok(f) => f,
        Err(m) => return fail(&m),
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => return fail(&format!("{file}: cannot read: {e}")),
    };
    let imp = match rvs_ctrl::keepalived::import(&text, &file) {
        Ok(i) => i,
        Err(m) => return fail(&m),
    };
    for w in &imp.warnings {
        eprintln!("rvsadm: {w}");
    }
    if imp.translated == 0 {
        return fail(&format!("{file}: nothing translated: no virtual_server that rvs can take"));
    }
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(imp.yaml.as_bytes());
    let _ = o.flush();
    0
}

fn run(prog: &str, socket: &std::path::Path, argv: &[String]) -> Result<String, Fail> {
    let cmd = adm::parse_args(argv)?;
    let call = |req: Request| client::call(socket, &req).map_err(Fail::from);
    match cmd {
        AdmCommand::Help => Ok(adm::help::usage(prog)),
        AdmCommand::Version => Ok(adm::help::version()),
        AdmCommand::Restore(o) => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| Fail::Other(format!("reading stdin: {e}")))?;
            // Parsed here, not by rvsd: a bad line is reported without a
            // daemon, and names resolve in rvsadm's process (the
            // operator's resolver), never in rvsd's.
            let cmds = adm::parse_restore(&text)?;
            let r = applied(call(Request::Apply { cmds, dry_run: o.dry_run })?)?;
            Ok(if o.dry_run {
                format!(
                    "dry run: {} commands OK; the table would have {} services and {} dests; nothing changed\n",
                    r.commands, r.services, r.dests
                )
            } else {
                String::new()
            })
        }
        AdmCommand::List(o) => list(&o, call),
        AdmCommand::StartDaemon(c) => match call(Request::StartDaemon(c))? {
            Reply::Daemons(_) => Ok(String::new()),
            _ => Err(unexpected()),
        },
        AdmCommand::StopDaemon(r) => match call(Request::StopDaemon(r))? {
            Reply::Daemons(_) => Ok(String::new()),
            _ => Err(unexpected()),
        },
        AdmCommand::Save(o) => {
            let Reply::Table(t) = call(Request::Save)? else {
                return Err(unexpected());
            };
            let services: Vec<_> = t.services.into_iter().map(|s| s.conf).collect();
            Ok(format::save(&services, &o, &format::System)?)
        }
        c if c.is_edit() => {
            applied(call(Request::Apply { cmds: vec![(0, c)], dry_run: false })?)?;
            Ok(String::new())
        }
        c => Err(Fail::Other(format!("'{}' is not supported", c.name()))),
    }
}

fn list(o: &ListOpts, call: impl Fn(Request) -> Result<Reply, Fail>) -> Result<String, Fail> {
    Ok(match o.target {
        ListTarget::Connections => match call(Request::Conns { max: 100_000 })? {
            Reply::Conns(c) => {
                if !c.missing_workers.is_empty() {
                    eprintln!("rvsadm: workers {:?} did not answer; their connections are missing", c.missing_workers);
                }
                format::connections(&c.conns, o, &format::System)
            }
            _ => return Err(unexpected()),
        },
        ListTarget::Timeout => match call(Request::Timeouts)? {
            Reply::Timeouts(t) => format::timeouts(&t, o),
            _ => return Err(unexpected()),
        },
        ListTarget::Workers => match call(Request::Workers)? {
            Reply::Workers(w) => adm::workers::format(&w, o.json),
            _ => return Err(unexpected()),
        },
        ListTarget::Daemon => match call(Request::Daemons)? {
            Reply::Daemons(d) => adm::daemon::format(&d, o.json),
            _ => return Err(unexpected()),
        },
        ListTarget::All | ListTarget::Service(_) => match call(Request::Get)? {
            Reply::Table(t) => format::list(&t, o, &format::System).map_err(Fail::List)?,
            _ => return Err(unexpected()),
        },
    })
}

fn applied(r: Reply) -> Result<rvs_ctrl::ctl::proto::ApplyReport, Fail> {
    match r {
        Reply::Applied(a) => {
            if a.published && !a.synced {
                eprintln!(
                    "rvsadm: warning: generation {} published but a worker still runs {}",
                    a.generation, a.workers_min_generation
                );
            }
            Ok(a)
        }
        _ => Err(unexpected()),
    }
}

fn unexpected() -> Fail {
    Fail::Other("unexpected reply from rvsd".into())
}

#[cfg(test)]
mod tests {
    use super::{take_import, take_socket};

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_socket_comes_from_the_option_then_the_daemons_yaml() {
        let dir = std::env::temp_dir().join(format!("rvsadm-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("rvsd.yaml");
        std::fs::write(&f, "control: { socket: /run/x/ctl.sock }\ninterfaces:\n  - { name: a, device: net_null0, addresses: [10.0.0.1/24] }\n")
            .unwrap();
        let (s, rest) = take_socket(argv(&format!("-Ln --config {}", f.display()))).unwrap();
        assert_eq!((s.to_str().unwrap(), rest), ("/run/x/ctl.sock", argv("-Ln")));
        let (s, _) = take_socket(argv(&format!("--config={} --socket /tmp/s -Ln", f.display()))).unwrap();
        assert_eq!(s.to_str().unwrap(), "/tmp/s", "--socket wins");
        // A bad file is an error with its location, not a silent default.
        std::fs::write(&f, "control: { sockt: /x }\n").unwrap();
        let e = take_socket(argv(&format!("--config {} -Ln", f.display()))).unwrap_err();
        assert!(e.contains("rvsd.yaml:1:"), "{e}");
        assert_eq!(take_socket(argv("-Ln --config")).unwrap_err(), "--config: missing argument");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn import_keepalived_is_taken_before_anything_else() {
        assert_eq!(take_import(&argv("-Ln")), None);
        assert_eq!(take_import(&argv("--import-keepalived k.conf")), Some(Ok("k.conf".into())));
        assert_eq!(take_import(&argv("--import-keepalived=k.conf")), Some(Ok("k.conf".into())));
        assert!(take_import(&argv("--import-keepalived")).unwrap().unwrap_err().contains("missing argument"));
        assert!(take_import(&argv("-Ln --import-keepalived k.conf")).unwrap().unwrap_err().contains("no other"));
    }
}
