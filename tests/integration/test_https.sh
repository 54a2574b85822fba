#!/usr/bin/env bash
# test_https.sh - the node over HTTPS (tls_cert/tls_key, libmicrohttpd with
# GnuTLS): a certificate made here for 127.0.0.1, then WebDAV, CalDAV through
# the python caldav library, the REST API and the portal's cookie (Secure),
# all over TLS and verified against that certificate; a plain-HTTP request
# to the TLS port gets no answer; a broken key or certificate stops start-up
# with a clear message.
#
#   bash tests/integration/test_https.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd openssl
require_cmd jq
mg_add_standard_users

CERT="$MG_TMP/cert.pem"
KEY="$MG_TMP/key.pem"
if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$KEY" -out "$CERT" >"$MG_TMP/openssl.log" 2>&1; then
    fail "openssl could not make a test certificate: $(head -c 300 "$MG_TMP/openssl.log")"
    mg_finish
fi

# ---- a key or certificate the node cannot use: refused at start-up ----------------

bad_start() { # bad_start DESC CONFIG-JSON: serve must exit non-zero and say why
    local desc=$1 out st=0
    printf '%s\n' "$2" >"$MG_TMP/bad.json"
    out=$(timeout 20 "$MG_BIN" serve --listen "127.0.0.1:$(mg_pick_port)" --data "$MG_DATA" \
        --config "$MG_TMP/bad.json" 2>&1) || st=$?
    check "$desc: serve refuses to start (status $st)" test "$st" -ne 0 -a "$st" -ne 124
    expect_contains "$out" "tls" "$desc: the message names the TLS setting"
}
bad_start "certificate without a key" "{\"tls_cert\": \"$CERT\"}"
bad_start "missing key file" "{\"tls_cert\": \"$CERT\", \"tls_key\": \"$MG_TMP/none.pem\"}"
printf 'not a key\n' >"$MG_TMP/junk.pem"
bad_start "unreadable PEM" "{\"tls_cert\": \"$CERT\", \"tls_key\": \"$MG_TMP/junk.pem\"}"

# ---- the node over TLS ---------------------------------------------------------------

printf '{"tls_cert": "%s", "tls_key": "%s"}\n' "$CERT" "$KEY" >"$MG_TMP/tls.json"
MG_SCHEME=https
MG_CURL_TLS=(--cacert "$CERT")
mg_start --config "$MG_TMP/tls.json"
check "the base URL is https" test "${MG_BASE%%:*}" == https

expect_status GET "$MG_BASE/healthz" 200
# the certificate is checked, not waved through: without it curl refuses
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$MG_BASE/healthz" || true)
check "an unverified client does not get through (got $st)" test "$st" == 000
# plain HTTP on the TLS port: no HTTP answer
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$MG_PORT/healthz" || true)
check "plain HTTP on the TLS port gets no HTTP answer (got $st)" test "$st" == 000
expect_alive "after a plain-HTTP request on the TLS port"

# WebDAV: a 5 MiB file up and down, PROPFIND, Basic auth over TLS
head -c $((5 << 20)) /dev/urandom >"$MG_TMP/big.bin"
DAV="$MG_BASE/dav/files/alice"
expect_status PUT "$DAV/big.bin" 201 -u "alice:$ALICE_PW" --data-binary "@$MG_TMP/big.bin"
expect_status GET "$DAV/big.bin" 200 -u "alice:$ALICE_PW"
check "the file comes back identical over TLS" \
    test "$(sha256_of "$LAST_BODY_FILE")" == "$(sha256_of "$MG_TMP/big.bin")"
expect_status GET "$DAV/big.bin" 206 -u "alice:$ALICE_PW" -H 'Range: bytes=100-199'
check "a range over TLS is 100 bytes" test "$(stat -c %s "$LAST_BODY_FILE")" == 100
expect_status PROPFIND "$DAV/" 207 -u "alice:$ALICE_PW" -H 'Depth: 1'
expect_body_contains big.bin
expect_status GET "$DAV/big.bin" 401 -u "alice:wrong-password"

# CalDAV with a real client verifying the certificate
cat >"$MG_TMP/caldav_tls.py" <<'PY'
import sys, datetime
import caldav
url, user, password, cafile = sys.argv[1:5]
client = caldav.DAVClient(url, username=user, password=password, ssl_verify_cert=cafile)
principal = client.principal()
cal = principal.make_calendar(name="Over TLS", cal_id="tls")
cal.save_event("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//meshgate tests//EN\r\n"
               "BEGIN:VEVENT\r\nUID:tls-1@example.org\r\nDTSTAMP:20260401T000000Z\r\n"
               "DTSTART:20260501T100000Z\r\nDTEND:20260501T110000Z\r\n"
               "SUMMARY:meeting over tls\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
found = cal.search(start=datetime.datetime(2026, 5, 1, tzinfo=datetime.timezone.utc),
                   end=datetime.datetime(2026, 5, 2, tzinfo=datetime.timezone.utc), event=True)
print(len(found), "meeting over tls" in found[0].data if found else False)
PY
out=$(/usr/bin/python3 "$MG_TMP/caldav_tls.py" "$MG_BASE/" alice "$ALICE_PW" "$CERT" 2>&1 || true)
expect_eq "$out" "1 True" "python caldav over TLS: calendar made, event saved and found"

# REST: bearer token, then the portal's cookie, which must be Secure over TLS
TOKEN=$(mg_login alice "$ALICE_PW")
expect_status GET "$MG_BASE/api/v1/me" 200 -H "Authorization: Bearer $TOKEN"
expect_json .user alice
expect_status POST "$MG_BASE/api/v1/login" 200 -H 'Content-Type: application/json' \
    --data-binary "{\"user\": \"bob\", \"password\": \"$BOB_PW\", \"session\": \"cookie\"}"
expect_header Set-Cookie '^mg_session=[^;]+; Path=/api/v1/; Max-Age=[0-9]+; HttpOnly; SameSite=Strict; Secure$'

expect_alive "https"
mg_finish
