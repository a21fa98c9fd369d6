#!/usr/bin/env bash
# The identity commands as a user runs them: output, JSON, exit codes
# (0 ok, 1 failure, 2 usage), sealing, signatures, and damaged files.
. "$(dirname "$0")/lib.sh"

check "help" 0 "$cli" --help
expect_out "help lists identity" "identity"
check "no command" 2 "$cli"
check "unknown command" 2 "$cli" frobnicate
expect_err "unknown command named" "unknown command 'frobnicate'"
check "bad global flag" 2 "$cli" --bogus identity list
check "identity help" 0 "$cli" identity --help
check "bad subcommand flag" 2 "$cli" identity list --bogus
check "unknown subcommand" 2 "$cli" identity frob
check "option of another subcommand" 2 "$cli" identity list --seal

check "empty list" 0 "$cli" identity list
expect_out "empty list says so" "No identities"
check "create Alice" 0 "$cli" identity create --alias Alice
expect_out "create prints" "^Created identity: Alice$"
expect_out "create prints PeerId" "^  PeerId: [0-9a-f]{64}$"
expect_out "create prints path" "^  Saved to: $work/home/keystore$"
peer=$(sed -n 's/^  PeerId: //p' "$work/out")
check "keystore file mode" 0 test "$(stat -c %a "$work/home/keystore/Alice.key")" = 600
check "keystore dir mode" 0 test "$(stat -c %a "$work/home/keystore")" = 700
check "create again refused" 1 "$cli" identity create --alias Alice
expect_err "refusal explains" "already exists.*--force"
check "same PeerId kept" 0 "$cli" --json identity show Alice
expect_out "show json" "\"peer_id\":\"$peer\""
check "bad alias" 2 "$cli" identity create --alias ../x
check "missing alias" 2 "$cli" identity create
check "show missing" 1 "$cli" identity show Nobody
expect_err "missing named" "no identity 'Nobody'"
check "create Bob json" 0 "$cli" identity create --alias Bob --json
expect_out "create json" '^\{"alias":"Bob","peer_id":"[0-9a-f]{64}","sealed":false,"keystore":".*"\}$'
check "list json" 0 "$cli" identity list --json
expect_out "list json both" '^\[\{"alias":"Alice".*\{"alias":"Bob".*\]$'
check "list text" 0 "$cli" identity list
expect_out "list text Alice" "^Alice +$peer$"

# -c before the command (global) and after it (the subcommand's own).
check "global -c" 0 "$cli" -c "$work/other" identity create --alias Carol
check "sub -c" 0 "$cli" identity list -c "$work/other"
expect_out "sub -c sees Carol" "^Carol "
check "default dir lacks Carol" 1 "$cli" identity show Carol

# Export and file signatures.
printf 'hello world\n' >"$work/doc.txt"
check "export" 0 "$cli" identity export Alice --output "$work/alice.pub"
check "export format" 0 grep -q "^peer-id: $peer$" "$work/alice.pub"
check "export json" 0 "$cli" --json identity export Alice
expect_out "export json fields" "^\\{\"alias\":\"Alice\",\"peer_id\":\"$peer\",\"ml_dsa_65\":\"[0-9a-f]{3904}\"\\}$"
check "verbose create" 0 "$cli" -v identity create --alias Verbose
expect_err "verbose says where" "wrote .*/Verbose.key"
check "export Bob" 0 "$cli" identity export Bob --output "$work/bob.pub"
check "sign" 0 "$cli" identity sign --alias Alice "$work/doc.txt"
check "sig file written" 0 test -s "$work/doc.txt.sig"
check "verify good" 0 "$cli" identity verify --public "$work/alice.pub" --signature "$work/doc.txt.sig" "$work/doc.txt"
expect_out "verify names signer" "Signer: $peer"
check "verify json" 0 "$cli" --json identity verify --public "$work/alice.pub" --signature "$work/doc.txt.sig" "$work/doc.txt"
expect_out "verify json valid" "\"valid\":true,\"signer\":\"$peer\""
check "verify with wrong key" 1 "$cli" identity verify --public "$work/bob.pub" --signature "$work/doc.txt.sig" "$work/doc.txt"
printf 'hello world!\n' >"$work/doc2.txt"
check "verify changed file" 1 "$cli" identity verify --public "$work/alice.pub" --signature "$work/doc.txt.sig" "$work/doc2.txt"
expect_err "bad signature said" "BAD signature"
sed 's/^\(ml-dsa-65: ..\)./\10/' "$work/doc.txt.sig" >"$work/t.sig"
cmp -s "$work/t.sig" "$work/doc.txt.sig" && sed -i 's/^\(ml-dsa-65: ..\)./\11/' "$work/t.sig"
check "verify tampered signature" 1 "$cli" identity verify --public "$work/alice.pub" --signature "$work/t.sig" "$work/doc.txt"
head -c 100 "$work/doc.txt.sig" >"$work/short.sig"
check "verify truncated signature file" 1 "$cli" identity verify --public "$work/alice.pub" --signature "$work/short.sig" "$work/doc.txt"
expect_err "truncated sig named" "not a saorsa-gossip signature file"
check "verify missing file" 1 "$cli" identity verify --public "$work/alice.pub" --signature "$work/doc.txt.sig" "$work/nope"
check "verify usage" 2 "$cli" identity verify --public "$work/alice.pub" "$work/doc.txt"
# A larger file streams through (8 MiB).
head -c 8388608 /dev/zero >"$work/big.bin"
check "sign big" 0 "$cli" identity sign --alias Bob --output "$work/big.sig" "$work/big.bin"
check "verify big" 0 "$cli" identity verify --public "$work/bob.pub" --signature "$work/big.sig" "$work/big.bin"

# Sealed identities.
export SAORSA_GOSSIP_PASSPHRASE="correct horse"
check "create sealed" 0 "$cli" identity create --alias Sealed --seal
expect_out "sealed shown" "Sealed: yes"
unset SAORSA_GOSSIP_PASSPHRASE
check "show sealed without passphrase" 0 "$cli" identity show Sealed
check "export sealed without passphrase" 0 "$cli" identity export Sealed --output "$work/sealed.pub"
SAORSA_GOSSIP_PASSPHRASE="wrong" check "sign with wrong passphrase" 1 "$cli" identity sign --alias Sealed "$work/doc.txt"
expect_err "wrong passphrase named" "Sealed.key: wrong or missing passphrase"
SAORSA_GOSSIP_PASSPHRASE="correct horse" check "sign sealed" 0 "$cli" identity sign --alias Sealed --output "$work/s.sig" "$work/doc.txt"
check "verify sealed" 0 "$cli" identity verify --public "$work/sealed.pub" --signature "$work/s.sig" "$work/doc.txt"

# A damaged key file: clear error naming it, and it is left alone.
cp "$work/home/keystore/Bob.key" "$work/bob.backup"
head -c 500 "$work/bob.backup" >"$work/home/keystore/Bob.key"
check "damaged show" 1 "$cli" identity show Bob
expect_err "damaged named" "Bob.key: file is corrupt or truncated"
check "damaged sign" 1 "$cli" identity sign --alias Bob "$work/doc.txt"
check "damaged file untouched" 0 test "$(stat -c %s "$work/home/keystore/Bob.key")" = 500
check "list still works" 0 "$cli" identity list
expect_out "list shows Alice" "^Alice "
expect_err "list reports Bob" "Bob.key"

check "delete" 0 "$cli" identity delete Alice
check "deleted gone" 1 "$cli" identity show Alice
check "delete missing" 1 "$cli" identity delete Alice

finish "identity cli"
