#!/usr/bin/env python3
"""The other direction of scripts/lab/ipvs_sync_send.py: a "kernel-format"
IPVS sync backup for the labs. Joins the sync group on --ifaddr, and for
--seconds decodes what arrives by the Linux kernel's struct layout
(ip_vs_sync_mesg, then ip_vs_sync_v4 records; see ipvs_sync_send.py),
independently of rvs's decoder. Prints JSON: {"msgs": [{"syncid", "size",
"nr_conns", "version", "from", "conns": [{"type", "protocol", "size",
"flags", "state", "cport", "vport", "dport", "fwmark", "timeout",
"caddr", "vaddr", "daddr"}]}], "errors": [...]}.

    ipvs_sync_recv.py --ifaddr 192.168.0.10 [--group 224.0.0.81] [--port 8848] [--seconds 3]

Stdlib only."""
import argparse
import json
import socket
import struct
import sys
import time


def decode(data: bytes, errors: list) -> dict:
    reserved, syncid, size, nr, version, spare = struct.unpack_from("!BBHBbH", data)
    m = {"reserved": reserved, "syncid": syncid, "size": size, "nr_conns": nr, "version": version,
         "spare": spare, "conns": []}
    if size != len(data):
        errors.append(f"size {size} != datagram {len(data)}")
    off = 8
    for _ in range(nr):
        typ, proto, ver_size, flags, state, cport, vport, dport, fwmark, timeout = struct.unpack_from(
            "!BBHIHHHHII", data, off)
        rsize = ver_size & 0x0FFF
        if typ != 0 or rsize < 36:
            errors.append(f"record at {off}: type {typ} size {rsize}")
            break
        caddr, vaddr, daddr = (socket.inet_ntoa(data[off + 24 + 4 * k: off + 28 + 4 * k]) for k in range(3))
        m["conns"].append({"type": typ, "protocol": proto, "version": ver_size >> 12, "size": rsize,
                           "flags": flags, "state": state, "cport": cport, "vport": vport, "dport": dport,
                           "fwmark": fwmark, "timeout": timeout, "caddr": caddr, "vaddr": vaddr,
                           "daddr": daddr})
        off += (rsize + 3) & ~3
    if off != len(data):
        errors.append(f"records end at {off} of {len(data)}")
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ifaddr", required=True)
    ap.add_argument("--group", default="224.0.0.81")
    ap.add_argument("--port", type=int, default=8848)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--ready-file")
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.group, a.port))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton(a.group) + socket.inet_aton(a.ifaddr))
    if a.ready_file:
        open(a.ready_file, "w").close()
    msgs, errors = [], []
    end = time.monotonic() + a.seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, src = s.recvfrom(65536)
        except socket.timeout:
            break
        m = decode(data, errors)
        m["from"] = src[0]
        msgs.append(m)
    json.dump({"msgs": msgs, "errors": errors}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
