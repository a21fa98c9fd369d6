#!/usr/bin/env bash
# Installs every system package that saorsa-gossip's build, tests and
# benchmarks need, on Debian 12 (bookworm) or Debian 13 (trixie).
# Idempotent: packages already present are not reinstalled, and apt is only
# touched when something is missing. Runs as root, or through sudo.
set -euo pipefail

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null 2>&1; then
	SUDO=(sudo)
else
	die "not root and sudo is not installed: run this script as root"
fi

[ -r /etc/os-release ] || die "cannot read /etc/os-release: unsupported system"
# shellcheck disable=SC1091
. /etc/os-release
[ "${ID:-}" = debian ] || die "unsupported system '${ID:-unknown}': Debian 12 or 13 is required"
case "${VERSION_ID:-}" in
12) codename=bookworm ;;
13) codename=trixie ;;
*) die "unsupported Debian version '${VERSION_ID:-unknown}': 12 or 13 is required" ;;
esac

# Build, crypto and I/O libraries; test tools (cmocka, valgrind, clang's
# libFuzzer and sanitizer runtimes, node for the test-only oracles); network
# namespace tools for the multi-host tests.
pkgs=(
	build-essential cmake pkg-config git ca-certificates
	clang libclang-rt-dev
	libsodium-dev libuv1-dev libsqlite3-dev librust-blake3-dev
	libcmocka-dev valgrind
	nodejs
	iproute2 nftables procps
)
if [ "$codename" = bookworm ]; then
	# ngtcp2 >= 1.x exists for bookworm only in backports; take only it
	# from there (apt's default pin keeps everything else on bookworm).
	bp=/etc/apt/sources.list.d/saorsa-gossip-backports.list
	if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
		say "enabling bookworm-backports (for libngtcp2-dev >= 1.x only) in $bp"
		echo "deb http://deb.debian.org/debian bookworm-backports main" |
			"${SUDO[@]}" tee "$bp" >/dev/null
		need_update=1
	fi
	ngtcp2_pkg="libngtcp2-dev/bookworm-backports"
else
	ngtcp2_pkg="libngtcp2-dev"
fi

missing=()
for p in "${pkgs[@]}" libngtcp2-dev; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
# ngtcp2 must be 1.x, not bookworm's 0.12.
if dpkg-query -W -f='${Version}' libngtcp2-dev 2>/dev/null | grep -q '^0\.'; then
	missing+=(libngtcp2-dev)
fi

if [ "${#missing[@]}" -gt 0 ]; then
	install=()
	for p in "${missing[@]}"; do
		[ "$p" = libngtcp2-dev ] && p="$ngtcp2_pkg"
		install+=("$p")
	done
	say "installing: ${install[*]}"
	"${SUDO[@]}" apt-get update -q
	DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${install[@]}"
else
	say "all system packages present"
	[ -n "${need_update:-}" ] && "${SUDO[@]}" apt-get update -q
fi

# Checks on what we got.
v=$(pkg-config --modversion libngtcp2 2>/dev/null || echo 0)
case "$v" in
0.* | 0) die "libngtcp2 >= 1.0 is required, found '$v'" ;;
esac
ls -d /usr/share/cargo/registry/blake3-*/c >/dev/null 2>&1 ||
	die "BLAKE3 C sources not found under /usr/share/cargo/registry (librust-blake3-dev)"
say "ok: ngtcp2 $v, libsodium $(pkg-config --modversion libsodium), libuv $(pkg-config --modversion libuv)"
