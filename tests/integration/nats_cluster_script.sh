#!/bin/sh
# scripts/nats-cluster as the README and the bench use it: start (client URLs printed once a
# meta leader exists; again on a running cluster: the same, nothing started twice), a taken
# port refused, kill -9 of one server and its restart, stop (nothing left running), and the
# message when nats-server is missing. Run by ctest (integration/nats_cluster_script).
set -eu

script=$(cd "$(dirname "$0")/../.." && pwd)/scripts/nats-cluster
tmp=$(mktemp -d /tmp/incnats-sh.XXXXXX)
cleanup() {
	"$script" stop "$tmp/a" >/dev/null 2>&1 || true
	"$script" stop "$tmp/b" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*" >&2
	for f in "$tmp"/a/n*.log; do
		[ -f "$f" ] && { echo "---- $f" >&2; tail -n 20 "$f" >&2; }
	done
	exit 1
}

# A base port of this process's own, another one when its ports are taken.
base=$((30000 + ($$ % 500) * 10))
urls=
for _ in 1 2 3 4 5; do
	if urls=$("$script" start "$tmp/a" "$base" 2>"$tmp/err"); then
		break
	fi
	urls=
	grep -q "in use" "$tmp/err" || fail "start: $(cat "$tmp/err")"
	base=$((base + 5000))
done
[ -n "$urls" ] || fail "start: $(cat "$tmp/err")"
want="nats://127.0.0.1:$base,nats://127.0.0.1:$((base + 1)),nats://127.0.0.1:$((base + 2))"
[ "$urls" = "$want" ] || fail "start printed '$urls', not '$want'"
pids=$(cat "$tmp"/a/n*.pid)

# Idempotent: the same URLs, the same processes.
again=$("$script" start "$tmp/a" "$base") || fail "second start failed"
[ "$again" = "$want" ] || fail "second start printed '$again'"
[ "$(cat "$tmp"/a/n*.pid)" = "$pids" ] || fail "second start started servers again"
[ "$("$script" urls "$tmp/a")" = "$want" ] || fail "urls"

# Another cluster on the same ports is refused, and starts nothing.
if "$script" start "$tmp/b" "$base" 2>"$tmp/err"; then
	fail "a second cluster on taken ports started"
fi
grep -q "port $base is in use" "$tmp/err" || fail "taken port: $(cat "$tmp/err")"
ls "$tmp"/b/n*.pid >/dev/null 2>&1 && fail "the refused cluster left pid files"

# kill -9 of n1, then its restart with the same store.
p1=$(cat "$tmp/a/n1.pid")
"$script" kill "$tmp/a" 1 || fail "kill"
[ "$(sed 's/.*) //' "/proc/$p1/stat" 2>/dev/null | cut -c1)" = "" ] ||
	[ "$(sed 's/.*) //' "/proc/$p1/stat" | cut -c1)" = Z ] || fail "n1 (pid $p1) runs after kill"
"$script" kill "$tmp/a" 1 || fail "kill of a killed server"
"$script" restart "$tmp/a" 1 || fail "restart"
p1=$(cat "$tmp/a/n1.pid")
kill -0 "$p1" 2>/dev/null || fail "n1 not running after restart"
curl -sf "http://127.0.0.1:$((base + 4001))/healthz?js-enabled-only=true" >/dev/null ||
	fail "n1 not healthy after restart"

# stop: nothing left.
pids=$(cat "$tmp"/a/n*.pid)
"$script" stop "$tmp/a" || fail "stop"
for p in $pids; do
	state=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)
	[ -z "$state" ] || [ "$state" = Z ] || fail "pid $p runs after stop"
done
"$script" stop "$tmp/a" || fail "second stop"

# Usage errors and a missing nats-server.
"$script" kill "$tmp/a" 5 2>"$tmp/err" && fail "kill 5 accepted"
grep -q "must be 0, 1 or 2" "$tmp/err" || fail "kill 5: $(cat "$tmp/err")"
PATH=/nonexistent /bin/sh "$script" start "$tmp/a" "$base" 2>"$tmp/err" &&
	fail "start without nats-server succeeded"
grep -q "nats-server is not installed: run scripts/deps" "$tmp/err" ||
	fail "missing nats-server: $(cat "$tmp/err")"
echo "nats_cluster_script: ok"
