#!/usr/bin/env python3
"""Hostile-server figures for RELIABILITY.md, measured on the release binary from outside.

Usage: python3 benches/hostile.py   (builds the release binary first; about a minute)

Each case starts a misbehaving server on 127.0.0.1 (a thread of this script), runs the binary once
with the request on stdin, and reports what the process did: its peak resident memory, its wall
time, when its envelope came relative to the request's deadline, and how many calls the server saw. Peak memory is sampled from /proc/PID/status (VmHWM) while the
process runs. Every server stops by itself: request loops are bounded.
"""

import http.server
import json
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "release" / "proofpoint-tap"
MIB = 1024 * 1024
CAMPAIGN_FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "campaign.json").read_text())


def now_ms():
    return int(time.time() * 1000)


class Server:
    """A threaded HTTP server on loopback answering every GET with `answer(path)`."""

    def __init__(self, answer):
        outer = self
        self.calls = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                key = self.path.split("?")[0]
                outer.calls[key] = outer.calls.get(key, 0) + 1
                answer(self)

            def log_message(self, *args):
                pass

        class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.httpd = Threaded(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.uri = "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def total(self, prefix):
        return sum(n for path, n in self.calls.items() if path.startswith(prefix))

    def stop(self):
        self.httpd.shutdown()


def send(handler, status, body, length=True):
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    if length:
        handler.send_header("Content-Length", str(len(body)))
    else:
        handler.send_header("Connection", "close")
    handler.end_headers()
    try:
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass


def run(request, stdin_open=False):
    """(envelope, peak RSS MiB, wall s, ms after the deadline or None)."""
    data = json.dumps(request).encode()
    start = time.perf_counter()
    proc = subprocess.Popen([str(BINARY)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env={})
    peak = {"kib": 0}
    done = threading.Event()

    def sample():
        # VmHWM starts anew at exec; ru_maxrss would count this script's memory from before it.
        while not done.is_set():
            try:
                for line in open("/proc/%d/status" % proc.pid):
                    if line.startswith("VmHWM:"):
                        peak["kib"] = max(peak["kib"], int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
            # Without pause at first, so that short runs are seen too.
            time.sleep(0 if time.perf_counter() - start < 0.05 else 0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    proc.stdin.write(data)
    proc.stdin.flush()
    if not stdin_open:
        proc.stdin.close()
    out = proc.stdout.read()
    proc.wait()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    deadline = request.get("execution_deadline_unix_time_ms")
    late = now_ms() - deadline if deadline else None
    if stdin_open:
        proc.stdin.close()
    return json.loads(out), peak["kib"] / 1024, wall, late


def config(uri):
    return {"api_root": uri, "username": "svc", "password": "secret"}


def row(case, envelope, rss, wall, late, extra=""):
    late_text = "" if late is None else "%+d ms" % late
    print("| %s | %s | %.0f MiB | %.2f s | %s | %s |" % (
        case, envelope["execution_state"], rss, wall, late_text, extra))


def endless_error_body():
    chunk = b" " * (64 * 1024)

    def answer(h):
        h.send_response(400)
        h.send_header("Connection", "close")
        h.end_headers()
        started = time.time()
        try:
            while time.time() - started < 15:
                h.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    server = Server(answer)
    request = {"action": "get_campaign", "parameters": {
        "campaign_id": "aa9b3d62-4d72-4ebc-8f39-3da3833e7038", "fetch_forensics_info": False},
        "configuration": config(server.uri)}
    result = run(request)
    server.stop()
    row("400 with a body that never ends", *result)


def hostile_bodies():
    campaign = dict(CAMPAIGN_FIXTURE)
    campaign["campaignMembers"] = [0] * (8 * MIB)
    campaign["families"] = [{}] * (5 * MIB)
    item = {"type": "url", "display": "d", "malicious": True, "what": {"url": "http://a.example/"}}
    forensics = {"generated": "2021-03-25T00:00:00Z", "reports": [
        {"scope": "CAMPAIGN", "id": "x", "name": "n", "forensics": [item] * 400000}]}
    return (json.dumps(campaign, separators=(",", ":")).encode(),
            json.dumps(forensics, separators=(",", ":")).encode())


def four_big_answers():
    campaign, forensics = hostile_bodies()
    server = Server(lambda h: send(h, 200, forensics if "forensics" in h.path else campaign))
    ids = ["aa9b3d62-4d72-4ebc-8f39-3da3833e703%d" % i for i in range(1, 5)]
    request = {"action": "get_campaign", "parameters": {"campaign_id": ids},
               "configuration": config(server.uri)}
    size = "4 x (%.0f + %.0f MiB)" % (len(campaign) / MIB, len(forensics) / MIB)
    row("four campaigns with forensics, %s" % size, *run(request))
    request["execution_deadline_unix_time_ms"] = now_ms() + 6000
    row("the same, deadline 6 s ahead", *run(request))
    server.stop()


def big_lists():
    """SIEM and people answers of 31 MiB whose items are made of tiny values."""
    events = [{"id": "e%d" % i, "clickTime": "2021-03-25T11:%02d:00.000Z" % (i % 60),
               "recipient": "u%d@example.com" % i, "classification": "malware", "x": [0] * 400}
              for i in range(32000)]
    siem = json.dumps({"queryEndTime": "2021-03-25T12:00:00Z", "clicksPermitted": events},
                      separators=(",", ":")).encode()
    server = Server(lambda h: send(h, 200, siem))
    request = {"action": "search_events", "parameters": {"time_frame": "Last 6 Hours", "max_events": 10000,
                                                         "event_types": "clicks_permitted"},
               "configuration": config(server.uri)}
    row("Search Events, 6 slices of %.0f MiB" % (len(siem) / MIB), *run(request))
    server.stop()

    users = [{"identity": {"guid": "g%d" % i, "emails": ["u%d@example.com" % i]},
              "threatStatistics": {"attackIndex": 1, "families": [{"name": "x", "score": 1}] * 2}, "x": [0] * 400}
             for i in range(32000)]
    people = json.dumps({"users": users}, separators=(",", ":")).encode()
    server = Server(lambda h: send(h, 200, people))
    request = {"action": "get_vaps", "parameters": {"max_users": 10000}, "configuration": config(server.uri)}
    row("Get Very Attacked People, a %.0f MiB page" % (len(people) / MIB), *run(request))
    server.stop()


def paging_traps():
    no_ids = json.dumps({"campaigns": [{"lastUpdatedAt": "2021-03-25T11:00:00Z"}] * 200}).encode()
    server = Server(lambda h: send(h, 200, no_ids))
    request = {"action": "list_campaigns", "parameters": {"time_frame": "Last Week", "max_campaigns": 200},
               "configuration": config(server.uri)}
    envelope, rss, wall, late = run(request)
    row("campaign ids without ids (page ignored)", envelope, rss, wall, late,
        "%d calls" % server.total("/v2/campaign/ids"))
    server.stop()

    one = {"identity": {"guid": "g", "emails": ["u@example.com"]}, "threatStatistics": {"attackIndex": 1}}
    same = json.dumps({"users": [one] * 200}).encode()
    server = Server(lambda h: send(h, 200, same))
    request = {"action": "get_vaps", "parameters": {"max_users": 10000}, "configuration": config(server.uri)}
    envelope, rss, wall, late = run(request)
    row("VAP: one user repeated, page ignored", envelope, rss, wall, late,
        "%d calls" % server.total("/v2/people/vap"))
    server.stop()

    counter = {"n": 0}
    lock = threading.Lock()

    def fresh(h):
        with lock:
            first = counter["n"]
            counter["n"] += 200
        users = [{"identity": {"guid": "g%d" % i, "emails": ["u%d@example.com" % i]},
                  "clickStatistics": {"clickCount": 1}} for i in range(first, first + 200)]
        send(h, 200, json.dumps({"users": users}).encode())

    server = Server(fresh)
    request = {"action": "get_top_clickers", "parameters": {"max_users": 10000},
               "configuration": config(server.uri)}
    envelope, rss, wall, late = run(request)
    row("top clickers: new users on every page", envelope, rss, wall, late,
        "%d calls" % server.total("/v2/people/top-clickers"))
    server.stop()


def many_local_inputs():
    inputs = ["%x" % i for i in range(1750000)]
    request = {"action": "decode_url", "parameters": {"encoded_urls": inputs, "decode_mode": "local"},
               "execution_deadline_unix_time_ms": now_ms() + 1500}
    envelope, rss, wall, late = run(request)
    row("1.75 M local inputs, deadline 1.5 s ahead", envelope, rss, wall, late,
        envelope["output_message"].splitlines()[-1][:90])


def open_stdin():
    request = {"action": "ping", "configuration": {"api_root": "http://127.0.0.1:1"},
               "execution_deadline_unix_time_ms": now_ms() + 2500}
    row("complete request, stdin never closed, deadline 2.5 s ahead", *run(request, stdin_open=True))


def main():
    subprocess.run(["cargo", "build", "--release", "--locked", "-q"], cwd=ROOT, check=True)
    print("| case | state | peak RSS | wall | envelope vs deadline | |")
    print("|---|---|---|---|---|---|")
    endless_error_body()
    four_big_answers()
    big_lists()
    paging_traps()
    many_local_inputs()
    open_stdin()


if __name__ == "__main__":
    sys.exit(main())
