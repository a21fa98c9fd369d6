#!/usr/bin/env bash
# The relay between real processes: three network namespaces, R joined to
# A by one veth pair and to B by another, no IP forwarding in R, so A and
# B can each reach R but not each other. R runs saorsa-gossip-coordinator
# (roles coordinator, reflector, relay); A and B join through it, subscribe
# to a topic that R is not in, and publish. Their direct dials fail, they
# dial each other through R, and every message arrives; R's status shows
# the packets it relayed. Needs root (or CAP_NET_ADMIN) and ip: outside CI
# a machine without them skips (exit 77); with CI=true it fails instead.
set -u
cli=${SG_CLI:?SG_CLI must name the saorsa-gossip binary}
coord="$(dirname "$cli")/saorsa-gossip-coordinator"
tag="sr$$"
nsr="$tag-r"
nsa="$tag-a"
nsb="$tag-b"
n1="10.$(( ($$ % 200) + 20 )).$(( RANDOM % 125 ))"
n2="10.$(( ($$ % 200) + 20 )).$(( (RANDOM % 125) + 125 ))"
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
	for ns in "$nsr" "$nsa" "$nsb"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

# The roles the coordinator knows, whatever the machine allows.
"$coord" --roles coordinator,relay,teleporter >/dev/null 2>"$work/roles.err"
rc=$?
if [ "$rc" -ne 2 ] || ! grep -q "unknown role 'teleporter' (known: coordinator, reflector, relay, rendezvous)" "$work/roles.err"; then
	echo "FAIL: an unknown role is not a usage error naming the four roles (exit $rc)"
	cat "$work/roles.err"
	exit 1
fi
"$coord" --help | grep -q 'Default: coordinator,reflector,relay' ||
	{ echo "FAIL: --help does not give the default roles"; exit 1; }

command -v ip >/dev/null || skip "the ip command (iproute2) is missing"
ip netns add "$nsr" 2>/dev/null || skip "cannot create network namespaces (not root?)"
ip netns add "$nsa" || skip "cannot create a second namespace"
ip netns add "$nsb" || skip "cannot create a third namespace"
ip link add "$tag-ra" type veth peer name "$tag-ar" || skip "cannot create a veth pair"
ip link add "$tag-rb" type veth peer name "$tag-br" || skip "cannot create a veth pair"
ip link set "$tag-ra" netns "$nsr"
ip link set "$tag-rb" netns "$nsr"
ip link set "$tag-ar" netns "$nsa"
ip link set "$tag-br" netns "$nsb"
ip -n "$nsr" addr add "$n1.1/24" dev "$tag-ra"
ip -n "$nsr" addr add "$n2.1/24" dev "$tag-rb"
ip -n "$nsa" addr add "$n1.2/24" dev "$tag-ar"
ip -n "$nsb" addr add "$n2.2/24" dev "$tag-br"
for ns in "$nsr" "$nsa" "$nsb"; do ip -n "$ns" link set lo up; done
ip -n "$nsr" link set "$tag-ra" up
ip -n "$nsr" link set "$tag-rb" up
ip -n "$nsa" link set "$tag-ar" up
ip -n "$nsb" link set "$tag-br" up
# A and B know a way to each other's subnet (through R), but R does not
# forward: the direct path is really there to try, and really broken.
ip -n "$nsa" route add "$n2.0/24" via "$n1.1"
ip -n "$nsb" route add "$n1.0/24" via "$n2.1"
ip netns exec "$nsr" sysctl -qw net.ipv4.ip_forward=0
if ip netns exec "$nsa" ping -c 1 -W 1 "$n2.2" >/dev/null 2>&1; then
	echo "FAIL: A reaches B directly; the test would prove nothing"
	exit 1
fi

export SAORSA_GOSSIP_HOME="$work/home"
unset SAORSA_GOSSIP_PASSPHRASE
fails=0
"$cli" identity create --alias a >/dev/null && "$cli" identity create --alias b >/dev/null ||
	{ echo "FAIL: identities"; exit 1; }

