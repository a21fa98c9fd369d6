# Sourced by the shell tests in this directory (not a test itself: the
# glob takes only test_*.sh). It gives each test:
#   - $cli and $coord, the two programs (SG_CLI names the first);
#   - $work, a fresh directory that is removed at exit, after the processes
#     in pids are killed and the network namespaces in namespaces deleted;
#   - SAORSA_GOSSIP_HOME inside $work and no passphrase from outside;
#   - check / expect_out / expect_err / wait_for counting into $n and $fails,
#     finish to report them; skip for missing privileges; and the network
#     helpers shared by the namespace tests.
set -u
cli=${SG_CLI:?SG_CLI must name the saorsa-gossip binary}
coord="$(dirname "$cli")/saorsa-gossip-coordinator"
work=$(mktemp -d)
pids=()
namespaces=()
fails=0
n=0

cleanup() {
	local p ns
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
export SAORSA_GOSSIP_HOME="$work/home"
unset SAORSA_GOSSIP_PASSPHRASE

fail() { # message: one failed check
	echo "FAIL: $1"
	fails=$((fails + 1))
}

check() { # description, expected exit code, command...
	local what=$1 want=$2 got
	shift 2
	n=$((n + 1))
	"$@" >"$work/out" 2>"$work/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$what: exit $got, wanted $want"
		sed 's/^/  out: /' "$work/out" | head -20
		sed 's/^/  err: /' "$work/err" | head -20
	fi
}
expect_out() { # description, pattern (grep -E) in the last check's stdout
	n=$((n + 1))
	grep -Eq -- "$2" "$work/out" || { fail "$1: stdout lacks /$2/"; head -20 "$work/out"; }
}
expect_err() { # description, pattern (grep -E) in the last check's stderr
	n=$((n + 1))
	grep -Eq -- "$2" "$work/err" || { fail "$1: stderr lacks /$2/"; head -20 "$work/err"; }
}
wait_for() { # description, seconds, command...: until the command succeeds
	local what=$1 secs=$2 end
	shift 2
	n=$((n + 1))
	end=$((SECONDS + secs)) # a deadline: some commands take seconds each
	while ((SECONDS < end)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "$what (waited ${secs}s)"
	return 1
}
finish() { # test name: prints the tally, exits 0 only if nothing failed
	echo "$1: $n checks, $fails failed"
	exit $((fails > 0))
}

# A test that needs root (namespaces, nftables) skips outside CI (exit 77,
# ctest's SKIP_RETURN_CODE) and fails in CI, where the machine has them.
skip() {
	if [ "${CI:-}" = "true" ]; then
		echo "FAIL: network namespaces are required in CI: $1"
		exit 1
	fi
	echo "SKIP: $1"
	exit 77
}
new_netns() { # names...: creates the namespaces, deleted at exit
	local ns
	for ns in "$@"; do
		ip netns add "$ns" 2>/dev/null || skip "cannot create network namespace $ns (not root?)"
		namespaces+=("$ns")
		ip -n "$ns" link set lo up
	done
}

# ---- nodes ------------------------------------------------------------------
peer_id() { # data dir: the PeerId of the node running there
	"$cli" network status --data-dir "$1" --json 2>/dev/null |
		sed -E 's/.*"peer_id":"([0-9a-f]{64})".*/\1/'
}
active() { # data dir: the node there has an active neighbour
	"$cli" network status --data-dir "$1" --json 2>/dev/null | grep -Eq '"active":[1-9]'
}
start_coordinator() { # netns ("" for none), coordinator args...: sets cid
	local ns=$1
	shift
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "$coord" --identity-path "$work/coord.key" \
			--data-dir "$work/coord" "$@" 2>"$work/coord.log" &
	else
		"$coord" --identity-path "$work/coord.key" --data-dir "$work/coord" \
			"$@" 2>"$work/coord.log" &
	fi
	pids+=($!)
	wait_for "coordinator control socket" 20 test -S "$work/coord/control.sock"
	cid=$(peer_id "$work/coord")
	[ ${#cid} -eq 64 ] || { fail "the coordinator did not start"; cat "$work/coord.log"; exit 1; }
}
start_node_in() { # netns, identity, coordinator address, bind: data dir $work/<identity>
	ip netns exec "$1" "$cli" network join --identity "$2" --coordinator "$cid@$3" \
		--bind "$4" --data-dir "$work/$2" 2>"$work/$2.log" &
	pids+=($!)
}
# Nodes a and b (data dirs $work/a and $work/b) subscribe to a topic, then
# each publish count messages: publish_both sets ga and gb to how many of
# the other's messages b and a received (waiting up to 60 s for all).
subscribe_both() { # topic
	"$cli" pubsub subscribe --topic "$1" --data-dir "$work/b" >"$work/b.sub" 2>&1 &
	pids+=($!)
	"$cli" pubsub subscribe --topic "$1" --data-dir "$work/a" >"$work/a.sub" 2>&1 &
	pids+=($!)
}
publish_both() { # topic, count
	local topic=$1 count=$2 i end
	for i in $(seq 1 "$count"); do
		"$cli" pubsub publish --topic "$topic" --message "a-$i" --data-dir "$work/a" >/dev/null ||
			fail "publish a-$i"
		"$cli" pubsub publish --topic "$topic" --message "b-$i" --data-dir "$work/b" >/dev/null ||
			fail "publish b-$i"
	done
	end=$((SECONDS + 60))
	while ((SECONDS < end)); do
		ga=$(grep -c '] a-' "$work/b.sub")
		gb=$(grep -c '] b-' "$work/a.sub")
		[ "$ga" -ge "$count" ] && [ "$gb" -ge "$count" ] && break
		sleep 0.1
	done
}
