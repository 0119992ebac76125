//! The control socket: a Unix stream socket served by plain threads.
//!
//! One accept thread, and a thread per client (at most [`MAX_CLIENTS`]):
//! requests are rare and short, so threads are simpler than a poll loop
//! and a slow client only ever blocks itself. Nothing here runs on a
//! worker lcore, and a malformed or oversized message only earns its
//! sender an error reply: the data path never sees it.
//!
//! The socket is created mode 0600 (root-only, like IPVS's netlink
//! interface, which needs CAP_NET_ADMIN) in a directory created if
//! missing. A socket file left by a daemon that died is replaced; one
//! that still answers belongs to a live rvsd and is left alone.

use crate::ctl::proto::{self, FrameError, ReplyError, ReplyMsg, MAX_REQUEST};
use std::io::{self, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Clients served at once; more get an error and are closed.
pub const MAX_CLIENTS: usize = 32;
/// A client silent this long is disconnected.
const IDLE: Duration = Duration::from_secs(300);

/// What answers requests (rvsd's Control, or a test double).
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, req: proto::Request) -> Result<proto::Reply, ReplyError>;
}

/// A running control socket.
pub struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// Bind `path` and serve it with `handler`.
    pub fn start(path: &Path, handler: Arc<dyn Handler>) -> io::Result<Server> {
        let listener = bind(path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        let accept = std::thread::Builder::new()
            .name("rvs-ctl-accept".into())
            .spawn(move || accept_loop(listener, handler, st))?;
        Ok(Server { path: path.to_path_buf(), stop, accept: Some(accept) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stop accepting and remove the socket file. Clients being served
    /// finish their current request; the handler refuses new ones once
    /// the daemon is shutting down.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the blocking accept.
        let _ = UnixStream::connect(&self.path);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.accept.is_some() {
            self.shutdown();
        }
    }
}

/// Create the directory, replace a stale socket, bind, chmod 0600.
fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{} is served by another running rvsd", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket; not removing it", path.display()),
            ))
        }
        Err(_) => {}
    }
    let l = UnixListener::bind(path)?;
    // With the usual umask the socket is born without group/other write
    // permission, so nobody else can connect before this narrows it.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

