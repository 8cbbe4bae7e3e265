#!/usr/bin/env bash
# The benchmark report (docs/benchmarks.md, "Benchmark report"): in one run,
# on one machine, the same load through
#
#   direct   h2load --h1 -> nginx backend (no proxy: the baseline)
#   remora   h2load --h1 -> remora A -> mTLS -> remora B -> nginx
#   haproxy  the same path through two HAProxy processes
#   nghttpx  the same path through two nghttpx processes
#
# and for each: p50/p90/p99 and CPU us/req per proxy at fixed rates,
# requests/s and CPU us/req at saturation, RSS idle, under load and peak per
# proxy. Prints one Markdown report (and writes it to --out).
#
# usage: tests/bench/report.sh [--paths "direct remora haproxy nghttpx"]
#                              [--rates "500 1000 2000"] [--duration 15]
#                              [--sat-duration 12] [--rounds 3]
#                              [--clients 10] [--sat-clients 50]
#                              [--hop h2|http/1.1] [--max-seconds 540]
#                              [--remora PATH] [--out FILE.md] [--keep]
#
# --duration and --sat-duration are the seconds each path gets at each fixed
# rate and at saturation, split into --rounds rounds. The rounds are
# interleaved (every path at round 1, then every path at round 2, ...), so a
# burst of load from other processes falls on all paths, not on one.
#
# Loopback only. The proxies of every pair run on CPU 0, h2load and the
# backend on CPU 1 (taskset). Every process it starts is tracked by PID and
# only those are stopped. Bounded: about 4 minutes with the defaults; every
# h2load run has a hard timeout, the script refuses to start when its plan
# exceeds --max-seconds, and skips the runs left if it ever gets there (the
# report says so).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

PATHS="${BENCH_PATHS:-direct remora haproxy nghttpx}"
RATES="${BENCH_RATES:-500 1000 2000}"
DURATION="${BENCH_DURATION:-15}"
SAT_DURATION="${BENCH_SAT_DURATION:-12}"
ROUNDS="${BENCH_ROUNDS:-3}"
CLIENTS="${BENCH_CLIENTS:-10}"
SAT_CLIENTS="${BENCH_SAT_CLIENTS:-50}"
HOP="${BENCH_HOP:-h2}"
MAX_SECONDS="${BENCH_MAX_SECONDS:-540}"
REMORA_BIN="${REMORA_PROXY:-${REMORA_BUILD_DIR:-$ROOT/build}/proxy/main/remora-proxy}"
OUT=""
KEEP="${BENCH_KEEP:-0}"
PROXY_CPU=0
LOAD_CPU=1
COMMAND_LINE="tests/bench/report.sh"
for arg in "$@"; do
  case "$arg" in *[[:space:]]*) COMMAND_LINE+=" \"$arg\"" ;; *) COMMAND_LINE+=" $arg" ;; esac
done

usage() { sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --paths) PATHS="$2"; shift 2 ;;
    --rates) RATES="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --sat-duration) SAT_DURATION="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --sat-clients) SAT_CLIENTS="$2"; shift 2 ;;
    --hop) HOP="$2"; shift 2 ;;
    --max-seconds) MAX_SECONDS="$2"; shift 2 ;;
    --remora) REMORA_BIN="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "report.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done

case "$HOP" in
  h2|http/1.1) ;;
  *) echo "report.sh: --hop must be h2 or http/1.1" >&2; exit 2 ;;
esac
if ! [ "$ROUNDS" -gt 0 ] 2>/dev/null || [ $((DURATION / ROUNDS)) -lt 1 ] || [ $((SAT_DURATION / ROUNDS)) -lt 1 ]; then
  echo "report.sh: --rounds must be at least 1 and leave at least 1 s per round of --duration and --sat-duration" >&2
  exit 2
fi
for rate in $RATES; do
  if ! [ "$rate" -gt 0 ] 2>/dev/null || [ $((rate % CLIENTS)) -ne 0 ]; then
    echo "report.sh: every rate must be a positive multiple of --clients ($CLIENTS): h2load's --rps is per client" >&2
    exit 2
  fi
done
# Debian's nginx, haproxy and nghttpx live in /usr/sbin, which a non-root PATH may lack.
PATH="$PATH:/usr/sbin:/sbin"
for tool in h2load taskset curl timeout openssl nginx; do
  command -v "$tool" >/dev/null || { echo "report.sh: $tool is required (scripts/deps.sh installs it)" >&2; exit 2; }
done
if [ "$(nproc)" -lt 2 ]; then
  echo "report.sh: needs 2 CPUs (proxies on CPU 0, load and backend on CPU 1)" >&2
  exit 2
fi
if [ "${REMORA_BUILD_TYPE:-}" = "Debug" ]; then
  echo "report.sh: warning: remora-proxy comes from a Debug build; its numbers mean little" >&2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/remora-report-XXXXXX")"
