#!/usr/bin/env python3
"""A straightforward URL Defense decoder in Python, as a Python SOAR integration would ship it.

Reads a proofpoint-tap Decode URL request on stdin, decodes every URL of `parameters.encoded_urls`
(v1, v2, v3), and writes a JSON list of results on stdout. It is the baseline the benchmark compares
the Rust binary against: same input, same work, whole process timed.
"""
import base64
import html
import json
import re
import sys
from urllib.parse import unquote, unquote_to_bytes

HOST = r"https?:/{1,2}(?:urldefense\.proofpoint\.com|urldefense\.com|urldefense\.us)"
V1 = re.compile(HOST + r"/v1/url\?u=(?P<u>.+?)&k=", re.I)
V2 = re.compile(HOST + r"/v2/url\?u=(?P<u>.+?)&", re.I)
V3 = re.compile(HOST + r"/v3/__(?P<url>.+?)__;(?P<table>[A-Za-z0-9_-]*)!", re.I)
RUN = re.compile(r"\*(\*.)?")
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def decode_v3(url, table):
    raw = base64.urlsafe_b64decode(table + "=" * (-len(table) % 4))
    pos = 0
    out = bytearray()
    last = 0
    for m in RUN.finditer(url):
        out += url[last:m.start()].encode()
        n = 1 if m.group(1) is None else ALPHABET.index(m.group(1)[1]) + 2
        out += raw[pos:pos + n]
        pos += n
        last = m.end()
    out += url[last:].encode()
    return out.decode("utf-8")


def decode(url):
    s = url.replace("&amp;", "&")
    m = V3.match(s)
    if m:
        return decode_v3(m.group("url"), m.group("table"))
    m = V2.match(s + "&")
    if m:
        u = m.group("u").replace("-", "%").replace("_", "/")
        return html.unescape(unquote_to_bytes(u).decode("utf-8"))
    m = V1.match(s + "&k=")
    if m:
        return html.unescape(unquote(m.group("u")))
    raise ValueError("not a URL Defense URL")


def main():
    request = json.load(sys.stdin)
    results = []
    for url in request["parameters"]["encoded_urls"]:
        try:
            results.append({"encodedUrl": url, "decodedUrl": decode(url), "success": True})
        except Exception as e:  # noqa: BLE001 - report and go on, as an action would
            results.append({"encodedUrl": url, "success": False, "error": str(e)})
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
