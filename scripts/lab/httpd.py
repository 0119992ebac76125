#!/usr/bin/env python3
"""A real server for the lab: answers GET / with "<name> <address>" (like
the seed lab's httpd pages) and GET /whoami with the client address it sees, GET /big with a deterministic body of the
requested size (?bytes=N, default 10 MB) so transfers can be checked byte
for byte. Threaded, HTTP/1.1, plain sockets: the real Linux TCP stack.

    httpd.py NAME ADDR [PORT [BIND]] [--v6 ADDR6] [--proxy-protocol]

With --proxy-protocol every connection must start with a PROXY header
(HAProxy's proxy-protocol.txt, v1 text or v2 binary), as nginx's
`listen ... proxy_protocol` requires; a connection without one gets 400
and is closed. /whoami then answers "<NAME> <src> <sport> <dst> <dport>
v1|v2 via <peer>": the client and VIP the header named, and the address
the connection really came from (FULLNAT's LIP). POST /upload answers
"<NAME> <length> <sha256>" of the body, for transfers toward the server.

GET /stream?chunks=K&interval=S&size=B is a slow download, as long-lived
connections are: K chunks of B bytes (default 60, 0.5 s, 1000), S seconds
apart, with the total length in Content-Length and the server's name in
an X-Server header; the body is /big's pattern, so a client can check it.

With --v6 the server also listens on [::]:PORT (IPv6 only, so the IPv4
socket keeps 0.0.0.0) and names itself "<NAME> <ADDR6>" there; it binds
the wildcard, not ADDR6, so that DR's VIP on lo is served too.

SIGUSR1 stops it gracefully, as an operator stops a web server for
maintenance: the listening sockets close at once (new connections are
refused), the connections already open are served to their end, then the
process exits."""
import hashlib
import http.server
import ipaddress
import socket
import threading
import signal
import socketserver
import sys
import time
import urllib.parse


def pattern(n: int) -> bytes:
    """Deterministic, non-repeating-looking body: byte i = (i*7 + i//251) & 0xff."""
    block = bytes(((i * 7) + (i // 251)) & 0xFF for i in range(251 * 256))
    reps, rest = divmod(n, len(block))
    return block * reps + block[:rest]


PROXY_PROTOCOL = False  # set by --proxy-protocol
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def read_proxy(rfile):
    """The PROXY header at the start of a connection: (version, src, sport,
    dst, dport), or None when the connection does not start with one."""
    head = rfile.read(12)
    if head == V2_SIG:
        ver_cmd, fam, n = rfile.read(1)[0], rfile.read(1)[0], int.from_bytes(rfile.read(2), "big")
        body = rfile.read(n)
        if ver_cmd != 0x21 or len(body) != n:
            return None
        if fam == 0x11 and n >= 12:
            alen = 4
        elif fam == 0x21 and n >= 36:
            alen = 16
        else:
            return None
        src = ipaddress.ip_address(body[:alen])
        dst = ipaddress.ip_address(body[alen : 2 * alen])
        sport = int.from_bytes(body[2 * alen : 2 * alen + 2], "big")
        dport = int.from_bytes(body[2 * alen + 2 : 2 * alen + 4], "big")
        return ("v2", str(src), sport, str(dst), dport)
    if not head.startswith(b"PROXY "):
        return None
    line = head + rfile.readline(107 - len(head))
    if not line.endswith(b"\r\n"):
        return None
    w = line[:-2].decode("ascii", "replace").split(" ")
    if len(w) != 6 or w[1] not in ("TCP4", "TCP6"):
        return None
    src, dst = ipaddress.ip_address(w[2]), ipaddress.ip_address(w[3])
    if (src.version == 4) != (w[1] == "TCP4") or src.version != dst.version:
        return None
    return ("v1", str(src), int(w[4]), str(dst), int(w[5]))


ACTIVE = [0]  # connections being served (for the graceful stop)
ACTIVE_LOCK = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy = None

    def setup(self):
        with ACTIVE_LOCK:
            ACTIVE[0] += 1
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            with ACTIVE_LOCK:
                ACTIVE[0] -= 1

    def handle(self):
        if PROXY_PROTOCOL:
            self.proxy = read_proxy(self.rfile)
            if self.proxy is None:
                self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 16\r\nConnection: close\r\n\r\nno PROXY header\n")
                return
        super().handle()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        self.answer(f"{NAME} {len(data)} {hashlib.sha256(data).hexdigest()}\n".encode())

    def stream(self, q):
        chunks = int(q.get("chunks", ["60"])[0])
        interval = float(q.get("interval", ["0.5"])[0])
        size = int(q.get("size", ["1000"])[0])
        body = pattern(chunks * size)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Server", NAME)
        self.end_headers()
        self.wfile.flush()
        for i in range(chunks):
            if i:
                time.sleep(interval)
            self.wfile.write(body[i * size : (i + 1) * size])
            self.wfile.flush()

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/stream":
            return self.stream(urllib.parse.parse_qs(url.query))
        if url.path == "/big":
            q = urllib.parse.parse_qs(url.query)
            n = int(q.get("bytes", ["10485760"])[0])
            body = pattern(n)
        elif url.path == "/whoami" and self.proxy is not None:
            ver, src, sport, dst, dport = self.proxy
            body = f"{NAME} {src} {sport} {dst} {dport} {ver} via {self.client_address[0]}\n".encode()
        elif url.path == "/whoami":
            # The client address as this server sees it (FULLNAT: the LIP).
            body = f"{NAME} {self.client_address[0]}\n".encode()
        else:
            body = f"{NAME} {self.server.addr}\n".encode()
        self.answer(body)

    def answer(self, body: bytes):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    addr = ""


class Server6(Server):
    address_family = socket.AF_INET6

    def server_bind(self):
        # IPv6 only: the IPv4 server keeps its own socket on the port.
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


def udp_echo(family: int, bind: str, port: int, addr: str) -> None:
    """UDP on the same port: answers each datagram with "<name> <addr> <payload>"."""
    s = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((bind, port))
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(f"{NAME} {addr} ".encode() + data, peer)


def serve(cls, family: int, bind: str, port: int, addr: str) -> Server:
    threading.Thread(target=udp_echo, args=(family, bind, port, addr), daemon=True).start()
    srv = cls((bind, port), Handler)
    srv.addr = addr
    return srv


if __name__ == "__main__":
    args = sys.argv[1:]
    addr6 = None
    PROXY_PROTOCOL = "--proxy-protocol" in args
    if PROXY_PROTOCOL:
        args.remove("--proxy-protocol")
    if "--v6" in args:
        i = args.index("--v6")
        addr6 = args[i + 1]
        del args[i : i + 2]
    NAME, ADDR = args[0], args[1]
    port = int(args[2]) if len(args) > 2 else 80
    bind = args[3] if len(args) > 3 else "0.0.0.0"
    servers = [serve(Server, socket.AF_INET, bind, port, ADDR)]
    if addr6 is not None:
        servers.append(serve(Server6, socket.AF_INET6, "::", port, addr6))
        threading.Thread(target=servers[1].serve_forever, daemon=True).start()

    def graceful(signum, frame):
        for s in servers:
            threading.Thread(target=s.shutdown, daemon=True).start()

    signal.signal(signal.SIGUSR1, graceful)
    servers[0].serve_forever()
    for s in servers:
        s.server_close()
    print(f"{NAME}: stopped listening, finishing {ACTIVE[0]} connections", flush=True)
    while ACTIVE[0] > 0:
        time.sleep(0.05)