ip netns exec "$nsr" "$coord" --bind "0.0.0.0:7000" --roles coordinator,reflector,relay \
	--identity-path "$work/coord.key" --data-dir "$work/coord" 2>"$work/coord.log" &
pids+=($!)
for _ in $(seq 100); do [ -f "$work/coord.key" ] && [ -S "$work/coord/control.sock" ] && break; sleep 0.1; done
cid=$("$cli" network status --data-dir "$work/coord" --json | sed -E 's/.*"peer_id":"([0-9a-f]{64})".*/\1/')
[ ${#cid} -eq 64 ] || { echo "FAIL: coordinator did not start"; cat "$work/coord.log"; exit 1; }
ip netns exec "$nsa" "$cli" network join --identity a --coordinator "$cid@$n1.1:7000" \
	--bind "$n1.2:0" --data-dir "$work/a" 2>"$work/a.log" &
pids+=($!)
ip netns exec "$nsb" "$cli" network join --identity b --coordinator "$cid@$n2.1:7000" \
	--bind "$n2.2:0" --data-dir "$work/b" 2>"$work/b.log" &
pids+=($!)
joined() { "$cli" network status --data-dir "$1" --json 2>/dev/null | grep -Eq '"active":[1-9]'; }
for _ in $(seq 300); do joined "$work/a" && joined "$work/b" && break; sleep 0.1; done
joined "$work/b" || { echo "FAIL: node B did not join"; tail "$work/b.log"; exit 1; }

"$cli" pubsub subscribe --topic behind-nat --data-dir "$work/b" >"$work/b.sub" 2>&1 &
pids+=($!)
"$cli" pubsub subscribe --topic behind-nat --data-dir "$work/a" >"$work/a.sub" 2>&1 &
pids+=($!)
# The direct dials take their handshake timeout (10 s) to fail.
for _ in $(seq 300); do
	grep -q 'through relay' "$work/a.log" "$work/b.log" 2>/dev/null && break
	sleep 0.1
done
sleep 2
for i in $(seq 1 20); do
	"$cli" pubsub publish --topic behind-nat --message "a-$i" --data-dir "$work/a" >/dev/null ||
		{ echo "FAIL: publish a-$i"; fails=$((fails + 1)); }
	"$cli" pubsub publish --topic behind-nat --message "b-$i" --data-dir "$work/b" >/dev/null ||
		{ echo "FAIL: publish b-$i"; fails=$((fails + 1)); }
done
got_all() { [ "$(grep -c "] $1-" "$2")" -ge 20 ]; }
for _ in $(seq 300); do got_all a "$work/b.sub" && got_all b "$work/a.sub" && break; sleep 0.1; done
ga=$(grep -c '] a-' "$work/b.sub")
gb=$(grep -c '] b-' "$work/a.sub")
echo "relay: B received $ga/20 of A's messages, A received $gb/20 of B's"
[ "$ga" -eq 20 ] || { echo "FAIL: B missed messages"; fails=$((fails + 1)); }
[ "$gb" -eq 20 ] || { echo "FAIL: A missed messages"; fails=$((fails + 1)); }
grep -q 'through relay' "$work/a.log" "$work/b.log" ||
	{ echo "FAIL: no node dialled through the relay"; fails=$((fails + 1)); }
grep -q 'connected through relay' "$work/a.log" "$work/b.log" ||
	{ echo "FAIL: no relayed connection"; fails=$((fails + 1)); }
# R never joined the topic: it could only have carried the messages as
# the packets of A and B's own connection.
if "$cli" pubsub list --data-dir "$work/coord" 2>/dev/null | grep -q behind-nat; then
	echo "FAIL: the relay is in the topic"; fails=$((fails + 1))
fi
[ "$fails" -eq 0 ] || { tail -20 "$work/a.log"; tail -20 "$work/b.log"; tail -20 "$work/coord.log"; }
exit $((fails > 0))
