#!/usr/bin/env bash
# The README's "run the main job" command: sets up, builds an optimised
# tree, and runs a working local network: `saorsa-gossip testnet` starts a
# coordinator and N nodes (SG_NODES, default 10) as separate processes on
# 127.0.0.1, publishes messages from every node, shows who received what
# and how fast, the nodes' memory and idle CPU, and shuts everything down.
# Extra arguments go to testnet (e.g. --churn 3, --messages 50).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"${SG_JOBS:-2}"
echo
echo "\$ saorsa-gossip testnet --nodes ${SG_NODES:-10} $*"
exec "$root/build/release/tools/saorsa-gossip" testnet --nodes "${SG_NODES:-10}" "$@"
