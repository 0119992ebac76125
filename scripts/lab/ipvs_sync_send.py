#!/usr/bin/env python3
"""A "kernel-format" IPVS sync master for the labs: builds a sync message
version 1 byte by byte from the Linux kernel's struct layout
(net/netfilter/ipvs/ip_vs_sync.c) and sends it to the sync group (or a
unicast address), as a kernel master would; written for rvs's wire
compatibility tests, independent of rvs's own encoder.

    ipvs_sync_send.py --ifaddr 192.168.0.10 --syncid 1 \\
        --conn 10.0.1.77:43210,192.168.0.200:80,192.168.0.10:80 [--conn ...] \\
        [--group 224.0.0.81] [--port 8848] [--ttl 1] [--state 1] [--timeout 900] \\
        [--flags 3] [--protocol 6] [--repeat 1]
    ipvs_sync_send.py --ifaddr 192.168.0.10 --syncid 1 --many 100000 --per-msg 40 \
        --conn 10.1.0.0:1024,192.168.0.200:80,192.168.0.10:80
        (a load: --many distinct connections from client addresses and ports
        counting up from the first --conn's, --per-msg to a message)

Prints JSON on stdout: {"sent": datagrams, "bytes": length, "hex": the message}.

Layout (all multi-byte fields big-endian):
  struct ip_vs_sync_mesg (8 bytes): u8 reserved (0), u8 syncid, be16 size
    (whole message), u8 nr_conns, s8 version (1), u16 spare (0);
  struct ip_vs_sync_v4 (36 bytes) per connection: u8 type (0: IPv4),
    u8 protocol, be16 ver_size (version << 12 | record size), be32 flags
    (IP_VS_CONN_F_MASQ 0, _TUNNEL 2, _DROUTE 3), be16 state (TCP:
    1 ESTABLISHED), be16 cport, vport, dport, be32 fwmark, be32 timeout
    (seconds), be32 caddr, vaddr, daddr. Records are 4-byte aligned (36 is).

Stdlib only."""
import argparse
import json
import socket
import struct
import sys
import time

SYNC_PROTO_VER = 1
V4_RECORD = 36


def addr_port(s: str):
    a, _, p = s.rpartition(":")
    return socket.inet_aton(a), int(p)


def record(proto, flags, state, timeout, fwmark, conn) -> bytes:
    (caddr, cport), (vaddr, vport), (daddr, dport) = (addr_port(x) for x in conn.split(","))
    r = struct.pack("!BBHIHHHHII", 0, proto, (0 << 12) | V4_RECORD, flags, state, cport, vport, dport,
                    fwmark, timeout) + caddr + vaddr + daddr
    assert len(r) == V4_RECORD, len(r)
    return r


def message(syncid, records) -> bytes:
    body = b"".join(records)
    size = 8 + len(body)
    return struct.pack("!BBHBbH", 0, syncid, size, len(records), SYNC_PROTO_VER, 0) + body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ifaddr", required=True, help="this host's address: multicast interface and source")
    ap.add_argument("--syncid", type=int, required=True)
    ap.add_argument("--conn", action="append", required=True, help="CLIENT:PORT,VIP:PORT,RIP:PORT")
    ap.add_argument("--group", default="224.0.0.81", help="multicast group or a unicast address")
    ap.add_argument("--port", type=int, default=8848)
    ap.add_argument("--ttl", type=int, default=1)
    ap.add_argument("--protocol", type=int, default=6)
    ap.add_argument("--flags", type=int, default=3, help="IP_VS_CONN_F_*: 3 DROUTE")
    ap.add_argument("--state", type=int, default=1, help="IP_VS_TCP_S_*: 1 ESTABLISHED")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--fwmark", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--many", type=int, default=0)
    ap.add_argument("--per-msg", type=int, default=40)
    a = ap.parse_args()
    if a.many:
        many(a)
        return
    msg = message(a.syncid, [record(a.protocol, a.flags, a.state, a.timeout, a.fwmark, c) for c in a.conn])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.ifaddr, 0))
    if socket.inet_aton(a.group)[0] >> 4 == 14:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(a.ifaddr))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, a.ttl)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    for _ in range(a.repeat):
        s.sendto(msg, (a.group, a.port))
    json.dump({"sent": a.repeat, "bytes": len(msg), "hex": msg.hex()}, sys.stdout)
    print()


def many(a):
    """--many connections, --per-msg to a message, as fast as one socket sends."""
    c, v, d = a.conn[0].split(",")
    base, port0 = addr_port(c)
    base = struct.unpack("!I", base)[0]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.ifaddr, 0))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(a.ifaddr))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, a.ttl)
    sent = msgs = 0
    t0 = time.monotonic()
    while sent < a.many:
        recs = []
        for _ in range(min(a.per_msg, a.many - sent)):
            ip = socket.inet_ntoa(struct.pack("!I", base + sent // 60000))
            recs.append(record(a.protocol, a.flags, a.state, a.timeout, a.fwmark,
                               f"{ip}:{port0 + sent % 60000},{v},{d}"))
            sent += 1
        s.sendto(message(a.syncid, recs), (a.group, a.port))
        msgs += 1
    dt = time.monotonic() - t0
    json.dump({"conns": sent, "msgs": msgs, "seconds": round(dt, 3)}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
