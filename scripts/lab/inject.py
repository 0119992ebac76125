#!/usr/bin/python3
"""Hostile frames for the soak, built by an independent packet library.

Runs inside one lab namespace and sends, on one interface, a seeded random
mix of malformed, crafted and fuzzed frames at rvsd's port (scapy builds
them; rvs's own code never does), at a bounded rate for a bounded time.

  inject.py --side client|server --iface IF --dst-mac MAC --seconds N --pps R --seed S --out FILE [--kinds a,b]

The client side plays hostile clients towards the VIPs (NAT/FULLNAT
172.25.254.100:80/443, DR/TUN 192.168.0.200:80/443); the server side plays
hostile real servers towards the director's addresses and LIPs. Source
ports stay out of the ranges the lab's real connections use (the client's
ephemeral ports, the servers' 80/443), so no injected frame can hit a live
connection of the curl loop: what the soak measures is that hostile input
is absorbed, not that a spoofed RST can reset a flow (it can, as with IPVS).

At the end, FILE gets JSON: frames sent in total and by kind.
"""
import argparse
import json
import random
import sys
import time

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, IPv6, Raw, conf, fuzz)  # noqa: E402

VIP_NAT = "172.25.254.100"
VIP_DR = "192.168.0.200"
CIP = "172.25.254.200"
DIP = "192.168.0.100"
LIPS = ["192.168.0.101", "192.168.0.102"]
RIPS = ["192.168.0.10", "192.168.0.20"]
MARTIANS = ["0.0.0.0", "0.1.2.3", "127.0.0.1", "127.9.9.9", "224.0.0.1", "239.1.2.3", "255.255.255.255",
            VIP_NAT, VIP_DR, DIP] + LIPS


