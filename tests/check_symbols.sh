#!/bin/sh
# Fails if the shared library exports any symbol without the sg_ prefix.
set -eu
lib=$1
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRVW]/ {print $3}')
[ -n "$syms" ] || { echo "no exported symbols found in $lib"; exit 1; }
bad=$(printf '%s\n' $syms | grep -v '^sg_' || true)
if [ -n "$bad" ]; then
	echo "symbols without the sg_ prefix exported from $lib:"
	printf '  %s\n' $bad
	exit 1
fi
echo "$(printf '%s\n' $syms | wc -l) exported symbols, all sg_*"
