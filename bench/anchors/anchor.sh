#!/usr/bin/env bash
# Start and stop the servers that bench/run-all.sh measures, on loopback, by PID.
#
#   bench/anchors/anchor.sh start NAME   start NAME, wait until it listens, print its pid
#   bench/anchors/anchor.sh stop NAME    stop NAME by the pid recorded at start
#   bench/anchors/anchor.sh pid NAME     print the recorded pid (of the process whose RSS counts)
#
# NAME is prosody, ejabberd, trivial or rookery. Each start wipes NAME's run directory, so
# every start is a fresh server. Run bench/anchors/install.sh once first (prosody, ejabberd).
#
# Environment (defaults in brackets):
#   BENCH_RUN_DIR [/tmp/rookery-bench]    configs, data, logs and pid files, one dir per server
#   BENCH_ACCOUNTS [2000]                 PLAIN accounts user1..userN / pw1..pwN on users.bench
#   PROSODY_PORT [15222]  PROSODY_HTTP_PORT [15280]   (WebSocket: /xmpp-websocket)
#   EJABBERD_PORT [25222] EJABBERD_HTTP_PORT [25280]  (WebSocket: /ws)
#   TRIVIAL_PORT [17222]  TRIVIAL_WS_PORT [17280]     (WebSocket: any path)
#   ROOKERY_PORT [5222]   ROOKERY_HTTP_PORT [5280]
#   TRIVIAL_BIN [target/release/rookery-bench-trivial]
#   ROOKERY_BIN [target/release/rookery]  ROOKERY_CONFIG [generated from rookery.toml.in]
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
RUN_BASE="${BENCH_RUN_DIR:-/tmp/rookery-bench}"
ACCOUNTS="${BENCH_ACCOUNTS:-2000}"
PROSODY_PORT="${PROSODY_PORT:-15222}"
PROSODY_HTTP_PORT="${PROSODY_HTTP_PORT:-15280}"
EJABBERD_PORT="${EJABBERD_PORT:-25222}"
EJABBERD_HTTP_PORT="${EJABBERD_HTTP_PORT:-25280}"
TRIVIAL_PORT="${TRIVIAL_PORT:-17222}"
TRIVIAL_WS_PORT="${TRIVIAL_WS_PORT:-17280}"
ROOKERY_PORT="${ROOKERY_PORT:-5222}"
ROOKERY_HTTP_PORT="${ROOKERY_HTTP_PORT:-5280}"
TRIVIAL_BIN="${TRIVIAL_BIN:-$ROOT/target/release/rookery-bench-trivial}"
ROOKERY_BIN="${ROOKERY_BIN:-$ROOT/target/release/rookery}"
# As many descriptors as the hard limit allows, up to 65536.
FD_LIMIT="$(ulimit -Hn)"
if [ "$FD_LIMIT" = unlimited ] || [ "$FD_LIMIT" -gt 65536 ]; then FD_LIMIT=65536; fi

die() { echo "anchor.sh: $*" >&2; exit 1; }

