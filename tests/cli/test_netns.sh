#!/usr/bin/env bash
# Two network namespaces joined by a veth pair, nftables dropping 10% of the
# packets entering and leaving one of them: a coordinator and a node in
# namespace A, a node in namespace B; every message published on either
# side still reaches the other (QUIC retransmits, Plumtree repairs).
# Needs root (or CAP_NET_ADMIN) and ip/nft: outside CI a machine without
# them skips with a message (exit 77); with CI=true it fails instead.
. "$(dirname "$0")/lib.sh"
tag="sg$$"
nsa="$tag-a"
nsb="$tag-b"
net="10.$(( ($$ % 200) + 20 )).$(( RANDOM % 250 ))"

command -v ip >/dev/null || skip "the ip command (iproute2) is missing"
command -v nft >/dev/null || skip "the nft command (nftables) is missing"
new_netns "$nsa" "$nsb"
ip link add "$tag-va" type veth peer name "$tag-vb" || skip "cannot create a veth pair"
ip link set "$tag-va" netns "$nsa"
ip link set "$tag-vb" netns "$nsb"
ip -n "$nsa" addr add "$net.1/24" dev "$tag-va"
ip -n "$nsb" addr add "$net.2/24" dev "$tag-vb"
ip -n "$nsa" link set "$tag-va" up
ip -n "$nsb" link set "$tag-vb" up
ip netns exec "$nsb" nft -f - <<NFT || skip "nftables refused the loss rules"
table inet sgloss {
	chain in { type filter hook input priority 0; numgen random mod 10 0 counter drop; }
	chain out { type filter hook output priority 0; numgen random mod 10 0 counter drop; }
}
NFT

check "identity a" 0 "$cli" identity create --alias a
check "identity b" 0 "$cli" identity create --alias b
start_coordinator "$nsa" --bind "$net.1:7000"
start_node_in "$nsa" a "$net.1:7000" "$net.1:0"
start_node_in "$nsb" b "$net.1:7000" "$net.2:0"
wait_for "node A joined" 30 active "$work/a"
wait_for "node B joined across the lossy link" 30 active "$work/b" ||
	{ tail "$work/b.log"; exit 1; }

subscribe_both lossy
sleep 3 # the subscriptions join the topic
publish_both lossy 30
drops=$(ip netns exec "$nsb" nft list ruleset | grep -Eo 'packets [0-9]+' | awk '{s += $2} END {print s + 0}')
echo "netns: B received $ga/30 of A's messages, A received $gb/30 of B's; nftables dropped $drops packets"
[ "$ga" -eq 30 ] || fail "B missed messages"
[ "$gb" -eq 30 ] || fail "A missed messages"
[ "$drops" -gt 0 ] || fail "the loss rules dropped nothing"
[ "$fails" -eq 0 ] || tail -20 "$work/b.log"
finish test_netns
