#!/usr/bin/env python3
"""Userspace IPIP decapsulator for the TUN lab's real servers.

This kernel has no ipip module, so a real server cannot terminate LVS's
IP-in-IP tunnel itself. This process does it: a raw socket receives IP
protocol 4 packets (outer header DIP -> RIP included), and the inner packet
(CIP -> VIP) is written into a tun device, so the kernel receives it as if
it had arrived on that interface and the real TCP stack answers from the
VIP (held on lo) straight to the client, like a real LVS-TUN server.
"""
import os
import socket
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree (lab.sh runs as root)
from tundev import open_tun  # noqa: E402  (scripts/lab/tundev.py, beside this file)


def setup(name: str) -> list:
    """Up, and accept the inner packets although their source (the client)
    is not routed via this device and their destination (the VIP) is local."""
    return [["ip", "link", "set", name, "up"],
            ["sysctl", "-qw", f"net.ipv4.conf.{name}.rp_filter=0"],
            ["sysctl", "-qw", f"net.ipv4.conf.{name}.accept_local=1"]]


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "tunl-rvs"
    tun = open_tun(name, setup(name))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
    print(f"ipip_decap: {name} ready", flush=True)
    count = 0
    while True:
        pkt = raw.recv(65535)
        ihl = (pkt[0] & 0x0F) * 4
        inner = pkt[ihl:]
        if len(inner) < 20 or inner[0] >> 4 != 4:
            continue
        os.write(tun, inner)
        count += 1


if __name__ == "__main__":
    main()