class Gen:
    def __init__(self, side, src_mac, dst_mac, rnd):
        self.side, self.src_mac, self.dst_mac, self.r = side, src_mac, dst_mac, rnd

    # --- helpers -------------------------------------------------------
    def sport(self):
        # Below the client's ephemeral range (32768+), never 80/443.
        return self.r.randint(1024, 30000)

    def eth(self, dst=None):
        return Ether(src=self.src_mac, dst=dst or self.dst_mac)

    def endpoints(self):
        """(src, dst, dport) of a plausible packet from this side."""
        r = self.r
        if self.side == "client":
            return CIP, r.choice([VIP_NAT, VIP_DR]), r.choice([80, 443, 80, 443, 53, 8080])
        # A real server answering: to a LIP (FULLNAT), to the client
        # (NAT replies) or to the DIP.
        return r.choice(RIPS), r.choice(LIPS + [CIP, DIP]), r.randint(1024, 65535)

    def tcp_pkt(self, flags=None):
        s, d, dp = self.endpoints()
        sp = self.sport() if self.side == "client" else self.r.choice([8080, 8443, 22])
        return IP(src=s, dst=d) / TCP(sport=sp, dport=dp, flags=flags or self.r.choice(["S", "A", "PA", "R", "F", "SA", "FA", ""]),
                                      seq=self.r.getrandbits(32), ack=self.r.getrandbits(32))

    def payload(self, n=None):
        n = self.r.randint(0, 64) if n is None else n
        return Raw(bytes(self.r.getrandbits(8) for _ in range(n)))

    # --- the kinds -----------------------------------------------------
    def k_tcp_doff(self):
        """TCP data offset 0..15 whatever the real header length (issue 11 #1/#2)."""
        p = self.eth() / self.tcp_pkt(flags=self.r.choice(["S", "A", "PA"])) / self.payload(self.r.choice([0, 0, 4, 12, 40]))
        b = bytearray(bytes(p))
        b[14 + 20 + 12] = (self.r.randint(0, 15) << 4) | (b[14 + 20 + 12] & 0x0F)
        return bytes(b)

    def k_tcp_opts(self):
        """Odd TCP options: zero lengths, lengths past the header, TOA-like kind 254."""
        opts = self.r.choice([
            [(254, b"\x00" * 6)], [("MSS", 0)], [("NOP", None)] * 10, [(2, b"")], [(8, b"\x00" * 2)],
            [("WScale", 14), ("SAckOK", b""), ("Timestamp", (1, 0))],
        ])
        p = IP(src=self.endpoints()[0], dst=self.endpoints()[1]) / TCP(sport=self.sport(), dport=self.r.choice([80, 443]),
                                                                       flags=self.r.choice(["S", "A"]), options=opts)
        b = bytearray(bytes(self.eth() / p / self.payload()))
        if self.r.random() < 0.5 and len(b) > 14 + 20 + 21:
            b[14 + 20 + 21] = self.r.randint(0, 255)  # an option length byte
        return bytes(b)

    def k_bad_csum(self):
        p = self.eth() / self.tcp_pkt() / self.payload()
        p[TCP].chksum = self.r.getrandbits(16)
        return bytes(p)

    def k_ip_header(self):
        """IHL, version, total length, header checksum wrong."""
        p = self.eth() / self.tcp_pkt() / self.payload()
        b = bytearray(bytes(p))
        which = self.r.randint(0, 3)
        if which == 0:
            b[14] = 0x40 | self.r.randint(0, 15)
        elif which == 1:
            b[14] = (self.r.randint(0, 15) << 4) | 5
        elif which == 2:
            b[16:18] = self.r.getrandbits(16).to_bytes(2, "big")
        else:
            b[24:26] = self.r.getrandbits(16).to_bytes(2, "big")
        return bytes(b)

    def k_truncated(self):
        b = bytes(self.eth() / self.tcp_pkt() / self.payload(20))
        return b[: self.r.randint(0, len(b) - 1)]

    def k_fragment(self):
        p = self.tcp_pkt()
        p.flags = self.r.choice(["MF", 0, "DF+MF"])
        p.frag = self.r.randint(0 if p.flags else 1, 8191)
        return bytes(self.eth() / p / self.payload())

    def k_ip_options(self):
        p = self.tcp_pkt()
        p.options = [b"\x94\x04\x00\x00"] if self.r.random() < 0.5 else [b"\x01\x01\x01\x00"]
        return bytes(self.eth() / p)

    def k_ttl(self):
        p = self.tcp_pkt(flags="S")
        p.ttl = self.r.choice([0, 1])
        return bytes(self.eth() / p)

    def k_martian(self):
        p = self.tcp_pkt(flags="S")
        p.src = self.r.choice(MARTIANS)
        return bytes(self.eth() / p)

    def k_l2_dst(self):
        """Broadcast, multicast and foreign unicast destination MACs (issue 11 #4)."""
        dst = self.r.choice(["ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "33:33:00:00:00:01", "02:de:ad:be:ef:01"])
        return bytes(self.eth(dst) / self.tcp_pkt(flags="S"))

    def k_ether(self):
        """VLAN tags, IPv6, unknown ethertypes, runts."""
        which = self.r.randint(0, 3)
        if which == 0:
            return bytes(self.eth() / Dot1Q(vlan=self.r.randint(0, 4095)) / self.tcp_pkt())
        if which == 1:
            return bytes(self.eth() / IPv6(dst="fe80::1") / TCP(sport=self.sport(), dport=80))
        if which == 2:
            return bytes(self.eth()) [:12] + self.r.getrandbits(16).to_bytes(2, "big") + bytes(self.payload(30))
        return bytes(self.eth())[: self.r.randint(1, 13)]

    def k_arp(self):
        """Malformed and odd ARP (requests for other addresses, bad sizes, odd ops)."""
        own = VIP_NAT if self.side == "client" else DIP
        a = ARP(op=self.r.choice([1, 1, 3, 4, 0, 9]), hwsrc=self.src_mac, psrc=self.r.choice([CIP, "10.9.9.9", "0.0.0.0"]),
                pdst=self.r.choice([own, "10.1.2.3", VIP_DR]))
        b = bytearray(bytes(self.eth(self.r.choice([self.dst_mac, "ff:ff:ff:ff:ff:ff"])) / a))
        which = self.r.randint(0, 3)
        if which == 0:
            b[14 + 4] = self.r.randint(0, 255)  # hlen
        elif which == 1:
            b[14:16] = self.r.getrandbits(16).to_bytes(2, "big")  # htype
        elif which == 2:
            b = b[: self.r.randint(14, 41)]
        return bytes(b)

    def k_icmp(self):
        """ICMP of every type at the director, errors quoting garbage (the relay path)."""
        s, d, _ = self.endpoints()
        t = self.r.choice([0, 3, 3, 4, 5, 8, 11, 11, 12, 13, 17, 42])
        inner = IP(src=d, dst=s, flags=self.r.choice([0, "DF"])) / TCP(sport=self.r.randint(1024, 65535),
                                                                        dport=self.r.choice([8080, 8443]))
        ib = bytes(inner)[: self.r.choice([0, 8, 20, 24, 28, 40])]
        return bytes(self.eth() / IP(src=s, dst=d) / ICMP(type=t, code=self.r.randint(0, 15)) / Raw(ib))

    def k_udp(self):
        s, d, dp = self.endpoints()
        p = IP(src=s, dst=d) / UDP(sport=self.sport(), dport=self.r.choice([53, 80, dp])) / self.payload()
        b = bytearray(bytes(self.eth() / p))
        if self.r.random() < 0.6:
            b[14 + 20 + 4: 14 + 20 + 6] = self.r.getrandbits(16).to_bytes(2, "big")  # UDP length
        return bytes(b)

    def k_fuzz_l4(self):
        """scapy's fuzz(): random values in every field scapy does not compute."""
        s, d, dp = self.endpoints()
        l4 = self.r.choice([TCP(dport=self.r.choice([80, 443]), sport=self.sport()),
                            UDP(dport=53, sport=self.sport()), ICMP()])
        return bytes(self.eth() / IP(src=s, dst=d) / fuzz(l4) / self.payload())

    def k_fuzz_ip(self):
        s, d, _ = self.endpoints()
        return bytes(self.eth() / fuzz(IP(src=s, dst=d, proto=self.r.choice([6, 17, 1, 47, 4]))) / self.payload())

    def k_flow(self):
        """A SYN that opens a connection, then a mutated next packet of the
        same flow (bad data offset, options, checksum, truncation): where
        issue 11's FULLNAT crash lives."""
        if self.side == "server":
            return self.k_tcp_doff()
        sp = self.sport()
        d, dp = self.r.choice([(VIP_NAT, 80), (VIP_NAT, 443), (VIP_DR, 80), (VIP_DR, 443)])
        syn = self.eth() / IP(src=CIP, dst=d) / TCP(sport=sp, dport=dp, flags="S", seq=1000)
        nxt = self.eth() / IP(src=CIP, dst=d) / TCP(sport=sp, dport=dp, flags=self.r.choice(["A", "PA", "FA"]), seq=1001,
                                                    ack=self.r.getrandbits(32)) / self.payload()
        b = bytearray(bytes(nxt))
        which = self.r.randint(0, 3)
        if which == 0:
            b[14 + 20 + 12] = (self.r.randint(0, 15) << 4) | (b[14 + 20 + 12] & 0x0F)
        elif which == 1:
            b[14 + 20 + 16] ^= 0xFF
        elif which == 2:
            b = b[: self.r.randint(14 + 20, len(b))]
        else:
            b[14 + 20 + self.r.randint(0, 19)] = self.r.getrandbits(8)
        return [bytes(syn), bytes(b)]

    def k_random(self):
        """Random bytes behind a valid Ethernet header with the IPv4 type."""
        return bytes(self.eth() / Raw(b"\x45" + bytes(self.payload(self.r.randint(0, 80)))))


KINDS = [k for k in dir(Gen) if k.startswith("k_")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", choices=["client", "server"], required=True)
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--pps", type=float, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--kinds", default="", help="comma-separated subset of the kinds (default: all)")
    a = ap.parse_args()
    conf.verb = 0
    rnd = random.Random(a.seed)
    src_mac = open(f"/sys/class/net/{a.iface}/address").read().strip()
    g = Gen(a.side, src_mac, a.dst_mac, rnd)
    sock = conf.L2socket(iface=a.iface)
    kinds = [f"k_{k}" for k in a.kinds.split(",")] if a.kinds else KINDS
    unknown = set(kinds) - set(KINDS)
    if unknown:
        sys.exit(f"unknown kinds {sorted(unknown)}; known: {[k[2:] for k in KINDS]}")
    sent = {k[2:]: 0 for k in kinds}
    errors = 0
    t0 = time.monotonic()
    n = 0
    stop = t0 + a.seconds
    while True:
        now = time.monotonic()
        if now >= stop:
            break
        due = t0 + n / a.pps
        if due > now:
            time.sleep(min(due - now, 0.05))
            continue
        kind = rnd.choice(kinds)
        frames = getattr(g, kind)()
        for frame in frames if isinstance(frames, list) else [frames]:
            try:
                sock.send(frame)
                sent[kind[2:]] += 1
            except OSError:
                # A runt the kernel refuses to send (shorter than its minimum).
                errors += 1
            n += 1
    sock.close()
    out = {"side": a.side, "frames": sum(sent.values()), "by_kind": sent, "send_errors": errors,
           "seconds": round(time.monotonic() - t0, 1)}
    with open(a.out, "w") as f:
        json.dump(out, f)
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
