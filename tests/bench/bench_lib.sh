# shellcheck shell=bash
# Shared by the benchmark scripts (tests/bench/run.sh, mtls_path.sh, report.sh):
# tracking the processes a run starts, stopping exactly those (by PID) on
# exit or Ctrl-C, and starting a process pinned to one CPU. The caller sets
# WORK (its scratch dir), KEEP (1: keep WORK) and log() before sourcing.
STARTED_PIDS=()
# Stops one PID we started: SIGTERM, up to 3 s, then SIGKILL; reaps it.
stop_pid() {
  local pid="$1"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
  if [ "$KEEP" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}

# start_on CPU NAME CMD...: runs CMD pinned to CPU in the background, output
# to $WORK/NAME.log; sets STARTED_PID. taskset execs CMD, so the PID is CMD's.
start_on() {
  local cpu="$1" name="$2"
  shift 2
  taskset -c "$cpu" "$@" > "$WORK/$name.log" 2>&1 &
  STARTED_PID=$!
  STARTED_PIDS+=("$STARTED_PID")
}

trap cleanup EXIT
trap 'exit 130' INT TERM
