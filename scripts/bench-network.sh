#!/usr/bin/env bash
# The 100-process network benchmark (issue 8): a coordinator and N nodes
# (default 100) as separate processes on loopback, M messages (default
# 200) published from every node in turn; prints delivery completeness,
# publish-to-delivery latency p50/p95/p99/max measured at the receivers,
# the sustained message rate, resident memory per node and idle CPU per
# node; then the same with P nodes publishing at once (default 16) for the
# sustained rate. Optimised build. Usage: bash scripts/bench-network.sh [N] [M] [P]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"${SG_JOBS:-2}" --target saorsa-gossip-cli saorsa-gossip-coordinator
ulimit -n 4096 2>/dev/null || true
echo "== latency: one message published at a time"
build/release/tools/saorsa-gossip testnet --nodes "${1:-100}" --messages "${2:-200}"
echo "== throughput: ${3:-16} nodes publishing at once (latency includes queueing)"
exec build/release/tools/saorsa-gossip testnet --nodes "${1:-100}" --messages "${2:-200}" \
	--parallel "${3:-16}"
