"""A live OTLP/HTTP collector for bench/telemetry-cost.sh: answers every POST (/v1/traces, /v1/metrics, /v1/logs)
with 200 and an empty protobuf response after reading the whole body, and discards it. On SIGTERM it prints the
requests and bytes it took per path and its own CPU time, so the cost of receiving is on record too (a real
collector does more with each export: this is its floor).

Usage: python3 bench/otlp-sink.py PORT"""
import http.server
import resource
import signal
import sys
import threading
from collections import Counter

requests, received = Counter(), Counter()
lock = threading.Lock()


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with lock:
            requests[self.path] += 1
            received[self.path] += len(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def report(*_):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    for path in sorted(requests):
        print(f"{path}: {requests[path]} exports, {received[path] / 1e6:.1f} MB")
    print(f"sink CPU: {usage.ru_utime + usage.ru_stime:.1f} s")
    sys.stdout.flush()
    sys.exit(0)


signal.signal(signal.SIGTERM, report)
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink)
server.daemon_threads = True
server.serve_forever()
