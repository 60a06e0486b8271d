#!/usr/bin/env python3
"""The benchmark suite: python3 benches/run.py [--rounds N] [--quick]

Builds the release binary, then measures, each as median [min .. max] over several runs, and where it
compares, side by side in the same run (runs of the two sides alternate):

1. start-up to envelope: a one-URL offline Decode URL request, whole process, against `python3 -c`
   running a plain Python decoder on the same request, and against the I/O floor (a C program,
   built here with cc, that reads stdin and writes a line);
2. bulk decode: 50 000 mixed v1/v2/v3 URLs in one request, with entities off and on (the default),
   against the same Python decoder and against the I/O floor (the same bytes in and out);
3. Get Campaign: 20 campaigns with forensics against a local stub answering each request after
   100 ms, against the lower bound ceil(requests / max_concurrency) x 100 ms, and against a
   sequential client that pings first (the reference integration's pattern);
4. peak memory (max RSS) of the bulk decode and of a Get Campaign with 1 000 evidence items per
   campaign.

Every process runs with a clean environment (PATH and LANG only) and Python as `python3 -S -E`, so
nothing inherited (PYTHONUNBUFFERED, site imports, log filters) changes what is compared.
Only the standard library is used. The stub listens on 127.0.0.1 only.
"""
import argparse
import base64
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "release" / "proofpoint-tap"
PY_DECODER = ROOT / "benches" / "python_decoder.py"
FIXTURES = ROOT / "tests" / "fixtures"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


# --- inputs -------------------------------------------------------------------------------------

def encode_v1(url):
    return ("https://urldefense.proofpoint.com/v1/url?u=" + quote(url, safe="")
            + "&k=key%3D%0A&r=rcpt&m=msg&s=sig")


def encode_v2(url):
    out = []
    for b in url.encode():
        c = chr(b)
        if c == "/":
            out.append("_")
        elif c.isascii() and (c.isalnum() or c in ".~"):
            out.append(c)
        else:
            out.append("-%02X" % b)
    return ("https://urldefense.proofpoint.com/v2/url?u=" + "".join(out)
            + "&d=DwMFaQ&c=org&r=rcpt&m=msg&s=sig&e=")


def encode_v3(url):
    data = url.encode()
    mangled, table, i = [], bytearray(), 0
    moved = lambda b: b >= 0x80 or chr(b) in "*+&'\"<> $"
    while i < len(data):
        if not moved(data[i]):
            mangled.append(chr(data[i]))
            i += 1
            continue
        start = i
        while i < len(data) and moved(data[i]):
            i += 1
        table += data[start:i]
        left = i - start
        while left > 0:
            if left == 1:
                mangled.append("*")
                left = 0
            else:
                n = min(left, 65)
                mangled.append("**" + ALPHABET[n - 2])
                left -= n
    b64 = base64.urlsafe_b64encode(bytes(table)).decode().rstrip("=")
    return "https://urldefense.com/v3/__" + "".join(mangled) + "__;" + b64 + "!!org!sig$"


def bulk_urls(count):
    words = ["account", "verify", "invoice", "2024", "files", "d", "view", "café", "résumé", "a+b",
             "x*y", "docs"]
    hosts = ["www.example.com", "login.microsoftonline.example", "cdn.shop.example", "docs.example.org"]
    state = 0x5EED
    def rnd():
        nonlocal state
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return state >> 33
    urls = []
    for i in range(count):
        url = "https://%s/" % hosts[rnd() % len(hosts)]
        for _ in range(2 + rnd() % 4):
            url += words[rnd() % len(words)] + "/"
        url += "index.html?id=%d&ref=%s&utm_source=mail" % (rnd() % 100000, words[rnd() % len(words)])
        urls.append((encode_v1, encode_v2, encode_v3)[i % 3](url))
    return urls


def decode_request(urls, entities=False):
    return json.dumps({"action": "decode_url",
                       "parameters": {"encoded_urls": urls, "decode_mode": "local",
                                      "create_url_entities": entities}}).encode()


# --- comparators --------------------------------------------------------------------------------

# Every process measured gets this environment and nothing else of ours: an inherited
# PYTHONUNBUFFERED (thousands of small writes) or PROOFPOINT_TAP_LOG would change what is measured.
CLEAN_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}

# The Python peers, as fast as Python runs them: no site imports (-S), no PYTHON* variables (-E).
PYTHON = ["python3", "-S", "-E"]

# The I/O floor: reads all of stdin, then writes argv[1] bytes (the size of the envelope the
# binary writes for the same request) in one go, or one line when there is no argument. It widens
# its pipes to 1 MiB as the binary does (Linux): the floor is the best the I/O can be.
FLOOR_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
#ifdef F_SETPIPE_SZ
    fcntl(0, F_SETPIPE_SZ, 1 << 20);
    fcntl(1, F_SETPIPE_SZ, 1 << 20);
