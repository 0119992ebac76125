//! Fuzz target bodies over the [`Harness`], as plain functions so that
//! libFuzzer (nightly, `fuzz/`) and the corpus replay tests (stable) run
//! the same code. Each panics when an invariant breaks.
//!
//! Inputs are byte strings decoded with [`Bytes`], which reads zeros past
//! the end: every input is valid, and the fuzzer's mutations of the first
//! bytes (the choices) and of the rest (the packets) both matter.

use super::*;
use etherparse::PacketBuilder;

/// A cursor over fuzz input that yields zeros once exhausted.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    /// Up to `n` bytes (fewer at the end of the input).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.data.split_at(n.min(self.data.len()));
        self.data = b;
        a
    }
}

fn fail(what: &str, e: String) -> ! {
    panic!("testkit invariant broken ({what}): {e}")
}

/// One's-complement checksum of `b` with `acc` added (RFC 1071).
fn csum(b: &[u8], acc: u64) -> u16 {
    let mut acc = acc;
    let mut it = b.chunks_exact(2);
    for w in &mut it {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = it.remainder() {
        acc += u64::from(*last) << 8;
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Recompute the IPv4 header checksum of an Ethernet frame, as far as its
/// IHL and length allow.
pub fn fix_ip_csum(f: &mut [u8]) {
    if f.len() < 34 || f[12..14] != [0x08, 0x00] {
        return;
    }
    let ihl = (usize::from(f[14] & 0x0f) * 4).clamp(20, f.len() - 14);
    f[24..26].fill(0);
    let c = csum(&f[14..14 + ihl], 0);
    f[24..26].copy_from_slice(&c.to_be_bytes());
}

/// Recompute the TCP/UDP/ICMP checksum of an Ethernet/IPv4 frame over the
/// segment its IP header describes (bounded by the frame).
pub fn fix_l4_csum(f: &mut [u8]) {
    if f.len() >= 54 && f[12..14] == [0x86, 0xdd] {
        return fix_l4_csum6(f);
    }
    if f.len() < 34 || f[12..14] != [0x08, 0x00] {
        return;
    }
    let ihl = usize::from(f[14] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([f[16], f[17]])).min(f.len() - 14);
    if ihl < 20 || total < ihl {
        return;
    }
    let (l4, end) = (14 + ihl, 14 + total);
    let seg_len = (end - l4) as u64;
    let pseudo = f[26..34].chunks_exact(2).map(|w| u64::from(u16::from_be_bytes([w[0], w[1]]))).sum::<u64>();
    let off = match f[23] {
        6 if seg_len >= 20 => 16,
        17 if seg_len >= 8 => 6,
        1 if seg_len >= 4 => 2,
        _ => return,
    };
    f[l4 + off..l4 + off + 2].fill(0);
    let acc = if f[23] == 1 { 0 } else { pseudo + u64::from(f[23]) + seg_len };
    let mut c = csum(&f[l4..end], acc);
    if f[23] == 17 && c == 0 {
        c = 0xffff;
    }
    f[l4 + off..l4 + off + 2].copy_from_slice(&c.to_be_bytes());
}

/// [`fix_l4_csum`] of an IPv6 frame whose TCP, UDP or ICMPv6 header
/// follows the fixed header directly (no extension headers), so the
/// fuzzer's IPv6 frames reach the service path and ND.
fn fix_l4_csum6(f: &mut [u8]) {
    let next = f[20];
    let end = (54 + usize::from(u16::from_be_bytes([f[18], f[19]]))).min(f.len());
    let seg_len = end - 54;
    let off = match next {
        6 if seg_len >= 20 => 16,
        17 if seg_len >= 8 => 6,
        58 if seg_len >= 4 => 2,
        _ => return,
    };
    let pseudo = f[22..54].chunks_exact(2).map(|w| u64::from(u16::from_be_bytes([w[0], w[1]]))).sum::<u64>();
    f[54 + off..54 + off + 2].fill(0);
    let mut c = csum(&f[54..end], pseudo + u64::from(next) + seg_len as u64);
    if next == 17 && c == 0 {
        c = 0xffff;
    }
    f[54 + off..54 + off + 2].copy_from_slice(&c.to_be_bytes());
}

/// The two endpoints of a crafted packet.
#[derive(Debug, Clone, Copy)]
pub struct Ends {
    pub src: [u8; 4],
    pub sport: u16,
    pub dst: [u8; 4],
    pub dport: u16,
}

/// A TCP segment in an Ethernet frame, valid checksums. `flags`: TCP flag
/// bits (FIN 1, SYN 2, RST 4, PSH 8, ACK 16). `options`: raw TCP options,
/// padded with EOL to a multiple of 4 (at most 40 bytes are used).
pub fn tcp_frame(dmac: Mac, e: Ends, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let Ends { src, sport, dst, dport } = e;
    let mut t = PacketBuilder::ethernet2([2, 0, 0, 0, 9, 9], dmac).ipv4(src, dst, 64).tcp(sport, dport, 1000, 65535);
    if flags & 0x01 != 0 {
        t = t.fin();
    }
    if flags & 0x02 != 0 {
        t = t.syn();
    }
    if flags & 0x04 != 0 {
        t = t.rst();
    }
    if flags & 0x08 != 0 {
        t = t.psh();
    }
    if flags & 0x10 != 0 {
        t = t.ack(2000);
    }
    if !options.is_empty() {
        let mut o = options[..options.len().min(40)].to_vec();
        o.resize(o.len().div_ceil(4) * 4, 0);
        t = t.options_raw(&o).expect("at most 40 bytes, a multiple of 4");
    }
    let mut b = Vec::new();
    t.write(&mut b, payload).expect("writing to a Vec");
    b
}

/// A UDP datagram in an Ethernet frame, valid checksums.
pub fn udp_frame(dmac: Mac, e: Ends, payload: &[u8]) -> Vec<u8> {
    let Ends { src, sport, dst, dport } = e;
    let mut b = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 9, 9], dmac)
        .ipv4(src, dst, 64)
        .udp(sport, dport)
        .write(&mut b, payload)
        .expect("writing to a Vec");
    b
}

/// Decode a time step (ticks) from a 3-bit code: small steps mostly, and
/// at 7 long enough for every connection of the lab to expire (its
/// timeouts are short, see [`LAB_YAML`]).
fn ticks_of(code: u8) -> u64 {
    match code & 7 {
        7 => 31 * HZ,
        c => u64::from(c) * u64::from(c) * 4,
    }
}

/// `frames` target: arbitrary frames through the harness.
///
/// Byte 0: bit 0 → 2 workers (else 1). Then records until the input ends:
/// a control byte (bit 0: received on the server side; bit 1: by worker
/// 1; bit 2: destination MAC forced to our port's; bit 3: IPv4 header
/// checksum fixed; bit 4: L4 checksum fixed; bits 5-7: time passing
/// before it, see `ticks_of`), a length byte (255: a 16-bit length
/// follows), and the frame.
pub fn frames(data: &[u8]) {
    let mut b = Bytes::new(data);
    let mut h = Harness::new(1 + usize::from(b.u8() & 1));
    let mut n = 0;
    while !b.is_empty() && n < 64 {
        n += 1;
        let ctl = b.u8();
        let mut len = usize::from(b.u8());
        if len == 255 {
            len = usize::from(b.u16());
        }
        let mut f = b.take(len).to_vec();
        let port = u16::from(ctl & 1);
        if ctl & 4 != 0 && f.len() >= 6 {
            f[..6].copy_from_slice(&h.snap.ifaces[usize::from(port)].mac);
        }
        if ctl & 8 != 0 {
            fix_ip_csum(&mut f);
        }
        if ctl & 16 != 0 {
            fix_l4_csum(&mut f);
        }
        let t = ticks_of(ctl >> 5);
        if t > 0 {
            h.advance(t).unwrap_or_else(|e| fail("time", e));
        }
        h.send_on(usize::from(ctl >> 1 & 1), port, f).unwrap_or_else(|e| fail("frame", e));
    }
    h.advance(ticks_of(7)).unwrap_or_else(|e| fail("final expiry", e));
}

/// A forwarding mode of the lab, by its VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Nat,
    Dr,
    Tun,
    FullNat,
    /// The persistent port-0 NAT service.
    Persist,
}

