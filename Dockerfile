# syntax=docker/dockerfile:1
#
# Vigil: one static binary, two homes (`vigil server` and `vigil worker`).
#
#   docker build -t vigil:local .                  # BuildKit is required (cache mounts)
#   docker build --build-arg VERSION=1.2.3 -t vigil:1.2.3 .
#
# The modules are downloaded in their own layer (reused until go.mod/go.sum change) and the Go
# build cache lives in a BuildKit cache mount, so a rebuild after a code change recompiles only
# what changed: the Temporal server dependency (linked in for `vigil dev`) takes minutes to
# compile cold. See docs/deploy.md.

ARG GO_VERSION=1.26

# ---------------------------------------------------------------------------------------------
FROM golang:${GO_VERSION} AS build
WORKDIR /src

# Never let the go command fetch another toolchain: the image's Go (>= go.mod's 1.26.8) builds it.
ENV CGO_ENABLED=0 \
    GOTOOLCHAIN=local \
    GOFLAGS=-buildvcs=false

# Dependencies first, into an image layer of the build stage: reused until go.mod or go.sum
# changes, even where BuildKit's cache mounts are not kept (fresh CI runners).
COPY go.mod go.sum ./
RUN go mod download

# Then the sources (.dockerignore keeps .git, .vigil and test artefacts out of the context).
COPY . .

ARG VERSION=dev
RUN --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/vigil ./cmd/vigil

# ---------------------------------------------------------------------------------------------
# Runtime: Debian slim rather than distroless so that the container can carry a HEALTHCHECK
# (curl against /healthz); distroless has no shell, curl or wget. docs/deploy.md has the why.
FROM debian:trixie-slim AS runtime

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 vigil \
 && useradd --system --uid 65532 --gid vigil --home-dir /var/lib/vigil --create-home \
            --shell /usr/sbin/nologin vigil

COPY --from=build /out/vigil /vigil

USER 65532:65532
WORKDIR /var/lib/vigil

# Listen on all interfaces inside the container (the binary's own default is 127.0.0.1:8080).
ENV VIGIL_HTTP_ADDRESS=0.0.0.0:8080 \
    VIGIL_LOG_FORMAT=json

EXPOSE 8080

# Only `vigil server` serves HTTP; docker-compose.yml disables this check for `vigil worker`.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]

ENTRYPOINT ["/vigil"]
CMD ["server"]
