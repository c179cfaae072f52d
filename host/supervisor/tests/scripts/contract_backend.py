"""A backend that is not ours: the smallest server honouring docs/contract.md.

`migrate` has nothing to do (exit 0). `serve` serves on fd 3 when LISTEN_FDS=1 and LISTEN_PID is
its pid (§3), else binds 127.0.0.1:$PORT; answers GET /healthz (§7) and /api/* with the bearer
BRIDGE_TOKEN (§2, 401 otherwise); sends READY=1 to NOTIFY_SOCKET (§4); stops on SIGTERM with
exit 0 (§5); logs plain lines to stderr (§6).
"""

import http.server
import json
import os
import signal
import socket
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            return self.reply(200, {"status": "ok", "version": "0.0.1"})
        if not self.path.startswith("/api/"):
            return self.reply(404, {"status": 404, "title": "Not Found"})
        if self.headers.get("Authorization") != "Bearer " + os.environ["BRIDGE_TOKEN"]:
            return self.reply(401, {"status": 401, "title": "Unauthorized"})
        return self.reply(200, [])

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write(fmt % args + "\n")


def listener():
    if os.environ.get("LISTEN_FDS") == "1" and os.environ.get("LISTEN_PID") == str(os.getpid()):
        return socket.socket(fileno=3)
    sock = socket.create_server(("127.0.0.1", int(os.environ.get("PORT", "8765"))))
    return sock


def main():
    if sys.argv[1:2] == ["migrate"]:
        return 0
    if sys.argv[1:2] != ["serve"]:
        sys.stderr.write("usage: contract_backend.py migrate | serve --config FILE\n")
        return 2
    sock = listener()
    server = http.server.ThreadingHTTPServer(sock.getsockname(), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    host, port = sock.getsockname()[:2]
    sys.stderr.write(f"listening on http://{host}:{port}\n")
    sys.stderr.flush()
    notify = os.environ.get("NOTIFY_SOCKET")
    if notify:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(b"READY=1", "\0" + notify[1:] if notify.startswith("@") else notify)
    server.serve_forever(poll_interval=0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