impl Mode {
    pub const ALL: [Mode; 5] = [Mode::Nat, Mode::Dr, Mode::Tun, Mode::FullNat, Mode::Persist];
    pub fn vip(self) -> [u8; 4] {
        match self {
            Mode::Nat => VIP_NAT,
            Mode::Dr => VIP_DR,
            Mode::Tun => VIP_TUN,
            Mode::FullNat => VIP_FULLNAT,
            Mode::Persist => VIP_PERSIST,
        }
    }
    /// Replies pass through the director (NAT, FULLNAT).
    pub fn two_way(self) -> bool {
        matches!(self, Mode::Nat | Mode::FullNat | Mode::Persist)
    }
}

/// Clients a flow can come from: learned, on-link but unknown (ARP), and
/// behind the gateway.
const CLIENTS: [[u8; 4]; 4] = [CIP, [172, 25, 254, 201], [10, 1, 2, 3], [198, 51, 100, 7]];

/// A connection opened through the harness, as both ends see it.
#[derive(Debug, Clone, Copy)]
pub struct Flow {
    pub mode: Mode,
    pub tcp: bool,
    pub cip: [u8; 4],
    pub cport: u16,
    pub vport: u16,
    /// Where the director sent the request (from its first packet out).
    pub rip: [u8; 4],
    pub rport: u16,
    /// The server-side destination of replies: CIP:cport for NAT,
    /// LIP:lport for FULLNAT.
    pub reply_to: ([u8; 4], u16),
    /// Worker that receives this flow's packets (RSS stand-in).
    pub rx_worker: usize,
}

