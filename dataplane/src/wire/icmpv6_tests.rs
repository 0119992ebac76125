//! Tests of the ICMPv6 view, against etherparse (which reads ND messages'
//! fixed fields but not their options: those are checked against the
//! bytes written here).

use super::*;
use crate::wire::Ipv6;
use etherparse::icmpv6::NeighborAdvertisementHeader;
use etherparse::{Icmpv6Slice, Icmpv6Type, PacketBuilder};

const A: Addr6 = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const B: Addr6 = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const T: Addr6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99];
const MAC: Mac = [2, 0, 0, 0, 0, 0x42];

/// An ICMPv6 message (without its IPv6 header) built by etherparse.
fn msg(t: Icmpv6Type, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    PacketBuilder::ipv6(A, B, 255).icmpv6(t).write(&mut b, payload).unwrap();
    b.split_off(40)
}

/// Target, then the link-layer address option of `kind`.
fn nd_body(kind: u8) -> Vec<u8> {
    let mut p = T.to_vec();
    p.extend_from_slice(&[kind, 1]);
    p.extend_from_slice(&MAC);
    p
}

fn ns() -> Vec<u8> {
    msg(Icmpv6Type::NeighborSolicitation, &nd_body(OPT_SOURCE_LLADDR))
}

fn na() -> Vec<u8> {
    let h = NeighborAdvertisementHeader { router: false, solicited: true, r#override: true };
    msg(Icmpv6Type::NeighborAdvertisement(h), &nd_body(OPT_TARGET_LLADDR))
}

fn ptb() -> Vec<u8> {
    let mut quote = Vec::new();
    PacketBuilder::ipv6(B, T, 64).udp(1, 2).write(&mut quote, &[7; 1400]).unwrap();
    quote.truncate(1232 - 8);
    msg(Icmpv6Type::PacketTooBig { mtu: 1280 }, &quote)
}

#[test]
fn accessors_match_etherparse() {
    let echo = msg(Icmpv6Type::EchoRequest(etherparse::IcmpEchoHeader { id: 0x1234, seq: 9 }), b"ping");
    for b in [echo, ptb(), ns(), na()] {
        let e = Icmpv6Slice::from_slice(&b).unwrap();
        let v = Icmpv6::new_checked(&b[..]).unwrap();
        assert_eq!((v.msg_type(), v.code(), v.checksum()), (e.type_u8(), e.code_u8(), e.checksum()));
        assert_eq!((v.data(), v.message()), (e.payload(), &b[..]));
        assert!(v.checksum_ok(&A, &B) && e.is_checksum_valid(A, B));
        assert!(!v.checksum_ok(&B, &T), "the pseudo-header counts");
        match e.icmp_type() {
            Icmpv6Type::EchoRequest(h) => {
                assert_eq!((v.echo_id(), v.echo_seq(), v.is_echo(), v.is_error()), (h.id, h.seq, true, false));
                assert_eq!((v.quoted(), v.mtu(), v.nd_target(), v.nd_options().count()), (None, None, None, 0));
            }
            Icmpv6Type::PacketTooBig { mtu } => {
                assert_eq!((v.mtu(), v.is_error(), v.pointer()), (Some(mtu), true, None));
                let q = Ipv6::new_checked_quoted(v.quoted().unwrap()).unwrap();
                let up = q.upper_layer().unwrap();
                assert_eq!((q.dst(), up.proto, q.upper_payload(&up).len()), (T, 17, 1232 - 8 - 40));
                assert!(Ipv6::new_checked(v.quoted().unwrap()).is_err(), "the quote is cut");
            }
            Icmpv6Type::NeighborSolicitation => {
                assert_eq!((v.nd_target(), v.source_lladdr(), v.target_lladdr()), (Some(T), Some(MAC), None));
                assert_eq!((v.na_flags(), v.is_error()), (None, false));
            }
            Icmpv6Type::NeighborAdvertisement(h) => {
                let flags = v.na_flags().unwrap();
                assert_eq!(
                    (flags & NA_ROUTER != 0, flags & NA_SOLICITED != 0, flags & NA_OVERRIDE != 0),
                    (h.router, h.solicited, h.r#override)
                );
                assert_eq!((v.nd_target(), v.target_lladdr(), v.source_lladdr()), (Some(T), Some(MAC), None));
                let o: Vec<_> = v.nd_options().collect();
                assert_eq!(o, [NdOption { kind: OPT_TARGET_LLADDR, data: &MAC }]);
            }
            t => panic!("{t:?}"),
        }
    }
    let mut b = ptb();
    b[0] = PARAM_PROBLEM;
    b[4..8].copy_from_slice(&40u32.to_be_bytes());
    assert_eq!(Icmpv6::new_checked(&b[..]).unwrap().pointer(), Some(40));
}

#[test]
fn the_gate_checks_nd_lengths_and_options() {
    let b = ns();
    for n in 0..HDR_LEN {
        assert_eq!(Icmpv6::new_checked(&b[..n]).unwrap_err(), DropReason::Icmp6Truncated, "length {n}");
    }
    for n in HDR_LEN..24 {
        assert_eq!(Icmpv6::new_checked(&b[..n]).unwrap_err(), DropReason::Icmp6Truncated, "length {n}");
    }
    assert_eq!(Icmpv6::new_checked(&b[..24]).unwrap().source_lladdr(), None, "no options");
    for n in 25..b.len() {
        assert_eq!(Icmpv6::new_checked(&b[..n]).unwrap_err(), DropReason::Icmp6BadNdOpt, "length {n}");
    }
    let mut v = b.clone();
    v[25] = 0;
    assert_eq!(Icmpv6::new_checked(&v[..]).unwrap_err(), DropReason::Icmp6BadNdOpt, "option length 0");
    v[25] = 2;
    assert_eq!(Icmpv6::new_checked(&v[..]).unwrap_err(), DropReason::Icmp6BadNdOpt, "past the message");
    // A 2-unit source address option is not Ethernet's: no MAC from it.
    v.extend_from_slice(&[0; 8]);
    assert_eq!(Icmpv6::new_checked(&v[..]).unwrap().source_lladdr(), None);
    let mut many = b[..24].to_vec();
    for _ in 0..MAX_ND_OPTS {
        many.extend_from_slice(&[OPT_TARGET_LLADDR, 1, 0, 0, 0, 0, 0, 0]);
    }
    assert_eq!(Icmpv6::new_checked(&many[..]).unwrap().nd_options().count(), MAX_ND_OPTS);
    many.extend_from_slice(&[14, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Icmpv6::new_checked(&many[..]).unwrap_err(), DropReason::Icmp6BadNdOpt, "too many");
    // Other types need only 8 bytes.
    let mut e = b[..8].to_vec();
    e[0] = ECHO_REPLY;
    assert!(Icmpv6::new_checked(&e[..]).is_ok());
}

#[test]
fn rewrites_keep_the_checksum_and_its_error() {
    for wrong in [0u8, 1] {
        let mut b = msg(Icmpv6Type::EchoRequest(etherparse::IcmpEchoHeader { id: 1, seq: 2 }), b"ping");
        b[3] ^= wrong;
        let mut v = Icmpv6::new_checked(&mut b[..]).unwrap();
        v.make_echo_reply();
        v.set_echo_id(0xabcd);
        v.set_echo_seq(0x0102);
        v.fix_addr6(&A, &T);
        let old = csum::sum(&v.data()[..2], 0);
        v.data_mut()[..2].copy_from_slice(b"PO");
        v.fix_checksum(old, csum::sum(b"PO", 0));
        assert!(!v.set_type(NEIGHBOR_SOLICIT), "an ND type would skip the option check");
        let e = Icmpv6Slice::from_slice(&b).unwrap();
        let Icmpv6Type::EchoReply(h) = e.icmp_type() else { panic!("{:?}", e.icmp_type()) };
        assert_eq!((h.id, h.seq, e.payload()), (0xabcd, 0x0102, &b"POng"[..]));
        assert_eq!(e.is_checksum_valid(T, B), wrong == 0);
        let mut v = Icmpv6::new_checked(&mut b[..]).unwrap();
        assert_eq!(v.checksum_ok(&T, &B), wrong == 0);
        v.fill_checksum(&T, &B);
        assert!(v.checksum_ok(&T, &B));
    }
    let mut b = na();
    let mut v = Icmpv6::new_checked(&mut b[..]).unwrap();
    assert!(v.set_na_flags(NA_ROUTER | NA_OVERRIDE));
    let e = Icmpv6Slice::from_slice(&b).unwrap();
    let Icmpv6Type::NeighborAdvertisement(h) = e.icmp_type() else { panic!() };
    assert_eq!((h.router, h.solicited, h.r#override), (true, false, true));
    assert!(e.is_checksum_valid(A, B));
    let mut b = ns();
    assert!(!Icmpv6::new_checked(&mut b[..]).unwrap().set_na_flags(0), "not an NA");
}
