#!/usr/bin/env bash
# The README's test command (and what CI runs): installs what is missing,
# builds, and runs every test:
#   1. ASan + UBSan debug build with -Werror: unit, known-answer (official
#      vectors in ../shared/vectors), differential (@noble/* oracles) tests,
#      and every fuzz target replayed over its committed corpus;
#   2. optimised build with -Werror: constant-time checks under valgrind,
#      simulator scenarios;
#   3. libFuzzer (clang) build: every fuzz target runs from its committed
#      corpus for SG_FUZZ_SECONDS (default 30 s; the CBOR decoder 60 s).
# Ends with the slowest tests and one summary line "tests: N passed, M failed".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${SG_JOBS:-2}
fuzz_secs=${SG_FUZZ_SECONDS:-30}
logs="$root/build/test-logs"

bash scripts/setup.sh
node_bin=$(bash scripts/oracle-setup.sh)
export PATH="$(dirname "$node_bin"):$PATH"
[ -d "$root/../shared/vectors" ] ||
	{ echo "test: ../shared/vectors not found beside the checkout" >&2; exit 1; }

mkdir -p "$logs"
rm -f "$logs"/*.log
passed=0
failed=0
start=$(date +%s)

# Runs ctest in build dir $1 with extra args, logs to $logs/$2.log, and adds
# its counts to the totals. Never stops the script: every stage runs.
run_ctest() {
	local dir=$1 name=$2
	shift 2
	local rc=0
	ctest --test-dir "$dir" -j"$jobs" --output-on-failure "$@" 2>&1 |
		tee "$logs/$name.log" || rc=$?
	local line total bad
	line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$logs/$name.log" | tail -n1 || true)
	if [ -z "$line" ]; then
		echo "test: ctest ($name) printed no summary" >&2
		failed=$((failed + 1))
		return
	fi
	bad=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
	total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
	passed=$((passed + total - bad))
	failed=$((failed + bad))
	[ "$rc" -eq 0 ] || [ "$bad" -gt 0 ] || failed=$((failed + 1))
}

echo "== 1/3 sanitizer build (ASan + UBSan, -Werror)"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DSG_SANITIZE=ON \
	-DSG_WERROR=ON -DSG_BUILD_BENCH=OFF >/dev/null
cmake --build build/asan -j"$jobs"
run_ctest build/asan asan

echo "== 2/3 optimised build (-O3, -Werror): constant-time and simulator tests"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DSG_WERROR=ON >/dev/null
cmake --build build/release -j"$jobs"
if ctest --test-dir build/release -N -L 'ct|sim' | grep -q 'Total Tests: [1-9]'; then
	run_ctest build/release release -L 'ct|sim'
fi

echo "== 3/3 libFuzzer build: every target from its committed corpus"
CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DSG_FUZZ=ON >/dev/null
cmake --build build/fuzz -j"$jobs"
fuzz_dir="$root/build/fuzz/tests/fuzz"
targets=$(cd "$fuzz_dir" && ls fuzz_* 2>/dev/null | grep -v '\.' || true)
fuzz_one() { # $1 target; prints "PASS name" or "FAIL name"
	local t=$1 secs=$fuzz_secs work
	[ "$t" = fuzz_cbor ] && [ "$secs" -lt 60 ] && secs=60
	work=$(mktemp -d)
	if (cd "$work" && "$fuzz_dir/$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 "$work" \
		"$root/tests/fuzz/corpus/$t") >"$logs/fuzz-$t.log" 2>&1; then
		echo "PASS $t ($secs s, $(grep -E 'stat::number_of_executed_units' "$logs/fuzz-$t.log" | awk '{print $2}') runs)"
	else
		echo "FAIL $t (see $logs/fuzz-$t.log)"
		tail -n 30 "$logs/fuzz-$t.log"
	fi
	rm -rf "$work"
}
export -f fuzz_one
export fuzz_dir fuzz_secs logs root
if [ -n "$targets" ]; then
	printf '%s\n' $targets | xargs -P "$jobs" -I{} bash -c 'fuzz_one {}' | tee "$logs/fuzz.log"
	passed=$((passed + $(grep -c '^PASS' "$logs/fuzz.log" || true)))
	failed=$((failed + $(grep -c '^FAIL' "$logs/fuzz.log" || true)))
fi

echo "== slowest tests"
cat "$logs"/asan.log "$logs"/release.log 2>/dev/null |
	grep -E 'Test +#[0-9]+: ' | sed -E 's/.*Test +#[0-9]+: ([^ ]+) .* ([0-9.]+) sec$/\2 \1/' |
	sort -rn | head -n 10 | awk '{printf "  %8.2f s  %s\n", $1, $2}' || true
echo "== done in $(( $(date +%s) - start )) s"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
