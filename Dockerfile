# soakd container image — why this exists: the Helm chart (helm/soakd) and plain `docker run`
# need a small, non-root image with only the soakd binary and CA certificates.
#
#   docker build -t soakd:dev .
#   docker run --rm -p 9464:9464 -v "$PWD/my-soakd.yaml:/etc/soakd/soakd.yaml:ro" soakd:dev
#
# Runtime is debian:bookworm-slim rather than distroless on purpose: the chart's sharding mode
# that derives the shard index from the pod ordinal runs `/bin/sh -c` (helm/soakd/templates/
# statefulset.yaml), so the image needs a shell. The binary links glibc only (TLS is rustls).
#
# Base images are pinned to a precise tag (the toolchain the repo is tested with, Debian 12 for
# both stages so glibc matches). To pin by digest as well, pass the digests your registry mirror
# reports: `--build-arg RUST_IMAGE=rust:1.95.0-bookworm@sha256:… --build-arg
# RUNTIME_IMAGE=debian:bookworm-slim@sha256:…`.
#
# tests/image.rs lints this file with hadolint and builds soakd (`cargo build --locked`) from
# exactly the files this stage COPYs out of the context that .dockerignore leaves.
ARG RUST_IMAGE=rust:1.95.0-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build --------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS build
WORKDIR /src
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# 1. Dependencies only, cached until a manifest or the lock file changes: the workspace's
#    manifests with stub sources (one per declared [[bench]], since cargo refuses a manifest
#    whose targets are missing), built once.
COPY Cargo.toml Cargo.lock ./
COPY crates/soakd/Cargo.toml crates/soakd/Cargo.toml
COPY crates/testbed/Cargo.toml crates/testbed/Cargo.toml
RUN mkdir -p src crates/soakd/src crates/testbed/src benches \
 && echo 'fn main() {}' > src/main.rs \
 && echo 'fn main() {}' > crates/soakd/build.rs \
 && touch src/lib.rs crates/soakd/src/lib.rs crates/testbed/src/lib.rs \
 && grep -A1 '^\[\[bench\]\]' Cargo.toml | sed -n 's/^name = "\(.*\)"$/\1/p' \
    | while read -r b; do echo 'fn main() {}' > "benches/$b.rs"; done \
 && cargo build --release --locked --bin soakd \
 && rm -rf src crates/soakd/src crates/soakd/build.rs crates/testbed/src benches

# 2. The sources. COPY keeps the files' mtimes, which may be older than the stub build: touch
#    the crate roots so cargo rebuilds the workspace's own crates (dependencies stay cached).
COPY src ./src
COPY crates/soakd/build.rs crates/soakd/build.rs
COPY crates/soakd/src ./crates/soakd/src
COPY crates/testbed/src ./crates/testbed/src
COPY benches ./benches
# config/demo.yaml is compiled into the binary (`soakd demo`).
COPY config ./config
RUN touch src/main.rs src/lib.rs crates/soakd/build.rs crates/soakd/src/lib.rs crates/testbed/src/lib.rs \
 && cargo build --release --locked --bin soakd \
 && install -D -m 0755 target/release/soakd /out/soakd \
 && strip /out/soakd

# ---- runtime ------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="soakd" \
      org.opencontainers.image.description="Continuous synthetic load that speaks Prometheus" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="https://github.com/soakd/soakd/tree/main/helm/soakd" \
      org.opencontainers.image.source="https://github.com/soakd/soakd"
# ca-certificates is left unpinned on purpose: the newest CA bundle of the release is wanted.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 soakd \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin soakd \
 && install -d -o 65532 -g 65532 -m 0750 /var/lib/soakd /var/lib/soakd/results \
 && install -d -m 0755 /etc/soakd
COPY --from=build /out/soakd /usr/local/bin/soakd
USER 65532:65532
WORKDIR /var/lib/soakd
# `soakd run` and `soakd healthcheck` both read this config (server.listen).
ENV SOAKD_CONFIG=/etc/soakd/soakd.yaml
# /metrics, /healthz, /readyz and the API (server.listen, DESIGN §6).
EXPOSE 9464
# Breach state and run summaries (state_dir, results.dir) live under /var/lib/soakd: mount a
# volume there (the chart mounts its PVC) to keep incident counts across restarts.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["soakd", "healthcheck"]
ENTRYPOINT ["soakd"]
CMD ["run"]
