#!/usr/bin/env bash
# The Plumtree simulation grid of docs/BENCHMARKS.md: single sender and a
# random sender per round at N = 20, 100 and 1,000, all nodes sending at
# N = 20 and 100, with 4 seeds and 30 rounds each; N = 10,000 with a single
# sender; the 5% loss and 20% crash cells. Prints one line per cell (JSON
# with --json). All nodes sending at N = 1,000 (30,000 messages through
# 1,000 nodes, 4 seeds) runs only with --all-1000: each seed takes about 8
# GB and tens of minutes of one core (docs/BENCHMARKS.md).
# Needs an optimised build: bash scripts/run.sh (or scripts/test.sh) first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
grid="$root/build/release/tests/sg-pubsub-grid"
[ -x "$grid" ] || { echo "build first: bash scripts/run.sh" >&2; exit 1; }
fmt=()
all1000=0
for a in "$@"; do
	case "$a" in
	--json) fmt=(--json) ;;
	--all-1000) all1000=1 ;;
	*) echo "usage: $0 [--json] [--all-1000]" >&2; exit 2 ;;
	esac
done
for n in 20 100 1000; do
	for mode in single random all; do
		[ "$n" = 1000 ] && [ "$mode" = all ] && continue
		for seed in 1 2 3 4; do
			"$grid" --nodes "$n" --mode "$mode" --seed "$seed" "${fmt[@]}"
		done
	done
done
"$grid" --nodes 10000 --seed 1 "${fmt[@]}"
for seed in 1 2 3 4; do
	"$grid" --nodes 1000 --loss 0.05 --seed "$seed" "${fmt[@]}"
	"$grid" --nodes 1000 --crash 0.2 --seed "$seed" "${fmt[@]}"
done
if [ "$all1000" = 1 ]; then
	for seed in 1 2 3 4; do
		"$grid" --nodes 1000 --mode all --seed "$seed" "${fmt[@]}"
	done
fi
