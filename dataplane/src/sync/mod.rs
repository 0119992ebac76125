//! Codec for the Linux IPVS connection-synchronisation protocol.
//!
//! A director that is master sends the connections it creates and changes
//! to its backups as UDP datagrams ([`PORT`] 8848 to [`MCAST_GROUP`]
//! 224.0.0.81, or unicast); a backup creates or refreshes the same
//! connections so that, after a failover, established flows keep going.
//! Speaking the kernel's format lets rvs and kernel IPVS directors back
//! each other up. This module is sans-IO: bytes in, [`Message`] out
//! ([`decode`]), [`SyncConn`]s in, datagrams out ([`Encoder`]); the daemon
//! owns the sockets and timers.
//!
//! # Wire format (all fields big-endian)
//! Version 1 (what kernels send unless `sysctl net.ipv4.vs.sync_version=0`,
//! and what [`Encoder`] builds):
//! ```text
//! header   reserved u8 = 0 | syncid u8 | size u16 (whole datagram)
//!          nr_conns u8 | version u8 = 1 | spare u16 = 0
//! record   type u8 (bit 0 = IPv6) | protocol u8 | ver_size u16
//!          (record version in bits 15..12, must be 0; record size incl.
//!          options, excl. padding, in bits 11..0)
//!          flags u32 | state u16 | cport u16 | vport u16 | dport u16
//!          fwmark u32 | timeout u32 (seconds)
//!          caddr | vaddr | daddr (4 or 16 bytes each)
//!          options: type u8 | len u8 (1..=255) | data
//! padding  zero bytes before the next record so it starts 4-aligned
//!          (not after the last record)
//! ```
//! Options: 1 sequence data (in_seq then out_seq, each init_seq, delta,
//! previous_delta u32; len 24), 2 persistence-engine data, 3 PE name
//! (<= 16). A backup matches types with bit 0x40 ([`IPVS_OPT_F_PARAM`])
//! masked off; an unknown type with that bit is skipped, without it the
//! record is dropped.
//!
//! Version 0 (IPv4 only, decode only): header nr_conns u8 | syncid u8 |
//! size u16, then records reserved u8 | protocol u8 | cport | vport |
//! dport u16 | caddr | vaddr | daddr u32 | flags u16 | state u16, each
//! followed by in_seq and out_seq (24 bytes) when the flags have
//! [`CONN_F_SEQ_MASK`] bits. Those sequence fields are the sender's host
//! order (the kernel copies its struct): [`decode`] reads them
//! little-endian, the order of every kernel master we expect (x86, arm64).
//! A v0 message has no timeout or fwmark ([`SyncConn::timeout`] 0: use
//! the protocol's timeout, as the kernel does).
//!
//! A receiver tells the two apart as the kernel does: version 1 when byte 0
//! is 0, byte 5 is 1 and bytes 6..8 are 0 (a v0 master never sends a
//! message with nr_conns 0); otherwise version 0. We are stricter than the
//! kernel where it would read garbage as an empty v0 message: byte 0 = 0
//! with another version is [`SyncError::BadVersion`].
//!
//! # The FULLNAT option (rvs's own)
//! The kernel has no FULLNAT, so a FULLNAT connection also carries its
//! local address and port in option type [`RVS_OPT_FULLNAT_LOCAL`] = 0x7f
//! (`IPVS_OPT_F_PARAM | 0x3f`): kernel backups skip it as an optional
//! parameter. Layout: `0x7f | len | LIP | lport u16`, len 6 with the LIP's
//! 4 bytes in an IPv4 record, 18 with 16 bytes in an IPv6 record; the LIP
//! is of the record's family. The forwarding method of such a record
//! should stay one the kernel knows (e.g. [`CONN_F_MASQ`]): a kernel
//! backup binds no transmitter for values 5..=7.
//!
//! # What a receiver does with the result
//! [`decode`] refuses a datagram with any structural error, as a kernel
//! backup drops the rest of such a datagram (we also refuse the records
//! before the error, and bytes left after the last record, which a kernel
//! master never sends). Records a kernel backup would drop one by one
//! (unknown mandatory option, PE data without a PE name) are listed in
//! [`Message::skipped`]. Flags arrive as sent: a backup keeps
//! `flags & CONN_F_BACKUP_MASK | CONN_F_SYNC`, and checks protocol and
//! state against its own tables (TCP state < [`TCP_S_LAST`]), as the
//! kernel does.

mod consts;
mod decode;
mod encode;
pub mod path;
#[cfg(test)]
mod path_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_prop;

pub use consts::*;
pub use decode::decode;
pub use encode::Encoder;

use std::net::IpAddr;

