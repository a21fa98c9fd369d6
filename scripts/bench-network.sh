#!/usr/bin/env bash
# The 100-process network benchmark (issue 8): a coordinator and N nodes
# (default 100) as separate processes on loopback, M messages (default
# 200) published from every node in turn; prints delivery completeness,
# publish-to-delivery latency p50/p95/p99/max measured at the receivers,
# the sustained message rate, resident memory per node and idle CPU per
# node. Optimised build. Usage: bash scripts/bench-network.sh [N] [M]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"${SG_JOBS:-2}" --target saorsa-gossip-cli saorsa-gossip-coordinator
ulimit -n 4096 2>/dev/null || true
exec build/release/tools/saorsa-gossip testnet --nodes "${1:-100}" --messages "${2:-200}"