#endif
    size_t cap = 1 << 20, len = 0;
    char *in = malloc(cap);
    ssize_t n;
    while ((n = read(0, in + len, cap - len)) > 0) {
        len += (size_t)n;
        if (len == cap) { cap *= 2; in = realloc(in, cap); }
    }
    size_t size = argc > 1 ? strtoull(argv[1], 0, 10) : 2;
    char *out = malloc(size);
    memset(out, 'x', size);
    out[size - 1] = '\n';
    for (size_t done = 0; done < size;) {
        n = write(1, out + done, size - done);
        if (n <= 0) return 1;
        done += (size_t)n;
    }
    return in[0] == 0;
}
"""


def build_floor():
    """The floor program, built with cc into target/."""
    source = ROOT / "target" / "bench-floor.c"
    binary = ROOT / "target" / "bench-floor"
    source.write_text(FLOOR_C)
    subprocess.run(["cc", "-O2", "-o", str(binary), str(source)], check=True)
    return str(binary)


def ratio_stats(slow, fast):
    """Median ratio, and the ratios of the runs paired in order (they alternated): min .. max."""
    pairs = sorted(a / b for a, b in zip(slow, fast))
    return statistics.median(slow) / statistics.median(fast), pairs[0], pairs[-1]


# --- measuring ----------------------------------------------------------------------------------

def run_once(cmd, data):
    """Wall time in ms and max RSS in KiB of one process fed `data` on stdin."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=CLEAN_ENV)
    writer = threading.Thread(target=lambda: (proc.stdin.write(data), proc.stdin.close()))
    writer.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    writer.join()
    if status != 0 and cmd[0] == str(BINARY) and not out:
        raise SystemExit("%s produced no output" % cmd)
    return elapsed, usage.ru_maxrss, out


def side_by_side(commands, data, rounds):
    """Runs each command `rounds` times, alternating, and returns their samples."""
    samples = [[] for _ in commands]
    for _ in range(rounds):
        for i, cmd in enumerate(commands):
            ms, _, _ = run_once(cmd, data)
            samples[i].append(ms)
    return samples


def max_rss_mib(cmd, data):
    """Peak memory of `cmd` in MiB, through GNU time: a child forked straight from this Python
    process would report this process's own size as its peak (Linux carries the parent's
    high-water mark through fork and exec)."""
    gnu_time = "/usr/bin/time"
    if not os.path.exists(gnu_time):
        return None
    report = ROOT / "target" / "bench-rss.txt"
    _, _, out = run_once([gnu_time, "-f", "%M", "-o", str(report)] + cmd, data)
    return int(report.read_text().split()[-1]) / 1024, out


def fmt(samples):
    return "%.1f | %.1f | %.1f" % (statistics.median(samples), min(samples), max(samples))


# --- the TAP stub -------------------------------------------------------------------------------

class Stub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, delay, forensics_items):
        campaign = json.loads((FIXTURES / "campaign.json").read_text())
        forensics = json.loads((FIXTURES / "forensics_campaign.json").read_text())
        if forensics_items:
            items = forensics["reports"][0]["forensics"]
            forensics["reports"][0]["forensics"] = [items[i % len(items)] for i in range(forensics_items)]
        self.bodies = {"campaign": json.dumps(campaign).encode(),
                       "forensics": json.dumps(forensics).encode()}
        self.delay = delay
        super().__init__(("127.0.0.1", 0), StubHandler)


class StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):
        time.sleep(self.server.delay)
        if self.path.startswith("/v2/forensics"):
            body = self.server.bodies["forensics"]
        else:
            body = self.server.bodies["campaign"]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def start_stub(delay, forensics_items=0):
    stub = Stub(delay, forensics_items)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    return stub, "http://127.0.0.1:%d" % stub.server_address[1]


SEQUENTIAL_CLIENT = r"""
import base64, json, sys, urllib.request
request = json.load(sys.stdin)
root = request["configuration"]["api_root"]
auth = "Basic " + base64.b64encode(b"bench:bench").decode()
def get(path):
    req = urllib.request.Request(root + path, headers={"Authorization": auth})
    try:
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return None
get("/v2/campaign/00000000-0000-0000-0000-000000000000?size=1")
out = []
for cid in request["parameters"]["campaign_id"]:
    c = get("/v2/campaign/" + cid)
    c["forensics"] = get("/v2/forensics?campaignId=" + cid)
    out.append(c)
json.dump(out, sys.stdout)
"""


