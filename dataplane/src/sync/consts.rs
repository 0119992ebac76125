//! Numbers of the IPVS connection-synchronisation protocol.
//!
//! Each constant names its kernel counterpart (`net/netfilter/ipvs/ip_vs_sync.c`,
//! `include/uapi/linux/ip_vs.h`, `include/net/ip_vs.h`) so a reader can check
//! it against the source; the values are the wire contract with kernel
//! masters and backups and must not drift.

use std::net::Ipv4Addr;

/// UDP port of the sync daemon (`IP_VS_SYNC_PORT`). A kernel daemon with
/// several sync threads uses `PORT + thread id`.
pub const PORT: u16 = 8848;
/// Default multicast group (`IP_VS_SYNC_GROUP`, 0xe0000051).
pub const MCAST_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 81);
/// Version byte of a version 1 message header (`SYNC_PROTO_VER`).
pub const SYNC_PROTO_VER: u8 = 1;

/// `sizeof(struct ip_vs_sync_mesg_v0)`: nr_conns, syncid, size.
pub const MESG_V0_HDR_LEN: usize = 4;
/// `sizeof(struct ip_vs_sync_mesg)`: reserved, syncid, size, nr_conns,
/// version, spare.
pub const MESG_HDR_LEN: usize = 8;
/// `SIMPLE_CONN_SIZE`, `sizeof(struct ip_vs_sync_conn_v0)`.
pub const CONN_V0_LEN: usize = 24;
/// `FULL_CONN_SIZE`: a v0 record followed by its sequence options.
pub const CONN_V0_FULL_LEN: usize = CONN_V0_LEN + SEQ_OPTS_LEN;
/// `sizeof(struct ip_vs_sync_v4)`: the fixed part of a v1 IPv4 record.
pub const CONN_V4_LEN: usize = 36;
/// `sizeof(struct ip_vs_sync_v6)`: the fixed part of a v1 IPv6 record.
pub const CONN_V6_LEN: usize = 72;
/// `sizeof(struct ip_vs_sync_conn_options)`: in_seq and out_seq, three
/// u32 each (`struct ip_vs_seq`).
pub const SEQ_OPTS_LEN: usize = 24;

/// Type-byte bit of an IPv6 record (`STYPE_F_INET6`). The kernel reads a
/// record as IPv6 when this bit is set, as IPv4 when the byte is 0, and
/// drops the message for anything else.
pub const STYPE_F_INET6: u8 = 1 << 0;
/// Shift of the record version in `ver_size` (`SVER_SHIFT`).
pub const SVER_SHIFT: u16 = 12;
/// Mask of the record size in `ver_size` (`SVER_MASK`).
pub const SVER_MASK: u16 = 0x0fff;

/// Option: in/out sequence adjustments (`IPVS_OPT_SEQ_DATA`), 24 bytes.
pub const IPVS_OPT_SEQ_DATA: u8 = 1;
/// Option: persistence-engine data (`IPVS_OPT_PE_DATA`), 1..=255 bytes.
pub const IPVS_OPT_PE_DATA: u8 = 2;
/// Option: persistence-engine name (`IPVS_OPT_PE_NAME`), 1..=16 bytes.
pub const IPVS_OPT_PE_NAME: u8 = 3;
/// Option-type bit "optional parameter" (`IPVS_OPT_F_PARAM`,
/// `1 << (IPVS_OPT_PARAM - 1)`, `IPVS_OPT_PARAM` = 7). A kernel backup
/// matches option types with this bit masked off; an unknown type with the
/// bit set is skipped, one without it makes the backup drop the record.
pub const IPVS_OPT_F_PARAM: u8 = 1 << 6;
/// rvs option: the FULLNAT local address and port (LIP, lport); not in the
/// kernel. `IPVS_OPT_F_PARAM | 0x3f`: optional, so kernel backups skip it,
/// and with the highest 6-bit number so a type the kernel adds later
/// (its numbering grows from 1 and is matched with the bit masked off)
/// cannot collide with it. Data: LIP (4 or 16 bytes, the record's family)
/// then lport, big-endian u16.
pub const RVS_OPT_FULLNAT_LOCAL: u8 = IPVS_OPT_F_PARAM | 0x3f;

