# The Gatehouse container image: the static binary on an empty base.
#
# Build it with deploy/build-image.sh, which compiles dist/gatehouse on the
# host (CGO_ENABLED=0, so it needs no C library) and gathers the rest of
# the image's files under dist/. This file compiles nothing and pulls no
# base image (FROM scratch), so it also builds where no registry is
# reachable. Podman: build with --format docker, or the HEALTHCHECK below is
# dropped (the OCI image format has no health check); the script does.
FROM scratch

ARG VERSION=dev
LABEL org.opencontainers.image.title="Gatehouse" \
      org.opencontainers.image.description="Authentication server: passwords, codes, magic links, second factors, forward-auth" \
      org.opencontainers.image.version="${VERSION}"

# Root certificates, for the TLS of SMTP, Postmark, Twilio and rediss://.
COPY dist/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# /data holds the SQLite database (and, in dev mode, the generated secret);
# /tmp is for SQLite's temporary files. Both belong to the user the server
# runs as, which owns nothing else in the image.
COPY --chown=65532:65532 dist/data/ /data/
COPY --chown=65532:65532 dist/tmp/ /tmp/
COPY dist/gatehouse /gatehouse

# Listen on every interface of the container (the default, localhost,
# would be unreachable from outside it); one node on SQLite unless
# GATEHOUSE_DATABASE_URL names PostgreSQL. GATEHOUSE_SECRET and
# GATEHOUSE_PUBLIC_URL are for whoever runs the image to set.
ENV GATEHOUSE_ADDR=:3000 \
    GATEHOUSE_DATABASE_URL=sqlite:/data/gatehouse.db \
    TMPDIR=/tmp

USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000

# scratch has no curl: the binary asks its own /healthz on GATEHOUSE_ADDR.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/gatehouse", "healthcheck"]

ENTRYPOINT ["/gatehouse"]
CMD ["serve"]
