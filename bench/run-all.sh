#!/usr/bin/env bash
# Run every scenario of rookery-bench against Rookery, the trivial fan-out server, Prosody
# and ejabberd, RUNS times each on a freshly started server, and write a markdown table of
# medians with the ratios Rookery/Prosody, Rookery/ejabberd and Rookery/trivial.
#
#   bench/run-all.sh [OUT_DIR]        (default bench/results/<date-time>)
#
# Environment (defaults in brackets):
#   RUNS [3]
#   SERVERS ["rookery trivial prosody ejabberd"]
#   SCENARIOS ["connect idle muc muc-paced rooms ws churn join1000"]
#   SIZE [full]   full: the sizes of issue 5 (200-occupant room, 500x5 rooms, 20x1000 churn)
#                 quick: small sizes for a check of the whole pipeline in a few minutes
#   BENCH_TIMEOUT [120]  seconds, upper bound of any wait inside one run
#   BENCH_BIN [target/release/rookery-bench]
#   ROOKERY_BIN [target/release/rookery]  ROOKERY_CONFIG, ROOKERY_PORT, ROOKERY_WS_URL
#   and the port and directory settings of bench/anchors/anchor.sh.
# Rookery is skipped with a message when its binary is absent. Prosody and ejabberd need
# bench/anchors/install.sh once.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ANCHOR="$ROOT/bench/anchors/anchor.sh"
OUT="${1:-$ROOT/bench/results/$(date +%Y%m%d-%H%M%S)}"
RUNS="${RUNS:-3}"
SERVERS="${SERVERS:-rookery trivial prosody ejabberd}"
SCENARIOS="${SCENARIOS:-connect idle muc muc-paced rooms ws churn join1000}"
SIZE="${SIZE:-full}"
TIMEOUT="${BENCH_TIMEOUT:-120}"
BENCH_BIN="${BENCH_BIN:-$ROOT/target/release/rookery-bench}"
export ROOKERY_BIN="${ROOKERY_BIN:-$ROOT/target/release/rookery}"
export TRIVIAL_BIN="${TRIVIAL_BIN:-$ROOT/target/release/rookery-bench-trivial}"

mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
COMMANDS="$OUT/commands.txt"
: > "$RESULTS"
: > "$COMMANDS"

if [ ! -x "$BENCH_BIN" ] || [ ! -x "$TRIVIAL_BIN" ]; then
  (cd "$ROOT" && cargo build --release -p rookery-bench)
fi
# The load generator holds thousands of sockets too.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# server_target NAME: c2s port and WebSocket URL of NAME.
server_target() {
  case "$1" in
    prosody) PORT="${PROSODY_PORT:-15222}"; WS_URL="ws://127.0.0.1:${PROSODY_HTTP_PORT:-15280}/xmpp-websocket" ;;
    ejabberd) PORT="${EJABBERD_PORT:-25222}"; WS_URL="ws://127.0.0.1:${EJABBERD_HTTP_PORT:-25280}/ws" ;;
    trivial) PORT="${TRIVIAL_PORT:-17222}"; WS_URL="ws://127.0.0.1:${TRIVIAL_WS_PORT:-17280}/xmpp-websocket" ;;
    rookery) PORT="${ROOKERY_PORT:-5222}"; WS_URL="${ROOKERY_WS_URL:-ws://127.0.0.1:${ROOKERY_HTTP_PORT:-5280}/xmpp-websocket}" ;;
  esac
}

# scenario_args KEY: the rookery-bench subcommand and its sizes.
scenario_args() {
  if [ "$SIZE" = quick ]; then
    case "$1" in
      connect) ARGS=(connect --connections 1000 --concurrency 32) ;;
      idle) ARGS=(idle --connections 1000) ;;
      muc) ARGS=(muc --occupants 50 --messages 10) ;;
      muc-paced) ARGS=(muc --occupants 50 --messages 2 --rate 80) ;;
      rooms) ARGS=(rooms --rooms 100 --occupants 5 --messages 10 --join-concurrency 32) ;;
      ws) ARGS=(ws --occupants 50 --messages 10) ;;
      churn) ARGS=(churn --waves 5 --per-wave 200) ;;
      join1000) ARGS=(muc --occupants 200 --messages 0) ;;
      *) echo "unknown scenario $1" >&2; return 1 ;;
    esac
  else
    case "$1" in
      connect) ARGS=(connect --connections 5000 --concurrency 32) ;;
      idle) ARGS=(idle --connections 5000) ;;
      muc) ARGS=(muc --occupants 200 --messages 20) ;;
      muc-paced) ARGS=(muc --occupants 200 --messages 2 --rate 20) ;;
      rooms) ARGS=(rooms --rooms 500 --occupants 5 --messages 10 --join-concurrency 32) ;;
      ws) ARGS=(ws --occupants 200 --messages 20) ;;
      churn) ARGS=(churn --waves 20 --per-wave 1000) ;;
      join1000) ARGS=(muc --occupants 1000 --messages 0) ;;
      *) echo "unknown scenario $1" >&2; return 1 ;;
    esac
  fi
}

# Servers take turns within each run of each scenario (rookery, trivial, prosody,
# ejabberd, then the next run), so that a machine that speeds up or slows down over the
# half hour of a full run weighs on every server alike instead of on whichever ran last.
ACTIVE=""
for server in $SERVERS; do
  if [ "$server" = rookery ] && [ ! -x "$ROOKERY_BIN" ]; then
    echo "== rookery: $ROOKERY_BIN not built, skipping (cargo build --release --bin rookery)"
    continue
  fi
  ACTIVE="$ACTIVE $server"
done
for key in $SCENARIOS; do
  scenario_args "$key"
  for run in $(seq "$RUNS"); do
    for server in $ACTIVE; do
      server_target "$server"
      pid="$("$ANCHOR" start "$server")" || {
        echo "== $server: could not start, skipping it from now on" >&2
        ACTIVE="$(echo " $ACTIVE " | sed "s/ $server / /")"
        continue
      }
      cmd=("$BENCH_BIN" --port "$PORT" --domain anon.bench --muc-domain muc.bench --ws-url "$WS_URL"
        --pid "$pid" --timeout "$TIMEOUT" --label "$server/$key/$run" "${ARGS[@]}")
      echo "${cmd[*]}" >> "$COMMANDS"
      echo "== $server $key run $run"
      if line="$("${cmd[@]}" 2>>"$OUT/stderr.log")"; then
        echo "$line" >> "$RESULTS"
        echo "$line" | cut -c1-300
      else
        echo "   failed (see $OUT/stderr.log)"
      fi
      "$ANCHOR" stop "$server"
    done
  done
done

python3 "$ROOT/bench/summarise.py" "$RESULTS" > "$OUT/summary.md"
cat "$OUT/summary.md"
echo "results: $RESULTS  commands: $COMMANDS  table: $OUT/summary.md"
