#!/usr/bin/env bash
# Load runs of docs/benchmarks.md, repeatable on any machine with wrk
# (apt-get install wrk) and, for the PostgreSQL run, a PostgreSQL server.
#
#   bench/load.sh                      # SQLite and PostgreSQL
#   DBS=sqlite bench/load.sh           # SQLite only
#   PG_URL=postgres://… bench/load.sh  # another PostgreSQL
#   DURATION=5s bench/load.sh          # shorter runs
#   SETTLE=15 bench/load.sh            # shorter wait after the 500-connection run
#   ONLY=check bench/load.sh           # the bare handler and the check only
#   PORT=4000 bench/load.sh            # other ports, beside another run
#   ONLY=refresh bench/load.sh         # the refresh run only, with CPU per refresh
#
# Server and load generator share the machine, wrk uses one thread.
# Email sign-in runs through bench/otpload, which is the server's SMTP
# server (GATEHOUSE_MAIL_URL points at SMTP_ADDR, 127.0.0.1:2525 unless
# set) while it runs. The server listens on PORT (3000), the bare
# handlers on PORT+998 and PORT+999, the SMTP server on PORT-475.
set -euo pipefail
cd "$(dirname "$0")/.."
DBS=${DBS:-"sqlite postgres"}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
DURATION=${DURATION:-10s}
PORT=${PORT:-3000}
SMTP_ADDR=${SMTP_ADDR:-127.0.0.1:$((PORT - 475))}
SETTLE=${SETTLE:-60} # seconds to wait after the 500-connection run before its RSS
ONLY=${ONLY:-}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/gatehouse" ./cmd/gatehouse
go build -o "$work/bare" ./bench/bare
go build -o "$work/startup" ./bench/startup
go build -o "$work/otpload" ./bench/otpload
go build -o "$work/hashtime" ./bench/hashtime
CORES=$(nproc)
ADDR=127.0.0.1:$PORT
BASE=http://$ADDR

