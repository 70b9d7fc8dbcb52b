#!/usr/bin/env python3
"""Abuse shapes against a running Qiao server, timed, while a normal search keeps running.

Usage: python3 scripts/abuse.py [http://127.0.0.1:8080]   (standard library only)

Each shape must be refused with a clear code in under 100 ms, and the normal search's median
latency during the run must stay close to its median before. Prints a Markdown table; the last
result is recorded in docs/HARDENING.md.
"""
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

BASE = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080").rstrip("/")
NORMAL = ('{ nearbyServices(near: {lat: 31.105, lon: 121.355}, radiusMeters: 3000, categories: [LEGAL_AID]) '
          '{ edges { distanceMeters node { id name } } } }')


def post(body, content_type="application/json"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(BASE + "/graphql", data=data, headers={"content-type": content_type})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    elapsed = (time.perf_counter() - started) * 1000
    try:
        answer = json.loads(text)
        code = (answer.get("errors") or [{}])[0].get("extensions", {}).get("code") if isinstance(answer, dict) else None
    except ValueError:
        code = None
    return status, code, elapsed


def nest(depth):
    return "{ " + "categories { children { " * depth + "code" + " } }" * depth + " }"


SHAPES = {
    "deep nesting (40 levels)": {"query": nest(40)},
    "1,000 aliases": {"query": "{ " + " ".join(f"a{i}: service(id: \"x{i}\") {{ id }}" for i in range(1000)) + " }"},
    "alias x first fan-out (25 x 50)": {"query": "{ " + " ".join(
        f"p{i}: nearbyServices(near: {{lat: 31.1, lon: 121.3}}, radiusMeters: 50000, first: 50) {{ edges {{ node {{ id name description }} }} }}"
        for i in range(25)) + " }"},
    "batch of 100": [{"query": "{ __typename }"}] * 100,
    "circular fragments": {"query": "query { categories { ...A } } fragment A on Category { children { ...B } } "
                                    "fragment B on Category { children { ...A } }"},
    "directive overload (2,000)": {"query": "{ categories " + "@include(if: true) " * 2000 + "{ code } }"},
    "huge string (90 KB)": {"query": "query($t: String) { nearbyServices(near: {lat: 31.1, lon: 121.3}, radiusMeters: 1000, text: $t) { edges { node { id } } } }",
                            "variables": {"t": "字" * 30000}},
    "1 MB body": b'{"query": "{ __typename }"' + b" " * (1024 * 1024) + b"}",
    "text/plain (CSRF)": None,
}


def normal_latencies(seconds, out):
    end = time.time() + seconds
    while time.time() < end:
        out.append(post({"query": NORMAL})[2])


def main():
    before = []
    normal_latencies(3, before)
    during = []
    worker = threading.Thread(target=normal_latencies, args=(6, during))
    worker.start()
    rows = []
    ok = True
    for name, body in SHAPES.items():
        if body is None:
            status, code, ms = post(json.dumps({"query": "mutation { __typename }"}).encode(), "text/plain")
        else:
            status, code, ms = post(body)
        refused = status >= 400 or code == "BAD_USER_INPUT"
        fast = ms < 100
        ok &= refused and fast and status < 500
        rows.append(f"| {name} | {status} | {code} | {ms:.1f} | {'yes' if refused and fast else 'NO'} |")
    worker.join()
    print("| shape | HTTP | code | ms | refused < 100 ms |\n|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nnormal search median: {statistics.median(before):.1f} ms before, "
          f"{statistics.median(during):.1f} ms during ({len(during)} requests)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
