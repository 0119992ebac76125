//! The Prometheus endpoint's HTTP server: one thread of its own, `GET
//! /metrics` rendered from Control at each request ([`metrics::render`]),
//! so a slow or hostile scraper never touches a worker.

use crate::ctl::control::Control;
use crate::ctl::metrics;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use tiny_http::{Header, Method, Response, Server};

/// A running endpoint; [`MetricsServer::stop`] ends it.
pub struct MetricsServer {
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
    addr: SocketAddr,
}

impl MetricsServer {
    /// Listen on `addr` (port 0: any) and serve until stopped.
    pub fn start(addr: SocketAddr, control: Arc<Control>) -> Result<MetricsServer, String> {
        let server = Arc::new(Server::http(addr).map_err(|e| format!("metrics listen {addr}: {e}"))?);
        let addr = server.server_addr().to_ip().ok_or_else(|| format!("metrics listen {addr}: not an IP socket"))?;
        let s = server.clone();
        let thread = std::thread::Builder::new()
            .name("rvs-metrics".into())
            .spawn(move || {
                for req in s.incoming_requests() {
                    let resp = answer(&control, req.method(), req.url());
                    // A scraper that went away is its own problem.
                    let _ = req.respond(resp);
                }
            })
            .map_err(|e| format!("metrics thread: {e}"))?;
        Ok(MetricsServer { server, thread: Some(thread), addr })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stop(mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header(name: &str, value: &str) -> Header {
    // Both are ASCII constants of this module.
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn answer(control: &Control, method: &Method, url: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    let path = url.split('?').next().unwrap_or("");
    if path != "/metrics" {
        return Response::from_string("rvsd serves /metrics only\n").with_status_code(404);
    }
    if !matches!(method, Method::Get | Method::Head) {
        return Response::from_string("GET /metrics\n").with_status_code(405).with_header(header("Allow", "GET, HEAD"));
    }
    match control.metrics_sample() {
        Ok(s) => Response::from_string(metrics::render(&s)).with_header(header("Content-Type", metrics::CONTENT_TYPE)),
        Err(e) => Response::from_string(format!("{}\n", e.message)).with_status_code(503),
    }
}
