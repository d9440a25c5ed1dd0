#!/bin/sh
# release.sh cross-compiles the release builds of the gatehouse command:
# static binaries (CGO_ENABLED=0; SQLite is pure Go) with -trimpath, the
# version stamped into `gatehouse version`, and their SHA256SUMS.
#
#   deploy/release.sh                  # VERSION from `git describe`, every target, into dist/release/
#   VERSION=v1.2.0 deploy/release.sh
#   TARGETS="linux/amd64" OUT=/tmp/rel deploy/release.sh
#
# Each binary is OUT/gatehouse_VERSION_OS_ARCH (.exe for Windows); check
# one with `sha256sum -c --ignore-missing SHA256SUMS` in OUT.
set -eu

cd "$(dirname "$0")/.."

VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
OUT=${OUT:-dist/release}
# Every target a release has: Linux, macOS and Windows on x86-64 and ARM64.
ALL_TARGETS="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64"
TARGETS=${TARGETS:-$ALL_TARGETS}

case "$VERSION" in
*[!A-Za-z0-9._+-]*) echo "release.sh: VERSION $VERSION: use letters, digits and . _ + - only" >&2; exit 2 ;;
esac

rm -rf "$OUT"
mkdir -p "$OUT"
for target in $TARGETS; do
	os=${target%/*}
	arch=${target#*/}
	case " $ALL_TARGETS " in
	*" $target "*) ;;
	*) echo "release.sh: unknown target $target (one of: $ALL_TARGETS)" >&2; exit 2 ;;
	esac
	name=gatehouse_${VERSION}_${os}_${arch}
	[ "$os" = windows ] && name=$name.exe
	echo "building $OUT/$name"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
		-ldflags "-s -w -X github.com/gatehouse/gatehouse.Version=$VERSION" \
		-o "$OUT/$name" ./cmd/gatehouse
done

cd "$OUT"
if command -v sha256sum >/dev/null 2>&1; then
	sha256sum gatehouse_* >SHA256SUMS
else
	shasum -a 256 gatehouse_* >SHA256SUMS # macOS
fi
echo "wrote $OUT/SHA256SUMS"
