#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys doctor HOST and doctor --server against a throwaway sshd with
# StrictModes yes: the login explained when the token key is missing from
# authorized_keys (with the ssh-copy-id line that installs it), accepted
# once it is there, refused again for a group-writable ~/.ssh, which
# --server names.  Needs root (throwaway user).

. "$(dirname "$0")/lib.sh"

tk_need_root
for tool in softhsm2-util pkcs11-tool ssh ssh-keygen ssh-copy-id \
    /usr/sbin/sshd; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
plan 19

tk_tmpdir
chmod 755 "$T"
tk_softhsm_init "$T"
chmod -R a+rX "$T/tokens" "$T/softhsm2.conf"
tk_agent_askpass
echo 1234 >"$T/agent.pin"
S=$(tk_token_new "tk doc" 1234 12345678) || bail "cannot create a token"
tk_keygen "$S" 1234 EC:prime256v1 02 "ec 256" || bail "cannot make a key"
URI='pkcs11:token=tk%20doc'

tk_sshd_setup
sed -i 's/^StrictModes no/StrictModes yes/' "$T/sshd_config"
echo "LogLevel VERBOSE" >>"$T/sshd_config"
# the agent is the one under test: drop lib.sh's IdentityAgent none
sed -i '/IdentityAgent none/d' "$T/ssh_config"
ssh-keygen -q -t ed25519 -N '' -C tk-boot -f "$T/boot" || bail "boot key"
cp "$T/boot.pub" "$T/home/.ssh/authorized_keys"
chown "$TK_USER" "$T/home/.ssh/authorized_keys"
chmod 600 "$T/home/.ssh/authorized_keys"

tk_agent_start a "$URI" || bail "agent did not start"
export SSH_AUTH_SOCK=$T/a.sock

# doctor ARGS...: as the client (private HOME), output in $T/out.
doctor() {
	HOME=$T/client "$TOKENKEYS" doctor "$@" </dev/null >"$T/out" \
	    2>"$T/err"
	rc=$?
}
line() {
	grep -E "^$1 +$2: .*$3" "$T/out" >/dev/null && return 0
	diag "no line $1 $2: $3 in:" "$(cat "$T/out" "$T/err")"
	return 1
}

# the token key is not in authorized_keys
doctor -F "$T/ssh_config" test
check "key missing: exit 1" test "$rc" = 1
check "key missing: the login is explained as Permission denied" \
    line FAIL login \
    'the server took none of the keys ssh offered: .*Permission denied'
check "key missing: names the key and the ssh-copy-id -f -i line" \
    line FAIL login "put ECDSA key \"ec 256\" on \"tk doc\" in the server.s"\
" authorized_keys: tokenkeys ssh-config .pkcs11:.*token=tk%20doc.* && "\
"ssh-copy-id -f -i $T/client/.ssh/tokenkeys/tk_doc_ec_256.pub test$"
check "ssh -G: IdentitiesOnly and the offered keys counted" \
    line ok 'ssh -G' 'IdentitiesOnly no: ssh offers up to 1 key'

# doing what it says makes the login work
HOME=$T/client "$TOKENKEYS" ssh-config "$URI" >/dev/null 2>"$T/err" ||
    bail "ssh-config failed: $(cat "$T/err")"
HOME=$T/client ssh-copy-id -f -i "$T/client/.ssh/tokenkeys/tk_doc_ec_256.pub" \
    -F "$T/ssh_config" -o IdentityFile="$T/boot" -o IdentitiesOnly=yes \
    test </dev/null >"$T/copy.out" 2>&1
check "the suggested ssh-copy-id line installs the key" \
    grep -q "$(cut -d' ' -f2 "$T/client/.ssh/tokenkeys/tk_doc_ec_256.pub")" \
    "$T/home/.ssh/authorized_keys"
doctor -F "$T/ssh_config" test
check "key installed: the login is accepted" line ok login 'logged in'
check "key installed: exit 0" test "$rc" = 0

