//! HTTP and HTTPS GET checks (keepalived `HTTP_GET`, `SSL_GET`).
//!
//! One HTTP/1.0 request per check, the body read to the end (the server
//! closes it, no chunking in 1.0), then the status, the body's MD5 and
//! the `contains` text are checked. HTTPS uses rustls without verifying
//! the certificate: a real server's certificate names the service, not
//! the address the check reaches it by, and keepalived's `SSL_GET` does
//! not verify either.

use super::super::state::{Failure, Outcome};
use super::net::{self, failure};
use super::Deadline;
use md5::{Digest, Md5};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use rvs_conf::health::HealthCheck;
use std::io::{self, Read, Write};
use std::net::{IpAddr, TcpStream};
use std::sync::{Arc, OnceLock};

/// Most body a check reads: a health page, not a download.
const MAX_RESPONSE: usize = 4 << 20;

/// GET the check's path from `dst:port`, over TLS when `tls`.
pub fn get(c: &HealthCheck, dst: IpAddr, port: u16, tls: bool, dl: &Deadline) -> Outcome {
    let tcp = net::connect(dst, port, c.bind, dl)?;
    let host = match &c.host {
        Some(h) => h.clone(),
        None => match (dst, port) {
            (IpAddr::V4(a), 80) if !tls => a.to_string(),
            (IpAddr::V4(a), 443) if tls => a.to_string(),
            (IpAddr::V4(a), p) => format!("{a}:{p}"),
            (IpAddr::V6(a), 80) if !tls => format!("[{a}]"),
            (IpAddr::V6(a), 443) if tls => format!("[{a}]"),
            (IpAddr::V6(a), p) => format!("[{a}]:{p}"),
        },
    };
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: rvs-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        c.http_path()
    );
    let response = if tls {
        let name = match &c.host {
            Some(h) => ServerName::try_from(h.clone()).map_err(|e| Failure::Error(format!("TLS name {h}: {e}")))?,
            None => ServerName::IpAddress(dst.into()),
        };
        let conn = ClientConnection::new(tls_config(), name).map_err(|e| Failure::Error(format!("TLS: {e}")))?;
        exchange(StreamOwned::new(conn, tcp.try_clone().map_err(|e| failure(&e))?), &tcp, &request, dl)?
    } else {
        exchange(tcp.try_clone().map_err(|e| failure(&e))?, &tcp, &request, dl)?
    };
    judge(c, &response)
}

/// Send the request and read the whole response, each step bounded by
/// what is left of the deadline (set on `tcp`, the socket under `s`).
fn exchange<S: Read + Write>(mut s: S, tcp: &TcpStream, request: &str, dl: &Deadline) -> Result<Vec<u8>, Failure> {
    let io_err = |e: io::Error| match e.kind() {
        io::ErrorKind::InvalidData => Failure::Error(format!("TLS: {e}")),
        _ => failure(&e),
    };
    tcp.set_write_timeout(Some(dl.left()?)).map_err(|e| failure(&e))?;
    s.write_all(request.as_bytes()).map_err(io_err)?;
    s.flush().map_err(io_err)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 16 << 10];
    loop {
        tcp.set_read_timeout(Some(dl.left()?)).map_err(|e| failure(&e))?;
        match s.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // A TLS server that closes without close_notify: what came is
            // the response.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !out.is_empty() => return Ok(out),
            Err(e) => return Err(io_err(e)),
        }
        if out.len() > MAX_RESPONSE {
            return Err(Failure::Reply(format!("response longer than {MAX_RESPONSE} bytes")));
        }
    }
}

/// Whether a response means alive.
fn judge(c: &HealthCheck, response: &[u8]) -> Outcome {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    let head = match r.parse(response) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err(Failure::Reply("incomplete HTTP response".into())),
        Err(e) => return Err(Failure::Reply(format!("not an HTTP response: {e}"))),
    };
    let code = r.code.unwrap_or(0);
    if !c.status_ok(code) {
        return Err(Failure::Status(code));
    }
    let body = &response[head..];
    if let Some(want) = &c.digest {
        let got: String = Md5::digest(body).iter().map(|b| format!("{b:02x}")).collect();
        if &got != want {
            return Err(Failure::Digest);
        }
    }
    if let Some(text) = &c.contains {
        if !net::contains(body, text.as_bytes()) {
            return Err(Failure::Body);
        }
    }
    Ok(())
}

/// One client configuration for every HTTPS check.
fn tls_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let c = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("ring supports the default TLS versions")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth();
            Arc::new(c)
        })
        .clone()
}