# --- the suite ----------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="runs per measurement (default 7)")
    parser.add_argument("--quick", action="store_true", help="3 rounds, no cargo bench")
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds

    subprocess.run(["cargo", "build", "--release", "--locked", "-q"], cwd=ROOT, check=True)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print("# proofpoint-tap benchmarks")
    print()
    print("Machine: %s, %d cores, %s; %s; Python %s" % (cpu, os.cpu_count(), platform.system(),
          subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip(),
          platform.python_version()))
    print("Each figure: median | min | max over %d runs; compared commands ran alternately." % rounds)
    print()
    print("| measurement | median (ms) | min | max | ratio | target |")
    print("|---|---|---|---|---|---|")

    floor = build_floor()

    def against_floor(label, rust, floor_samples, target):
        ratio, low, high = ratio_stats(rust, floor_samples)
        print("| %s, ratio to the I/O floor | %.2fx [%.2f .. %.2f] | | | | <= %.1fx (%s) |" % (
            label, ratio, low, high, target, "met" if ratio <= target else "MISSED"))

    # 1. start-up
    one = decode_request([bulk_urls(3)[2]])
    python_c = PYTHON + ["-c", PY_DECODER.read_text()]
    rust, py, fl = side_by_side([[str(BINARY)], python_c, [floor]], one, max(rounds, 21))
    ratio = statistics.median(py) / statistics.median(rust)
    ok = ratio >= 15 and statistics.median(rust) < 5
    print("| start-up, one URL, proofpoint-tap | %s | | < 5 ms |" % fmt(rust))
    print("| start-up, one URL, python3 -S -E -c | %s | %.1fx | >= 15x (%s) |" % (fmt(py), ratio, "met" if ok else "MISSED"))
    print("| start-up, C floor (reads stdin, writes a line) | %s | | |" % fmt(fl))
    against_floor("start-up", rust, fl, 1.3)

    # 2. bulk decode, without and with entities (the default)
    urls = bulk_urls(50_000)
    for entities in (False, True):
        bulk = decode_request(urls, entities)
        size = len(run_once([str(BINARY)], bulk)[2])
        rust, py, fl = side_by_side([[str(BINARY)], PYTHON + [str(PY_DECODER)], [floor, str(size)]], bulk, rounds)
        ratio = statistics.median(py) / statistics.median(rust)
        label = "50 000 URLs, entities %s" % ("on" if entities else "off")
        print("| %s, proofpoint-tap | %s | | |" % (label, fmt(rust)))
        if entities:
            # The Python decoder makes no entities: a ratio, not a target.
            print("| %s, python3 -S -E decoder (no entities) | %s | %.1fx | |" % (label, fmt(py), ratio))
        else:
            print("| %s, python3 -S -E decoder | %s | %.1fx | >= 20x (%s) |" % (label, fmt(py), ratio, "met" if ratio >= 20 else "MISSED"))
        print("| %s, C floor (same bytes in and out) | %s | | |" % (label, fmt(fl)))
        against_floor(label, rust, fl, 2.5 if entities else 2.0)
    bulk = decode_request(urls)

    # 3. Get Campaign
    stub, uri = start_stub(0.1)
    ids = ["00000000-0000-4000-8000-%012d" % i for i in range(20)]
    req = json.dumps({"action": "get_campaign",
                      "parameters": {"campaign_id": ids, "fetch_forensics_info": True},
                      "configuration": {"api_root": uri, "username": "bench", "password": "bench",
                                        "max_concurrency": 4}}).encode()
    rust, seq = side_by_side([[str(BINARY)], PYTHON + ["-c", SEQUENTIAL_CLIENT]], req, max(3, rounds // 2))
    bound = math.ceil(40 / 4) * 100.0
    within = statistics.median(rust) / bound
    print("| Get Campaign, 20 with forensics, proofpoint-tap | %s | %.2fx bound | <= 1.25x of %.0f ms (%s) |" % (
        fmt(rust), within, bound, "met" if within <= 1.25 else "MISSED"))
    print("| Get Campaign, sequential client with ping first | %s | %.1fx slower | |" % (
        fmt(seq), statistics.median(seq) / statistics.median(rust)))
    stub.shutdown()

    # 4. peak memory
    stub, uri = start_stub(0.0, forensics_items=1000)
    big = json.dumps({"action": "get_campaign",
                      "parameters": {"campaign_id": ids, "fetch_forensics_info": True,
                                     "max_forensics_evidence_to_return": 1000},
                      "configuration": {"api_root": uri, "username": "bench", "password": "bench"}}).encode()
    measured = [max_rss_mib([str(BINARY)], bulk), max_rss_mib(PYTHON + [str(PY_DECODER)], bulk),
                max_rss_mib([str(BINARY)], big)]
    stub.shutdown()
    print()
    if None in measured:
        print("(peak memory not measured: /usr/bin/time, from the Debian package `time`, is missing)")
    else:
        (rust_rss, _), (py_rss, _), (campaign_rss, out) = measured
        envelope = json.loads(out)
        assert envelope["execution_state"] == "completed", envelope["output_message"]
        evidence = sum(len(c["forensics"]["forensics"]) for c in envelope["json_result"])
        print("| peak memory (max RSS) | proofpoint-tap | python3 |")
        print("|---|---|---|")
        print("| 50 000 URLs decode | %.1f MiB | %.1f MiB |" % (rust_rss, py_rss))
        print("| Get Campaign, 20 campaigns x 1 000 evidence items (%d returned) | %.1f MiB | |" % (evidence, campaign_rss))

    if not args.quick:
        print()
        print("Decoder alone, in process (cargo bench --bench decode):")
        print()
        print("| measurement | median | min | max | target |")
        print("|---|---|---|---|---|")
        bench = subprocess.run(["cargo", "bench", "--locked", "-q", "--bench", "decode"], cwd=ROOT,
                               capture_output=True, text=True)
        for line in bench.stdout.splitlines():
            if line.startswith("| decoder"):
                print(line)


if __name__ == "__main__":
    main()
