#!/usr/bin/env python3
"""Userspace IPv6-in-IPv6 decapsulator for the IPv6 TUN lab's real servers.

The IPv6 twin of ipip_decap.py: this kernel has no ip6_tunnel module
(`ip -6 tunnel add ... mode ip6ip6` fails with "No such device"), so a real
server cannot terminate rvsd's IPv6 tunnel (RFC 2473, next header 41,
outer DIP6 -> RIP6) itself. A raw AF_INET6 socket for protocol 41 receives
those packets and the inner one (CIP6 -> VIP6) is written into a tun
device, so the kernel receives it as if it had arrived there and the real
TCP stack answers from the VIP6 (held on lo) straight to the client, like
a real LVS-TUN server over IPv6.

Unlike IPv4 raw sockets, IPv6 raw sockets never return the IP header
(RFC 3542 3): what recv gives is the payload after the outer header and
any extension headers the kernel processed, so the inner IPv6 packet
starts at offset 0. Because a raw socket took the packet, the kernel
sends no ICMPv6 parameter problem for the unknown next header either.

    ip6ip6_decap.py [TUN-NAME]

Prints "ip6ip6_decap: NAME ready" once it receives, and on SIGTERM the
number of packets it decapsulated and dropped and the outer sources they
came from, so the lab's tests can see that the tunnel was used, by whom.
"""
import os
import signal
import socket
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree (lab.sh runs as root)
from tundev import open_tun  # noqa: E402  (scripts/lab/tundev.py, beside this file)

IPPROTO_IPV6 = 41
IPV6_HDR = 40


def setup(name: str) -> list:
    """IPv6 on (the namespace's default may say otherwise), no router
    advertisements, no link-local address to generate: the device only
    hands inner packets to the stack, which delivers them to the VIP6 on
    lo (IPv6 has no rp_filter to relax)."""
    return [["sysctl", "-qw", f"net.ipv6.conf.{name}.disable_ipv6=0",
             f"net.ipv6.conf.{name}.accept_ra=0"],
            ["ip", "link", "set", name, "addrgenmode", "none"],
            ["ip", "link", "set", name, "up"]]


def inner_packet(payload: bytes):
    """The inner IPv6 packet, trimmed to its own length, or None when the
    payload is not one (too short, not version 6, length beyond the data)."""
    if len(payload) < IPV6_HDR or payload[0] >> 4 != 6:
        return None
    total = IPV6_HDR + struct.unpack_from("!H", payload, 4)[0]
    if total > len(payload):
        return None
    return payload[:total]


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "tun6-rvs"
    tun = open_tun(name, setup(name))
    raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_IPV6)
    counts = {"decapsulated": 0, "dropped": 0}
    sources = set()

    def report(_sig, _frame):
        print(f"ip6ip6_decap: {name} decapsulated {counts['decapsulated']} dropped {counts['dropped']}"
              f" from {' '.join(sorted(sources)) or '-'}", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, report)
    print(f"ip6ip6_decap: {name} ready", flush=True)
    while True:
        payload, (src, *_) = raw.recvfrom(65535)
        inner = inner_packet(payload)
        if inner is None:
            counts["dropped"] += 1
            continue
        os.write(tun, inner)
        counts["decapsulated"] += 1
        sources.add(src)


if __name__ == "__main__":
    main()
