#!/usr/bin/env python3
"""load.py - a small WebDAV load client for the cluster tests and the benchmark.

  load.py put    --nodes URL,URL --user U:P --path /dav/files/u/load --count N
                 [--threads T] [--seconds S] --out ACKED
  load.py verify --nodes URL,URL --user U:P --acked ACKED [--threads T]
  load.py get    --nodes URL,URL --user U:P --acked ACKED --count N [--threads T]

put spreads N PUTs over the nodes from T threads (kept-alive connections) and
writes one line per acknowledged write (2xx): "path<TAB>sha256 of the body".
A write that got no answer or an error is not acknowledged and not listed.
verify GETs every acknowledged path from every node and checks body and ETag
(the same ETag on every node); a 503 or a missing answer is retried a few
times, as a client would, before it counts. get reads acknowledged paths for throughput.
Every run prints throughput and latency percentiles; loops are bounded by
--count and --seconds. Only loopback URLs are meant to be used.
"""
import argparse
import base64
import hashlib
import http.client
import os
import sys
import threading
import time
import urllib.parse

VERIFY_ATTEMPTS = 4  # a read that got 503 or no answer is tried this often


def conn_for(url, timeout):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)


class Worker(threading.Thread):
    def __init__(self, args, nodes, jobs, results, auth):
        super().__init__(daemon=True)
        self.args, self.nodes, self.jobs, self.results, self.auth = args, nodes, jobs, results, auth
        self.conns = {}

    def request(self, node, method, path, body=None):
        headers = {"Authorization": self.auth}
        # A kept-alive connection the server closed as idle just as we sent
        # fails before any response: like browsers, retry once on a fresh
        # connection (every request here is idempotent). A fresh connection
        # that fails counts as a failure.
        for attempt in range(2):
            reused = node in self.conns
            c = self.conns.get(node)
            if c is None:
                c = self.conns[node] = conn_for(self.nodes[node], self.args.timeout)
            try:
                c.request(method, path, body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                return r.status, data, r.getheader("ETag")
            except (OSError, http.client.HTTPException):
                c.close()
                self.conns.pop(node, None)
                if not reused:
                    break
        return 0, b"", None


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100.0))]


def report(name, lat, started, errors):
    took = time.monotonic() - started
    n = len(lat)
    print(f"{name}: {n} ok, {errors} failed in {took:.2f} s: {n / took if took else 0:.0f} req/s, "
          f"p50 {1000 * percentile(lat, 50):.1f} ms, p99 {1000 * percentile(lat, 99):.1f} ms",
          flush=True)


def run_put(args, nodes, auth):
    lock = threading.Lock()
    counter = iter(range(args.count))
    lat, acked = [], []
    errors = [0]
    deadline = time.monotonic() + args.seconds
    out = open(args.out, "w", buffering=1)

    class PutWorker(Worker):
        def run(self):
            while time.monotonic() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                body = f"value {i} {os.urandom(8).hex()}\n".encode()
                sub = f"/d{i % args.dirs:03d}" if args.dirs else ""
                path = f"{args.path}{sub}/f{i:06d}.txt"
                t0 = time.monotonic()
                # A node that does not answer is skipped: the client fails
                # over like a real one would (a PUT is idempotent).
                for k in range(len(self.nodes)):
                    node = (i + k) % len(self.nodes)
                    status, _, _ = self.request(node, "PUT", path, body)
                    if status != 0:
                        break
                dt = time.monotonic() - t0
                with lock:
                    if 200 <= status < 300:
                        lat.append(dt)
                        out.write(f"{path}\t{hashlib.sha256(body).hexdigest()}\n")
                    else:
                        errors[0] += 1

    if args.dirs:
        w = Worker(args, nodes, None, None, auth)
        for k in range(args.dirs):
            status, _, _ = w.request(k % len(nodes), "MKCOL", f"{args.path}/d{k:03d}/")
            if status not in (201, 405):
                sys.exit(f"MKCOL {args.path}/d{k:03d}/ failed: {status}")
    started = time.monotonic()
    ws = [PutWorker(args, nodes, None, None, auth) for _ in range(args.threads)]
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    out.close()
    report("put", lat, started, errors[0])
    return 0


def run_verify(args, nodes, auth, check=True):
    items = [line.rstrip("\n").split("\t") for line in open(args.acked) if line.strip()]
    if not check:
        items = items[: args.count]
    lock = threading.Lock()
    it = iter(items)
    bad, lat = [], []
    errors = [0]
    retried = [0]
    deadline = time.monotonic() + args.seconds

    class GetWorker(Worker):
        def run(self):
            while time.monotonic() < deadline:
                with lock:
                    item = next(it, None)
                if item is None:
                    return
                path, sha = item
                etags = set()
                targets = range(len(self.nodes)) if check else [hash(path) % len(self.nodes)]
                for node in targets:
                    t0 = time.monotonic()
                    # 503 (no read quorum in time) and no answer say "try
                    # again", not "gone": a client retries them, and so
                    # does verify, a few times. A wrong body, a 404 or
                    # different ETags are failures at once.
                    for attempt in range(VERIFY_ATTEMPTS):
                        status, data, etag = self.request(node, "GET", path)
                        if status not in (0, 503) or attempt + 1 == VERIFY_ATTEMPTS:
                            break
                        with lock:
                            retried[0] += 1
                        time.sleep(0.2 * (attempt + 1))
                    dt = time.monotonic() - t0
                    ok = status == 200 and hashlib.sha256(data).hexdigest() == sha
                    with lock:
                        if ok:
                            lat.append(dt)
                        else:
                            errors[0] += 1
                            bad.append(f"{path} via {self.nodes[node]}: status {status}")
                    etags.add(etag)
                if check and len(etags) != 1:
                    with lock:
                        bad.append(f"{path}: ETags differ between nodes: {sorted(map(str, etags))}")

    started = time.monotonic()
    ws = [GetWorker(args, nodes, None, None, auth) for _ in range(args.threads)]
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    report("verify" if check else "get", lat, started, errors[0])
    if check:
        done = len(lat) + errors[0]
        expect = len(items) * len(nodes)
        if done < expect:
            bad.append(f"only {done} of {expect} reads done before the deadline")
        for b in bad[:10]:
            print("  " + b)
        print(f"verified {len(items)} acknowledged writes on {len(nodes)} nodes: "
              f"{len(bad)} problems ({retried[0]} reads retried after 503 or no answer)",
              flush=True)
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["put", "verify", "get"])
    ap.add_argument("--nodes", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--path", default="")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--dirs", type=int, default=0,
                    help="spread files over this many sub-collections (made first)")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--out")
    ap.add_argument("--acked")
    args = ap.parse_args()
    nodes = args.nodes.split(",")
    for n in nodes:
        if urllib.parse.urlsplit(n).hostname.split(".")[0] != "127":
            sys.exit("load.py talks to loopback addresses only")
    auth = "Basic " + base64.b64encode(args.user.encode()).decode()
    if args.mode == "put":
        return run_put(args, nodes, auth)
    return run_verify(args, nodes, auth, check=args.mode == "verify")


if __name__ == "__main__":
    sys.exit(main())
