#!/usr/bin/env bash
# Authenticated requests/s on PostgreSQL with one and with two app instances: the cost of
# session events (issue 11, revocation across instances). See bench/README.md.
#
#   eval "$(cargo xtask env)"      # a PostgreSQL server (or export SIGRA_TEST_POSTGRES_URL)
#   bench/instances.sh             # 3 rounds of 15 s per page and configuration
#   bench/instances.sh --quick     # 1 round of 5 s: for development only
#
# It generates the reference host for PostgreSQL (`cargo sigra install Accounts User users
# --database postgres`) in a temporary directory, builds it in release mode into this
# workspace's target directory, creates a fresh database, registers and logs in one user, and
# runs wrk against one instance, then against two instances on the same database (each with
# its session-events listener), with the same total load: 2 wrk threads and 16 connections,
# split evenly between the instances. Every load is bounded (wrk -d under timeout) and all
# traffic goes to 127.0.0.1.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/instances.sh [--quick] [--bin PATH] [--keep] [--no-results]

  --quick       1 round of 5 s per page and configuration (default: 3 rounds of 15 s)
  --bin PATH    use this release build of the PostgreSQL host instead of building one
  --keep        keep the temporary directory (server logs, wrk output) and the database
  --no-results  print the table only, write no bench/results file

Needs SIGRA_TEST_POSTGRES_URL (a superuser URL; `eval "$(cargo xtask env)"` sets it),
psql (SIGRA_PSQL or on PATH), wrk, curl. CARGO_TARGET_DIR is honoured.
EOF
}

QUICK=0; PREBUILT=""; KEEP=0; WRITE_RESULTS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --bin) PREBUILT="${2:?--bin needs a path}"; shift ;;
    --keep) KEEP=1 ;;
    --no-results) WRITE_RESULTS=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BENCH_WRK_DIR="$ROOT/bench/wrk"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ "$QUICK" = 1 ]; then SECS=5; ROUNDS=1; MODE=quick; else SECS=15; ROUNDS=3; MODE=full; fi
PASSWORD="bench load Passw0rd 7c1e"
EMAIL="bench-instances@example.com"

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
field() { printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

for tool in wrk curl cargo awk timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (Debian/Ubuntu: apt-get install $tool)"
done
PSQL="${SIGRA_PSQL:-psql}"
command -v "$PSQL" >/dev/null 2>&1 || die "psql is missing: set SIGRA_PSQL or install postgresql-client"
ADMIN_URL="${SIGRA_TEST_POSTGRES_URL:-}"
[ -n "$ADMIN_URL" ] || die "SIGRA_TEST_POSTGRES_URL is not set: run eval \"\$(cargo xtask env)\" first"
[ -r /proc/self/status ] || die "this benchmark reads /proc (Linux only)"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/sigra-bench-instances.XXXXXX")"
DB_NAME="bench_instances_$$"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ "$KEEP" = 1 ]; then
    echo "kept $TMP and the database $DB_NAME" >&2
  else
    "$PSQL" -X -q -d "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- build
if [ -n "$PREBUILT" ]; then
  BIN="$PREBUILT"
  [ -x "$BIN" ] || die "--bin $BIN is not an executable"
else
  say "generating the PostgreSQL host (cargo sigra install ... --database postgres)"
  cargo build --quiet --manifest-path "$ROOT/Cargo.toml" -p cargo-sigra
  APP="$TMP/app"
  cargo new --quiet --vcs none --name sigra-example-host-pg "$APP"
  (cd "$APP" && "$TARGET/debug/cargo-sigra" install Accounts User users --database postgres \
    --sigra-path "$ROOT/crates/sigra-core" --yes >"$TMP/install.log") || { cat "$TMP/install.log" >&2; die "install failed"; }
  cp "$ROOT/Cargo.lock" "$APP/Cargo.lock"
  awk 'f || /^\[profile\./ { f = 1; print }' "$ROOT/Cargo.toml" >>"$APP/Cargo.toml"
  say "building it (release) into $TARGET"
  (cd "$APP" && CARGO_TARGET_DIR="$TARGET" cargo build --release --quiet) || die "release build failed"
  BIN="$TARGET/release/sigra-example-host-pg"
fi

# ---------------------------------------------------------------- database, servers
DB_URL="$(printf '%s' "$ADMIN_URL" | sed -E "s#^([a-z]+://[^/?]*)(/[^?]*)?#\1/$DB_NAME#")"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$ADMIN_URL" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
SECRET="$(head -c 64 /dev/urandom | base64 | tr -d '\n')"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORTS=()
for p in $(seq 4917 4999); do
  if port_free "$p"; then PORTS+=("$p"); fi
  [ "${#PORTS[@]}" = 2 ] && break
done
[ "${#PORTS[@]}" = 2 ] || die "no two free ports in 4917..4999"

