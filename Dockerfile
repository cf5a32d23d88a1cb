# soakd container image — why this exists: the Helm chart (helm/soakd) and plain `docker run`
# need a small, non-root image with only the soakd binary and CA certificates.
#
#   docker build -t soakd:dev .
#   docker run --rm -p 9464:9464 -v "$PWD/my-soakd.yaml:/etc/soakd/soakd.yaml:ro" soakd:dev
#
# Runtime is debian:bookworm-slim rather than distroless on purpose: the chart's sharding mode
# that derives the shard index from the pod ordinal runs `/bin/sh -c` (helm/soakd/templates/
# statefulset.yaml), so the image needs a shell. The binary links glibc only (TLS is rustls).

# ---- build --------------------------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# config/demo.yaml is compiled into the binary (`soakd demo`).
COPY config ./config
RUN cargo build --release --locked \
 && install -D -m 0755 target/release/soakd /out/soakd \
 && strip /out/soakd

# ---- runtime ------------------------------------------------------------------------------
FROM debian:bookworm-slim
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
# /metrics, /healthz, /readyz and the API (server.listen, DESIGN §6).
EXPOSE 9464
# Breach state and run summaries (state_dir, results.dir) live under /var/lib/soakd: mount a
# volume there (the chart mounts its PVC) to keep incident counts across restarts.
ENTRYPOINT ["soakd"]
CMD ["run", "--config", "/etc/soakd/soakd.yaml"]
