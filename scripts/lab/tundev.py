"""The tun device of the lab's userspace decapsulators (ipip_decap.py,
ip6ip6_decap.py): this kernel has neither the ipip nor the ip6_tunnel
module, so both hand the inner packets of rvsd's tunnels to the real
server's stack by writing them into a tun device. Opening it is the same
for both; only the interface settings differ (IPv4's rp_filter, IPv6's
address generation), so the caller passes them as commands.

The decapsulators import this by name: Python puts a script's own folder
first on sys.path, so `python3 scripts/lab/ipip_decap.py` (as lab.sh runs
them) finds it without any packaging.
"""
import fcntl
import os
import struct
import subprocess

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name: str, setup: list) -> int:
    """Create tun device `name` (bare IP packets: no packet-info header, so
    a write is exactly one IP packet), run each command of `setup` (argv
    lists, failing loudly) to configure it, and return its file descriptor."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    for cmd in setup:
        subprocess.run(cmd, check=True)
    return fd
