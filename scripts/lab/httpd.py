#!/usr/bin/env python3
"""A real server for the lab: answers GET / with "<name> <address>" (like
the seed lab's httpd pages) and GET /whoami with the client address it sees, GET /big with a deterministic body of the
requested size (?bytes=N, default 10 MB) so transfers can be checked byte
for byte. Threaded, HTTP/1.1, plain sockets: the real Linux TCP stack."""
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
            body = f"{NAME} {ADDR}\n".encode()
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


def udp_echo(bind: str, port: int) -> None:
    """UDP on the same port: answers each datagram with "<name> <addr> <payload>"."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((bind, port))
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(f"{NAME} {ADDR} ".encode() + data, peer)


if __name__ == "__main__":
    NAME, ADDR = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 80
    bind = sys.argv[4] if len(sys.argv) > 4 else "0.0.0.0"
    threading.Thread(target=udp_echo, args=(bind, port), daemon=True).start()
    Server((bind, port), Handler).serve_forever()