ROWS="$WORK/rows.jsonl"
: > "$ROWS"
SKIPPED=()

PYTHON="$(command -v /usr/bin/python3 || command -v python3 || true)"
[ -n "$PYTHON" ] || { echo "report.sh: python3 is required" >&2; exit 2; }
helper() { "$PYTHON" "$HERE/bench_helper.py" "$@"; }
report_helper() { "$PYTHON" "$HERE/report_helper.py" "$@"; }
log() { printf '[report %3ds] %s\n' "$SECONDS" "$*" >&2; }
# Process tracking, cleanup on exit, CPU pinning.
source "$HERE/bench_lib.sh"
# Certificates, the backend, one mTLS pair (shared with mtls_path.sh).
source "$HERE/mtls_lib.sh"

START_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
START_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
make_certs
start_backend

# cpu_of PID: the process's CPU time in us; nothing for no PID (direct path).
cpu_of() { [ -z "$1" ] || helper cpu-us "$1"; }

# --- start every path -------------------------------------------------------------
# All pairs run for the whole report, idle while another path is measured
# (an idle proxy costs no CPU), so the runs can be interleaved: background
# load from other processes then falls on every path alike instead of on
# whichever path happened to be measured during a busy minute.
declare -A PID_A PID_B URL CPU_A CPU_B LOAD_A LOAD_B
ACTIVE=()
for name in $PATHS; do
  case " ${ACTIVE[*]} " in *" $name "*) continue ;; esac  # named twice
  if [ "$name" = direct ]; then
    URL[$name]="http://127.0.0.1:$BACKEND_PORT/"
    PID_A[$name]=""; PID_B[$name]=""
    echo "hop -" > "$WORK/$name.vars"
  else
    if ! start_pair "$name"; then SKIPPED+=("$name (did not start; see the log)"); continue; fi
    URL[$name]=$PAIR_URL
    PID_A[$name]=$PAIR_PID_A; PID_B[$name]=$PAIR_PID_B
    {
      echo "hop $HOP"
      echo "idle_a_kb $(helper rss-kb "$PAIR_PID_A" VmRSS)"
      echo "idle_b_kb $(helper rss-kb "$PAIR_PID_B" VmRSS)"
    } > "$WORK/$name.vars"
  fi
  ACTIVE+=("$name")
done
[ "${#ACTIVE[@]}" -gt 0 ] || { echo "report.sh: no path started" >&2; exit 1; }

