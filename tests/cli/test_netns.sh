#!/usr/bin/env bash
# Two network namespaces joined by a veth pair, nftables dropping 10% of the
# packets entering and leaving one of them: a coordinator and a node in
# namespace A, a node in namespace B; every message published on either
# side still reaches the other (QUIC retransmits, Plumtree repairs).
# Needs root (or CAP_NET_ADMIN) and ip/nft: outside CI a machine without
# them skips with a message (exit 77); with CI=true it fails instead.
set -u
cli=${SG_CLI:?SG_CLI must name the saorsa-gossip binary}
coord="$(dirname "$cli")/saorsa-gossip-coordinator"
tag="sg$$"
nsa="$tag-a"
nsb="$tag-b"
net="10.$(( ($$ % 200) + 20 )).$(( RANDOM % 250 ))"
work=$(mktemp -d)
pids=()

skip() {
	if [ "${CI:-}" = "true" ]; then
		echo "FAIL: network namespaces are required in CI: $1"
		exit 1
	fi
	echo "SKIP: $1"
	exit 77
}
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$nsa" 2>/dev/null
	ip netns del "$nsb" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

command -v ip >/dev/null || skip "the ip command (iproute2) is missing"
command -v nft >/dev/null || skip "the nft command (nftables) is missing"
ip netns add "$nsa" 2>/dev/null || skip "cannot create network namespaces (not root?)"
ip netns add "$nsb" || skip "cannot create a second namespace"
ip link add "$tag-va" type veth peer name "$tag-vb" || skip "cannot create a veth pair"
ip link set "$tag-va" netns "$nsa"
ip link set "$tag-vb" netns "$nsb"
ip -n "$nsa" addr add "$net.1/24" dev "$tag-va"
ip -n "$nsb" addr add "$net.2/24" dev "$tag-vb"
for ns in "$nsa" "$nsb"; do ip -n "$ns" link set lo up; done
ip -n "$nsa" link set "$tag-va" up
ip -n "$nsb" link set "$tag-vb" up
ip netns exec "$nsb" nft -f - <<EOF || skip "nftables refused the loss rules"
table inet sgloss {
	chain in { type filter hook input priority 0; numgen random mod 10 0 counter drop; }
	chain out { type filter hook output priority 0; numgen random mod 10 0 counter drop; }
}
EOF

export SAORSA_GOSSIP_HOME="$work/home"
unset SAORSA_GOSSIP_PASSPHRASE
fails=0
"$cli" identity create --alias a >/dev/null && "$cli" identity create --alias b >/dev/null ||
	{ echo "FAIL: identities"; exit 1; }

ip netns exec "$nsa" "$coord" --bind "$net.1:7000" --identity-path "$work/coord.key" \
	--data-dir "$work/coord" 2>"$work/coord.log" &
pids+=($!)
for _ in $(seq 100); do [ -f "$work/coord.key" ] && [ -S "$work/coord/control.sock" ] && break; sleep 0.1; done
cid=$("$cli" network status --data-dir "$work/coord" --json | sed -E 's/.*"peer_id":"([0-9a-f]{64})".*/\1/')
[ ${#cid} -eq 64 ] || { echo "FAIL: coordinator did not start"; cat "$work/coord.log"; exit 1; }
ip netns exec "$nsa" "$cli" network join --identity a --coordinator "$cid@$net.1:7000" \
	--bind "$net.1:0" --data-dir "$work/a" 2>"$work/a.log" &
pids+=($!)
ip netns exec "$nsb" "$cli" network join --identity b --coordinator "$cid@$net.1:7000" \
	--bind "$net.2:0" --data-dir "$work/b" 2>"$work/b.log" &
pids+=($!)
joined() { "$cli" network status --data-dir "$1" --json 2>/dev/null | grep -Eq '"active":[1-9]'; }
for _ in $(seq 300); do joined "$work/a" && joined "$work/b" && break; sleep 0.1; done
joined "$work/b" || { echo "FAIL: node B did not join across the lossy link"; tail "$work/b.log"; exit 1; }

"$cli" pubsub subscribe --topic lossy --data-dir "$work/b" >"$work/b.sub" 2>&1 &
pids+=($!)
"$cli" pubsub subscribe --topic lossy --data-dir "$work/a" >"$work/a.sub" 2>&1 &
pids+=($!)
sleep 3
for i in $(seq 1 30); do
	"$cli" pubsub publish --topic lossy --message "a-$i" --data-dir "$work/a" >/dev/null ||
		{ echo "FAIL: publish a-$i"; fails=$((fails + 1)); }
	"$cli" pubsub publish --topic lossy --message "b-$i" --data-dir "$work/b" >/dev/null ||
		{ echo "FAIL: publish b-$i"; fails=$((fails + 1)); }
done
got_all() { [ "$(grep -c "] $1-" "$2")" -ge 30 ]; }
for _ in $(seq 600); do got_all a "$work/b.sub" && got_all b "$work/a.sub" && break; sleep 0.1; done
ga=$(grep -c '] a-' "$work/b.sub")
gb=$(grep -c '] b-' "$work/a.sub")
drops=$(ip netns exec "$nsb" nft list ruleset | grep -Eo 'packets [0-9]+' | awk '{s += $2} END {print s + 0}')
echo "netns: B received $ga/30 of A's messages, A received $gb/30 of B's; nftables dropped $drops packets"
[ "$ga" -eq 30 ] || { echo "FAIL: B missed messages"; fails=$((fails + 1)); }
[ "$gb" -eq 30 ] || { echo "FAIL: A missed messages"; fails=$((fails + 1)); }
[ "$drops" -gt 0 ] || { echo "FAIL: the loss rules dropped nothing"; fails=$((fails + 1)); }
[ "$fails" -eq 0 ] || { tail -20 "$work/b.log"; }
exit $((fails > 0))
