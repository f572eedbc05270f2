#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys ssh-config: with Debian's ssh, IdentitiesOnly yes and six
# other keys in the agent, the login to a throwaway sshd offers exactly
# the one configured token key (sshd's log) and succeeds; without the
# block ssh offers the other keys first and runs into MaxAuthTries, which
# doctor foresees.  Files: rewritten only when the key changed, a key that
# left the token reported and its file kept, --append only once.  Needs
# root (throwaway user).

. "$(dirname "$0")/lib.sh"

tk_need_root
for tool in softhsm2-util pkcs11-tool ssh ssh-add ssh-keygen \
    /usr/sbin/sshd; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
plan 16

tk_tmpdir
chmod 755 "$T"
tk_softhsm_init "$T"
tk_agent_askpass
echo 1234 >"$T/agent.pin"
S=$(tk_token_new "tk cfg" 1234 12345678) || bail "cannot create a token"
tk_keygen "$S" 1234 EC:prime256v1 02 "login key" &&
    tk_keygen "$S" 1234 EC:prime256v1 03 "spare" || bail "cannot make keys"
URI='pkcs11:token=tk%20cfg;object=login%20key'

tk_sshd_setup
echo "LogLevel DEBUG1" >>"$T/sshd_config"
sed -i '/IdentityAgent none/d' "$T/ssh_config"
export HOME=$T/client

# A tokenkeys agent with a private ssh-agent for six file keys.
tk_agent_start a -A auto 'pkcs11:token=tk%20cfg' ||
    bail "agent did not start"
export SSH_AUTH_SOCK=$T/a.sock
for i in 1 2 3 4 5 6; do
	ssh-keygen -q -t ed25519 -N '' -C "other$i" -f "$T/other$i" &&
	    ssh-add "$T/other$i" </dev/null 2>/dev/null ||
	    bail "cannot add file key $i"
done
nkeys=$(ssh-add -l </dev/null | wc -l)
check "the agent holds 8 keys: 2 token keys, 6 file keys" test "$nkeys" = 8

# ssh-config writes the key file and prints the block
"$TOKENKEYS" ssh-config --host test "$URI" >"$T/block" 2>"$T/err"
rc=$?
PUB=$T/client/.ssh/tokenkeys/tk_cfg_login_key.pub
check "ssh-config: exit 0" test "$rc" = 0
is "$(cat "$T/block")" "Host test
    IdentityFile $PUB
    IdentitiesOnly yes" \
    "ssh-config prints the Host block (a path out of ~ in full)"
is "$(stat -c %a "$T/client/.ssh/tokenkeys")" 700 "the key directory is 0700"
is "$(cut -d' ' -f1,2 "$PUB")" \
    "$("$TOKENKEYS" list "$URI" | cut -d' ' -f1,2)" \
    "the file holds the key's public half"
check "the file's comment is the key's URI" \
    grep -q " pkcs11:.*object=login%20key" "$PUB"

# authorized_keys: the token key only.
cp "$PUB" "$T/home/.ssh/authorized_keys"
chown "$TK_USER" "$T/home/.ssh/authorized_keys"

# a config naming the six file keys: ssh offers them first and sshd
# gives up before the token key
cp "$T/ssh_config" "$T/ssh_config.many"
for i in 1 2 3 4 5 6; do
	echo "  IdentityFile $T/other$i" >>"$T/ssh_config.many"
done
HOME=$T/client ssh -F "$T/ssh_config.many" test true </dev/null \
    >"$T/out" 2>&1
check "six keys first: Too many authentication failures" \
    grep -q "Too many authentication failures" "$T/out"
HOME=$T/client "$TOKENKEYS" doctor -F "$T/ssh_config.many" test \
    </dev/null >"$T/doc" 2>&1
check "doctor explains it and points to ssh-config" sh -c '
    grep -Eq "^warn +ssh -G: IdentitiesOnly no: ssh may offer [0-9]+ "\
"keys.*MaxAuthTries 6" "$1" &&
    grep -Eq "^FAIL +login: Too many authentication failures.*"\
"tokenkeys ssh-config --host .test." "$1"' \
    sh "$T/doc" || diag "$(cat "$T/doc")"

# with the block: exactly one key offered, and accepted
cat "$T/block" "$T/ssh_config" >"$T/ssh_config.new"
: >"$T/sshd.log"
HOME=$T/client ssh -F "$T/ssh_config.new" test true </dev/null \
    >"$T/out" 2>&1
rc=$?
check "with the block: the login succeeds" test "$rc" = 0
[ "$rc" = 0 ] || diag "$(cat "$T/out")" "$(cat "$T/sshd.log")"
# sshd logs each key offered: "userauth_pubkey: test pkalg ... pkblob TYPE FP"
fp=$(ssh-keygen -lf "$PUB" | cut -d' ' -f2)
grep 'userauth_pubkey: .*pkblob' "$T/sshd.log" | sed 's/.*pkblob //' |
    awk '{ print $2 }' | sort -u >"$T/offered"
is "$(cat "$T/offered")" "$fp" "sshd was offered exactly the token key"
check "and accepted it" grep -q "Accepted publickey.*$fp" "$T/sshd.log"


# a file whose key changed (same URI, another key) is rewritten
cp "$PUB" "$T/pub.good"
echo "$(cut -d' ' -f1,2 "$T/other1.pub") $(cut -d' ' -f3 "$PUB")" >"$PUB"
"$TOKENKEYS" ssh-config --host test "$URI" >/dev/null 2>"$T/err"
check "a changed key's file is rewritten, and says so" sh -c '
    grep -q "tk_cfg_login_key.pub: rewritten: the key changed" "$1" &&
    cmp -s "$2" "$3"' sh "$T/err" "$PUB" "$T/pub.good"

# run again: nothing rewritten
touch -d '2000-01-01' "$PUB"
"$TOKENKEYS" ssh-config --host test "$URI" >/dev/null 2>"$T/err"
is "$(stat -c %Y "$PUB")" "$(date -d 2000-01-01 +%s)" \
    "an unchanged key's file is not rewritten"

# a key that left the token: reported, file kept
"$TOKENKEYS" ssh-config --host spare 'pkcs11:token=tk%20cfg;object=spare' \
    >/dev/null 2>&1
pkcs11-tool --module "$TK_MODULE" --token-label "tk cfg" -l --pin 1234 \
    --delete-object --type pubkey --label spare >/dev/null 2>&1 &&
pkcs11-tool --module "$TK_MODULE" --token-label "tk cfg" -l --pin 1234 \
    --delete-object --type privkey --label spare >/dev/null 2>&1 ||
    bail "cannot delete the spare key"
"$TOKENKEYS" ssh-config --host test "$URI" >/dev/null 2>"$T/err"
check "a key gone from the token is reported and its file kept" sh -c '
    grep -q "tk_cfg_spare.pub: its key is on no token now.*file kept" "$1" &&
    [ -f "$2" ]' sh "$T/err" "$T/client/.ssh/tokenkeys/tk_cfg_spare.pub" ||
    diag "$(cat "$T/err")"

# --append adds the block once
"$TOKENKEYS" ssh-config --host test --append "$T/client/.ssh/config" \
    "$URI" >/dev/null 2>&1
"$TOKENKEYS" ssh-config --host test --append "$T/client/.ssh/config" \
    "$URI" >/dev/null 2>"$T/err"
is "$(grep -c '^Host test$' "$T/client/.ssh/config")" 1 \
    "--append adds the Host block only once"
check "--append says the block is there already" \
    grep -q 'already has "Host test": left as it is' "$T/err"

done_testing
