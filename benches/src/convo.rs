//! The TCP conversations `rvs-gen` plays, as pure functions of the
//! packet just received (no per-connection table in the generator: every
//! reply is derived from the packet it answers, so the generator costs
//! the same at any number of connections, like dperf).
//!
//! One conversation, client C (our client port) to VIP through the
//! director, real server S (our server port):
//!
//! ```text
//! C -> S  SYN                    seq=x
//! S -> C  SYN+ACK                seq=y      ack=x+1
//! C -> S  ACK+PSH  request       seq=x+1    ack=y+1
//! S -> C  ACK+PSH+FIN response   seq=y+1    ack=x+1+req
//! C -> S  FIN+ACK                seq=x+1+req ack=y+2+resp
//! S -> C  ACK                    seq=y+2+resp ack=x+2+req   (C: done)
//! ```
//!
//! Six packets, three each way, both FINs: the shortest exchange that
//! walks the director's state machine through SYN_RECV, ESTABLISHED, the
//! closing states and CLOSE, with a request and a response (an
//! HTTP/1.0-style server that closes after answering).

use crate::flows;
use crate::frame::{self, tcp_flags as F, Endpoints, Mac, Seg, TcpView};

/// Payload sizes and our MACs.
#[derive(Debug, Clone, Copy)]
pub struct Conf {
    pub req_len: usize,
    pub resp_len: usize,
    pub vip: u32,
    pub vport: u16,
    pub client_mac: Mac,
    pub server_mac: Mac,
    /// The director's MAC on the client link (learned by ARP).
    pub director_mac: Mac,
}

/// What to do with a received segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send this segment back out of the port it came from.
    Reply { ep: Endpoints, seg: Seg, payload_len: usize },
    /// The client saw the last ACK of conversation `id`.
    Done(u32),
    /// A reset for conversation `id` (the director refused it).
    Reset(u32),
    /// Not part of a conversation we play.
    Ignore,
}

/// Frame length of a reply with `payload_len` bytes (padded to 60).
pub fn frame_len(payload_len: usize) -> usize {
    (frame::ETH_LEN + frame::IP_LEN + frame::TCP_LEN + payload_len).max(frame::MIN_FRAME)
}

/// The opening SYN of conversation `id`.
pub fn syn(c: &Conf, id: u32) -> (Endpoints, Seg) {
    let (src, sport) = flows::client(id);
    let ep = Endpoints { smac: c.client_mac, dmac: c.director_mac, src, sport, dst: c.vip, dport: c.vport };
    (ep, Seg { seq: id.wrapping_mul(2_654_435_761), ack: 0, flags: F::SYN })
}

fn back(v: &TcpView, my_mac: Mac) -> Endpoints {
    Endpoints { smac: my_mac, dmac: v.ep.smac, src: v.ep.dst, sport: v.ep.dport, dst: v.ep.src, dport: v.ep.sport }
}

/// The client's move on a segment from the director.
pub fn client(c: &Conf, v: &TcpView) -> Action {
    let Some(id) = flows::index(v.ep.dst, v.ep.dport) else {
        return Action::Ignore;
    };
    let f = v.seg.flags;
    let ep = back(v, c.client_mac);
    if f & F::RST != 0 {
        Action::Reset(id)
    } else if f & (F::SYN | F::ACK) == F::SYN | F::ACK {
        let seg = Seg { seq: v.seg.ack, ack: v.seg.seq.wrapping_add(1), flags: F::ACK | F::PSH };
        Action::Reply { ep, seg, payload_len: c.req_len }
    } else if f & F::FIN != 0 {
        let ack = v.seg.seq.wrapping_add(v.payload_len as u32 + 1);
        Action::Reply { ep, seg: Seg { seq: v.seg.ack, ack, flags: F::FIN | F::ACK }, payload_len: 0 }
    } else if f & F::ACK != 0 && v.payload_len == 0 {
        Action::Done(id)
    } else {
        Action::Ignore
    }
}

