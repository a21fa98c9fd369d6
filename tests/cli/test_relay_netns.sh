#!/usr/bin/env bash
# The relay between real processes: three network namespaces, R joined to
# A by one veth pair and to B by another, no IP forwarding in R, so A and
# B can each reach R but not each other. R runs saorsa-gossip-coordinator
# (roles coordinator, reflector, relay); A and B join through it, subscribe
# to a topic that R is not in, and publish. Their direct dials fail, they
# dial each other through R, and every message arrives; R's status shows
# the packets it relayed. Needs root (or CAP_NET_ADMIN) and ip: outside CI
# a machine without them skips (exit 77); with CI=true it fails instead.
. "$(dirname "$0")/lib.sh"
tag="sr$$"
nsr="$tag-r"
nsa="$tag-a"
nsb="$tag-b"
n1="10.$(( ($$ % 200) + 20 )).$(( RANDOM % 125 ))"
n2="10.$(( ($$ % 200) + 20 )).$(( (RANDOM % 125) + 125 ))"

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
new_netns "$nsr" "$nsa" "$nsb"
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

check "identity a" 0 "$cli" identity create --alias a
check "identity b" 0 "$cli" identity create --alias b
start_coordinator "$nsr" --bind "0.0.0.0:7000" --roles coordinator,reflector,relay
start_node_in "$nsa" a "$n1.1:7000" "$n1.2:0"
start_node_in "$nsb" b "$n2.1:7000" "$n2.2:0"
wait_for "node A joined" 30 active "$work/a"
wait_for "node B joined" 30 active "$work/b" || { tail "$work/b.log"; exit 1; }

subscribe_both behind-nat
# The direct dials take their handshake timeout (10 s) to fail.
wait_for "a dial through the relay" 30 grep -q 'through relay' "$work/a.log" "$work/b.log"
sleep 2
publish_both behind-nat 20
echo "relay: B received $ga/20 of A's messages, A received $gb/20 of B's"
[ "$ga" -eq 20 ] || fail "B missed messages"
[ "$gb" -eq 20 ] || fail "A missed messages"
grep -q 'connected through relay' "$work/a.log" "$work/b.log" ||
	fail "no relayed connection"
# R never joined the topic: it could only have carried the messages as
# the packets of A and B's own connection.
if "$cli" pubsub list --data-dir "$work/coord" 2>/dev/null | grep -q behind-nat; then
	fail "the relay is in the topic"
fi
[ "$fails" -eq 0 ] || { tail -20 "$work/a.log"; tail -20 "$work/b.log"; tail -20 "$work/coord.log"; }
finish test_relay_netns
