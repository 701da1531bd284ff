#!/usr/bin/env bash
# Runs every test of the project: Rust unit and end-to-end tests, then the tests that drive
# the server with independent client libraries (slixmpp in Python; @xmpp/client and
# strophe.js in Node over WebSocket and BOSH; lib-jitsi-meet in headless Chromium through
# playwright-core). Installs what those need into local directories (.venv,
# tests/js/node_modules from the committed lockfile, the lib-jitsi-meet bundle into
# tests/js/.cache by `npm pack`, checksum-pinned) first; Chromium itself is Debian's
# (/usr/bin/chromium, or CHROMIUM_BIN), which .ci/run installs. Exit status is non-zero if
# anything fails.
set -euo pipefail
cd "$(dirname "$0")"

echo "== cargo test (workspace)"
cargo build --bin rookery
cargo test --workspace

echo "== python client tests (slixmpp)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
ROOKERY_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/rookery" .venv/bin/python -m pytest -q tests/python

echo "== javascript client tests (@xmpp/client, strophe.js, lib-jitsi-meet in Chromium)"
JS_BIN="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/rookery"
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
# --test-force-exit: strophe.js leaves timers running after its last disconnect.
(cd tests/js && ROOKERY_BIN="$JS_BIN" node --test --test-force-exit)
