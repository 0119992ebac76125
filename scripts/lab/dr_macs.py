#!/usr/bin/env python3
"""The DR demo's proof, like the seed lab's Wireshark step: the director
forwards a request by rewriting the Ethernet addresses; the IP addresses,
ports, TCP header and payload arrive as the client sent them.

    dr_macs.py BEFORE.pcap AFTER.pcap [--name MAC=LABEL]...

BEFORE is captured where frames reach the director (the router's LAN
side), AFTER inside a real server's namespace. Each TCP segment of AFTER
is paired with the one of BEFORE with the same addresses, ports, sequence
numbers, flags and IP id; every header field of both (Ethernet, IPv4,
TCP) and the payload are compared. Prints the fields of the first pair
and a summary; exits 1 unless at least one pair was found and every pair
differs in eth.src and eth.dst, and otherwise at most in the TTL and the
IP header checksum: rvsd, like a router (and like IPVS, which decrements
the TTL of what it forwards), counts itself as a hop, so the TTL must be
exactly one less and both IP checksums valid. Nothing else may differ.

Plain pcap (what `tcpdump -w` writes), Ethernet link type, IPv4 only:
the standard library is enough, so the demo needs no scapy."""
import ipaddress
import struct
import sys


def frames(path):
    """The frames of a pcap file (microsecond or nanosecond, either byte order)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise SystemExit(f"{path}: not a pcap file (pcapng is not read here)")
    linktype = struct.unpack(e + "I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit(f"{path}: link type {linktype}, want Ethernet (1)")
    out, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(e + "I", data[off + 8 : off + 12])[0]
        out.append(data[off + 16 : off + 16 + incl])
        off += 16 + incl
    return out


def mac(b):
    return ":".join(f"{x:02x}" for x in b)


TCP_FLAGS = "FSRPAUEC"


def decode(fr):
    """Every field of an Ethernet/IPv4/TCP frame as an ordered dict, or None."""
    if len(fr) < 14 + 20 or fr[12:14] != b"\x08\x00":
        return None
    ip = fr[14:]
    ihl = (ip[0] & 15) * 4
    if ip[0] >> 4 != 4 or ip[9] != 6 or len(ip) < ihl + 20:
        return None
    tot = struct.unpack("!H", ip[2:4])[0]
    tcp = ip[ihl:tot]
    doff = (tcp[12] >> 4) * 4
    flags = tcp[13]
    return {
        "eth.dst": mac(fr[0:6]),
        "eth.src": mac(fr[6:12]),
        "eth.type": "0x0800",
        "ip.version/ihl": f"{ip[0] >> 4}/{ihl}",
        "ip.tos": ip[1],
        "ip.len": tot,
        "ip.id": struct.unpack("!H", ip[4:6])[0],
        "ip.flags/frag": f"0x{struct.unpack('!H', ip[6:8])[0]:04x}",
        "ip.ttl": ip[8],
        "ip.proto": ip[9],
        "ip.checksum": f"0x{struct.unpack('!H', ip[10:12])[0]:04x}",
        "ip.src": str(ipaddress.IPv4Address(ip[12:16])),
        "ip.dst": str(ipaddress.IPv4Address(ip[16:20])),
        "ip.options": ip[20:ihl].hex() or "-",
        "tcp.sport": struct.unpack("!H", tcp[0:2])[0],
        "tcp.dport": struct.unpack("!H", tcp[2:4])[0],
        "tcp.seq": struct.unpack("!I", tcp[4:8])[0],
        "tcp.ack": struct.unpack("!I", tcp[8:12])[0],
        "tcp.flags": "".join(c for i, c in enumerate(TCP_FLAGS) if flags >> i & 1),
        "tcp.window": struct.unpack("!H", tcp[14:16])[0],
        "tcp.checksum": f"0x{struct.unpack('!H', tcp[16:18])[0]:04x}",
        "tcp.urgent": struct.unpack("!H", tcp[18:20])[0],
        "tcp.options": tcp[20:doff].hex() or "-",
        "payload": f"{len(tcp) - doff} bytes {tcp[doff:].hex()[:16]}{'..' if len(tcp) - doff > 8 else ''}",
        "_payload": tcp[doff:],
        "_ip_ok": ones_sum(ip[:ihl]) == 0xFFFF,
    }


def ones_sum(b):
    """Internet checksum sum of a header: 0xffff when its checksum is right."""
    s = sum(struct.unpack(f"!{len(b) // 2}H", b[: len(b) // 2 * 2]))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def key(p):
    return tuple(p[k] for k in ("ip.src", "ip.dst", "tcp.sport", "tcp.dport", "tcp.seq", "tcp.ack", "tcp.flags", "ip.id"))


def main(argv):
    names = {}
    paths = []
    i = 0
    while i < len(argv):
        if argv[i] == "--name":
            m, label = argv[i + 1].split("=", 1)
            names[m.lower()] = label
            i += 2
        else:
            paths.append(argv[i])
            i += 1
    if len(paths) != 2:
        raise SystemExit(__doc__)
    before = {}
    for fr in frames(paths[0]):
        p = decode(fr)
        if p is not None:
            before.setdefault(key(p), p)
    after = [p for p in (decode(fr) for fr in frames(paths[1])) if p is not None]
    pairs = [(before[key(a)], a) for a in after if key(a) in before]
    if not pairs:
        print(f"dr_macs: no segment of {paths[1]} ({len(after)}) found in {paths[0]} ({len(before)})")
        return 1

    def show(field, v):
        return f"{v} ({names[v]})" if field.startswith("eth.") and v in names else str(v)

    b, a = pairs[0]
    print(f"first pair: {b['ip.src']}:{b['tcp.sport']} > {b['ip.dst']}:{b['tcp.dport']} [{b['tcp.flags']}] seq {b['tcp.seq']}")
    print(f"  {'field':<16} {'before the director':<40} {'at the real server':<40}")
    for field in b:
        if field.startswith("_"):
            continue
        mark = ""
        if b[field] != a[field]:
            mark = "  <- hop: TTL - 1" if field in ("ip.ttl", "ip.checksum") else "  <- changed"
        print(f"  {field:<16} {show(field, b[field]):<40} {show(field, a[field]):<40}{mark}")
    bad = 0
    changed = set()
    for b, a in pairs:
        diff = {f for f in b if b[f] != a[f] and f not in ("payload", "_ip_ok")}
        changed |= diff
        why = []
        if not {"eth.src", "eth.dst"} <= diff:
            why.append("the MAC addresses did not both change")
        if diff - {"eth.src", "eth.dst", "ip.ttl", "ip.checksum"}:
            why.append(f"{sorted(diff - {'eth.src', 'eth.dst', 'ip.ttl', 'ip.checksum'})} changed")
        if "ip.ttl" in diff and a["ip.ttl"] != b["ip.ttl"] - 1:
            why.append(f"TTL {b['ip.ttl']} -> {a['ip.ttl']}")
        if not (a["_ip_ok"] and b["_ip_ok"]):
            why.append("an IP header checksum is wrong")
        if why:
            bad += 1
            print(f"dr_macs: pair seq {b['tcp.seq']} [{b['tcp.flags']}]: {'; '.join(why)}")
    with_data = sum(1 for b, _ in pairs if b["_payload"])
    print(f"dr_macs: {len(pairs)} segments paired ({with_data} with data); fields that differ: {', '.join(sorted(changed))}")
    if bad:
        print(f"dr_macs: FAIL: {bad} pairs differ beyond the MAC addresses (and the hop's TTL)")
        return 1
    hop = " (and the TTL, one less: the director is a hop; the IP checksum follows)" if "ip.ttl" in changed else ""
    print(f"dr_macs: OK: only eth.src and eth.dst changed{hop}; IP addresses, ports, TCP header and payload identical")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