# start <index>: starts instance <index> (0 or 1) and waits until it listens for session events.
start() {
  local i="$1" port="${PORTS[$1]}" log="$TMP/server-$1.log"
  env -i "PATH=$PATH" "RUST_LOG=info" "NO_COLOR=1" "DATABASE_URL=$DB_URL" "PORT=$port" \
    "LISTEN_ADDR=127.0.0.1:$port" "APP_URL=http://127.0.0.1:$port" \
    "SIGRA_SECRET_KEY_BASE=$SECRET" "SIGRA_DEV_MODE=true" \
    "SIGRA_RATE_LIMIT_AUTH_MAX=1000" "SIGRA_RATE_LIMIT_AUTH_WINDOW=1s" \
    "$BIN" >>"$log" 2>&1 &
  PIDS[$i]=$!
  for _ in $(seq 1 300); do
    kill -0 "${PIDS[$i]}" 2>/dev/null || { cat "$log" >&2; die "instance $i exited"; }
    if grep -q "session events: listening" "$log" \
      && [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/" || true)" = 200 ]; then
      return
    fi
    sleep 0.1
  done
  cat "$log" >&2; die "instance $i did not start within 30 s"
}
stop() {
  local pid="${PIDS[$1]}"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"; }
machine_ticks() { awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $5+$6 }' /proc/stat; }

say "starting instance 0 on 127.0.0.1:${PORTS[0]} (database $DB_NAME)"
start 0
URL0="http://127.0.0.1:${PORTS[0]}"
curl -s --max-time 10 -c "$TMP/jar" -o "$TMP/log_in.html" "$URL0/users/log_in"
CSRF_COOKIE="$(awk '$6 ~ /sigra_csrf$/ { print $6 "=" $7 }' "$TMP/jar" | tail -n1)"
CSRF_TOKEN="$(grep -o 'name="_csrf" value="[^"]*"' "$TMP/log_in.html" | head -n1 | cut -d'"' -f4)"
[ -n "$CSRF_COOKIE" ] && [ -n "$CSRF_TOKEN" ] || die "no CSRF cookie/token on GET /users/log_in"
post() {
  curl -s --max-time 30 -o /dev/null -w '%{http_code}' -c "$TMP/session-jar" -H "Cookie: $CSRF_COOKIE" \
    --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" \
    --data-urlencode "_csrf=$CSRF_TOKEN" "$URL0$1"
}
[ "$(post /users/register)" = 303 ] || die "registering $EMAIL failed"
[ "$(post /users/log_in)" = 303 ] || die "logging $EMAIL in failed"
SESSION_COOKIE="$(awk '$6 ~ /sigra_session$/ { print $6 "=" $7 }' "$TMP/session-jar" | tail -n1)"
[ -n "$SESSION_COOKIE" ] || die "no session cookie"
COOKIES="$CSRF_COOKIE; $SESSION_COOKIE"

# run <instances> <page> <label>: wrk on each running instance at once, 2 threads and 16
# connections in all; prints "<requests/s summed> <server CPU µs per response> <worst p99 ms>
# <machine busy cores>".
run() {
  local n="$1" page="$2" label="$3" i threads conns cpu0=0 cpu1=0 t0 t1 ok=0 bad=0 p99=0 line pid
  local wrks=() failed=0
  threads=$((2 / n)); conns=$((16 / n))
  for i in $(seq 0 $((n - 1))); do cpu0="$(calc "$cpu0 + $(cpu_s "${PIDS[$i]}")")"; done
  t0="$(machine_ticks)"
  for i in $(seq 0 $((n - 1))); do
    env BENCH_PATH="$page" BENCH_COOKIE="$COOKIES" BENCH_LABEL="$label-$i" timeout $((SECS + 30)) \
      wrk -t"$threads" -c"$conns" -d"${SECS}s" --timeout 10s -s "$BENCH_WRK_DIR/get.lua" \
      "http://127.0.0.1:${PORTS[$i]}" >"$TMP/wrk-$label-$i.txt" 2>&1 &
    wrks+=($!)
  done
  for pid in "${wrks[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" = 0 ] || die "wrk $label failed: $(cat "$TMP"/wrk-"$label"-*.txt)"
  t1="$(machine_ticks)"
  for i in $(seq 0 $((n - 1))); do cpu1="$(calc "$cpu1 + $(cpu_s "${PIDS[$i]}")")"; done
  for i in $(seq 0 $((n - 1))); do
    line="$(grep '^BENCH ' "$TMP/wrk-$label-$i.txt" | tail -n1)"
    [ -n "$line" ] || die "wrk $label-$i printed no result"
    printf '%s\n' "$line" >>"$TMP/bench-lines.txt"
    ok="$(calc "$ok + $(field "$line" ok_per_s)")"
    bad="$(calc "$bad + $(field "$line" bad)" 0)"
    p99="$(calc "($(field "$line" p99_ms) > $p99) ? $(field "$line" p99_ms) : $p99" 3)"
  done
  [ "$bad" = 0 ] || die "wrk $label: $bad responses other than 200 (see $TMP/wrk-$label-*.txt)"
  printf '%s %s %s %s\n' "$ok" \
    "$(calc "1e6 * ($cpu1 - $cpu0) / ($ok * $SECS + 1e-9)" 1)" "$p99" \
    "$(awk -v a="$t0" -v b="$t1" -v s="$SECS" -v hz="$(getconf CLK_TCK)" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.2f", (y[1] - x[1]) / hz / s }')"
}

