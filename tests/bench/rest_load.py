#!/usr/bin/env python3
"""rest_load.py - the load client of tests/bench/bench_rest.sh (stdlib only).

  rest_load.py token    --base URL --user U --password P
  rest_load.py books    --base URL --token T
  rest_load.py inbox    --base URL --token T
  rest_load.py login    --base URL --user U --password P  [load options]
  rest_load.py send     --base URL --token T --to B[,C,D] [load options]
  rest_load.py list     --base URL --token T --limit L --expect N [load options]
  rest_load.py walk     --base URL --token T --limit L --expect N [load options]
  rest_load.py contacts --base URL --token T --book ID    [load options]
  rest_load.py davput   --base URL --user U --password P --book ID [load options]

  load options: --name NAME --count N --threads T --seconds S

token prints a session token; books prints the first address book's id
("none" when the server has no /api/v1/addressbooks route); inbox prints the
number of messages in the Inbox. The other commands send up to N requests
from T threads, each on its own kept-alive connection, and stop issuing new
ones after S seconds. They print one line:

  ROW name done failed seconds req/s p50_ms p99_ms

where a walk is one "request" (every page of the Inbox by cursor), and print
the first few failures (status and body excerpt) to stderr. Only loopback
URLs are meant to be used.
"""
import argparse
import base64
import http.client
import json
import sys
import threading
import time
import urllib.parse
import uuid

API = "/api/v1"
SHOWN_FAILURES = 5


class Client:
    """One kept-alive connection; request() returns (status, body bytes)."""

    def __init__(self, base, timeout=60):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.timeout = u.hostname, u.port, timeout
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        # A kept-alive connection closed by the server just as we send fails
        # before any answer: retry once on a fresh connection, but only for
        # requests that may be repeated (a POST is never sent twice).
        for attempt in range(2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException) as e:
                self.conn.close()
                self.conn = None
                if not reused or method == "POST":
                    return 0, str(e).encode()
        return 0, b"no answer"


def json_headers(token=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    return h


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100.0))]


class Load:
    """Runs op(client, i) for i in 0..count-1 from several threads. op returns
    None on success or a string describing the failure."""

    def __init__(self, args, op):
        self.args, self.op = args, op
        self.lock = threading.Lock()
        self.next = 0
        self.lat, self.failures = [], []
        self.deadline = 0.0

    def take(self):
        with self.lock:
            if self.next >= self.args.count or time.monotonic() > self.deadline:
                return None
            self.next += 1
            return self.next - 1

    def worker(self):
        client = Client(self.args.base)
        while True:
            i = self.take()
            if i is None:
                return
            t0 = time.monotonic()
            try:
                err = self.op(client, i)
            except (ValueError, KeyError, TypeError) as e:  # an answer not shaped as documented
                err = f"unexpected answer: {e!r}"
            took = time.monotonic() - t0
            with self.lock:
                if err is None:
                    self.lat.append(took)
                else:
                    self.failures.append(err)

    def run(self):
        started = time.monotonic()
        self.deadline = started + self.args.seconds
        threads = [threading.Thread(target=self.worker, daemon=True)
                   for _ in range(self.args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - started
        for f in self.failures[:SHOWN_FAILURES]:
            print(f"{self.args.name}: {f}", file=sys.stderr)
        n = len(self.lat)
        print(f"ROW {self.args.name} {n} {len(self.failures)} {took:.2f} "
              f"{n / took if took > 0 else 0:.1f} {1000 * percentile(self.lat, 50):.2f} "
              f"{1000 * percentile(self.lat, 99):.2f}", flush=True)
        return 1 if self.failures or n == 0 else 0


def failure(what, status, body):
    return f"{what}: status {status}: {body[:200].decode('utf-8', 'replace')}"


def expect(what, status, body, want):
    return None if status in want else failure(what, status, body)


# ---- one request each ----------------------------------------------------------------

def login(client, user, password):
    body = json.dumps({"user": user, "password": password})
    st, data = client.request("POST", API + "/login", body, json_headers())
    if st != 200:
        return None, failure("login", st, data)
    return json.loads(data)["token"], None


def inbox_total(client, token):
    st, data = client.request("GET", API + "/mail/mailboxes", headers=json_headers(token))
    if st != 200:
        raise SystemExit(failure("mailboxes", st, data))
    for box in json.loads(data)["items"]:
        if box["name"] == "Inbox":
            return box["total"]
    raise SystemExit("no Inbox in the mailbox list")


def inbox_page(client, token, limit, cursor):
    """Returns (items, next cursor, error)."""
    q = {"limit": str(limit)}
    if cursor:
        q["cursor"] = cursor
    path = API + "/mail/mailboxes/Inbox/messages?" + urllib.parse.urlencode(q)
    st, data = client.request("GET", path, headers=json_headers(token))
    if st != 200:
        return 0, None, failure("list", st, data)
    page = json.loads(data)
    return len(page["items"]), page.get("next"), None


def jcard(name, uid):
    return ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", name],
                      ["n", {}, "text", [name.split()[-1], name.split()[0], "", "", ""]],
                      ["email", {}, "text", f"{uid}@example.org"],
                      ["tel", {"type": "cell"}, "uri", "tel:+49-30-1234567"],
                      ["uid", {}, "text", uid]]]