impl Flow {
    /// The next packet of the flow: from the client (`reply` false) or
    /// from the real server.
    pub fn packet(&self, reply: bool, flags: u8, options: &[u8], payload: &[u8]) -> (u16, Vec<u8>) {
        let vip = self.mode.vip();
        let (port, dmac, src, sport, dst, dport) = if reply {
            (SERVER, SERVER_MAC, self.rip, self.rport, self.reply_to.0, self.reply_to.1)
        } else {
            (CLIENT, CLIENT_MAC, self.cip, self.cport, vip, self.vport)
        };
        let ends = Ends { src, sport, dst, dport };
        let f = if self.tcp { tcp_frame(dmac, ends, flags, options, payload) } else { udp_frame(dmac, ends, payload) };
        (port, f)
    }
}

/// Send a frame of flow `fl` and fail on a broken invariant.
fn send_flow(h: &mut Harness, fl: &Flow, port: u16, f: Vec<u8>) -> Step {
    h.send_on(fl.rx_worker, port, f).unwrap_or_else(|e| fail("flow packet", e))
}

/// Open a connection: TCP handshake up to `stage` (0: SYN; 1: + SYN-ACK
/// from the server; 2: + the client's ACK), UDP one datagram each way.
pub fn open(h: &mut Harness, mode: Mode, tcp: bool, client: usize, cport: u16, stage: u8, rx: usize) -> Flow {
    let vport = if tcp { TCP_PORT } else { UDP_PORT };
    let (rs_port, cip) = (if tcp { RS_TCP_PORT } else { RS_UDP_PORT }, CLIENTS[client % CLIENTS.len()]);
    let mut fl = Flow {
        mode,
        tcp,
        cip,
        cport,
        vport,
        rip: RS1,
        rport: if matches!(mode, Mode::Nat | Mode::FullNat) { rs_port } else { vport },
        reply_to: (cip, cport),
        rx_worker: rx,
    };
    let (port, f) = fl.packet(false, 0x02, &[2, 4, 5, 180], b"");
    let step = send_flow(h, &fl, port, f);
    // Learn the translation from what left on the server side.
    for s in step.sent.iter().filter(|s| s.port_id == SERVER) {
        if let Ok(p) = etherparse::SlicedPacket::from_ethernet(&s.frame.bytes) {
            if let (Some(etherparse::NetSlice::Ipv4(ip)), Some(t)) = (&p.net, &p.transport) {
                let (sport, dport) = match t {
                    etherparse::TransportSlice::Tcp(t) => (t.source_port(), t.destination_port()),
                    etherparse::TransportSlice::Udp(u) => (u.source_port(), u.destination_port()),
                    _ => continue,
                };
                fl.rip = ip.header().destination();
                fl.rport = dport;
                if mode == Mode::FullNat {
                    fl.reply_to = (ip.header().source(), sport);
                }
            }
        }
    }
    if !tcp {
        if mode.two_way() {
            let (port, f) = fl.packet(true, 0, &[], b"answer");
            send_flow(h, &fl, port, f);
        }
        return fl;
    }
    if stage >= 1 && mode.two_way() {
        let (port, f) = fl.packet(true, 0x12, &[2, 4, 5, 180], b"");
        send_flow(h, &fl, port, f);
    }
    if stage >= 2 {
        let (port, f) = fl.packet(false, 0x10, &[], b"");
        send_flow(h, &fl, port, f);
    }
    fl
}