/// One direction's TCP sequence adjustment (`struct ip_vs_seq`), kept by
/// NAT connections whose payload an application helper resized (FTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seq {
    pub init_seq: u32,
    pub delta: u32,
    pub previous_delta: u32,
}

/// Both sequence adjustments: the wire carries them together or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeqAdjust {
    pub in_seq: Seq,
    pub out_seq: Seq,
}

/// One synchronised connection (or persistence template).
///
/// Ports and addresses are host values (the codec does the byte order).
/// `caddr`, `vaddr`, `daddr` and the `local` address are all of one
/// family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConn {
    /// IP protocol number (6 TCP, 17 UDP, 132 SCTP, 0 fwmark template).
    pub proto: u8,
    /// `CONN_F_*` flags as sent.
    pub flags: u32,
    /// Protocol state (`TCP_S_*`, `UDP_S_NORMAL`, `CTPL_S_*` for templates).
    pub state: u16,
    pub cport: u16,
    pub vport: u16,
    pub dport: u16,
    pub fwmark: u32,
    /// Remaining lifetime in seconds; 0 = the protocol's default.
    pub timeout: u32,
    pub caddr: IpAddr,
    pub vaddr: IpAddr,
    pub daddr: IpAddr,
    /// Sequence adjustments (`IPVS_OPT_SEQ_DATA`, or v0's options).
    pub seq: Option<SeqAdjust>,
    /// Persistence-engine name (`IPVS_OPT_PE_NAME`, e.g. `b"sip"`), 1..=16 bytes.
    pub pe_name: Option<Vec<u8>>,
    /// Persistence-engine data (`IPVS_OPT_PE_DATA`, e.g. a SIP Call-ID),
    /// 1..=255 bytes; needs `pe_name`.
    pub pe_data: Option<Vec<u8>>,
    /// FULLNAT local address and port ([`RVS_OPT_FULLNAT_LOCAL`]).
    pub local: Option<(IpAddr, u16)>,
}

impl SyncConn {
    /// The flags a kernel backup gives the connection it creates from this
    /// record (`ip_vs_proc_sync_conn`): the sender's flags masked to
    /// [`CONN_F_BACKUP_MASK`], plus [`CONN_F_SYNC`].
    pub fn backup_flags(&self) -> u32 {
        self.flags & CONN_F_BACKUP_MASK | CONN_F_SYNC
    }
}

/// A decoded datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// 0 or [`SYNC_PROTO_VER`].
    pub version: u8,
    /// The master's sync id; a backup with a non-zero id ignores others.
    pub syncid: u8,
    pub conns: Vec<SyncConn>,
    /// Records a kernel backup would drop alone (the rest still applies).
    pub skipped: Vec<Skipped>,
}

/// A record left out of [`Message::conns`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// Position of the record in the datagram (0-based).
    pub index: u8,
    pub why: SkipReason,
}

/// Why a record was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// An option type unknown to us without [`IPVS_OPT_F_PARAM`].
    UnknownMandatoryOption(u8),
    /// PE data without a PE name (the kernel: "Invalid PE parameters").
    PeDataWithoutName,
}

/// Why a datagram was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncError {
    /// Shorter than its header.
    Truncated,
    /// The header's size is not the datagram's length.
    BadSize { declared: u16, actual: usize },
    /// Byte 0 is 0 (not v0) but the version is not 1.
    BadVersion(u8),
    /// A v1 header with a non-zero spare field.
    BadSpare(u16),
    /// Record `index` is malformed.
    BadRecord { index: u8, why: RecordError },
    /// Bytes after the last record beyond 3 bytes of padding (nr_conns too
    /// small, or junk).
    TrailingBytes(usize),
}

/// What is wrong with one record, when decoding or when pushing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// Its fixed part runs past the datagram (nr_conns too large).
    Truncated,
    /// Its size runs past the datagram.
    Overrun { size: u16 },
    /// Its size is smaller than its fixed part.
    BadSize { size: u16 },
    /// Record version (top 4 bits of ver_size) not 0.
    BadVersion(u8),
    /// Type byte neither 0 nor with [`STYPE_F_INET6`].
    BadType(u8),
    /// An option header or data runs past the record.
    OptionTruncated,
    /// An option with length 0 (the kernel drops the datagram).
    EmptyOption(u8),
    /// An option whose length is wrong for its type (and the record's
    /// family for the FULLNAT option).
    BadOptionLen { opt: u8, len: u8 },
    /// An option seen twice.
    DuplicateOption(u8),
    /// Encoding: addresses (incl. `local`) not all of one family.
    MixedFamily,
    /// Encoding: an empty, or too long, PE name or data, or PE data
    /// without a name.
    BadPe,
    /// Encoding: the record does not fit even an empty message.
    TooLarge,
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for SyncError {}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for RecordError {}
