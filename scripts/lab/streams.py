#!/usr/bin/env python3
"""Long-lived connections for the scale-out lab (scripts/lab-ecmp.sh): run
in the client namespace, opens N TCP connections to VIP:PORT, each a slow
streaming download (httpd.py's GET /stream), keeps them all open while the
downloads last, and reports JSON on stdout:

    {"opened": N, "completed": C, "broken": B, "conns": [
        {"sport": 40001, "server": "webserver1", "bytes": 60000,
         "status": "completed" | "reset" | "short" | "timeout" | "connect",
         "error": "...", "t_end": 1700000000.1}, ...]}

A connection is broken when it is reset, closed before Content-Length
bytes arrived (short), stalls longer than --stall seconds (timeout), or
its body differs from the pattern httpd.py sends (short, with the offset).
When every connection is open (its response headers read), the list of
(sport, server) is written to --ready-file, so a test knows when to act.

    streams.py VIP [--port 80] [--count 100] [--chunks 60] [--interval 0.5]
               [--size 1000] [--stall 15] [--ready-file PATH]

Stdlib only."""
import argparse
import json
import os
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True


def pattern(n: int) -> bytes:
    """httpd.py's body: byte i = (i*7 + i//251) & 0xff."""
    block = bytes(((i * 7) + (i // 251)) & 0xFF for i in range(251 * 256))
    reps, rest = divmod(n, len(block))
    return block * reps + block[:rest]


class Stream:
    def __init__(self, args):
        self.args = args
        self.sock = None
        self.sport = None
        self.server = None
        self.length = None
        self.got = 0
        self.status = None
        self.error = ""
        self.t_end = None
        self.head_rest = b""

    def open(self) -> bool:
        a = self.args
        try:
            s = socket.create_connection((a.vip, a.port), timeout=5)
            self.sock = s
            self.sport = s.getsockname()[1]
            q = f"/stream?chunks={a.chunks}&interval={a.interval}&size={a.size}"
            s.sendall(f"GET {q} HTTP/1.1\r\nHost: {a.vip}\r\nConnection: close\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                d = s.recv(4096)
                if not d:
                    raise ConnectionError("closed before the response headers")
                head += d
            head, self.head_rest = head.split(b"\r\n\r\n", 1)
            for line in head.decode("latin-1").split("\r\n")[1:]:
                k, _, v = line.partition(":")
                if k.lower() == "content-length":
                    self.length = int(v)
                elif k.lower() == "x-server":
                    self.server = v.strip()
            if self.length is None:
                raise ConnectionError(f"no Content-Length: {head!r}")
            return True
        except (OSError, ConnectionError, ValueError) as e:
            self.status, self.error, self.t_end = "connect", repr(e), time.time()
            return False

    def run(self, expect: bytes):
        s = self.sock
        s.settimeout(self.args.stall)
        data = self.head_rest
        try:
            while len(data) < self.length:
                d = s.recv(65536)
                if not d:
                    break
                data += d
        except socket.timeout:
            self.status = "timeout"
        except ConnectionResetError as e:
            self.status, self.error = "reset", repr(e)
        except OSError as e:
            self.status, self.error = "reset", repr(e)
        self.got = len(data)
        self.t_end = time.time()
        if self.status is None:
            if len(data) < self.length:
                self.status = "short"
            elif data[: self.length] != expect:
                off = next(i for i in range(self.length) if data[i] != expect[i])
                self.status, self.error = "short", f"body differs at byte {off}"
            else:
                self.status = "completed"
        s.close()

    def report(self) -> dict:
        return {"sport": self.sport, "server": self.server, "bytes": self.got,
                "status": self.status, "error": self.error, "t_end": self.t_end}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vip")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--chunks", type=int, default=60)
    ap.add_argument("--interval", type=float, default=0.5)
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--stall", type=float, default=15.0)
    ap.add_argument("--ready-file")
    a = ap.parse_args()
    expect = pattern(a.chunks * a.size)
    streams = [Stream(a) for _ in range(a.count)]
    threads = []
    for st in streams:
        if st.open():
            t = threading.Thread(target=st.run, args=(expect,), daemon=True)
            t.start()
            threads.append(t)
    opened = sum(1 for st in streams if st.status is None)
    if a.ready_file:
        ready = [{"sport": st.sport, "server": st.server} for st in streams if st.status is None]
        with open(a.ready_file + ".tmp", "w") as f:
            json.dump({"opened": opened, "t": time.time(), "conns": ready}, f)
        os.replace(a.ready_file + ".tmp", a.ready_file)
    for t in threads:
        t.join()
    conns = [st.report() for st in streams]
    completed = sum(1 for c in conns if c["status"] == "completed")
    broken = sum(1 for c in conns if c["status"] in ("reset", "short", "timeout"))
    json.dump({"opened": opened, "completed": completed, "broken": broken, "conns": conns}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
