#!/usr/bin/env bash
# Builds Rookery's container image with podman (no daemon) against base images made here
# from Debian's packages, runs it as docker-jitsi-meet runs its `prosody` service (JWT
# authentication from the environment), and checks it from outside through the published
# ports: /health answers and the image's HEALTHCHECK reports healthy, then lib-jitsi-meet in
# headless Chromium (tests/js/lib-jitsi-meet.test.js) connects, joins, is refused as it
# should be and resumes, through the container's HTTP port.
#
#   container/check.sh            (root; podman, buildah's storage, debootstrap, chromium)
#
# Everything listens on loopback; the container is removed at the end, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=localhost/rookery:check
# This sandbox's limits: crun refuses its hybrid cgroup layout (runc copes), and without
# CAP_SYS_RESOURCE podman's default rlimits (nofile 1048576, nproc above 32768) cannot be
# set; these values can.
PODMAN=(podman --runtime runc)
LIMITS=(--ulimit "nofile=$(ulimit -n):$(ulimit -Hn)" --ulimit nproc=32768:32768)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== base images from Debian's packages"
container/local-bases.sh

echo "== podman build"
start=$(date +%s)
"${PODMAN[@]}" build "${LIMITS[@]}" --network host --format docker \
  --build-arg BUILD_IMAGE=localhost/rookery-base/rust:bookworm \
  --build-arg RUNTIME_IMAGE=localhost/rookery-base/debian:bookworm-slim \
  -t "$IMAGE" .
echo "image built in $(( $(date +%s) - start )) s: $("${PODMAN[@]}" image inspect "$IMAGE" --format '{{.Size}}') bytes"

C2S=$(free_port); HTTP=$(free_port); ORIGIN=$(free_port)
# The test values of tests/js/helpers/jitsi-server.js (JITSI).
cid=$("${PODMAN[@]}" run -d "${LIMITS[@]}" \
  -p "127.0.0.1:$C2S:5222" -p "127.0.0.1:$HTTP:5280" \
  -e ENABLE_AUTH=1 -e AUTH_TYPE=jwt \
  -e JWT_APP_ID=jitsi-test-app -e JWT_APP_SECRET=jitsi-test-secret \
  -e JWT_ENABLE_DOMAIN_VERIFICATION=1 \
  -e JICOFO_AUTH_PASSWORD=focus-test-password -e JVB_AUTH_PASSWORD=jvb-test-password \
  -e PUBLIC_URL="http://127.0.0.1:$ORIGIN" \
  "$IMAGE")
cleanup() {
  "${PODMAN[@]}" logs "$cid" > "${TMPDIR:-/tmp}/rookery-container.log" 2>&1 || true
  "${PODMAN[@]}" rm -f "$cid" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== /health from outside (127.0.0.1:$HTTP)"
deadline=$(( $(date +%s) + 30 ))
until curl -fsS "http://127.0.0.1:$HTTP/health"; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "no /health answer within 30 s"; "${PODMAN[@]}" logs "$cid"; exit 1
  fi
  sleep 0.5
done
echo
# Run the image's HEALTHCHECK by hand: podman schedules it with systemd timers, which this
# machine has not (podman logs "unable to get systemd connection", harmlessly).
"${PODMAN[@]}" healthcheck run "$cid"
echo "HEALTHCHECK: $("${PODMAN[@]}" inspect "$cid" --format '{{.State.Health.Status}}')"

echo "== lib-jitsi-meet through the published ports"
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
(cd tests/js && JITSI_EXTERNAL_HTTP_PORT=$HTTP JITSI_ORIGIN_PORT=$ORIGIN \
  node --test --test-force-exit lib-jitsi-meet.test.js)
echo "container check passed"