/// The next packet of `fl`, mutated as the bytes say.
///
/// Byte 0: bit 0 reply direction; bit 1 TCP flags from the next byte
/// (else ACK|PSH); bit 2 raw TCP options (length byte, bytes); bit 3 a
/// payload (length byte, filled with 'x'). Byte 1 chooses field
/// overrides, each reading its value from the following bytes: bit 0 TCP
/// data offset (nibble), bit 1 IHL (nibble), bit 2 UDP length (16 bits),
/// bit 3 IP total length (16 bits), bit 4 TTL, bit 5 fragment field (16
/// bits), bit 6 truncation of the frame after the IP header (byte), bit 7
/// Ethernet padding (byte). Byte 2: bit 0 leave the IP checksum as the
/// mutation left it, bit 1 the same for the L4 checksum, bit 2 corrupt
/// the L4 checksum.
pub fn mutated(fl: &Flow, b: &mut Bytes) -> (u16, Vec<u8>) {
    let how = b.u8();
    let flags = if how & 2 != 0 { b.u8() } else { 0x18 };
    let opts = if how & 4 != 0 {
        let n = usize::from(b.u8() % 41);
        b.take(n).to_vec()
    } else {
        Vec::new()
    };
    let payload = if how & 8 != 0 { vec![b'x'; usize::from(b.u8()) * 8] } else { b"GET /".to_vec() };
    let (port, mut f) = fl.packet(how & 1 != 0, flags, &opts, &payload);
    let set = b.u8();
    let l4 = 14 + usize::from(f[14] & 0x0f) * 4;
    if set & 1 != 0 && fl.tcp {
        f[l4 + 12] = (b.u8() << 4) | (f[l4 + 12] & 0x0f);
    }
    if set & 2 != 0 {
        f[14] = 0x40 | (b.u8() & 0x0f);
    }
    if set & 4 != 0 && !fl.tcp {
        let v = b.u16();
        f[l4 + 4..l4 + 6].copy_from_slice(&v.to_be_bytes());
    }
    if set & 8 != 0 {
        let v = b.u16();
        f[16..18].copy_from_slice(&v.to_be_bytes());
    }
    if set & 16 != 0 {
        f[22] = b.u8();
    }
    if set & 32 != 0 {
        let v = b.u16();
        f[20..22].copy_from_slice(&v.to_be_bytes());
    }
    if set & 64 != 0 {
        let keep = (34 + usize::from(b.u8())).min(f.len());
        f.truncate(keep);
        if set & 8 == 0 {
            let total = (keep - 14) as u16;
            f[16..18].copy_from_slice(&total.to_be_bytes());
        }
    }
    if set & 128 != 0 {
        let n = usize::from(b.u8());
        f.resize(f.len() + n, 0);
    }
    let fix = b.u8();
    if fix & 1 == 0 {
        fix_ip_csum(&mut f);
    }
    if fix & 2 == 0 {
        fix_l4_csum(&mut f);
    }
    if fix & 4 != 0 && f.len() > l4 + 17 {
        let i = if fl.tcp { l4 + 16 } else { l4 + 6 };
        f[i] ^= 0x5a;
    }
    (port, f)
}