# wait_port PORT SECONDS: poll until something accepts on 127.0.0.1:PORT.
wait_port() {
  local port=$1 tries=$(( $2 * 10 ))
  for _ in $(seq "$tries"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# port_free PORT: true when nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# fill TEMPLATE OUT: substitute @VARS@.
fill() {
  sed -e "s|@RUN@|$RUN|g" -e "s|@C2S_PORT@|$C2S|g" -e "s|@HTTP_PORT@|$HTTP|g" "$1" > "$2"
}

fresh_dir() {
  RUN="$RUN_BASE/$1"
  if [ -f "$RUN/pid" ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null; then
    die "$1 already running (pid $(cat "$RUN/pid")); stop it first"
  fi
  rm -rf "$RUN"
  mkdir -p "$RUN"
}

start_prosody() {
  command -v prosody >/dev/null || die "prosody not installed (run bench/anchors/install.sh)"
  C2S=$PROSODY_PORT HTTP=$PROSODY_HTTP_PORT
  port_free "$C2S" || die "port $C2S is busy"
  fresh_dir prosody
  fill "$HERE/prosody.cfg.lua.in" "$RUN/prosody.cfg.lua"
  mkdir -p "$RUN/certs"
  # internal_plain accounts are one small Lua file each: write them directly (prosodyctl
  # register takes a second per account).
  local acc="$RUN/data/users%2ebench/accounts"
  mkdir -p "$acc"
  for i in $(seq "$ACCOUNTS"); do
    printf 'return {\n\t["password"] = "pw%s";\n};\n' "$i" > "$acc/user$i.dat"
  done
  chown -R prosody:prosody "$RUN"
  ulimit -n "$FD_LIMIT"
  # setpriv execs prosody in place, so $! is Prosody's own pid.
  setpriv --reuid=prosody --regid=prosody --init-groups \
    prosody -F --config "$RUN/prosody.cfg.lua" > "$RUN/stdout.log" 2>&1 &
  echo $! > "$RUN/pid"
  wait_port "$C2S" 20 || { cat "$RUN/stdout.log" "$RUN/prosody.log" >&2 || true; die "prosody did not start"; }
  wait_port "$HTTP" 5 || die "prosody http did not start"
}

start_ejabberd() {
  command -v ejabberdctl >/dev/null || die "ejabberd not installed (run bench/anchors/install.sh)"
  C2S=$EJABBERD_PORT HTTP=$EJABBERD_HTTP_PORT
  port_free "$C2S" || die "port $C2S is busy"
  fresh_dir ejabberd
  mkdir -p "$RUN/spool" "$RUN/log"
  fill "$HERE/ejabberd.yml.in" "$RUN/ejabberd.yml"
  fill "$HERE/ejabberdctl.cfg.in" "$RUN/ejabberdctl.cfg"
  {
    echo "<?xml version='1.0' encoding='UTF-8'?>"
    echo "<server-data xmlns='urn:xmpp:pie:0'><host jid='users.bench'>"
    for i in $(seq "$ACCOUNTS"); do echo "<user name='user$i' password='pw$i'/>"; done
    echo "</host></server-data>"
  } > "$RUN/accounts.xml"
  # ejabberdctl switches to the ejabberd user through su, whose PAM session resets the
  # soft fd limit to 1024 unless limits.d raises it.
  if [ ! -f /etc/security/limits.d/rookery-bench-ejabberd.conf ]; then
    printf 'ejabberd soft nofile %s\nejabberd hard nofile %s\n' "$FD_LIMIT" "$FD_LIMIT" \
      > /etc/security/limits.d/rookery-bench-ejabberd.conf
  fi
  chown -R ejabberd:ejabberd "$RUN"
  ulimit -n "$FD_LIMIT"
  local ctl=(ejabberdctl --ctl-config "$RUN/ejabberdctl.cfg" --logs "$RUN/log" --spool "$RUN/spool")
  (cd "$RUN" && "${ctl[@]}" start) > "$RUN/stdout.log" 2>&1
  for _ in $(seq 300); do [ -s "$RUN/ejabberd.pid" ] && break; sleep 0.1; done
  [ -s "$RUN/ejabberd.pid" ] || { cat "$RUN/stdout.log" "$RUN/log/"*.log >&2 || true; die "ejabberd did not start"; }
  cp "$RUN/ejabberd.pid" "$RUN/pid"
  local pid
  pid="$(cat "$RUN/pid")"
  for _ in $(seq 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$C2S") 2>/dev/null; then break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  wait_port "$C2S" 1 || { tail -n 20 "$RUN/log/ejabberd.log" >&2 || true; rm -f "$RUN/pid"; die "ejabberd c2s did not start"; }
  (cd "$RUN" && "${ctl[@]}" import_piefxis "$RUN/accounts.xml") >> "$RUN/stdout.log" 2>&1 \
    || die "importing accounts into ejabberd failed (see $RUN/stdout.log)"
  wait_port "$HTTP" 5 || die "ejabberd http did not start"
}

start_trivial() {
  [ -x "$TRIVIAL_BIN" ] || die "$TRIVIAL_BIN missing (cargo build --release -p rookery-bench)"
  C2S=$TRIVIAL_PORT
  port_free "$C2S" || die "port $C2S is busy"
  fresh_dir trivial
  ulimit -n "$FD_LIMIT"
  "$TRIVIAL_BIN" --port "$TRIVIAL_PORT" --ws-port "$TRIVIAL_WS_PORT" > "$RUN/stdout.log" 2>&1 &
  echo $! > "$RUN/pid"
  wait_port "$C2S" 10 || { cat "$RUN/stdout.log" >&2; die "trivial server did not start"; }
}

start_rookery() {
  if [ ! -x "$ROOKERY_BIN" ]; then
    echo "anchor.sh: $ROOKERY_BIN not built; skipping rookery" >&2
    exit 3
  fi
  C2S=$ROOKERY_PORT HTTP=$ROOKERY_HTTP_PORT
  port_free "$C2S" || die "port $C2S is busy"
  fresh_dir rookery
  local cfg="${ROOKERY_CONFIG:-}"
  if [ -z "$cfg" ]; then
    cfg="$RUN/rookery.toml"
    fill "$HERE/rookery.toml.in" "$cfg"
  fi
  ulimit -n "$FD_LIMIT"
  (cd "$RUN" && exec "$ROOKERY_BIN" --config "$cfg") > "$RUN/stdout.log" 2>&1 &
  echo $! > "$RUN/pid"
  wait_port "$C2S" 20 || { cat "$RUN/stdout.log" >&2; die "rookery did not start"; }
}

stop_server() {
  RUN="$RUN_BASE/$1"
  [ -f "$RUN/pid" ] || { echo "anchor.sh: $1 not running" >&2; return 0; }
  local pid
  pid="$(cat "$RUN/pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  fi
  rm -f "$RUN/pid"
  if [ "$1" = ejabberd ] && command -v epmd >/dev/null; then
    # erl started an epmd for the node; stop it when no node is left registered.
    if ! epmd -names 2>/dev/null | grep -q '^name '; then epmd -kill >/dev/null 2>&1 || true; fi
  fi
}

cmd="${1:-}"; name="${2:-}"
case "$name" in prosody|ejabberd|trivial|rookery) ;; *) die "usage: $0 start|stop|pid prosody|ejabberd|trivial|rookery" ;; esac
case "$cmd" in
  start) "start_$name"; cat "$RUN_BASE/$name/pid" ;;
  stop) stop_server "$name" ;;
  pid) cat "$RUN_BASE/$name/pid" ;;
  *) die "usage: $0 start|stop|pid NAME" ;;
esac