# Expected length of the measuring: every path at every rate for DURATION
# seconds, saturation for SAT_DURATION, plus about a second per h2load run.
n_rates=$(echo "$RATES" | wc -w)
EXPECTED=$((SECONDS + ${#ACTIVE[@]} * (n_rates * DURATION + SAT_DURATION + (n_rates + 1) * ROUNDS + 2)))
if [ "$EXPECTED" -gt "$MAX_SECONDS" ]; then
  echo "report.sh: this would take about ${EXPECTED}s, more than --max-seconds $MAX_SECONDS; shorten --duration or --rates" >&2
  exit 2
fi
log "measuring ${ACTIVE[*]}: about $((EXPECTED - SECONDS))s"

for name in "${ACTIVE[@]}"; do
  log "$name: warming up on ${URL[$name]}"
  h2load_run "$name-warmup" 30 -n 2000 -c "$CLIENTS" "${URL[$name]}"
done

# rotated N: the active paths, rotated by N, so no path is always first.
rotated() {
  local n=${#ACTIVE[@]} i
  for ((i = 0; i < n; i++)); do echo "${ACTIVE[$(((i + $1) % n))]}"; done
}

# within_budget: false (and a note) once the next run could end after
# --max-seconds; the runs left out are missing from the report's totals.
BUDGET_NOTE=""
within_budget() {
  if [ $((SECONDS + $1 + 5)) -gt "$MAX_SECONDS" ]; then
    if [ -z "$BUDGET_NOTE" ]; then
      log "time budget (--max-seconds $MAX_SECONDS) reached: skipping the remaining runs"
      BUDGET_NOTE="The time budget ran out at ${SECONDS}s: some rounds did not run, their rows cover fewer requests."
    fi
    return 1
  fi
}

# measure NAME KEY LABEL SECONDS H2LOAD_ARGS...: one h2load run against NAME's
# path (hard timeout), adding A's and B's CPU time to CPU_A/CPU_B[NAME:KEY].
# For saturation (KEY sat) it samples VmRSS half way through ("RSS load",
# the highest sample over the rounds).
measure() {
  local name="$1" key="$2" label="$3" secs="$4" a b a0 b0 load_pid
  shift 4
  a="${PID_A[$name]}"; b="${PID_B[$name]}"
  a0="$(cpu_of "$a")"; b0="$(cpu_of "$b")"
  h2load_run "$label" $((secs * 2 + 20)) --log-file "$WORK/$label.tsv" "$@" "${URL[$name]}" &
  load_pid=$!
  if [ "$key" = sat ] && [ -n "$a" ]; then
    sleep $(((secs + 1) / 2))
    local ra rb
    ra="$(helper rss-kb "$a" VmRSS)"; rb="$(helper rss-kb "$b" VmRSS)"
    [ "$ra" -le "${LOAD_A[$name]:-0}" ] || LOAD_A[$name]=$ra
    [ "$rb" -le "${LOAD_B[$name]:-0}" ] || LOAD_B[$name]=$rb
  fi
  wait "$load_pid" || true
  if [ -n "$a" ]; then
    CPU_A[$name:$key]=$((${CPU_A[$name:$key]:-0} + $(cpu_of "$a") - a0))
    CPU_B[$name:$key]=$((${CPU_B[$name:$key]:-0} + $(cpu_of "$b") - b0))
  fi
}

ROUND_SECONDS=$((DURATION / ROUNDS))
SAT_ROUND_SECONDS=$((SAT_DURATION / ROUNDS))
for rate in $RATES; do
  log "fixed rate $rate req/s: $ROUNDS rounds of ${ROUND_SECONDS}s per path"
  for ((round = 1; round <= ROUNDS; round++)); do
    for name in $(rotated "$round"); do
      within_budget "$ROUND_SECONDS" || continue
      measure "$name" "$rate" "$name-r$rate-$round" "$ROUND_SECONDS" \
        -c "$CLIENTS" --rps $((rate / CLIENTS)) -n $((rate * ROUND_SECONDS))
    done
  done
done
log "saturation: $SAT_CLIENTS connections, $ROUNDS rounds of ${SAT_ROUND_SECONDS}s per path"
for ((round = 1; round <= ROUNDS; round++)); do
  for name in $(rotated "$round"); do
    within_budget "$SAT_ROUND_SECONDS" || continue
    measure "$name" sat "$name-sat-$round" "$SAT_ROUND_SECONDS" -c "$SAT_CLIENTS" -D "$SAT_ROUND_SECONDS"
  done
done

for name in "${ACTIVE[@]}"; do
  vars="$WORK/$name.vars"
  echo "rates $RATES" >> "$vars"
  if [ -n "${PID_A[$name]}" ]; then
    for key in $RATES sat; do
      echo "cpu_a_$key ${CPU_A[$name:$key]:-0}"
      echo "cpu_b_$key ${CPU_B[$name:$key]:-0}"
    done >> "$vars"
    # No "RSS load" when no saturation round ran (time budget).
    [ -z "${LOAD_A[$name]:-}" ] || echo "load_a_kb ${LOAD_A[$name]}" >> "$vars"
    [ -z "${LOAD_B[$name]:-}" ] || echo "load_b_kb ${LOAD_B[$name]}" >> "$vars"
    {
      echo "peak_a_kb $(helper rss-kb "${PID_A[$name]}" VmHWM)"
      echo "peak_b_kb $(helper rss-kb "${PID_B[$name]}" VmHWM)"
    } >> "$vars"
  fi
  report_helper row "$WORK" "$name" >> "$ROWS"
done
if [ -n "${PID_A[remora]:-}" ]; then remora_tls_counts; fi

# --- report --------------------------------------------------------------------
report() {
  echo "### Benchmark report, run of $START_DATE"
  echo
  echo "Command: \`$COMMAND_LINE\` ($SECONDS s wall time)."
  echo "Paths: direct = \`h2load --h1\` -> nginx; a pair = \`h2load --h1\` -> A -> mTLS ($HOP) -> B -> nginx," \
       "the proxies on CPU $PROXY_CPU, h2load and nginx on CPU $LOAD_CPU. Each path: ${DURATION}s at each fixed" \
       "rate ($RATES req/s, $CLIENTS connections) and ${SAT_DURATION}s at saturation ($SAT_CLIENTS connections)," \
       "in $ROUNDS interleaved rounds. CPU us/req = one proxy's utime+stime over those runs / requests that" \
       "succeeded. RSS idle = VmRSS before any load; load = highest VmRSS half way through a saturation round;" \
       "peak = VmHWM at the end."
  [ -z "$BUDGET_NOTE" ] || { echo; echo "**Incomplete.** $BUDGET_NOTE"; }
  echo
  report_helper tables "$ROWS"
  if [ "${#SKIPPED[@]}" -gt 0 ]; then
    echo
    local joined
    joined="$(printf '%s, ' "${SKIPPED[@]}")"
    echo "Not measured: ${joined%, }."
  fi
  echo
  bench_versions
  echo "- load average: $START_LOAD at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
}
report | tee ${OUT:+"$OUT"}