/// `flows` target: real connections first, then mutated packets of them.
///
/// Byte 0: bit 0 → 2 workers. Then operations (op byte, low 2 bits):
/// 0 open a flow (bytes: mode/proto/stage/client, cport 16 bits, rx
/// worker); 1 send a mutated packet of flow n (byte n, then
/// [`mutated`]'s bytes); 2 let time pass (byte: seconds / 4, see code);
/// 3 end flow n (FIN or RST from either side: byte n, byte how).
pub fn flows(data: &[u8]) {
    let mut b = Bytes::new(data);
    let mut h = Harness::new(1 + usize::from(b.u8() & 1));
    let mut flows: Vec<Flow> = Vec::new();
    let mut n = 0;
    while !b.is_empty() && n < 64 {
        n += 1;
        match b.u8() & 3 {
            0 => {
                let c = b.u8();
                let mode = Mode::ALL[usize::from(c % 5)];
                let tcp = (c / 5) & 1 == 0;
                let stage = c >> 4 & 3;
                let client = usize::from(c >> 6);
                let cport = b.u16() | 1024;
                let rx = usize::from(b.u8());
                if flows.len() < 16 {
                    flows.push(open(&mut h, mode, tcp, client, cport, stage, rx));
                }
            }
            1 => {
                let i = usize::from(b.u8());
                if flows.is_empty() {
                    continue;
                }
                let fl = flows[i % flows.len()];
                let (port, f) = mutated(&fl, &mut b);
                send_flow(&mut h, &fl, port, f);
            }
            2 => {
                let t = u64::from(b.u8()) * HZ / 4;
                h.advance(t).unwrap_or_else(|e| fail("time", e));
            }
            _ => {
                let (i, how) = (usize::from(b.u8()), b.u8());
                if flows.is_empty() {
                    continue;
                }
                let fl = flows[i % flows.len()];
                let flags = if how & 2 != 0 { 0x14 } else { 0x11 };
                let (port, f) = fl.packet(how & 1 != 0, flags, &[], b"");
                send_flow(&mut h, &fl, port, f);
            }
        }
    }
    h.advance(ticks_of(7)).unwrap_or_else(|e| fail("final expiry", e));
}

