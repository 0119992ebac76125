//! Service traffic: flow ownership, connection lookup and creation,
//! scheduling, and the hand-off to a forwarding mode.

use crate::drop::DropReason;
use crate::engine::{Engine, Io};
use crate::l3::neigh::NeighSnapshot;
use crate::packet::{ipv4::Ipv4Info, PacketBuf};
use crate::snapshot::Snapshot;

/// Per-worker state of the service path.
#[derive(Default)]
pub struct ServicePath {}

#[allow(clippy::too_many_arguments)]
pub fn handle<P: PacketBuf>(
    e: &mut Engine<P>,
    snap: &Snapshot,
    _neigh: &NeighSnapshot,
    _io: &mut impl Io<P>,
    pkt: P,
    info: &Ipv4Info,
    _port_idx: u16,
    _now: u64,
) {
    if snap.local.contains_key(&info.dst) || snap.services.is_vip(info.dst) {
        e.stats.count_drop(DropReason::NoService);
    } else {
        e.stats.count_drop(DropReason::IpNotForUs);
    }
    drop(pkt);
}

#[allow(clippy::too_many_arguments)]
pub fn icmp_error<P: PacketBuf>(
    e: &mut Engine<P>,
    _snap: &Snapshot,
    _neigh: &NeighSnapshot,
    _io: &mut impl Io<P>,
    pkt: P,
    _info: &Ipv4Info,
    _port_idx: u16,
    _now: u64,
) {
    e.stats.count_drop(DropReason::IcmpUnhandled);
    drop(pkt);
}

pub fn tick<P: PacketBuf>(_e: &mut Engine<P>, _snap: &Snapshot, _neigh: &NeighSnapshot, _io: &mut impl Io<P>, _now_ms: u64) {}