/// Longest persistence-engine name (`IP_VS_PENAME_MAXLEN`).
pub const PENAME_MAXLEN: usize = 16;
/// Longest persistence-engine data (`IP_VS_PEDATA_MAXLEN`).
pub const PEDATA_MAXLEN: usize = 255;

/// Mask of the forwarding method in the flags (`IP_VS_CONN_F_FWD_MASK`).
/// The kernel binds a transmitter only for the five values below
/// (`ip_vs_bind_xmit` has no default case): never put 5..=7 on the wire.
pub const CONN_F_FWD_MASK: u32 = 0x0007;
/// NAT, ipvsadm `-m` (`IP_VS_CONN_F_MASQ`).
pub const CONN_F_MASQ: u32 = 0x0000;
/// Local node (`IP_VS_CONN_F_LOCALNODE`).
pub const CONN_F_LOCALNODE: u32 = 0x0001;
/// IP-in-IP tunnel, ipvsadm `-i` (`IP_VS_CONN_F_TUNNEL`).
pub const CONN_F_TUNNEL: u32 = 0x0002;
/// Direct routing, ipvsadm `-g` (`IP_VS_CONN_F_DROUTE`).
pub const CONN_F_DROUTE: u32 = 0x0003;
/// Cache bypass (`IP_VS_CONN_F_BYPASS`).
pub const CONN_F_BYPASS: u32 = 0x0004;
/// Entry created by sync; a backup sets it on what it receives
/// (`IP_VS_CONN_F_SYNC`).
pub const CONN_F_SYNC: u32 = 0x0020;
/// Hashed entry (`IP_VS_CONN_F_HASHED`); the kernel master clears it before
/// sending, and so does [`super::Encoder`].
pub const CONN_F_HASHED: u32 = 0x0040;
/// No output packets (`IP_VS_CONN_F_NOOUTPUT`).
pub const CONN_F_NOOUTPUT: u32 = 0x0080;
/// Not established (`IP_VS_CONN_F_INACTIVE`).
pub const CONN_F_INACTIVE: u32 = 0x0100;
/// Output sequence adjust (`IP_VS_CONN_F_OUT_SEQ`).
pub const CONN_F_OUT_SEQ: u32 = 0x0200;
/// Input sequence adjust (`IP_VS_CONN_F_IN_SEQ`).
pub const CONN_F_IN_SEQ: u32 = 0x0400;
/// Either sequence adjust (`IP_VS_CONN_F_SEQ_MASK`); in v0 these flags say
/// whether the record carries sequence options, in v1 the kernel master
/// sends `IPVS_OPT_SEQ_DATA` when one of them is set.
pub const CONN_F_SEQ_MASK: u32 = 0x0600;
/// Client port not known yet, cport is 0 (`IP_VS_CONN_F_NO_CPORT`; FTP data
/// connections).
pub const CONN_F_NO_CPORT: u32 = 0x0800;
/// Persistence template, not a connection (`IP_VS_CONN_F_TEMPLATE`).
pub const CONN_F_TEMPLATE: u32 = 0x1000;
/// One-packet scheduling (`IP_VS_CONN_F_ONE_PACKET`); the kernel never syncs
/// such connections.
pub const CONN_F_ONE_PACKET: u32 = 0x2000;
/// Netfilter conntrack (`IP_VS_CONN_F_NFCT`); flags from bit 16 up are
/// local and masked off by a backup.
pub const CONN_F_NFCT: u32 = 1 << 16;
/// Flags a kernel backup keeps from a v1 record (`IP_VS_CONN_F_BACKUP_MASK`);
/// it then adds [`CONN_F_SYNC`].
pub const CONN_F_BACKUP_MASK: u32 =
    CONN_F_FWD_MASK | CONN_F_NOOUTPUT | CONN_F_INACTIVE | CONN_F_SEQ_MASK | CONN_F_NO_CPORT | CONN_F_TEMPLATE;
