//! Why a packet was dropped. Every drop in the data path names one of
//! these, and each worker counts them; nothing is lost silently.

macro_rules! reasons {
    ($($name:ident => $text:literal, $doc:literal;)*) => {
        /// A named drop counter.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum DropReason { $(#[doc = $doc] $name,)* }

        impl DropReason {
            pub const ALL: &'static [DropReason] = &[$(DropReason::$name,)*];
            pub const COUNT: usize = Self::ALL.len();
            /// The counter's name in rvsadm, logs and JSON.
            pub fn name(self) -> &'static str {
                match self { $(DropReason::$name => $text,)* }
            }
        }
    };
}

reasons! {
    EthTruncated => "eth_truncated", "Frame shorter than an Ethernet header.";
    EthUnknownType => "eth_unknown_type", "Ethertype we do not handle (not IPv4/IPv6/ARP).";
    EthNotForUs => "eth_not_for_us", "Unicast frame addressed to another MAC.";
    EthMulticast => "eth_multicast", "IP frame sent to a broadcast or multicast MAC (other than IPv6 ND).";
    ArpMalformed => "arp_malformed", "ARP packet too short or not Ethernet/IPv4.";
    ArpNotForUs => "arp_not_for_us", "ARP request for an address we do not own.";
    IpTruncated => "ip_truncated", "Shorter than a minimal IPv4 header.";
    IpBadVersion => "ip_bad_version", "IP version field is not 4.";
    IpBadIhl => "ip_bad_ihl", "IHL below 5 or beyond the packet.";
    IpBadLen => "ip_bad_len", "Total length inconsistent with the frame.";
    IpBadCsum => "ip_bad_csum", "IPv4 header checksum mismatch.";
    IpTtlExceeded => "ip_ttl_exceeded", "TTL expired on a packet we would forward.";
    IpFragment => "ip_fragment", "Fragment of a service packet (no reassembly).";
    IpOptions => "ip_options", "IPv4 options on service traffic.";
    IpNotForUs => "ip_not_for_us", "Transit traffic: forwarding is not enabled.";
    IpMartianSrc => "ip_martian_src", "Source that no host may use (RFC 1812 5.3.7) or one of ours.";
    IcmpUnhandled => "icmp_unhandled", "ICMP to us other than echo request.";
    L4Truncated => "l4_truncated", "TCP/UDP header cut short.";
    TcpBadDoff => "tcp_bad_doff", "TCP data offset below 5 words or past the segment.";
    TcpBadOptions => "tcp_bad_options", "TCP options that run past the header (where TOA goes).";
    ProxyNoRoom => "proxy_no_room", "Proxy Protocol header that fits neither the egress MTU (even without the segment's data) nor the buffer.";
    UdpBadLen => "udp_bad_len", "UDP length below 8 or past the datagram.";
    L4Unsupported => "l4_unsupported", "Protocol other than TCP/UDP/SCTP/ICMP to a VIP.";
    SctpTruncated => "sctp_truncated", "SCTP packet shorter than its common header and one chunk header (16 bytes).";
    SctpBadChunk => "sctp_bad_chunk", "SCTP first chunk whose length is below 4 or past the packet.";
    SctpBadCrc => "sctp_bad_crc", "SCTP packet whose ports the director rewrites arrived with a wrong CRC32c.";
    SctpNoInit => "sctp_no_init", "SCTP packet with no connection whose first chunk is not INIT (IPVS schedules on INIT only).";
    NoRoute => "no_route", "No route to the destination.";
    NeighPendingFull => "neigh_pending_full", "Too many packets waiting for ARP or ND resolution.";
    NeighFailed => "neigh_failed", "Next hop did not answer ARP or neighbour solicitations.";
    NoService => "no_service", "To a VIP port with no service.";
    NoDest => "no_dest", "Scheduler found no available dest.";
    ConnTableFull => "conn_table_full", "New connection refused: table full.";
    ConnExists => "conn_tuple_in_use", "New connection whose reply tuple is taken.";
    ConnNoSyn => "conn_no_syn", "TCP packet without SYN and no connection.";
    ConnNoDest => "conn_nodest", "Connection whose dest was deleted (expire_nodest_conn).";
    LportExhausted => "lport_exhausted", "No free FULLNAT local port.";
    RedirectFull => "redirect_full", "Owner worker's redirect ring full.";
    TooBig => "too_big", "Would exceed the MTU with DF set (ICMP frag-needed sent, rate limited).";
    NoHeadroom => "no_headroom", "No room to encapsulate.";
    TxFull => "tx_full", "NIC tx queue full.";
    LinkDown => "link_down", "Egress port's link is down (peer gone): not sent.";
    NoMbuf => "no_mbuf", "Mempool empty when building a packet.";
    MultiSeg => "multi_seg", "Multi-segment frame that could not be linearized.";
    Shutdown => "shutdown", "Still queued (waiting for ARP or in a ring) when rvsd stopped.";
    Ip6Truncated => "ip6_truncated", "Shorter than an IPv6 header.";
    Ip6BadVersion => "ip6_bad_version", "IPv6 ethertype but the version field is not 6.";
    Ip6BadLen => "ip6_bad_len", "IPv6 payload length past the frame.";
    Ip6BadExt => "ip6_bad_ext", "IPv6 extension header cut short, hop-by-hop not first, or a second fragment header.";
    Ip6ExtLimit => "ip6_ext_limit", "More IPv6 extension headers than we walk (8).";
    IcmpTruncated => "icmp_truncated", "ICMP message shorter than its 8-byte header.";
    Icmp6Truncated => "icmp6_truncated", "ICMPv6 message shorter than its header (24 bytes for NS/NA).";
    Icmp6BadNdOpt => "icmp6_bad_nd_opt", "Neighbour discovery option of length 0, past the message, or too many.";
    Udp6ZeroCsum => "udp6_zero_csum", "UDP over IPv6 without a checksum (RFC 8200 8.1).";
    Icmp6BadCsum => "icmp6_bad_csum", "ICMPv6 checksum mismatch (RFC 4443 2.3).";
    Icmp6Unhandled => "icmp6_unhandled", "ICMPv6 to us other than echo request, NS or NA (router discovery, redirects, MLD, fragmented echo).";
    NdHopLimit => "nd_hop_limit", "NS/NA with a hop limit below 255: it crossed a router (RFC 4861 7.1).";
    NdInvalid => "nd_invalid", "NS/NA failing RFC 4861 7.1 (code, multicast target or source, DAD rules, solicited NA to a group) or fragmented (RFC 6980).";
    NdNotForUs => "nd_not_for_us", "Neighbour solicitation for an address we do not own.";
    KernelRateLimit => "kernel_ratelimit", "For the director's kernel (exception path) beyond the interface's kernel.rate.";
    KernelFull => "kernel_full", "For the director's kernel, but its interface's queue was full.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
        assert_eq!(DropReason::ALL[DropReason::IpBadCsum as usize], DropReason::IpBadCsum);
    }
}