/// Accepts any certificate, still checking the handshake's signatures
/// (so the TLS exchange itself is real).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_conf::health::CheckKind;
    use std::net::{Ipv4Addr, TcpListener};
    use std::time::Duration;

    const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// A server answering `n` requests with `reply`, returning the
    /// requests it read.
    fn serve(reply: &'static [u8], n: usize, tls: bool) -> (u16, std::thread::JoinHandle<Vec<String>>) {
        let l = TcpListener::bind((LO, 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        let cfg = tls.then(server_tls);
        let h = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..n {
                let (tcp, _) = l.accept().unwrap();
                let mut s: Box<dyn ReadWrite> = match &cfg {
                    Some(c) => Box::new(StreamOwned::new(rustls::ServerConnection::new(c.clone()).unwrap(), tcp)),
                    None => Box::new(tcp),
                };
                let mut req = Vec::new();
                let mut b = [0u8; 1024];
                while !req.ends_with(b"\r\n\r\n") {
                    let k = s.read(&mut b).unwrap();
                    assert!(k > 0);
                    req.extend_from_slice(&b[..k]);
                }
                seen.push(String::from_utf8(req).unwrap());
                s.write_all(reply).unwrap();
                s.flush().unwrap();
            }
            seen
        });
        (port, h)
    }

    trait ReadWrite: Read + Write {}
    impl<T: Read + Write> ReadWrite for T {}

    fn server_tls() -> Arc<rustls::ServerConfig> {
        let k = rcgen::generate_simple_self_signed(vec!["rs.example".into()]).unwrap();
        let cert = k.cert.der().clone();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(k.key_pair.serialize_der().into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let c = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        Arc::new(c)
    }

    fn check(kind: CheckKind) -> HealthCheck {
        HealthCheck { path: Some("/health".into()), ..HealthCheck::new(kind) }
    }

    const OK: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world\n";
    const UNAVAILABLE: &[u8] = b"HTTP/1.0 503 Service Unavailable\r\n\r\n";

    fn dl() -> Deadline {
        Deadline::after(Duration::from_secs(2))
    }

    #[test]
    fn http_status_digest_and_body() {
        let (port, h) = serve(OK, 4, false);
        let mut c = check(CheckKind::Http);
        assert_eq!(get(&c, LO, port, false, &dl()), Ok(()));
        // md5("hello world\n")
        c.digest = Some("6f5902ac237024bdd0c176cb93063dc4".into());
        c.contains = Some("world".into());
        assert_eq!(get(&c, LO, port, false, &dl()), Ok(()));
        c.digest = Some("00000000000000000000000000000000".into());
        assert_eq!(get(&c, LO, port, false, &dl()), Err(Failure::Digest));
        c.digest = None;
        c.contains = Some("planet".into());
        assert_eq!(get(&c, LO, port, false, &dl()), Err(Failure::Body));
        let reqs = h.join().unwrap();
        assert!(reqs[0].starts_with("GET /health HTTP/1.0\r\n"), "{}", reqs[0]);
        assert!(reqs[0].contains(&format!("Host: 127.0.0.1:{port}\r\n")), "{}", reqs[0]);
    }

    #[test]
    fn http_status_codes() {
        let (port, h) = serve(UNAVAILABLE, 2, false);
        let mut c = check(CheckKind::Http);
        assert_eq!(get(&c, LO, port, false, &dl()), Err(Failure::Status(503)));
        c.status = vec![200, 503];
        assert_eq!(get(&c, LO, port, false, &dl()), Ok(()));
        h.join().unwrap();
    }

    #[test]
    fn http_silence_is_a_timeout_and_garbage_a_bad_reply() {
        let l = TcpListener::bind((LO, 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        let c = check(CheckKind::Http);
        // Accepted by the kernel's backlog, never answered.
        let t0 = std::time::Instant::now();
        assert_eq!(get(&c, LO, port, false, &Deadline::after(Duration::from_millis(300))), Err(Failure::Timeout));
        assert!(t0.elapsed() < Duration::from_secs(2));
        drop(l);
        let (port, h) = serve(b"SSH-2.0-OpenSSH\r\n\r\n", 1, false);
        assert!(matches!(get(&c, LO, port, false, &dl()), Err(Failure::Reply(_))));
        h.join().unwrap();
    }

    #[test]
    fn https_with_a_self_signed_certificate() {
        let (port, h) = serve(OK, 2, true);
        let mut c = check(CheckKind::Https);
        c.contains = Some("hello".into());
        assert_eq!(get(&c, LO, port, true, &dl()), Ok(()));
        c.host = Some("rs.example".into());
        assert_eq!(get(&c, LO, port, true, &dl()), Ok(()));
        let reqs = h.join().unwrap();
        assert!(reqs[1].contains("Host: rs.example\r\n"));
    }
}
