#!/usr/bin/env python3
"""A real server for the lab: answers GET / with "<name> <address>" (like
the seed lab's httpd pages) and GET /whoami with the client address it sees, GET /big with a deterministic body of the
requested size (?bytes=N, default 10 MB) so transfers can be checked byte
for byte. Threaded, HTTP/1.1, plain sockets: the real Linux TCP stack.

    httpd.py NAME ADDR [PORT [BIND]] [--v6 ADDR6]

With --v6 the server also listens on [::]:PORT (IPv6 only, so the IPv4
socket keeps 0.0.0.0) and names itself "<NAME> <ADDR6>" there; it binds
the wildcard, not ADDR6, so that DR's VIP on lo is served too."""
import http.server
import socket
import threading
import socketserver
import sys
import urllib.parse


def pattern(n: int) -> bytes:
    """Deterministic, non-repeating-looking body: byte i = (i*7 + i//251) & 0xff."""
    block = bytes(((i * 7) + (i // 251)) & 0xFF for i in range(251 * 256))
    reps, rest = divmod(n, len(block))
    return block * reps + block[:rest]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/big":
            q = urllib.parse.parse_qs(url.query)
            n = int(q.get("bytes", ["10485760"])[0])
            body = pattern(n)
        elif url.path == "/whoami":
            # The client address as this server sees it (FULLNAT: the LIP).
            body = f"{NAME} {self.client_address[0]}\n".encode()
        else:
            body = f"{NAME} {self.server.addr}\n".encode()
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
    if "--v6" in args:
        i = args.index("--v6")
        addr6 = args[i + 1]
        del args[i : i + 2]
    NAME, ADDR = args[0], args[1]
    port = int(args[2]) if len(args) > 2 else 80
    bind = args[3] if len(args) > 3 else "0.0.0.0"
    if addr6 is not None:
        srv6 = serve(Server6, socket.AF_INET6, "::", port, addr6)
        threading.Thread(target=srv6.serve_forever, daemon=True).start()
    serve(Server, socket.AF_INET, bind, port, ADDR).serve_forever()
