#!/usr/bin/env bash
# Topic swarms over real node cores in the simulator (sim/sg-coresim), the
# figures of docs/BENCHMARKS.md "Node core in the simulator (topic
# swarms)": 10,000 nodes with a topic 1% of them (100) joined: pub/sub
# (seeds 1-3), 50% of all nodes crashing (seeds 1-3, bound 30 s), forged
# signatures, a partitioned subscriber catching up; and the 1,000-node
# cells the tests run. One block of text per run (JSON with --json).
# Needs an optimised build: bash scripts/run.sh first, or set SG_BUILD to
# another build directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sim="${SG_BUILD:-$root/build/release}/sim/sg-coresim"
[ -x "$sim" ] || { echo "build first: bash scripts/run.sh" >&2; exit 1; }
fmt=()
[ "${1:-}" = --json ] && fmt=(--json)
big=(--nodes 10000 --sub-frac 0.01 --join-time 20)
status=0
run() { "$sim" "$@" "${fmt[@]}" || status=1; }
for seed in 1 2 3; do
	run --scenario pubsub "${big[@]}" --topics 2 --seed "$seed"
done
for seed in 1 2 3; do
	run --scenario crash "${big[@]}" --seed "$seed"
done
run --scenario forge "${big[@]}" --seed 1
run --scenario partition "${big[@]}" --seed 1
for seed in 1 2 3; do
	run --scenario pubsub --seed "$seed"
	run --scenario crash --seed "$seed"
done
exit $status
