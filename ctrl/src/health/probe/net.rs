//! TCP connect, UDP send/expect and ICMP echo checks.
//!
//! Plain kernel sockets in rvsd's network namespace: the kernel routes
//! them out of the exception-path interface of the dest's network, so a
//! check leaves from the director's own address and its answer comes
//! back through the data path to the kernel, as keepalived's checks do on
//! a kernel IPVS director.

use super::super::state::{Failure, Outcome};
use super::Deadline;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};

/// What an errno means for a check.
pub fn failure(e: &io::Error) -> Failure {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => Failure::Refused,
        Some(libc::EHOSTUNREACH | libc::ENETUNREACH | libc::ENETDOWN | libc::EHOSTDOWN) => Failure::Unreachable,
        Some(libc::ETIMEDOUT | libc::EAGAIN) => Failure::Timeout,
        _ => match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Failure::Timeout,
            io::ErrorKind::ConnectionRefused => Failure::Refused,
            _ => Failure::Error(e.to_string()),
        },
    }
}

fn socket(dst: IpAddr, ty: Type, proto: Protocol, bind: Option<IpAddr>) -> Result<Socket, Failure> {
    let dom = if dst.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
    let s = Socket::new(dom, ty, Some(proto)).map_err(|e| failure(&e))?;
    if let Some(b) = bind {
        s.bind(&SockAddr::from(SocketAddr::new(b, 0))).map_err(|e| Failure::Error(format!("bind {b}: {e}")))?;
    }
    Ok(s)
}

/// A TCP connection to `dst:port` within the deadline (the HTTP checks
/// go on over it).
pub fn connect(dst: IpAddr, port: u16, bind: Option<IpAddr>, dl: &Deadline) -> Result<TcpStream, Failure> {
    let s = socket(dst, Type::STREAM, Protocol::TCP, bind)?;
    let left = dl.left()?;
    s.connect_timeout(&SockAddr::from(SocketAddr::new(dst, port)), left).map_err(|e| failure(&e))?;
    let _ = s.set_nodelay(true);
    Ok(s.into())
}