rss() { awk '/^VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$1/status"; }
rssparts() { awk '/^RssAnon/ {a=$2} /^RssFile/ {f=$2} END {printf "anonymous %.1f MiB, file-backed %.1f MiB", a/1024, f/1024}' "/proc/$1/status"; }
peak() { awk '/^VmHWM/ {printf "%.1f MiB", $2/1024}' "/proc/$1/status"; }
summary() { # wrk output → one line
  awk '/Requests\/sec/ {rps=$2} / 50%/ {p50=$2} / 99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s req/s, p50 %s, p99 %s%s\n", rps, p50, p99, (bad ? ", non-2xx " bad : "")}'
}
# vs_bare BARE LINE BARE_CPU CPU prints LINE (a summary of a check run)
# with its rate and p99 against BARE's (the bare handler's summary in the
# same run), and the server's CPU time per request beside bare's: "…; 0.78
# of bare's rate, p99 1.3 × bare's; CPU 30.1 µs a request, bare's 14.2".
# The CPU time moves far less than the rate when other work shares the
# machine.
vs_bare() {
  awk -v bare="$1" -v line="$2" -v bcpu="$3" -v cpu="$4" '
    function ms(v) { sub(/,$/, "", v); if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000; return v * 1000 }
    BEGIN { split(bare, b, " "); split(line, c, " ")
      printf "%s; %.2f of bare'"'"'s rate, p99 %.1f × bare'"'"'s; CPU %s µs a request, bare'"'"'s %s\n", line, c[1] / b[1], ms(c[6]) / ms(b[6]), cpu, bcpu }'
}
# cpu PID → the CPU time PID has used so far, in clock ticks.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
# loadrun PID WRK-ARGS… runs wrk against PID's server and prints its
# summary line; the server's CPU time per request (µs) goes to
# $work/cpu_us.
loadrun() {
  local pid=$1 t0; shift
  t0=$(cpu "$pid")
  wrk "$@" >"$work/wrk.out"
  awk -v t="$(($(cpu "$pid") - t0))" -v tick="$TICK_US" '/ requests in / {printf "%.1f\n", t * tick / $1}' "$work/wrk.out" >"$work/cpu_us"
  summary <"$work/wrk.out"
}

# ONLY=refresh skips the bare handler, and every run but the refresh.
if [ "$ONLY" != refresh ]; then
echo "== bare net/http handler (ceiling): 32 connections, $DURATION"
"$work/bare" -addr 127.0.0.1:$((PORT + 999)) & bare=$!
sleep 0.3
bare_line=$(loadrun $bare -t1 -c32 -d"$DURATION" --latency http://127.0.0.1:$((PORT + 999))/)
bare_cpu=$(cat "$work/cpu_us")
echo "$bare_line"
kill $bare; wait $bare 2>/dev/null || true
# The same on one core: on two shared cores the server's two threads and
# wrk's contend, and that contention, not the work, is most of the p99.
echo "== bare net/http handler on one core (GOMAXPROCS=1): 32 connections, $DURATION"
GOMAXPROCS=1 "$work/bare" -addr 127.0.0.1:$((PORT + 999)) & bare=$!
sleep 0.3
bare1_line=$(loadrun $bare -t1 -c32 -d"$DURATION" --latency http://127.0.0.1:$((PORT + 999))/)
bare1_cpu=$(cat "$work/cpu_us")
echo "$bare1_line"
kill $bare; wait $bare 2>/dev/null || true
fi
# pgcpu → the CPU time (clock ticks) of every process of the PostgreSQL
# server on this machine so far: its live processes and those it has
# reaped (connections that ended); "" when no local server is readable.
pgcpu() {
  local pm
  pm=$(pgrep -o -x postgres 2>/dev/null) || return 0
  awk '{print $16 + $17}' "/proc/$pm/stat" 2>/dev/null | { read -r t || return 0
    for p in $(pgrep -P "$pm"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
    echo "$t"; }
}

for db in $DBS; do
  case $db in
    sqlite) url="sqlite:$work/bench.db" ;;
    postgres)
      dbname="gh_bench_$$"
      psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $dbname" -c "CREATE DATABASE $dbname" >/dev/null
      url="${PG_URL/\/postgres\?/\/$dbname?}" ;;
  esac
  export GATEHOUSE_DATABASE_URL=$url GATEHOUSE_SECRET=benchmark-secret-benchmark-secret-0123 GATEHOUSE_ADDR=$ADDR GATEHOUSE_PUBLIC_URL=$BASE \
    GATEHOUSE_MAIL_URL="smtp://$SMTP_ADDR?tls=none" \
    GATEHOUSE_CLIENT_SEND_LIMIT=10000 GATEHOUSE_GLOBAL_SEND_LIMIT=10000000
  # (the per-client send limit's highest setting: every request of the
  # code run comes from this one address, which the default 20 an hour
  # would stop at once)
  "$work/gatehouse" migrate >/dev/null
  echo
  echo "== $db"
  if [ "$ONLY" != check ] && [ "$ONLY" != refresh ]; then
  ms=$("$work/startup" -url "$BASE/healthz" -- "$work/gatehouse" serve)
  echo "exec → first 200 from /healthz (migrated): $ms ms"
  fi
  "$work/gatehouse" serve 2>"$work/server-$db.log" & pid=$!
  until curl -sf "$BASE/healthz" >/dev/null; do sleep 0.05; done
  sleep 0.5
  echo "idle RSS: $(rss $pid)"
  echo "idle RSS by kind: $(rssparts $pid)"
  curl -sf "$BASE/v1/signup" -H 'Content-Type: application/json' \
    -d '{"email":"bench@example.com","password":"load test passphrase"}' >/dev/null
  token=$(curl -sf "$BASE/v1/token" -H 'Content-Type: application/json' \
    -d '{"grant_type":"password","email":"bench@example.com","password":"load test passphrase"}' |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  if [ "$ONLY" != refresh ]; then
  echo "-- GET /v1/check, Bearer, 32 connections, $DURATION"
  line=$(loadrun $pid -t1 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $token" "$BASE/v1/check")
  vs_bare "$bare_line" "$line" "$bare_cpu" "$(cat "$work/cpu_us")"
  check_line=$line check_cpu=$(cat "$work/cpu_us")
  echo "RSS after: $(rss $pid), peak $(peak $pid)"
  # The same answer from a handler that does nothing else (bare -answer:
  # the check's headers and body, gatehouse serve's timeouts, the same
  # request): what the answer's shape costs net/http, apart from ours.
  curl -si -H "Authorization: Bearer $token" "$BASE/v1/check" >"$work/check-answer"
  "$work/bare" -addr 127.0.0.1:$((PORT + 998)) -answer "$work/check-answer" & shape=$!
  sleep 0.3
  echo "-- the bare handler answering the check's answer, Bearer, 32 connections, $DURATION"
  shape_line=$(loadrun $shape -t1 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $token" http://127.0.0.1:$((PORT + 998))/)
  vs_bare "$bare_line" "$shape_line" "$bare_cpu" "$(cat "$work/cpu_us")"
  echo "the check against it: $(vs_bare "$shape_line" "$check_line" "$(cat "$work/cpu_us")" "$check_cpu" | sed 's/.*; \([0-9.]* of\)/\1/; s/bare/this handler/g')"
  kill $shape; wait $shape 2>/dev/null || true
  # A browser session: a magic link through the real mail path, then its cookie.
  cookie=$("$work/otpload" -base "$BASE" -smtp "$SMTP_ADDR" -cookie)
  echo "-- GET /v1/check, session cookie, 32 connections, $DURATION"
  line=$(loadrun $pid -t1 -c32 -d"$DURATION" --latency -H "Cookie: $cookie" "$BASE/v1/check")
  vs_bare "$bare_line" "$line" "$bare_cpu" "$(cat "$work/cpu_us")"
  echo "RSS after: $(rss $pid), peak $(peak $pid)"
  fi
  # ONLY=check skips from here to the check on one core.
  if [ "$ONLY" != check ]; then
  if [ "$ONLY" != refresh ]; then
  echo "-- POST /v1/token grant password, 8 connections, $DURATION"
  # The bar is a share of cores ÷ one hash's time, timed just before and
  # just after the run: on a shared machine it moves from minute to minute.
  h1=$("$work/hashtime")
  line=$(wrk -t1 -c8 -d"$DURATION" --latency -s bench/signin.lua "$BASE/v1/token" | summary)
  h2=$("$work/hashtime")
  echo "$line"
  awk -v h1="$h1" -v h2="$h2" -v cores="$CORES" -v rps="${line%% *}" 'BEGIN {
    ceiling = cores * 1000 / ((h1 + h2) / 2)
    printf "one hash %s / %s ms (before / after) → ceiling %d cores ÷ %.1f ms = %.1f/s; this run %.0f %% of it\n", h1, h2, cores, (h1 + h2) / 2, ceiling, 100 * rps / ceiling }'
  echo "RSS after: $(rss $pid), peak $(peak $pid)"
  echo "-- POST /v1/token grant password, 500 connections at once, $DURATION"
  # The storm's own peak: clear_refs 5 resets VmHWM to the RSS of now.
  echo 5 >"/proc/$pid/clear_refs"
  wrk -t1 -c500 -d"$DURATION" --timeout 30s --latency -s bench/signin.lua "$BASE/v1/token" | summary
  echo "RSS after: $(rss $pid), peak during this run $(peak $pid)"
  # Back near idle within a minute? (The server returns a burst's hash
  # memory 10 s after hashing goes quiet; SETTLE=15 is enough to see it.)
  sleep "$SETTLE"
  echo "RSS $SETTLE s after the storm: $(rss $pid) ($(rssparts $pid))"
  echo "-- POST /v1/otp for distinct addresses, the mail they send, grant otp with its codes; 16 connections, $DURATION each"
  # Delivery (issue 18): otpload's "delivery vs acceptance" line puts the
  # messages delivered per second during the burst beside the requests
  # accepted, with the time the backlog took to drain after the last one.
  "$work/otpload" -base "$BASE" -smtp "$SMTP_ADDR" -c 16 -d "$DURATION"
  echo "RSS after: $(rss $pid), peak $(peak $pid)"
  fi
  # --- refresh (issue 18, refresh row) ---------------------------------
  # grant_type refresh_token at 8 connections, every refresh rotating a
  # chain: 16 sign-ins give 16 chains (twice the connections, so a
  # connection never waits for a token), bench/refresh.lua hands them out
  # and puts each successor back; no token is presented twice.
  echo "-- POST /v1/token grant refresh_token (rotation), 8 connections, $DURATION"
  chains=()
  for _ in $(seq 16); do
    rt=$(curl -sf "$BASE/v1/token" -H 'Content-Type: application/json' \
      -d '{"grant_type":"password","email":"bench@example.com","password":"load test passphrase"}' |
      sed -E 's/.*"refresh_token":"([^"]+)".*/\1/') || continue
    chains+=("$rt")
  done
  echo "chains: ${#chains[@]}"
  # CPU time a refresh: the server's, PostgreSQL's (every process of a
  # server on this machine, other users' work included) and wrk's. On two
  # shared cores their sum, not the server's alone, sets the rate.
  t0=$(cpu "$pid") p0=$(pgcpu)
  # (times: the subshell's children's user and system time, i.e. wrk's)
  (wrk -t1 -c8 -d"$DURATION" --latency -s bench/refresh.lua "$BASE/v1/token" -- "${chains[@]}" >"$work/wrk.out"; times >"$work/wrk.time")
  t1=$(cpu "$pid") p1=$(pgcpu)
  line=$(summary <"$work/wrk.out")
  echo "$line"
  echo "refreshes/s: ${line%% *}"
  awk -v t=$((t1 - t0)) -v p="${p1:+$((p1 - p0))}" -v db="$db" -v tick="$TICK_US" -v w="$(tail -1 "$work/wrk.time")" '
    function secs(v) { split(v, a, /[ms]/); return a[1] * 60 + a[2] }
    / requests in / {
    split(w, ww, " ")
    printf "CPU µs a refresh: server %.0f", t * tick / $1
    if (db == "postgres") printf (p == "" ? ", postgres (not on this machine)" : ", postgres %.0f"), p * tick / $1
    printf ", wrk %.0f\n", (secs(ww[1]) + secs(ww[2])) * 1e6 / $1 }' "$work/wrk.out"
  echo "RSS after: $(rss $pid), peak $(peak $pid)"
  # --- end refresh -----------------------------------------------------
  # The operator's view of the same runs: every counter that moved
  # (docs/operations.md names them).
  echo "-- /metrics after the runs (non-zero series)"
  curl -sf "$BASE/metrics" | grep -E '^gatehouse_(checks|session_views|sign_ins|sign_ups|codes_sent|codes_verified|deliveries|limits_tripped|refresh_tokens|account_claims)_total|^gatehouse_outbox_|^gatehouse_password_hash_wait_seconds_(count|sum)' |
    awk '$NF != 0' | sed 's/^/   /'
  fi
  kill -INT $pid; wait $pid 2>/dev/null || true
  if [ "$ONLY" != refresh ]; then
  echo "-- GET /v1/check, Bearer, 32 connections, $DURATION, the server on one core (GOMAXPROCS=1)"
  GOMAXPROCS=1 "$work/gatehouse" serve 2>>"$work/server-$db.log" & pid=$!
  until curl -sf "$BASE/healthz" >/dev/null; do sleep 0.05; done
  line=$(loadrun $pid -t1 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $token" "$BASE/v1/check")
  vs_bare "$bare1_line" "$line" "$bare1_cpu" "$(cat "$work/cpu_us")"
  kill -INT $pid; wait $pid 2>/dev/null || true
  fi
  if [ "$db" = postgres ]; then psql "$PG_URL" -qc "DROP DATABASE $dbname" >/dev/null; fi
done
