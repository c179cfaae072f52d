"""A configurable (mis)behaving backend for the supervisor's integration tests.

Invoked as `<backend> migrate` or `<backend> serve --config <Caddyfile>` (docs/contract.md §1).
Behaviour comes from FAKE (comma-separated flags, some with `=value`); FAKE_DIR is a test-owned
directory where it records what it saw (one JSON line per process in `spawns`, pids of the
processes it started) so tests can check the host's side of the contract.

Flags:
  migrate_fail          `migrate` prints to stderr and exits 1
  migrate_hang          `migrate` starts a grandchild and never ends
  crash_start           `serve` prints to stderr and exits 1 at once
  crash_first=K         the first K `serve` processes crash at start, later ones are healthy
  crash_after_ms=N      serve, then exit 3 after N ms
  exit_code=N           `serve` exits with N at once
  never_ready           never serve, never send READY=1
  no_notify             do not send READY=1 (readiness by /healthz only)
  unhealthy_after_ms=N  /healthz answers 503 after N ms
  ignore_term           ignore SIGTERM
  grandchild            start `sleep 600` in the same process group
  flood                 write stderr lines as fast as possible
"""

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

FLAGS = {}
for item in filter(None, os.environ.get("FAKE", "").split(",")):
    key, _, value = item.partition("=")
    FLAGS[key] = value
DIR = os.environ.get("FAKE_DIR", ".")
START = time.monotonic()


def record(name, value):
    with open(os.path.join(DIR, name), "a") as f:
        f.write(value + "\n")


def say(line):
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def spawn_count():
    try:
        with open(os.path.join(DIR, "spawns")) as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def grandchild(name):
    child = subprocess.Popen(["sleep", "600"])
    record(name, str(child.pid))


def notify_ready():
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(b"READY=1", addr)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            limit = FLAGS.get("unhealthy_after_ms")
            if limit is not None and (time.monotonic() - START) * 1000 > int(limit):
                return self.answer(503, {"status": "unhealthy"})
            return self.answer(200, {"status": "ok", "version": "0.0.0-fake"})
        if self.path == "/api/whoami":
            want = "Bearer " + os.environ.get("BRIDGE_TOKEN", "")
            if self.headers.get("Authorization") == want:
                return self.answer(200, {"pid": os.getpid()})
            return self.answer(401, {"status": 401})
        return self.answer(404, {"status": 404})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        say("request " + (fmt % args))


class Server(http.server.ThreadingHTTPServer):
    def __init__(self, sock):
        super().__init__(sock.getsockname(), Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock


def flood():
    n = 0
    while True:
        n += 1
        say(f"flood line {n} " + "x" * 100)


def serve():
    record(
        "spawns",
        json.dumps(
            {
                "pid": os.getpid(),
                "pgid": os.getpgid(0),
                "token": os.environ.get("BRIDGE_TOKEN"),
                "listen_fds": os.environ.get("LISTEN_FDS"),
                "listen_pid": os.environ.get("LISTEN_PID"),
                "port": os.environ.get("PORT"),
                "env": os.environ.get("BRIDGE_ENV"),
                "database_url": os.environ.get("DATABASE_URL"),
                "mercure": os.environ.get("MERCURE_SUBSCRIBER_JWT_KEY"),
                "notify": os.environ.get("NOTIFY_SOCKET"),
                "cwd": os.getcwd(),
                "args": sys.argv[1:],
            }
        ),
    )
    n = spawn_count()
    if "ignore_term" in FLAGS:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if "grandchild" in FLAGS:
        grandchild("grandchildren")
    if "flood" in FLAGS:
        threading.Thread(target=flood, daemon=True).start()
    if "exit_code" in FLAGS:
        say("fake: configuration error")
        sys.exit(int(FLAGS["exit_code"]))
    if "crash_start" in FLAGS or n <= int(FLAGS.get("crash_first", "0")):
        say(f"fake: crash at start (spawn {n})")
        sys.exit(1)
    if "never_ready" in FLAGS:
        while True:
            time.sleep(1)
    assert os.environ.get("LISTEN_FDS") == "1", "no socket passed"
    assert os.environ.get("LISTEN_PID") == str(os.getpid()), "LISTEN_PID is not ours"
    server = Server(socket.socket(fileno=3))
    if "ignore_term" not in FLAGS:
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    if "crash_after_ms" in FLAGS:

        def crash():
            time.sleep(int(FLAGS["crash_after_ms"]) / 1000)
            say("fake: crash later")
            os._exit(3)

        threading.Thread(target=crash, daemon=True).start()
    say(f"listening on http://127.0.0.1:{os.environ.get('PORT')}")
    if "no_notify" not in FLAGS:
        notify_ready()
    server.serve_forever(poll_interval=0.05)
    say("fake: stopped")


def migrate():
    record("migrations", str(os.getpid()))
    if "migrate_fail" in FLAGS:
        for i in range(20):
            say(f"migrate: noise {i}")
        say("migrate: 0003_create_chores refused: checksum mismatch")
        sys.exit(1)
    if "migrate_hang" in FLAGS:
        grandchild("migrate_grandchildren")
        while True:
            time.sleep(1)
    say("migrate: up to date")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "migrate":
        migrate()
    elif command == "serve":
        serve()
    else:
        say(f"fake: unknown command {command!r}")
        sys.exit(2)
