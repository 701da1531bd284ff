# Rookery container image: a drop-in for the `prosody` service of docker-jitsi-meet.
#
#   docker build -t rookery .
#   docker run --env-file .env -p 5222:5222 -p 5280:5280 rookery
#
# The default command builds the configuration from docker-jitsi-meet's environment
# variables (`rookery --jitsi-env`); mount a file and run `--config /path/rookery.toml` to
# use a configuration file instead.
#
# The base images are build arguments: a machine without a registry makes them from
# Debian's packages (container/local-bases.sh) and builds with
#   --build-arg BUILD_IMAGE=localhost/rookery-base/rust:bookworm
#   --build-arg RUNTIME_IMAGE=localhost/rookery-base/debian:bookworm-slim
# (container/check.sh does that with podman, runs the image and checks it from outside).
ARG BUILD_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build ----------------------------------------------------------------------------
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# Dependencies first, so source edits do not refetch the registry.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY config ./config
RUN cargo build --release --locked -p rookery-server --bin rookery \
    && strip target/release/rookery

# ---- run ------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/rookery \
        --create-home --shell /usr/sbin/nologin rookery
COPY --from=build /src/target/release/rookery /usr/local/bin/rookery
USER rookery
WORKDIR /var/lib/rookery
VOLUME ["/var/lib/rookery"]
# 5222 clients (TCP, STARTTLS), 5280 HTTP (/xmpp-websocket, /http-bind, /health),
# 5347 XEP-0114 components.
EXPOSE 5222 5280 5347
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD curl --fail --silent --show-error "http://127.0.0.1:${PROSODY_HTTP_PORT:-5280}/health" || exit 1
ENTRYPOINT ["/usr/local/bin/rookery"]
CMD ["--jitsi-env"]