def vcard(name, uid):
    """The same contact as jcard(), as vCard 4.0 text."""
    first, last = name.split()[0], name.split()[-1]
    return ("BEGIN:VCARD\r\nVERSION:4.0\r\n"
            f"FN:{name}\r\nN:{last};{first};;;\r\nEMAIL:{uid}@example.org\r\n"
            "TEL;TYPE=cell;VALUE=uri:tel:+49-30-1234567\r\n"
            f"UID:{uid}\r\nEND:VCARD\r\n")


# ---- commands --------------------------------------------------------------------------

def cmd_token(args):
    token, err = login(Client(args.base), args.user, args.password)
    if err:
        raise SystemExit(err)
    print(token)
    return 0


def cmd_books(args):
    st, data = Client(args.base).request("GET", API + "/addressbooks",
                                         headers=json_headers(args.token))
    if st == 404 or st == 405:
        print("none")
        return 0
    if st != 200:
        raise SystemExit(failure("addressbooks", st, data))
    items = json.loads(data).get("items") or []
    print(items[0]["id"] if items else "contacts")
    return 0


def cmd_inbox(args):
    print(inbox_total(Client(args.base), args.token))
    return 0


def cmd_login(args):
    def op(client, i):
        return login(client, args.user, args.password)[1]
    return Load(args, op).run()


def cmd_send(args):
    to = args.to.split(",")
    def op(client, i):
        text = f"Hello,\n\nthis is benchmark message {i} with a few lines of text.\n" * 4
        body = json.dumps({"to": to, "subject": f"bench {args.name} {i}", "text": text})
        st, data = client.request("POST", API + "/mail/send", body, json_headers(args.token))
        if st != 201:
            return failure("send", st, data)
        failed = [d for d in json.loads(data).get("delivery", []) if d.get("status") != "delivered"]
        return f"send: not delivered: {failed}" if failed else None
    return Load(args, op).run()


def cmd_list(args):
    want = min(args.limit, args.expect) if args.expect else args.limit

    def op(client, i):
        n, _, err = inbox_page(client, args.token, args.limit, None)
        if err is None and n != want:
            err = f"list: {n} items on a page of {args.limit}, expected {want}"
        return err
    return Load(args, op).run()


def cmd_walk(args):
    def op(client, i):
        seen, cursor = 0, None
        for _ in range(args.expect + 2):  # bounded even if a cursor loops
            n, cursor, err = inbox_page(client, args.token, args.limit, cursor)
            if err:
                return err
            seen += n
            if not cursor:
                break
        return None if seen == args.expect else f"walk: saw {seen} messages, expected {args.expect}"
    return Load(args, op).run()


def cmd_contacts(args):
    path = API + "/addressbooks/" + urllib.parse.quote(args.book) + "/contacts"
    run = uuid.uuid4().hex[:8]

    def op(client, i):
        body = json.dumps(jcard(f"Ann Number{i}", f"rest-{run}-{i}"))
        headers = json_headers(args.token)
        headers["Content-Type"] = "application/vcard+json"  # RFC 7095
        st, data = client.request("POST", path, body, headers)
        return expect("contact create", st, data, (200, 201))
    return Load(args, op).run()


def cmd_davput(args):
    auth = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()
    prefix = f"/dav/addressbooks/{args.user}/{args.book}/"
    run = uuid.uuid4().hex[:8]

    def op(client, i):
        uid = f"dav-{run}-{i}"
        headers = {"Authorization": auth, "Content-Type": "text/vcard; charset=utf-8",
                   "If-None-Match": "*"}
        st, data = client.request("PUT", prefix + uid + ".vcf",
                                  vcard(f"Ann Number{i}", uid).encode(), headers)
        return expect("CardDAV PUT", st, data, (201, 204))
    return Load(args, op).run()


COMMANDS = {"token": cmd_token, "books": cmd_books, "inbox": cmd_inbox, "login": cmd_login,
            "send": cmd_send, "list": cmd_list, "walk": cmd_walk, "contacts": cmd_contacts,
            "davput": cmd_davput}


def main():
    p = argparse.ArgumentParser(description="load client of bench_rest.sh")
    p.add_argument("command", choices=sorted(COMMANDS))
    p.add_argument("--base", required=True)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--token")
    p.add_argument("--to")
    p.add_argument("--book", default="contacts")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--expect", type=int, default=0)
    p.add_argument("--name")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--seconds", type=float, default=60)
    args = p.parse_args()
    args.name = args.name or args.command
    if args.count < 1 or args.count > 1000000 or args.threads < 1 or args.threads > 64:
        p.error("--count wants 1..1000000 and --threads 1..64")
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
