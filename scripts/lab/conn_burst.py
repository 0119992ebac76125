#!/usr/bin/env python3
"""Many short TCP connections for sync measurements (scripts/lab-ecmp.sh):
run in the client namespace; --count connections to VIP:PORT, --threads at
a time, each sending a GET and reading the answer to its end (so the
director sees SYN, ACK, the request, and the client's FIN: IPVS's
threshold packet and a FIN_WAIT transition, two sync records each).
Reports JSON: {"ok": N, "failed": F, "seconds": S, "conns_per_s": R}.

    conn_burst.py VIP [--port 80] [--count 2000] [--threads 32]

Stdlib only."""
import argparse
import json
import socket
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vip")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=32)
    a = ap.parse_args()
    lock = threading.Lock()
    left = [a.count]
    ok = [0]
    failed = [0]
    req = f"GET / HTTP/1.0\r\nHost: {a.vip}\r\n\r\n".encode()

    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            try:
                with socket.create_connection((a.vip, a.port), timeout=3) as s:
                    s.sendall(req)
                    while s.recv(65536):
                        pass
                with lock:
                    ok[0] += 1
            except OSError:
                with lock:
                    failed[0] += 1

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.monotonic() - t0
    json.dump({"ok": ok[0], "failed": failed[0], "seconds": round(dt, 3),
               "conns_per_s": round(ok[0] / dt, 1)}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