# the server's host key changed
cp "$T/known_hosts" "$T/known_hosts.good"
ssh-keygen -q -t ed25519 -N '' -f "$T/otherhost" || bail "ssh-keygen failed"
echo "test $(cut -d' ' -f1,2 "$T/otherhost.pub")" >"$T/known_hosts"
doctor -F "$T/ssh_config" test
check "changed host key: FAIL with ssh-keygen -R" \
    line FAIL login 'host key changed; find out why; if the change is '\
'expected: ssh-keygen -R test'
# not known at all, and ssh may not add it
: >"$T/known_hosts"
sed 's/accept-new/yes/' "$T/ssh_config" >"$T/ssh_config.strict"
doctor -F "$T/ssh_config.strict" test
check "unknown host key: FAIL, log in once by hand" \
    line FAIL login 'host key is not known yet.*log in once by hand'
cp "$T/known_hosts.good" "$T/known_hosts"

# PKCS11Provider beside the agent
sed "s|^Host test|Host test\n  PKCS11Provider $TK_MODULE|" "$T/ssh_config" \
    >"$T/ssh_config.p11"
doctor -F "$T/ssh_config.p11" test
check "PKCS11Provider beside the agent: warn" \
    line warn 'ssh -G' "PKCS11Provider $TK_MODULE: ssh loads the module "\
"itself beside the agent"

# the server refuses the key's algorithm
cp "$T/sshd_config" "$T/sshd_config.ed"
echo "PubkeyAcceptedAlgorithms ssh-ed25519" >>"$T/sshd_config.ed"
doctor --server --sshd-config "$T/sshd_config.ed" "$TK_USER"
check "--server: a key type sshd refuses is a FAIL" \
    line FAIL server 'sshd accepts no signature algorithm of ECDSA key '\
'"ec 256" on "tk doc" \(ecdsa-sha2-nistp256\)'

# a group-writable ~/.ssh on the server: StrictModes refuses
chmod 775 "$T/home/.ssh"
: >"$T/sshd.log"
doctor -F "$T/ssh_config" test
check "group-writable ~/.ssh: the login is refused" \
    line FAIL login 'Permission denied'
check "sshd's log says why (bad ownership or modes)" \
    grep -q 'bad ownership or modes' "$T/sshd.log"

# doctor --server on this machine names the directory
doctor --server --sshd-config "$T/sshd_config" "$TK_USER"
check "--server: StrictModes yes read from sshd -T" \
    line ok server 'PubkeyAuthentication yes, StrictModes yes'
check "--server: the group-writable ~/.ssh is a FAIL with its fix" \
    line FAIL server "$T/home/.ssh: mode 0775: writable by the group: "\
"sshd \(StrictModes yes\) refuses.*chmod go-w $T/home/.ssh"
check "--server: the token key is found in authorized_keys" \
    line ok server \
    "ECDSA key \"ec 256\" on \"tk doc\" is in $T/home/.ssh/authorized_keys"
chmod 700 "$T/home/.ssh"

# on a server the token is the client's, behind a forwarded agent: no
# token here (SoftHSM sees no token store), the agent's key is looked for
echo "directories.tokendir = $T/none" >"$T/empty.conf"
SOFTHSM2_CONF=$T/empty.conf doctor --server --sshd-config "$T/sshd_config" \
    "$TK_USER"
check "--server: the agent's token key is found in authorized_keys" \
    line ok server "the agent's ecdsa-sha2-nistp256 key is in "\
"$T/home/.ssh/authorized_keys"

# --server with the key gone from authorized_keys
cp "$T/boot.pub" "$T/home/.ssh/authorized_keys"
doctor --server --sshd-config "$T/sshd_config" "$TK_USER"
check "--server: key missing is a FAIL with the line to add it" \
    line FAIL server "none of the 1 token key is in authorized_keys; add "\
"one as that user: tokenkeys list 'pkcs11:.*' >> $T/home/.ssh/authorized_keys"
check "--server: exit 1" test "$rc" = 1

done_testing
