#!/usr/bin/env python3
"""Userspace IPIP decapsulator for the TUN lab's real servers.

This kernel has no ipip module, so a real server cannot terminate LVS's
IP-in-IP tunnel itself. This process does it: a raw socket receives IP
protocol 4 packets (outer header DIP -> RIP included), and the inner packet
(CIP -> VIP) is written into a tun device, so the kernel receives it as if
it had arrived on that interface and the real TCP stack answers from the
VIP (held on lo) straight to the client, like a real LVS-TUN server.
"""
import fcntl
import os
import socket
import struct
import subprocess
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    for cmd in (["ip", "link", "set", name, "up"],
                ["sysctl", "-qw", f"net.ipv4.conf.{name}.rp_filter=0"],
                ["sysctl", "-qw", f"net.ipv4.conf.{name}.accept_local=1"]):
        subprocess.run(cmd, check=True)
    return fd


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "tunl-rvs"
    tun = open_tun(name)
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