/// Flags a backup updates on a connection it already has
/// (`IP_VS_CONN_F_BACKUP_UPD_MASK`).
pub const CONN_F_BACKUP_UPD_MASK: u32 = CONN_F_INACTIVE | CONN_F_SEQ_MASK;

/// TCP states (`IP_VS_TCP_S_*`), the `state` of a TCP record.
pub const TCP_S_NONE: u16 = 0;
/// `IP_VS_TCP_S_ESTABLISHED`.
pub const TCP_S_ESTABLISHED: u16 = 1;
/// `IP_VS_TCP_S_SYN_SENT`.
pub const TCP_S_SYN_SENT: u16 = 2;
/// `IP_VS_TCP_S_SYN_RECV`.
pub const TCP_S_SYN_RECV: u16 = 3;
/// `IP_VS_TCP_S_FIN_WAIT`.
pub const TCP_S_FIN_WAIT: u16 = 4;
/// `IP_VS_TCP_S_TIME_WAIT`.
pub const TCP_S_TIME_WAIT: u16 = 5;
/// `IP_VS_TCP_S_CLOSE`.
pub const TCP_S_CLOSE: u16 = 6;
/// `IP_VS_TCP_S_CLOSE_WAIT`.
pub const TCP_S_CLOSE_WAIT: u16 = 7;
/// `IP_VS_TCP_S_LAST_ACK`.
pub const TCP_S_LAST_ACK: u16 = 8;
/// `IP_VS_TCP_S_LISTEN`.
pub const TCP_S_LISTEN: u16 = 9;
/// `IP_VS_TCP_S_SYNACK`.
pub const TCP_S_SYNACK: u16 = 10;
/// `IP_VS_TCP_S_LAST`: a backup drops TCP records with a state >= this.
pub const TCP_S_LAST: u16 = 11;
/// The single UDP state (`IP_VS_UDP_S_NORMAL`).
pub const UDP_S_NORMAL: u16 = 0;
/// Template state: none (`IP_VS_CTPL_S_NONE`).
pub const CTPL_S_NONE: u16 = 0;
/// Template state: assured (`IP_VS_CTPL_S_ASSURED`).
pub const CTPL_S_ASSURED: u16 = 1;

/// Protocol of a fwmark persistence template (`IPPROTO_IP`): the kernel
/// builds it as <IPPROTO_IP, caddr, 0, fwmark as vaddr, 0, daddr, 0>.
pub const IPPROTO_IP: u8 = 0;

/// Largest message a kernel master builds by default for an IPv4 sync
/// socket: it uses MTU 1500 (not the interface's) minus the IPv4 and UDP
/// headers, unless `sync_maxlen` is configured.
pub const DEFAULT_MAX_LEN_V4: usize = 1500 - 20 - 8;
/// The same for an IPv6 sync socket (1500 minus IPv6 and UDP headers).
pub const DEFAULT_MAX_LEN_V6: usize = 1500 - 40 - 8;

/// The kernel's rule for the message length limit (`start_sync_thread`):
/// a configured `sync_maxlen` is used, clamped to at most 65535 minus the
/// IP and UDP headers; otherwise `mtu` minus those headers. (A kernel
/// master uses mtu 1500 whatever the interface; a backup uses the
/// interface MTU clamped to 1500..=65535 for its receive buffer.)
pub fn max_len_for(mtu: u16, ipv6: bool, sync_maxlen: Option<u16>) -> usize {
    let hlen = if ipv6 { 40 + 8 } else { 20 + 8 };
    let cap = 65535 - hlen;
    match sync_maxlen {
        Some(m) => usize::from(m).clamp(1, cap),
        None => usize::from(mtu).saturating_sub(hlen).min(cap),
    }
}
