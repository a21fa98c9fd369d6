#!/usr/bin/env bash
# The network, pubsub and testnet commands and the coordinator, as real
# processes on loopback:
#   - usage errors and "no node running" answers;
#   - a coordinator and two nodes started by hand: status, peers, a
#     subscription printing what another node publishes (text and JSON),
#     list, unsubscribe, leave (the node exits 0), logs in JSON;
#   - testnet: 20 nodes and a coordinator, every message published by any
#     node reaches every other node;
#   - testnet --churn 5: 5 nodes SIGKILLed, the rest keep delivering; the
#     coordinator is stopped, the 5 restart from identity and peer cache,
#     rejoin, and every message reaches every node again.
. "$(dirname "$0")/lib.sh"

# ---- usage and errors -------------------------------------------------------
check "help lists network" 0 "$cli" --help
expect_out "help lists network" "network"
expect_out "help lists pubsub" "pubsub"
expect_out "help lists testnet" "testnet"
check "network help" 0 "$cli" network --help
check "network without subcommand" 2 "$cli" network
check "network unknown subcommand" 2 "$cli" network frob
check "join without identity" 2 "$cli" network join
expect_err "join without identity says so" "needs --identity"
check "join with a missing identity" 1 "$cli" network join --identity nobody
expect_err "missing identity named" "no identity 'nobody'"
check "status without a node" 1 "$cli" network status --data-dir "$work/none"
expect_err "no node running" "no node is running on"
check "pubsub without topic" 2 "$cli" pubsub publish --message x
check "pubsub unknown" 2 "$cli" pubsub frob --topic t
check "pubsub list without a node" 1 "$cli" pubsub list --data-dir "$work/none"
check "bad log format" 2 "$cli" network join --identity a --log-format xml
check "coordinator help" 0 "$coord" --help
check "coordinator unknown role" 2 "$coord" --roles coordinator,teleporter
expect_err "unknown role named" "unknown role 'teleporter'"
check "coordinator bad bind" 2 "$coord" --bind nowhere
check "coordinator bad interval" 2 "$coord" --publish-interval 0
check "testnet too few nodes" 2 "$cli" testnet --nodes 1

# ---- a coordinator and two nodes by hand -----------------------------------
port=$(( (RANDOM % 20000) + 30000 ))
"$coord" --bind "127.0.0.1:$port" --identity-path "$work/coord.key" \
	--data-dir "$work/coord" --log-format json 2>"$work/coord.log" &
pids+=($!)
coord_pid=$!
wait_for "coordinator control socket" 20 test -S "$work/coord/control.sock"
check "coordinator status" 0 "$cli" network status --data-dir "$work/coord" --json
expect_out "coordinator status json" '"peer_id":"[0-9a-f]{64}"'
check "coordinator created its identity" 0 test -f "$work/coord.key"
grep -q '"level":"info"' "$work/coord.log" || fail "coordinator log is not JSON"
check "create alice" 0 "$cli" identity create --alias alice
check "create bob" 0 "$cli" identity create --alias bob
"$cli" network join --identity alice --coordinator "127.0.0.1:$port" \
	--bind 127.0.0.1:0 --data-dir "$work/alice" 2>"$work/alice.log" &
pids+=($!)
alice_pid=$!
"$cli" network join --identity bob --coordinator "127.0.0.1:$port" \
	--bind 127.0.0.1:0 --data-dir "$work/bob" -v 2>"$work/bob.log" &
pids+=($!)
wait_for "alice joined" 30 active "$work/alice"
wait_for "bob joined" 30 active "$work/bob"
check "second node on the same data dir refused" 1 "$cli" network join \
	--identity alice --data-dir "$work/alice" --bind 127.0.0.1:0
expect_err "second node names the directory" "another node is running"
grep -q "not pinned" "$work/alice.log" || fail "unpinned contact not logged"
check "status text" 0 "$cli" network status --data-dir "$work/alice"
expect_out "status shows neighbours" "Neighbours: +[1-9]"
check "peers" 0 "$cli" network peers --data-dir "$work/alice"
expect_out "peers lists an active neighbour" "active +127\\.0\\.0\\.1:"
check "peers json" 0 "$cli" network peers --data-dir "$work/alice" --json
expect_out "peers json" '"view":"active"'
bob_id=$(peer_id "$work/bob")
check "find bob from alice" 0 "$cli" network find --peer "$bob_id" --data-dir "$work/alice"
expect_out "find prints bob's address" "$bob_id is at 127\\.0\\.0\\.1:[0-9]+"
check "find a coordinator" 0 "$cli" network find --any-coordinator --data-dir "$work/bob" --json
expect_out "find coordinator json" '"address":"127\.0\.0\.1:'"$port"'"'
check "find nobody" 1 "$cli" network find --peer "$(printf '%064d' 0)" --ttl 2 --data-dir "$work/alice"
expect_err "find nobody says so" "no answer within the TTL"
check "find without target" 2 "$cli" network find --data-dir "$work/alice"
check "find bad ttl" 2 "$cli" network find --any-coordinator --ttl 9 --data-dir "$work/alice"
check "ttl outside find" 2 "$cli" network status --ttl 2 --data-dir "$work/alice"

