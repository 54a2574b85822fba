#!/usr/bin/env bash
# test_rclone.sh - rclone (WebDAV backend, no config file) syncs a tree to a
# user's files and back: nested folders, names with spaces and non-ASCII
# letters, an empty file and a 20 MiB one; `rclone check --download`
# compares every byte; a changed and a deleted local file are synced; a
# server-side move; a folder purge. What rclone did is then read back with
# curl, so the server's view is checked, not only rclone's.
#
#   bash tests/integration/test_rclone.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd rclone
mg_add_standard_users
mg_start

DAV="$MG_BASE/dav/files/alice"
export RCLONE_CONFIG="$MG_TMP/rclone.conf" # none: everything is on the command line
: >"$RCLONE_CONFIG"
RC=(rclone --webdav-url "$DAV/" --webdav-user alice --webdav-pass "$(rclone obscure "$ALICE_PW")"
    --webdav-vendor other --retries 1 --low-level-retries 2 --timeout 60s --contimeout 10s)
rc() { timeout 300 "${RC[@]}" "$@" >>"$MG_TMP/rclone.log" 2>&1; }

SRC="$MG_TMP/src"
mkdir -p "$SRC/docs/2026/Fotos Sommer" "$SRC/empty folder" "$SRC/Grüße"
for i in $(seq 1 60); do printf 'note %d\n%s\n' "$i" "$(head -c 300 /dev/urandom | base64)" \
    >"$SRC/docs/2026/note-$i.txt"; done
head -c $((20 << 20)) /dev/urandom >"$SRC/docs/2026/Fotos Sommer/big photo.raw"
: >"$SRC/docs/empty.txt"
echo "schöne Grüße" >"$SRC/Grüße/Brief für Anna.txt"
echo "top" >"$SRC/top level.md"

# ---- copy up, compare every byte --------------------------------------------------------

check "rclone copy uploads the tree" rc copy "$SRC" :webdav:backup
check "rclone check --download finds every file identical" rc check --download "$SRC" :webdav:backup
n_local=$(find "$SRC" -type f | wc -l)
n_remote=$("${RC[@]}" lsf -R --files-only :webdav:backup 2>>"$MG_TMP/rclone.log" | wc -l)
expect_eq "$n_remote" "$n_local" "rclone lists as many files as were sent"
# the server's own view, through curl
expect_status GET "$DAV/backup/docs/2026/Fotos%20Sommer/big%20photo.raw" 200 -u "alice:$ALICE_PW"
check "the 20 MiB file reads back identical over plain GET" \
    test "$(sha256_of "$LAST_BODY_FILE")" == "$(sha256_of "$SRC/docs/2026/Fotos Sommer/big photo.raw")"
expect_status GET "$DAV/backup/Gr%C3%BC%C3%9Fe/Brief%20f%C3%BCr%20Anna.txt" 200 -u "alice:$ALICE_PW"
expect_body_contains "schöne Grüße"
expect_status GET "$DAV/backup/docs/empty.txt" 200 -u "alice:$ALICE_PW"
check "the empty file is empty" test ! -s "$LAST_BODY_FILE"
# rclone copies files, not empty folders; the folder with files is a collection
expect_status PROPFIND "$DAV/backup/docs/2026/" 207 -u "alice:$ALICE_PW" -H 'Depth: 1'
expect_body_contains "note-60.txt"

# ---- sync a change and a deletion ----------------------------------------------------------

echo "changed" >"$SRC/docs/2026/note-7.txt"
rm "$SRC/docs/2026/note-8.txt"
check "rclone sync sends the change and the deletion" rc sync "$SRC" :webdav:backup
expect_status GET "$DAV/backup/docs/2026/note-7.txt" 200 -u "alice:$ALICE_PW"
expect_body_file "$SRC/docs/2026/note-7.txt"
expect_status GET "$DAV/backup/docs/2026/note-8.txt" 404 -u "alice:$ALICE_PW"
check "after the sync rclone check still agrees" rc check --download "$SRC" :webdav:backup

# ---- copy back down: what came back is what went up ----------------------------------------

check "rclone copy downloads the tree" rc copy :webdav:backup "$MG_TMP/back"
check "the round trip is byte-identical (diff -r)" diff -r "$SRC" "$MG_TMP/back" --exclude "empty folder"

# ---- server-side move, folder purge --------------------------------------------------------

check "rclone moveto renames on the server" rc moveto ":webdav:backup/top level.md" ":webdav:moved/top.md"
expect_status GET "$DAV/moved/top.md" 200 -u "alice:$ALICE_PW"
expect_body_contains top
expect_status GET "$DAV/backup/top%20level.md" 404 -u "alice:$ALICE_PW"
check "rclone purge removes a whole folder" rc purge :webdav:backup/docs
expect_status PROPFIND "$DAV/backup/docs/" 404 -u "alice:$ALICE_PW" -H 'Depth: 0'
expect_status GET "$DAV/backup/Gr%C3%BC%C3%9Fe/Brief%20f%C3%BCr%20Anna.txt" 200 -u "alice:$ALICE_PW"

# ---- another user's credentials reach nothing of alice's -----------------------------------

st=0
timeout 120 rclone --webdav-url "$DAV/" --webdav-user bob --webdav-pass "$(rclone obscure "$BOB_PW")" \
    --webdav-vendor other --retries 1 --low-level-retries 1 lsf :webdav: \
    >>"$MG_TMP/rclone.log" 2>&1 || st=$?
check "bob cannot list alice's files with rclone (exit $st)" test "$st" -ne 0

if [[ "$MG_FAILED" != 0 ]]; then tail -30 "$MG_TMP/rclone.log"; fi
expect_alive "rclone"
mg_finish