/// The real server's move on a segment from the director.
pub fn server(c: &Conf, v: &TcpView) -> Action {
    let f = v.seg.flags;
    let ep = back(v, c.server_mac);
    if f & (F::SYN | F::ACK | F::RST) == F::SYN {
        let seg = Seg { seq: !v.seg.seq, ack: v.seg.seq.wrapping_add(1), flags: F::SYN | F::ACK };
        Action::Reply { ep, seg, payload_len: 0 }
    } else if f & F::FIN != 0 {
        let ack = v.seg.seq.wrapping_add(v.payload_len as u32 + 1);
        Action::Reply { ep, seg: Seg { seq: v.seg.ack, ack, flags: F::ACK }, payload_len: 0 }
    } else if f & F::ACK != 0 && v.payload_len > 0 {
        let ack = v.seg.seq.wrapping_add(v.payload_len as u32);
        let seg = Seg { seq: v.seg.ack, ack, flags: F::ACK | F::PSH | F::FIN };
        Action::Reply { ep, seg, payload_len: c.resp_len }
    } else {
        Action::Ignore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf() -> Conf {
        Conf {
            req_len: 16,
            resp_len: 100,
            vip: 0xac19_fe64,
            vport: 80,
            client_mac: [2, 0, 0, 0, 0, 1],
            server_mac: [2, 0, 0, 0, 0, 2],
            director_mac: [2, 0, 0, 0, 0, 3],
        }
    }

    /// Send a reply through a "wire" that only swaps MACs (as testpmd io
    /// would, with our two ports facing each other) and parse it.
    fn wire(a: Action) -> TcpView {
        let Action::Reply { ep, seg, payload_len } = a else { panic!("expected a reply, got {a:?}") };
        let mut b = vec![0u8; 256];
        let n = frame::tcp(&mut b, &ep, seg, payload_len, frame::MIN_FRAME);
        assert_eq!(n, frame_len(payload_len));
        frame::parse_tcp(&b[..n]).unwrap()
    }

    #[test]
    fn a_whole_conversation_through_a_plain_wire() {
        let c = conf();
        let (ep, seg) = syn(&c, 12345);
        let mut b = vec![0u8; 128];
        let n = frame::tcp(&mut b, &ep, seg, 0, frame::MIN_FRAME);
        let syn = frame::parse_tcp(&b[..n]).unwrap();
        let synack = wire(server(&c, &syn));
        assert_eq!(synack.seg.flags, F::SYN | F::ACK);
        assert_eq!(synack.seg.ack, seg.seq.wrapping_add(1));
        let req = wire(client(&c, &synack));
        assert_eq!((req.payload_len, req.seg.seq), (16, seg.seq.wrapping_add(1)));
        let resp = wire(server(&c, &req));
        assert_eq!(resp.seg.flags, F::ACK | F::PSH | F::FIN);
        assert_eq!(resp.payload_len, 100);
        let fin = wire(client(&c, &resp));
        assert_eq!(fin.seg.flags, F::FIN | F::ACK);
        assert_eq!(fin.seg.ack, resp.seg.seq.wrapping_add(101));
        let last = wire(server(&c, &fin));
        assert_eq!(last.seg.flags, F::ACK);
        assert_eq!(last.seg.ack, fin.seg.seq.wrapping_add(1));
        assert_eq!(client(&c, &last), Action::Done(12345));
    }

    #[test]
    fn strangers_and_resets() {
        let c = conf();
        let (mut ep, _) = syn(&c, 7);
        std::mem::swap(&mut ep.src, &mut ep.dst);
        std::mem::swap(&mut ep.sport, &mut ep.dport);
        let mut b = vec![0u8; 128];
        let n = frame::tcp(&mut b, &ep, Seg { seq: 1, ack: 1, flags: F::RST | F::ACK }, 0, 60);
        assert_eq!(client(&c, &frame::parse_tcp(&b[..n]).unwrap()), Action::Reset(7));
        ep.dport = 80;
        let n = frame::tcp(&mut b, &ep, Seg { seq: 1, ack: 1, flags: F::ACK }, 0, 60);
        assert_eq!(client(&c, &frame::parse_tcp(&b[..n]).unwrap()), Action::Ignore);
    }
}