/// Seed inputs for `frames`: a handshake of every mode, both protocols,
/// 1 and 2 workers, an ARP request for a VIP and a ping of the DIP.
pub fn frames_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let rec = |ctl: u8, f: &[u8], v: &mut Vec<u8>| {
        v.push(ctl);
        if f.len() >= 255 {
            v.push(255);
            v.extend_from_slice(&(f.len() as u16).to_be_bytes());
        } else {
            v.push(f.len() as u8);
        }
        v.extend_from_slice(f);
    };
    for workers in 0..2u8 {
        for mode in Mode::ALL {
            for tcp in [true, false] {
                let mut v = vec![workers];
                let mut h = Harness::new(1 + usize::from(workers));
                let fl = open(&mut h, mode, tcp, 0, 40000, 2, 0);
                let (p, syn) = fl.packet(false, 0x02, &[2, 4, 5, 180], b"");
                rec(p as u8, &syn, &mut v);
                if mode.two_way() {
                    let (p, sa) = fl.packet(true, if tcp { 0x12 } else { 0 }, &[], b"answer");
                    rec(p as u8, &sa, &mut v);
                }
                let (p, ack) = fl.packet(false, 0x10, &[], b"GET / HTTP/1.0\r\n\r\n");
                rec(p as u8, &ack, &mut v);
                let name = format!("seed-{}w-{:?}-{}", workers + 1, mode, if tcp { "tcp" } else { "udp" });
                out.push((name.to_lowercase(), v));
            }
        }
    }
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&[2, 0, 0, 0, 9, 9, 8, 6, 0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 9, 9, 172, 25, 254, 200]);
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&VIP_NAT);
    let mut v = vec![1];
    rec(0, &arp, &mut v);
    let mut ping = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 9, 9], CLIENT_MAC)
        .ipv4(CIP, DIP_CLIENT, 64)
        .icmpv4_echo_request(1, 1)
        .write(&mut ping, b"ping")
        .expect("writing to a Vec");
    rec(0, &ping, &mut v);
    out.push(("seed-arp-ping".into(), v));
    // IPv6: a NAT SYN and its SYN+ACK, a solicitation for the VIP, a ping.
    let mut v = vec![0];
    let mut syn = Vec::new();
    PacketBuilder::ethernet2(CIP_MAC, CLIENT_MAC)
        .ipv6(CIP6.to_be_bytes(), VIP6_NAT.to_be_bytes(), 64)
        .tcp(40000, 80, 1, 1000)
        .syn()
        .write(&mut syn, b"")
        .expect("writing to a Vec");
    rec(0, &syn, &mut v);
    let mut sa = Vec::new();
    PacketBuilder::ethernet2(RS1_MAC, SERVER_MAC)
        .ipv6(RS1_6.to_be_bytes(), CIP6.to_be_bytes(), 64)
        .tcp(8080, 40000, 1, 1000)
        .syn()
        .ack(2)
        .write(&mut sa, b"")
        .expect("writing to a Vec");
    rec(1, &sa, &mut v);
    let mut ns = Vec::new();
    assert!(crate::l3::nd::make_solicit(&mut ns, CIP_MAC, CIP6, VIP6_NAT, None));
    rec(0, &ns, &mut v);
    let mut ping = Vec::new();
    PacketBuilder::ethernet2(CIP_MAC, CLIENT_MAC)
        .ipv6(CIP6.to_be_bytes(), VIP6_NAT.to_be_bytes(), 64)
        .icmpv6_echo_request(1, 1)
        .write(&mut ping, b"ping")
        .expect("writing to a Vec");
    rec(0, &ping, &mut v);
    out.push(("seed-ipv6-nat-nd-ping".into(), v));
    // NAT64: an IPv6 SYN, the IPv4 server's SYN+ACK to the LIP's first
    // local port (1024 on one worker), the IPv6 ACK with data.
    let mut v = vec![0];
    let mut syn = Vec::new();
    PacketBuilder::ethernet2(CIP_MAC, CLIENT_MAC)
        .ipv6(CIP6.to_be_bytes(), VIP6_NAT64.to_be_bytes(), 64)
        .tcp(40000, 80, 1, 1000)
        .syn()
        .write(&mut syn, b"")
        .expect("writing to a Vec");
    rec(0, &syn, &mut v);
    let mut sa = Vec::new();
    PacketBuilder::ethernet2(RS1_MAC, SERVER_MAC)
        .ipv4(RS1, LIP, 64)
        .tcp(8080, 1024, 1, 1000)
        .syn()
        .ack(2)
        .write(&mut sa, b"")
        .expect("writing to a Vec");
    rec(1, &sa, &mut v);
    let mut ack = Vec::new();
    PacketBuilder::ethernet2(CIP_MAC, CLIENT_MAC)
        .ipv6(CIP6.to_be_bytes(), VIP6_NAT64.to_be_bytes(), 64)
        .tcp(40000, 80, 2, 1000)
        .ack(2)
        .write(&mut ack, b"GET / HTTP/1.0\r\n\r\n")
        .expect("writing to a Vec");
    rec(0, &ack, &mut v);
    out.push(("seed-nat64-tcp".into(), v));
    out
}

/// Seed inputs for `flows`: each mode and protocol opened and then sent a
/// plain next packet, on 1 and 2 workers; and the shape of issue 11's
/// FULLNAT crash (SYN, then an ACK whose data offset is past the end) with
/// the offset left at its valid value, for the fuzzer to find.
pub fn flows_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for workers in 0..2u8 {
        for (i, mode) in Mode::ALL.iter().enumerate() {
            for tcp in [0u8, 5] {
                let c = i as u8 + tcp + (2 << 4);
                let v = vec![workers, 0, c, 0x9c, 0x40, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 40];
                out.push((format!("seed-{}w-{:?}-{}", workers + 1, mode, if tcp == 0 { "tcp" } else { "udp" }), v));
            }
        }
    }
    // FULLNAT TCP after the SYN only; the next packet is the handshake's
    // ACK (flags 0x10) with its data offset set to 5.
    out.push(("seed-fullnat-syn-then-ack".into(), vec![0, 0, 3, 0x9c, 0x40, 0, 1, 0, 2, 0x10, 1, 5, 0]));
    out.iter_mut().for_each(|(n, _)| *n = n.to_lowercase());
    out
}
