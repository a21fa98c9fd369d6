#!/usr/bin/env bash
# The library as an application gets it: `cmake --install` into a temporary
# prefix, then a separate program (tests/cli/install_consumer.c) compiled
# and linked with nothing but `pkg-config --cflags --libs saorsa-gossip`,
# run against a coordinator started from the installed tree: two apps in it
# exchange messages through the coordinator. Also checks what was installed:
# the headers, the shared library's soname and its exported symbols.
set -u
build=${SG_BUILD_DIR:?SG_BUILD_DIR must name the build directory}
src=${SG_SOURCE_DIR:?SG_SOURCE_DIR must name the source directory}
cc=${SG_C_COMPILER:-cc}
work=$(mktemp -d)
coord=
cleanup() {
	[ -n "$coord" ] && kill "$coord" 2>/dev/null && wait "$coord" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in "$work"/*.log; do [ -f "$f" ] && sed "s|^|  $(basename "$f"): |" "$f" | tail -40; done
	exit 1
}

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
	fail "cmake --install"
pc=$(find "$prefix" -name saorsa-gossip.pc | head -1)
[ -n "$pc" ] || fail "no saorsa-gossip.pc under $prefix"
export PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir saorsa-gossip)
[ "$(cd "$libdir" && pwd -P)" = "$(cd "$(dirname "$pc")/.." && pwd -P)" ] ||
	fail "the .pc file's libdir $libdir is not where it was installed"
for h in app.h common.h env.h err.h identity.h node.h; do
	[ -f "$prefix/include/sg/$h" ] || fail "include/sg/$h not installed"
done
so=$(readelf -d "$libdir/libsaorsa-gossip.so" 2>/dev/null | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$so" = libsaorsa-gossip.so.0 ] || fail "soname is '$so', not libsaorsa-gossip.so.0"
[ -e "$libdir/$so" ] || fail "$so not installed"
bad=$(nm -D --defined-only "$libdir/libsaorsa-gossip.so" | awk '$2 ~ /[TDBRV]/ && $3 !~ /^sg_/ {print $3}')
[ -z "$bad" ] || fail "exported symbols without the sg_ prefix: $bad"
for s in sg_app_new sg_app_start sg_app_publish sg_app_poll sg_app_del sg_version; do
	nm -D --defined-only "$libdir/libsaorsa-gossip.so" | grep -qw "$s" || fail "$s not exported"
done

# The consumer: only what pkg-config says (plus the sanitizer runtime when
# the installed library was built with it).
extra=()
[ "${SG_SANITIZE:-OFF}" = ON ] && extra=(-fsanitize=address,undefined)
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror "${extra[@]}" -o "$work/consumer" \
	"$src/tests/cli/install_consumer.c" $(pkg-config --cflags --libs saorsa-gossip) \
	>"$work/cc.log" 2>&1 || fail "compiling against the installed library"
LD_LIBRARY_PATH=$libdir ldd "$work/consumer" | grep -q "$libdir/libsaorsa-gossip.so.0" ||
	fail "the consumer does not load the installed library"

# A coordinator from the installed tree, on a port of its choosing.
"$prefix/bin/saorsa-gossip-coordinator" --bind 127.0.0.1:0 \
	--identity-path "$work/c.key" --data-dir "$work/c" 2>"$work/coordinator.log" &
coord=$!
addr=
for _ in $(seq 1 100); do
	addr=$(sed -n 's/.*listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$work/coordinator.log" | head -1)
	[ -n "$addr" ] && break
	sleep 0.1
done
[ -n "$addr" ] || fail "the coordinator did not start"

LD_LIBRARY_PATH=$libdir timeout 150 "$work/consumer" "$addr" >"$work/consumer.log" 2>&1 ||
	fail "the consumer could not exchange messages through the coordinator"
grep -q "received: from a to b" "$work/consumer.log" &&
	grep -q "received: from b to a" "$work/consumer.log" || fail "consumer output"
echo "ok: installed to a temporary prefix, built with pkg-config, exchanged messages ($(head -1 "$work/consumer.log"))"