declare -A RPS CPU P99 BUSY
measure() {
  local n="$1" page label r out
  for page in / /users/settings; do
    label="n$n$(printf '%s' "$page" | tr '/' '_')"
    for r in $(seq 1 "$ROUNDS"); do
      out="$(run "$n" "$page" "$label-$r")"
      say "$n instance(s), GET $page with the session: $(printf '%s' "$out" | awk '{ printf "%s requests/s, %s µs server CPU each, p99 %s ms, machine %s cores busy", $1, $2, $3, $4 }')"
      RPS[$n$page]="${RPS[$n$page]:-} $(printf '%s' "$out" | cut -d' ' -f1)"
      CPU[$n$page]="${CPU[$n$page]:-} $(printf '%s' "$out" | cut -d' ' -f2)"
      P99[$n$page]="${P99[$n$page]:-} $(printf '%s' "$out" | cut -d' ' -f3)"
      BUSY[$n$page]="${BUSY[$n$page]:-} $(printf '%s' "$out" | cut -d' ' -f4)"
    done
  done
}

LOAD_1="$(loadavg)"
say "warming up instance 0"
run 1 /users/settings warmup >/dev/null
measure 1
say "starting instance 1 on 127.0.0.1:${PORTS[1]}"
start 1
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIES" "http://127.0.0.1:${PORTS[1]}/users/settings")" = 200 ] \
  || die "the session does not work on instance 1"
LOAD_2="$(loadavg)"
run 2 /users/settings warmup2 >/dev/null
measure 2
# The two instances are still connected: the channel worked throughout.
for i in 0 1; do
  grep -q "session cache is bypassed" "$TMP/server-$i.log" && die "instance $i lost its session-events channel during the run"
done
ERRORS="$(cat "$TMP"/server-*.log | grep -c -E ' (ERROR|WARN) ' || true)"
SLOW="$(cat "$TMP"/server-*.log | grep -c -E 'slow statement|time to acquire exceeded' || true)"

# ---------------------------------------------------------------- report
REPORT="$TMP/report.md"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT (with uncommitted changes)"
PGV="$("$PSQL" -X -A -t -d "$ADMIN_URL" -c 'SHOW server_version' 2>/dev/null | head -n1)"
row() {
  local n="$1" page="$2"
  printf '| %s | `GET %s` with a session cookie | %s | %s | %s | %s |\n' "$n" "$page" \
    "$(printf '%s' "${RPS[$n$page]}" | median)" "$(printf '%s' "${CPU[$n$page]}" | median)" \
    "$(printf '%s' "${P99[$n$page]}" | median)" "$(printf '%s' "${BUSY[$n$page]}" | median)"
}
{
  echo "# Sigra instances benchmark, $(date -u '+%Y-%m-%d %H:%M') UTC ($MODE run)"
  echo
  echo "- App: the reference host generated for PostgreSQL (\`--database postgres\`), release build, commit $COMMIT"
  echo "- Machine: $(getconf _NPROCESSORS_ONLN) cores, $(uname -sr); PostgreSQL $PGV on the same machine"
  echo "- Load average (1/5/15 min): $LOAD_1 before one instance, $LOAD_2 before two"
  echo "- Load: wrk, 2 threads and 16 connections in all (closed loop), split evenly between the"
  echo "  instances; $ROUNDS run(s) of $SECS s per page and configuration, median reported. One user,"
  echo "  one session cookie, on every instance."
  echo
  echo "| instances | page | requests/s (sum) | server CPU per response (µs) | p99 (ms, worst instance) | machine busy (cores) |"
  echo "|---|---|---|---|---|---|"
  row 1 /; row 2 /; row 1 /users/settings; row 2 /users/settings
  echo
  echo "- Every response was 200; both instances kept their session-events channel throughout (no"
  echo "  \"bypassed\" line in their logs); WARN/ERROR lines in the server logs: $ERRORS, of which"
  echo "  $SLOW are sqlx's slow-statement or slow-acquire warnings (the database stalled: long p99s)."
  echo "- Runs (requests/s): 1 instance \`/\`:${RPS[1/]}; 2 instances \`/\`:${RPS[2/]};"
  echo "  1 instance \`/users/settings\`:${RPS[1/users/settings]}; 2 instances \`/users/settings\`:${RPS[2/users/settings]}."
  echo
  echo "<details><summary>wrk result lines</summary>"
  echo
  echo '```text'
  cat "$TMP/bench-lines.txt"
  echo '```'
  echo
  echo "</details>"
} >"$REPORT"
cat "$REPORT"
if [ "$WRITE_RESULTS" = 1 ]; then
  OUT="$ROOT/bench/results/$(date -u +%Y-%m-%d-%H%M)-instances"
  [ "$QUICK" = 1 ] && OUT="$OUT-quick"
  cp "$REPORT" "$OUT.md"
  echo
  echo "written: ${OUT#"$ROOT"/}.md"
fi