/// keepalived `TCP_CHECK`: a connection is established, then closed.
pub fn tcp(dst: IpAddr, port: u16, bind: Option<IpAddr>, dl: &Deadline) -> Outcome {
    let s = connect(dst, port, bind, dl)?;
    let _ = s.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// keepalived `UDP_CHECK`: one datagram out, a reply (containing
/// `expect`, when given) back. An ICMP port unreachable shows up as a
/// refused `recv` on the connected socket and fails at once.
pub fn udp(dst: IpAddr, port: u16, bind: Option<IpAddr>, send: &[u8], expect: Option<&[u8]>, dl: &Deadline) -> Outcome {
    let s: UdpSocket = socket(dst, Type::DGRAM, Protocol::UDP, bind)?.into();
    s.connect(SocketAddr::new(dst, port)).map_err(|e| failure(&e))?;
    s.send(send).map_err(|e| failure(&e))?;
    let mut buf = vec![0u8; 65536];
    loop {
        s.set_read_timeout(Some(dl.left()?)).map_err(|e| failure(&e))?;
        let n = s.recv(&mut buf).map_err(|e| failure(&e))?;
        match expect {
            None => return Ok(()),
            Some(x) if contains(&buf[..n], x) => return Ok(()),
            // Another datagram may still be the answer.
            Some(_) if dl.left().is_ok() => continue,
            Some(_) => return Err(Failure::Reply("the reply lacks the expected text".into())),
        }
    }
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// Echo identifiers: each check its own, so concurrent pings of one
/// address never take each other's replies.
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// keepalived `PING_CHECK`: an ICMP or ICMPv6 echo request and its reply,
/// over a raw socket connected to the dest (the kernel then hands it only
/// that address's ICMP).
pub fn icmp(dst: IpAddr, bind: Option<IpAddr>, dl: &Deadline) -> Outcome {
    use etherparse::{IcmpEchoHeader, Icmpv4Header, Icmpv4Type, Icmpv6Header, Icmpv6Type};
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let echo = IcmpEchoHeader { id: (std::process::id() as u16) ^ (n >> 16) as u16, seq: n as u16 };
    let payload = *b"rvs-health-check";
    let (proto, request) = match dst {
        IpAddr::V4(_) => {
            let h = Icmpv4Header::with_checksum(Icmpv4Type::EchoRequest(echo), &payload);
            (Protocol::ICMPV4, [h.to_bytes().as_slice(), &payload].concat())
        }
        // The kernel fills in an ICMPv6 checksum on a raw socket.
        IpAddr::V6(_) => {
            let h = Icmpv6Header::new(Icmpv6Type::EchoRequest(echo));
            (Protocol::ICMPV6, [h.to_bytes().as_slice(), &payload].concat())
        }
    };
    let mut s = socket(dst, Type::RAW, proto, bind)?;
    s.connect(&SockAddr::from(SocketAddr::new(dst, 0))).map_err(|e| failure(&e))?;
    s.send(&request).map_err(|e| failure(&e))?;
    let mut buf = [0u8; 2048];
    loop {
        s.set_read_timeout(Some(dl.left()?)).map_err(|e| failure(&e))?;
        let n = s.read(&mut buf).map_err(|e| failure(&e))?;
        // An IPv4 raw socket reads the IP header too; IPv6 starts at ICMPv6.
        let icmp = match dst {
            IpAddr::V4(_) => {
                let ihl = usize::from(buf[0] & 0x0f) * 4;
                buf.get(ihl..n).unwrap_or_default()
            }
            IpAddr::V6(_) => &buf[..n],
        };
        let reply_type = if dst.is_ipv4() { 0 } else { 129 };
        let (id, seq) = (echo.id.to_be_bytes(), echo.seq.to_be_bytes());
        if icmp.len() >= 8 && icmp[0] == reply_type && icmp[1] == 0 && icmp[4..6] == id && icmp[6..8] == seq {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, TcpListener};
    use std::time::Duration;

    const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn dl(ms: u64) -> Deadline {
        Deadline::after(Duration::from_millis(ms))
    }

    #[test]
    fn tcp_connects_or_is_refused() {
        let l = TcpListener::bind((LO, 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        assert_eq!(tcp(LO, port, None, &dl(1000)), Ok(()));
        drop(l);
        assert_eq!(tcp(LO, port, None, &dl(1000)), Err(Failure::Refused));
        assert_eq!(tcp(LO, port, Some(LO), &dl(1000)), Err(Failure::Refused));
    }

    #[test]
    fn udp_expects_a_reply_and_sees_port_unreachable() {
        let srv = UdpSocket::bind((LO, 0)).unwrap();
        let port = srv.local_addr().unwrap().port();
        let echo = std::thread::spawn(move || {
            let mut b = [0u8; 64];
            for _ in 0..2 {
                let (n, from) = srv.recv_from(&mut b).unwrap();
                let mut reply = b"pong:".to_vec();
                reply.extend_from_slice(&b[..n]);
                srv.send_to(&reply, from).unwrap();
            }
        });
        assert_eq!(udp(LO, port, None, b"ping", Some(b"pong"), &dl(1000)), Ok(()));
        assert_eq!(
            udp(LO, port, None, b"ping", Some(b"nope"), &dl(300)),
            Err(Failure::Timeout),
            "a wrong reply is waited past"
        );
        echo.join().unwrap();
        // Nobody listens now: ICMP port unreachable → refused.
        assert_eq!(udp(LO, port, None, b"ping", None, &dl(1000)), Err(Failure::Refused));
    }

    #[test]
    fn icmp_echo_of_loopback() {
        // Needs a raw socket (root or CAP_NET_RAW), as rvsd has.
        assert_eq!(icmp(LO, None, &dl(1000)), Ok(()));
        assert_eq!(icmp("::1".parse().unwrap(), None, &dl(1000)), Ok(()));
    }
}