fn accept_loop(listener: UnixListener, handler: Arc<dyn Handler>, stop: Arc<AtomicBool>) {
    let clients = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let Ok(mut stream) = conn else { continue };
        if clients.fetch_add(1, Ordering::AcqRel) >= MAX_CLIENTS {
            clients.fetch_sub(1, Ordering::AcqRel);
            let m =
                ReplyMsg::from_result(Err(ReplyError::msg(format!("too many control clients (max {MAX_CLIENTS})"))));
            let _ = stream.write_all(&m.to_line());
            continue;
        }
        let (h, c) = (handler.clone(), clients.clone());
        let spawned = std::thread::Builder::new().name("rvs-ctl-client".into()).spawn(move || {
            serve(stream, &*h);
            c.fetch_sub(1, Ordering::AcqRel);
        });
        if spawned.is_err() {
            clients.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Answer requests on one connection until it closes or misbehaves.
pub fn serve(stream: UnixStream, handler: &dyn Handler) {
    let _ = stream.set_read_timeout(Some(IDLE));
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut r = BufReader::new(stream);
    loop {
        let reply = match proto::read_frame(&mut r, MAX_REQUEST) {
            Ok(None) | Err(FrameError::Io(_)) => return,
            Ok(Some(line)) if line.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(Some(line)) => ReplyMsg::from_result(proto::decode_request(&line).and_then(|req| handler.handle(req))),
            Err(FrameError::TooLarge(max)) => {
                // The rest of the line is unread: answer and hang up
                // rather than parse the tail as a new request.
                let m = ReplyMsg::from_result(Err(ReplyError::msg(format!("message too large (max {max} bytes)"))));
                let _ = out.write_all(&m.to_line());
                return;
            }
        };
        if out.write_all(&reply.to_line()).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adm::view::Timeouts;
    use crate::ctl::client::{self, CallError};
    use crate::ctl::proto::{Reply, Request};
    use std::io::{BufRead, Read};

    struct Echo;
    impl Handler for Echo {
        fn handle(&self, req: Request) -> Result<Reply, ReplyError> {
            match req {
                Request::Timeouts => Ok(Reply::Timeouts(Timeouts { tcp: 1, tcpfin: 2, udp: 3 })),
                _ => Err(ReplyError::msg("nope")),
            }
        }
    }

    fn sock(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("rvs-ctl-test-{}-{name}/sub/rvsd.sock", std::process::id()))
    }

    fn raw(path: &Path, bytes: &[u8]) -> String {
        let mut s = UnixStream::connect(path).unwrap();
        s.write_all(bytes).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_replies_errors_and_survives_garbage() {
        let path = sock("a");
        let srv = Server::start(&path, Arc::new(Echo)).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            client::call(&path, &Request::Timeouts).unwrap(),
            Reply::Timeouts(Timeouts { tcp: 1, tcpfin: 2, udp: 3 })
        );
        match client::call(&path, &Request::Get) {
            Err(CallError::Daemon { message, .. }) => assert_eq!(message, "nope"),
            other => panic!("{other:?}"),
        }
        // Garbage, then a valid request on the same connection.
        let out = raw(&path, b"{{{\n\n{\"version\":1,\"request\":\"timeouts\"}\n");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[0].contains("\"error\":\"malformed message"), "{out}");
        assert!(lines[1].contains("\"ok\""), "{out}");
        // Oversized: an error reply, then the connection closes.
        let mut big = vec![b'x'; MAX_REQUEST + 10];
        big.push(b'\n');
        let out = raw(&path, &big);
        assert!(out.contains("message too large"), "{out}");
        // Still serving.
        assert!(client::call(&path, &Request::Timeouts).is_ok());
        srv.stop();
        assert!(!path.exists());
    }

    #[test]
    fn stale_sockets_are_replaced_live_ones_kept() {
        let path = sock("b");
        let srv = Server::start(&path, Arc::new(Echo)).unwrap();
        let e = Server::start(&path, Arc::new(Echo)).err().unwrap();
        assert!(e.to_string().contains("another running rvsd"), "{e}");
        // A socket file nobody listens on (a crashed daemon's).
        drop(srv);
        let l = UnixListener::bind(&path).unwrap();
        drop(l);
        assert!(path.exists());
        let srv = Server::start(&path, Arc::new(Echo)).unwrap();
        assert!(client::call(&path, &Request::Timeouts).is_ok());
        srv.stop();
        // Not a socket: refused, left alone.
        std::fs::write(&path, "x").unwrap();
        assert!(Server::start(&path, Arc::new(Echo)).is_err());
        assert!(path.exists());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn many_clients_at_once() {
        let path = sock("c");
        let srv = Server::start(&path, Arc::new(Echo)).unwrap();
        // Idle connections hold their slot; the others are still served.
        // (4 + 4 clients: a closed client's slot is freed when its thread
        // ends, which on a loaded machine lags the next connect; far fewer
        // than MAX_CLIENTS keeps that lag from filling the table.)
        let idle: Vec<_> = (0..4).map(|_| UnixStream::connect(&path).unwrap()).collect();
        let ts: Vec<_> = (0..4)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || {
                    (0..20).try_for_each(|i| {
                        client::call(&p, &Request::Timeouts).map(drop).map_err(|e| format!("call {i}: {e}"))
                    })
                })
            })
            .collect();
        for t in ts {
            // Say which call failed and why, should this ever fail.
            t.join().unwrap().unwrap();
        }
        let mut r = BufReader::new(UnixStream::connect(&path).unwrap());
        r.get_mut().write_all(b"{\"version\":1,\"request\":\"timeouts\"}\n").unwrap();
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(line.contains("\"ok\""));
        drop(idle);
        srv.stop();
    }
}
