#!/usr/bin/env bash
# Many nodes (docs/benchmarks.md, "Two nodes on PostgreSQL + Redis"): the
# check and password sign-in against one node on PostgreSQL, then against
# two nodes sharing that database and a Redis, beside the bare handler, in
# one run. Needs wrk, a PostgreSQL and a Redis server.
#
#   bench/nodes.sh
#   PG_URL=postgres://… REDIS_URL=redis://… DURATION=5s bench/nodes.sh
#   PORT=4000 bench/nodes.sh   # nodes on PORT+1 and +2, bare on PORT+999
#
# Everything shares the machine: with two nodes, two wrk processes (one
# thread each) and the servers contend for its cores, so the two-node rate
# says what sharing costs, not what two machines would do.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
DURATION=${DURATION:-10s}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"; psql "$PG_URL" -qc "DROP DATABASE IF EXISTS gh_nodes_$$" >/dev/null 2>&1 || true' EXIT
go build -o "$work/gatehouse" ./cmd/gatehouse
go build -o "$work/bare" ./bench/bare
PORT=${PORT:-3000}
A=127.0.0.1:$((PORT + 1)) B=127.0.0.1:$((PORT + 2))

summary() { # wrk output → one line
  awk '/Requests\/sec/ {rps=$2} / 50%/ {p50=$2} / 99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s req/s, p50 %s, p99 %s%s\n", rps, p50, p99, (bad ? ", non-2xx " bad : "")}'
}
# ms V → a wrk latency (812.00us, 5.12ms, 1.02s) in milliseconds, for awk.
MS='function ms(v) { sub(/,$/, "", v); if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000; return v * 1000 }'
# vs_bare LINE prints LINE (a summary of a check run) with its rate and
# p99 against the bare handler's of this run ($bare_line):
# "…; 0.78 of bare's rate, p99 1.3 × bare's".
vs_bare() {
  awk -v bare="$bare_line" -v line="$1" "$MS"'
    BEGIN { split(bare, b, " "); split(line, c, " ")
      printf "%s; %.2f of bare'"'"'s rate, p99 %.1f × bare'"'"'s\n", line, c[1] / b[1], ms(c[6]) / ms(b[6]) }'
}
# both runs wrk with the same arguments against A and B at once and
# prints each line and the sum of their rates (with RATIO=1, each line's
# p99 and the sum against the bare handler's rate and p99).
both() {
  local url=$1; shift
  wrk "$@" "http://$A$url" | summary >"$work/a.txt" &
  local wa=$!
  wrk "$@" "http://$B$url" | summary >"$work/b.txt" &
  local wb=$!
  wait $wa $wb
  if [ -z "${RATIO:-}" ]; then
    echo "node A: $(cat "$work/a.txt")"
    echo "node B: $(cat "$work/b.txt")"
    awk '{s += $1} END {printf "both: %.0f req/s\n", s}' "$work/a.txt" "$work/b.txt"
    return
  fi
  echo "node A: $(vs_bare "$(cat "$work/a.txt")")"
  echo "node B: $(vs_bare "$(cat "$work/b.txt")")"
  awk -v bare="$bare_line" "$MS"'{s += $1; p = ms($6); if (p > worst) worst = p}
    END {split(bare, b, " "); printf "both: %.0f req/s; %.2f of bare'"'"'s rate, worse p99 %.1f × bare'"'"'s\n", s, s / b[1], worst / ms(b[6])}' "$work/a.txt" "$work/b.txt"
}
serve() { # serve ADDR [REDIS] → pid
  GATEHOUSE_ADDR=$1 GATEHOUSE_REDIS_URL=${2:-} "$work/gatehouse" serve >>"$work/server.log" 2>&1 &
  echo $!
}
ready() { for _ in $(seq 1 200); do curl -sf "http://$1/healthz" >/dev/null && return; sleep 0.05; done; echo "no answer from $1:"; tail -20 "$work/server.log"; exit 1; }

echo "== bare net/http handler (ceiling): 32 connections, $DURATION"
"$work/bare" -addr 127.0.0.1:$((PORT + 999)) & bare=$!
sleep 0.3
bare_line=$(wrk -t1 -c32 -d"$DURATION" --latency http://127.0.0.1:$((PORT + 999))/ | summary)
echo "$bare_line"
kill $bare; wait $bare 2>/dev/null || true

dbname="gh_nodes_$$"
psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $dbname" -c "CREATE DATABASE $dbname" >/dev/null
export GATEHOUSE_DATABASE_URL="${PG_URL/\/postgres\?/\/$dbname?}" GATEHOUSE_SECRET=benchmark-secret-benchmark-secret-0123 \
  GATEHOUSE_PUBLIC_URL="http://$A" GATEHOUSE_LOG_LEVEL=warn
"$work/gatehouse" migrate >/dev/null
pid=$(serve $A); ready $A
curl -sf "http://$A/v1/signup" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"load test passphrase"}' >/dev/null
token=$(curl -sf "http://$A/v1/token" -H 'Content-Type: application/json' \
  -d '{"grant_type":"password","email":"bench@example.com","password":"load test passphrase"}' |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')

echo
echo "== one node, PostgreSQL, no Redis"
echo "-- GET /v1/check, Bearer, 32 connections, $DURATION"
vs_bare "$(wrk -t1 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $token" "http://$A/v1/check" | summary)"
echo "-- POST /v1/token grant password, 8 connections, $DURATION"
wrk -t1 -c8 -d"$DURATION" --latency -s bench/signin.lua "http://$A/v1/token" | summary
kill -INT "$pid"; wait "$pid" 2>/dev/null || true

echo
echo "== two nodes, one PostgreSQL, one Redis ($REDIS_URL)"
pa=$(serve $A "$REDIS_URL"); pb=$(serve $B "$REDIS_URL"); ready $A; ready $B
echo "-- GET /v1/check, Bearer, 16 connections on each node, $DURATION"
RATIO=1 both /v1/check -t1 -c16 -d"$DURATION" --latency -H "Authorization: Bearer $token"
echo "-- POST /v1/token grant password, 4 connections on each node, $DURATION"
both /v1/token -t1 -c4 -d"$DURATION" --latency -s bench/signin.lua
kill -INT "$pa" "$pb"; wait "$pa" "$pb" 2>/dev/null || true