"$cli" pubsub subscribe --topic chat --data-dir "$work/bob" >"$work/sub.out" 2>"$work/sub.err" &
pids+=($!)
sub_pid=$!
"$cli" pubsub subscribe --topic chat --data-dir "$work/alice" --json >"$work/subj.out" 2>&1 &
pids+=($!)
subj_pid=$!
wait_for "bob subscribed" 10 grep -q "Subscribed to 'chat'" "$work/sub.out"
sleep 2
check "publish" 0 "$cli" pubsub publish --topic chat --message "hello from alice" --data-dir "$work/alice"
expect_out "publish prints the id" "Published 16 bytes to 'chat' \\(id [0-9a-f]{64}\\)"
echo "from bob's stdin" | "$cli" pubsub publish --topic chat --data-dir "$work/bob" --json >"$work/out" 2>"$work/err" ||
	fail "publish from stdin"
expect_out "publish json" '"bytes":17'
wait_for "bob received alice's message" 15 grep -q "hello from alice" "$work/sub.out"
wait_for "alice received bob's message (json)" 15 grep -q '"payload":"from bob' "$work/subj.out"
check "list" 0 "$cli" pubsub list --data-dir "$work/alice"
expect_out "list shows chat" "chat"
check "list json" 0 "$cli" pubsub list --data-dir "$work/bob" --json
expect_out "list json" '"topic":"chat"'
head -c 2000000 /dev/zero >"$work/big"
check "publish too large" 1 "$cli" pubsub publish --topic chat --data-dir "$work/alice" <"$work/big"
expect_err "too large named" "too large"
check "unsubscribe" 0 "$cli" pubsub unsubscribe --topic chat --data-dir "$work/bob"
check "unsubscribe twice" 1 "$cli" pubsub unsubscribe --topic chat --data-dir "$work/bob"
# rendezvous: alice provides "printer", bob finds her, then she withdraws
check "rendezvous register" 0 "$cli" rendezvous register --capability printer --data-dir "$work/alice"
expect_out "register names the shard" "Registered 'printer' \(rendezvous shard [0-9a-f]{4}\)"
alice_id=$(peer_id "$work/alice")
found_alice() { "$cli" rendezvous find --capability printer --wait 2 --data-dir "$work/bob" | grep -q "$alice_id"; }
wait_for "bob finds alice's printer" 40 found_alice
check "rendezvous find json" 0 "$cli" rendezvous find --capability printer --wait 2 --data-dir "$work/bob" --json
expect_out "find json lists alice" "\"peer_id\":\"$alice_id\",\"addresses\":\[\"127\\.0\\.0\\.1:"
check "rendezvous find nothing" 1 "$cli" rendezvous find --capability scanner --wait 1 --data-dir "$work/bob"
expect_out "find nothing says so" "No provider of 'scanner' found"
check "rendezvous unregister" 0 "$cli" rendezvous unregister --capability printer --data-dir "$work/alice"
check "rendezvous unregister twice" 1 "$cli" rendezvous unregister --capability printer --data-dir "$work/alice"
gone_alice() { ! found_alice; }
wait_for "alice's withdrawal reaches bob" 30 gone_alice
check "rendezvous without capability" 2 "$cli" rendezvous find --data-dir "$work/bob"
check "rendezvous bad wait" 2 "$cli" rendezvous find --capability x --wait 99 --data-dir "$work/bob"
check "rendezvous wait on register" 2 "$cli" rendezvous register --capability x --wait 1 --data-dir "$work/bob"
kill -INT $sub_pid $subj_pid 2>/dev/null
wait $sub_pid $subj_pid 2>/dev/null
check "leave" 0 "$cli" network leave --data-dir "$work/alice"
wait $alice_pid
rc=$?
[ $rc -eq 0 ] || fail "alice exited $rc after leave"
grep -q "leave requested" "$work/alice.log" || fail "leave not logged"
check "status after leave" 1 "$cli" network status --data-dir "$work/alice"
grep -q "DEBUG" "$work/bob.log" || fail "-v gave no DEBUG lines"
kill -TERM "$coord_pid"
wait "$coord_pid"
rc=$?
[ $rc -eq 0 ] || fail "coordinator exited $rc on SIGTERM"
check "bob leaves" 0 "$cli" network leave --data-dir "$work/bob"
wait

# ---- testnet ----------------------------------------------------------------
check "testnet 20 nodes" 0 "$cli" testnet --nodes 20 --messages 20 --json
expect_out "testnet complete" '"complete":true'
expect_out "testnet 380 deliveries" '"expected":380,"received":380'
cat "$work/out"
check "testnet churn" 0 "$cli" testnet --nodes 20 --messages 10 --churn 5 --json
expect_out "churn complete" '"complete":true'
expect_out "survivors round" '"round":"survivors","messages":10,"expected":140,"received":140'
expect_out "restarted round" '"round":"restarted","messages":10,"expected":190,"received":190'
cat "$work/out"

finish "network cli"
