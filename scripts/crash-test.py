#!/usr/bin/env python3
"""Crash test: kill -9 the server at random moments while referrals are being written (SQLite).

Usage: python3 scripts/crash-test.py [path/to/qiao] [cycles, default 20]   (standard library only)

Each cycle starts the server on the same SQLite file, lets 4 writers create logged referrals for
the demo client (each with its own idempotency key), kills the process with SIGKILL after a random
0.3-2.5 s, and then checks the file: `PRAGMA integrity_check` is `ok`, and every referral the API
acknowledged (answered with an id) is present exactly once. Exit status 0 when every cycle holds.
The last result is recorded in docs/HARDENING.md.
"""
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

BINARY = sys.argv[1] if len(sys.argv) > 1 else "target/release/qiao"
CYCLES = int(sys.argv[2]) if len(sys.argv) > 2 else 20
# qiao_schema::ids::derived_id: UUIDv5 of "kind:key" in Qiao's namespace.
NAMESPACE = uuid.UUID("6a0b1e55-9d2c-4f1b-8c3e-51a07e3c0b1d")
CLIENT = str(uuid.uuid5(NAMESPACE, "client:demo-client"))
SERVICE = str(uuid.uuid5(NAMESPACE, "service:sh-minhang-legal-aid"))
CREATE = ("mutation($c: ID!, $s: ID!, $k: String!) { createReferral(clientId: $c, serviceId: $s, live: false, "
          "idempotencyKey: $k) { id } }")


def graphql(port, query, variables, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def start(directory, port):
    environment = dict(os.environ,
                       QIAO_DATABASE_URL=f"sqlite://{directory}/crash.db?mode=rwc",
                       QIAO_DATA_DIR=directory, QIAO_LISTEN=f"127.0.0.1:{port}",
                       QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE="1000000", RUST_LOG="warn")
    process = subprocess.Popen([BINARY], env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except Exception:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


def main():
    directory = tempfile.mkdtemp(prefix="qiao-crash-")
    acknowledged = []
    lock = threading.Lock()
    failures = 0
    for cycle in range(1, CYCLES + 1):
        port = random.randint(20000, 40000)
        process = start(directory, port)
        login = graphql(port, 'mutation { login(username: "worker.tvillage", password: "qiao-demo-pass") { accessToken } }', {})
        token = login["data"]["login"]["accessToken"]
        stop = threading.Event()

        def writer():
            while not stop.is_set():
                try:
                    answer = graphql(port, CREATE, {"c": CLIENT, "s": SERVICE, "k": str(uuid.uuid4())}, token)
                except Exception:
                    return  # the server is gone
                created = (answer.get("data") or {}).get("createReferral")
                if created:
                    with lock:
                        acknowledged.append(created["id"])

        threads = [threading.Thread(target=writer) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(random.uniform(0.3, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        stop.set()
        for thread in threads:
            thread.join()
        database = sqlite3.connect(f"{directory}/crash.db")
        integrity = database.execute("PRAGMA integrity_check").fetchone()[0]
        counts = dict(database.execute("SELECT id, COUNT(*) FROM referral GROUP BY id").fetchall())
        database.close()
        missing = [rid for rid in acknowledged if counts.get(rid) != 1]
        ok = integrity == "ok" and not missing
        failures += not ok
        print(f"cycle {cycle:2}: integrity {integrity}, acknowledged so far {len(acknowledged)}, "
              f"missing or duplicated {len(missing)}{'' if ok else '  <-- FAILED'}")
    print(f"\n{CYCLES} cycles, {len(acknowledged)} acknowledged referrals, {failures} failed cycles ({directory})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
