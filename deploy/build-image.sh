#!/bin/sh
# build-image.sh builds the Gatehouse container image: it compiles a static
# binary on this machine, gathers the image's files under dist/, and runs
# the builder on the repository's Dockerfile (FROM scratch: nothing is
# pulled).
#
#   deploy/build-image.sh                 # podman, tags gatehouse:VERSION and gatehouse:latest
#   BUILDER=docker deploy/build-image.sh  # or docker
#   GOARCH=arm64 deploy/build-image.sh    # for another architecture
#
# VERSION defaults to `git describe`; it is stamped into the binary
# (`gatehouse version`) and the image's label.
set -eu

cd "$(dirname "$0")/.."

VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
IMAGE=${IMAGE:-gatehouse}
BUILDER=${BUILDER:-podman}
GOARCH=${GOARCH:-$(go env GOARCH)}
CA=${CA_CERTIFICATES:-/etc/ssl/certs/ca-certificates.crt}

rm -rf dist
mkdir -p dist/data dist/tmp

echo "building dist/gatehouse $VERSION (linux/$GOARCH)"
CGO_ENABLED=0 GOOS=linux GOARCH=$GOARCH go build -trimpath \
	-ldflags "-s -w -X github.com/gatehouse/gatehouse.Version=$VERSION" \
	-o dist/gatehouse ./cmd/gatehouse

# The image has no package manager: it gets this machine's root
# certificates.
cp "$CA" dist/ca-certificates.crt

# Podman writes OCI images by default, a format without HEALTHCHECK;
# docker's format keeps it.
format=""
if [ "$BUILDER" = podman ]; then
	format="--format docker"
fi
# shellcheck disable=SC2086 # $format is one option or none
"$BUILDER" build $format \
	--platform "linux/$GOARCH" \
	--build-arg VERSION="$VERSION" \
	-t "$IMAGE:$VERSION" -t "$IMAGE:latest" \
	-f Dockerfile .

echo "built $IMAGE:$VERSION ($IMAGE:latest)"
