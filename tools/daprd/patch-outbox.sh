#!/usr/bin/env bash
# Writes a Go build overlay (for `go build -overlay`) that fixes one line of
# upstream daprd, and prints the overlay file's path. Nothing upstream is
# committed here: the patched file is made at build time from the module
# cache's copy of github.com/dapr/dapr.
#
# The bug (daprd 1.14.0, still in 1.16.0): the outbox's internal subscriber
# (pkg/runtime/pubsub/outbox.go) looks for a transaction's marker key with a
# backoff.ExponentialBackOff literal that sets MaxElapsedTime (10 s) but not
# Stop. cenkalti/backoff v4 returns the Stop field once MaxElapsedTime is
# spent; left at zero it means "retry now", so the loop never ends. Each
# internal message whose marker never appears spins on store.Get forever, at
# thousands of queries per second:
#   - a transaction that failed after daprd published its internal message
#     (an ETag conflict, a unique key), or a sidecar killed in between;
#   - a message redelivered after a crash whose marker was already deleted.
# That pins its partition of the internal topic, starves the state store's
# connection pool, and the sidecar never leaves its consumer group's
# rebalance (measured: 7,300 queries/s on orders' database, partitions stuck
# for minutes, in the saga's fault test with sidecar kills). With Stop set,
# the loop ends after 10 s and outboxDiscardWhenMissingState drops the
# message, as the components' comments describe.
#
# Go refuses overlays of files in the module cache, so the module is copied
# (21 MB) and replaced by an alternate go.mod (go build -modfile), which
# prints here.
set -euo pipefail
out=${1:?usage: patch-outbox.sh <output-dir>}
cd "$(dirname "$0")"
dir=$(GOWORK=off go list -m -f '{{.Dir}}' github.com/dapr/dapr)
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/dapr"
cp -r "$dir" "$out/dapr"
chmod -R u+w "$out/dapr"
file=$out/dapr/pkg/runtime/pubsub/outbox.go
# After the literal's last field, in its own indentation.
sed -E -i 's/^([[:space:]]*)RandomizationFactor: 0\.1,$/&\n\1Stop:                backoff.Stop,/' "$file"
if [ "$(grep -c 'Stop: *backoff\.Stop,' "$file")" != 1 ]; then
	echo "patch-outbox.sh: $dir no longer has the one backoff literal this patch expects; re-read it" >&2
	exit 1
fi
cp go.mod "$out/go.mod"
cp go.sum "$out/go.sum"
printf '\nreplace github.com/dapr/dapr => %s\n' "$out/dapr" >> "$out/go.mod"
echo "$out/go.mod"
