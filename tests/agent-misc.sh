#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys agent: certificate-only keys, the pin-source URI attribute and
# modules joining and leaving p11-kit's registry while the agent runs.
# Real programs throughout: SoftHSM tokens, the stock ssh/ssh-add/
# ssh-keygen, a throwaway sshd, the fault module counting C_Login calls.
# Needs root (throwaway user, sshd, a file owned by another user).

. "$(dirname "$0")/lib.sh"

tk_need_root
for tool in softhsm2-util pkcs11-tool ssh ssh-add ssh-keygen /usr/sbin/sshd \
    openssl setpriv; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
[ -f "${FAULTMOD:-}" ] || skip_all "fault module not built (FAULTMOD)"

plan 65

tk_tmpdir
tk_softhsm_init "$T"
PIN=1234
# The pin-source token's PIN: distinctive, so a log can be searched for it.
PIN2=73519246
APIDS=

# ------------------------------------------------------------- fixtures
# Token A: key pairs whose public half is only an X.509 certificate.
S=$(tk_token_new "tk certonly" $PIN 12345678) || bail "cannot create token A"
SLOT=$(tk_token_slot "$S") || bail "no slot for token A"
for k in rsa2048:11 p256:12 ed25519:13; do
	kind=${k%:*} id=${k#*:}
	tk_keyfile "$kind" "$T/$kind.pem" &&
	tk_import "$S" $PIN "$T/$kind.pem" "$id" "cert $kind" &&
	tk_p11tool --slot "$SLOT" --login --pin $PIN --delete-object \
	    --type pubkey --id "$id" >/dev/null 2>&1 &&
	tk_cert "$T/$kind.pem" "$T/$kind.der" leaf &&
	tk_cert_write "$S" $PIN "$T/$kind.der" "$id" "cert $kind" ||
	    bail "cannot make the certificate-only $kind key"
done
tk_p11tool --slot "$SLOT" --login --pin $PIN --list-objects \
    >"$T/objects" 2>/dev/null
is "$(grep -c '^Public Key Object' "$T/objects")/$(grep -c \
    '^Certificate Object' "$T/objects")/$(grep -c '^Private Key Object' \
    "$T/objects")" 0/3/3 \
    "fixture: token A holds 3 private keys and 3 certificates, no public key objects"

# Token B: an ordinary P-256 key, for the pin-source tests.
S2=$(tk_token_new "tk pinsrc" $PIN2 12345678) || bail "cannot create token B"
tk_keygen "$S2" $PIN2 EC:prime256v1 21 pinkey || bail "cannot make a key"

# The agent's askpass counts calls: pin-source must never prompt.
cat >"$T/askpass.sh" <<EOF
#!/bin/sh
echo call >>"$T/askpass.calls"
echo $PIN
EOF
chmod 755 "$T/askpass.sh"
: >"$T/askpass.calls"
askpass_calls() { wc -l <"$T/askpass.calls" | tr -d ' '; }

# start_agent NAME [ENV=VALUE...] -- ARGS...: tokenkeys agent -D -d on
# $T/NAME.sock, log in $T/NAME.log; waits until it answers.
start_agent() {
	local name=$1
	shift
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	env SSH_ASKPASS="$T/askpass.sh" SSH_ASKPASS_REQUIRE=force DISPLAY= \
	    "${envs[@]}" "$TOKENKEYS" agent -D -d -a "$T/$name.sock" "$@" \
	    </dev/null >"$T/$name.out" 2>"$T/$name.log" &
	eval "PID_$name=$!"
	tk_at_exit "kill $! 2>/dev/null"
	tk_agent_ready "$name" "$T/$name.sock" 150 "$!"
}

stop_agent() { eval "tk_agent_stop \"\$PID_$1\""; }

sa() { SSH_AUTH_SOCK=$T/$1.sock "${@:2}" </dev/null; }

# wait_for SECONDS CMD...: poll until CMD succeeds.
wait_for() {
	local n=$(($1 * 5))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

# ysign NAME PUB: ssh-keygen -Y sign through agent NAME, then verify.
ysign() {
	echo "message $RANDOM" >"$T/msg"
	rm -f "$T/msg.sig"
	sa "$1" ssh-keygen -Y sign -n file -f "$2" "$T/msg" >/dev/null 2>&1 &&
	printf 'tk %s\n' "$(cat "$2")" >"$T/allowed" &&
	ssh-keygen -Y verify -f "$T/allowed" -I tk -n file -s "$T/msg.sig" \
	    <"$T/msg" >/dev/null 2>&1
}

# ------------------------------------------- 1. certificate-only keys
start_agent certs -- "pkcs11:serial=$S" || bail "the agent does not start"
sa certs ssh-add -L | tk_sorted >"$T/certs.pub"
is "$(wc -l <"$T/certs.pub")" 3 "ssh-add -L lists the three certificate-only keys"
for kind in rsa2048 p256 ed25519; do
	want=$(tk_pem_line "$T/$kind.pem")
	grep -F "${want#* }" "$T/certs.pub" >"$T/$kind.pub"
	is "$(awk '{ print $1, $2 }' "$T/$kind.pub")" "$want" \
	    "certificate-only $kind: the blob is the one OpenSSL derives from the private key"
done
check "...each with its URI as the comment" \
    test "$(grep -c " pkcs11:.*serial=$S;token=tk%20certonly;id=%1[123];object=cert%20" \
    "$T/certs.pub")" = 3

tk_sshd_setup
echo "LogLevel VERBOSE" >>"$T/sshd_config"
cp "$T/certs.pub" "$T/home/.ssh/authorized_keys"
chown "$TK_USER" "$T/home/.ssh/authorized_keys"

# login PUB [ssh options]: through agent "certs" with only that key.
login() {
	local pub=$1 fp
	shift
	: >"$T/sshd.log"
	tk_ssh -o IdentityAgent="$T/certs.sock" -o IdentitiesOnly=yes \
	    -o IdentityFile="$pub" "$@" test echo logged-in \
	    >"$T/ssh.out" 2>&1 || return 1
	fp=$(ssh-keygen -l -f "$pub" | awk '{ print $2 }')
	grep -q '^logged-in$' "$T/ssh.out" &&
	grep -q "Accepted publickey for $TK_USER .* $fp" "$T/sshd.log"
}
check "ssh login with the certificate-only RSA key (rsa-sha2-256)" \
    login "$T/rsa2048.pub" -o PubkeyAcceptedAlgorithms=rsa-sha2-256
check "ssh login with the certificate-only RSA key (rsa-sha2-512)" \
    login "$T/rsa2048.pub" -o PubkeyAcceptedAlgorithms=rsa-sha2-512
check "ssh login with the certificate-only P-256 key" login "$T/p256.pub"
check "ssh login with the certificate-only Ed25519 key" \
    login "$T/ed25519.pub"
is "$(askpass_calls)" 1 "the token's PIN was asked once for the four logins"
stop_agent certs

# --------------------------------------------------------- 2. pin-source
URI2="pkcs11:serial=$S2"
tk_token_line "$S2" 21 >"$T/pinkey.pub" || bail "cannot read token B's key"
printf '%s\n' $PIN2 >"$T/pin.good"
chmod 600 "$T/pin.good"
: >"$T/askpass.calls"

start_agent ps1 -- "$URI2?pin-source=file:$T/pin.good" ||
    bail "the agent does not start with a pin-source"
is "$(sa ps1 ssh-add -L | awk '{ print $1, $2 }')" "$(cat "$T/pinkey.pub")" \
    "pin-source URI: the token's key is served"
check "pin-source=file:PATH: a signature logs in unattended" \
    ysign ps1 "$T/pinkey.pub"
check "...and a second one signs too" ysign ps1 "$T/pinkey.pub"
is "$(askpass_calls)" 0 "pin-source: no prompt was ever shown"
check "the PIN appears nowhere in the agent's output or log" \
    test "$(cat "$T/ps1.out" "$T/ps1.log" | grep -c "$PIN2")" = 0
stop_agent ps1

start_agent ps2 -- "$URI2?pin-source=$T/pin.good" ||
    bail "the agent does not start with a plain-path pin-source"
check "pin-source=/plain/path: a signature logs in unattended" \
    ysign ps2 "$T/pinkey.pub"
is "$(askpass_calls)" 0 "...without a prompt"
stop_agent ps2

# A PIN file others could read, or someone else's, is refused up front.
cp "$T/pin.good" "$T/pin.open"
chmod 640 "$T/pin.open"
tk_run "$TOKENKEYS" agent -D -a "$T/refused.sock" \
    "$URI2?pin-source=file:$T/pin.open"
check "a group-readable pin-source file: the agent refuses to start" \
    test "$rc" -ne 0 -a ! -S "$T/refused.sock"
check "...saying why" \
    grep -q "pin-source $T/pin.open refused: group or others have access" \
    "$T/err"
cp "$T/pin.good" "$T/pin.theirs"
chmod 600 "$T/pin.theirs"
chown "$TK_USER" "$T/pin.theirs"
tk_run "$TOKENKEYS" agent -D -a "$T/refused.sock" \
    "$URI2?pin-source=file:$T/pin.theirs"
check "a pin-source file owned by another user is refused" \
    test "$rc" -ne 0 -a ! -S "$T/refused.sock"
check "...saying why" grep -q "not owned by this user" "$T/err"
tk_run "$TOKENKEYS" agent -D -a "$T/refused.sock" "$URI2?pin-value=$PIN2"
check "pin-value (a PIN in argv) is refused with exit 2" \
    test "$rc" -eq 2 -a ! -S "$T/refused.sock"
check "...and the error does not repeat the PIN" \
    eval '! grep -q -F -e "$PIN2" "$T/err"'
tk_run "$TOKENKEYS" agent -D -a "$T/refused.sock" \
    "$URI2?pin-source=file:pin.relative"
check "a relative pin-source path is refused with exit 2" \
    test "$rc" -eq 2 -a ! -S "$T/refused.sock"

# Permissions that go bad after start: checked again when read.
cp "$T/pin.good" "$T/pin.later"
chmod 600 "$T/pin.later"
start_agent ps3 -- "$URI2?pin-source=file:$T/pin.later" ||
    bail "agent ps3 does not start"
chmod 644 "$T/pin.later"
check "a pin-source made world-readable after start: the signature fails" \
    eval '! ysign ps3 "$T/pinkey.pub"'
check "...with a log line saying why" grep -q \
    "pin-source $T/pin.later not used for key .*: group or others" \
    "$T/ps3.log"
is "$(askpass_calls)" 0 "...and no prompt instead"
stop_agent ps3

# ssh-add -s with a pin-source URI (and no PIN typed into ssh-add).
printf '#!/bin/sh\necho\n' >"$T/empty.sh"
chmod 755 "$T/empty.sh"
start_agent ps5 -- 'pkcs11:token=no%20such%20token' ||
    bail "agent ps5 does not start"
sa ps5 env SSH_ASKPASS="$T/empty.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -s "$URI2?pin-source=file:$T/pin.open" >/dev/null 2>&1
check "ssh-add -s with a group-readable pin-source is refused" test $? -ne 0
check "...the log says why" grep -q \
    "pin-source $T/pin.open refused: group or others" "$T/ps5.log"
sa ps5 env SSH_ASKPASS="$T/empty.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -s "$URI2?pin-source=file:$T/pin.good" >/dev/null 2>&1
is "$?" 0 "ssh-add -s URI?pin-source=... with no PIN typed"
check "...its key then signs with the PIN from the file" \
    ysign ps5 "$T/pinkey.pub"
is "$(askpass_calls)" 0 "...without the agent prompting"
stop_agent ps5

# A URI means what p11-kit reads in it: the scheme in any case, and of a
# repeated attribute the last one.
check "an upper-case PKCS11: scheme on the command line: the agent starts" \
    start_agent up -- "PKCS11:serial=$S2"
is "$(sa up ssh-add -L 2>/dev/null | awk '{ print $1, $2 }')" \
    "$(cat "$T/pinkey.pub")" "...serving the key that URI selects"
sa up env SSH_ASKPASS="$T/empty.sh" SSH_ASKPASS_REQUIRE=force ssh-add -s \
    "Pkcs11:serial=$S?module-path=/nonexistent/x.so&module-path=$TK_MODULE" \
    >/dev/null 2>&1
is "$?" 0 "ssh-add -s with a repeated module-path: the last one counts"
is "$(sa up ssh-add -L 2>/dev/null | grep -c '^[a-z]')" 4 \
    "...and serves that module's keys for the URI"
stop_agent up

# ssh-agent's -c (C shell) output, and -k with it.
tk_run "$TOKENKEYS" agent -c -a "$T/csh.sock" 'pkcs11:token=none'
CPID=$(sed -n 's/^setenv SSH_AGENT_PID \([0-9]*\);$/\1/p' "$T/out")
[ -n "$CPID" ] && tk_at_exit "kill $CPID 2>/dev/null"
is "$rc/$out" "0/setenv SSH_AUTH_SOCK $T/csh.sock;
setenv SSH_AGENT_PID $CPID;
echo Agent pid $CPID;" "agent -c prints ssh-agent's C shell lines"
tk_run env SSH_AGENT_PID="$CPID" "$TOKENKEYS" agent -k -c
is "$rc/$out" "0/unsetenv SSH_AUTH_SOCK;
unsetenv SSH_AGENT_PID;
echo Agent pid $CPID killed;" "agent -k -c prints C shell unsetenv lines"
check "...the agent is gone, and so is its socket" \
    wait_for 10 eval '! kill -0 "$CPID" 2>/dev/null && test ! -e "$T/csh.sock"'

# A wrong PIN in the file: one C_Login, then nothing until the file
# changes.  The fault module in front of SoftHSM counts C_Login calls.
export TK_FAULT_MODULE=$TK_MODULE TK_FAULT_CONTROL=$T/ctl
: >"$T/ctl"
FDIR=$(cd "$(dirname "$FAULTMOD")" && pwd -P)
printf '0%sx\n' $PIN2 >"$T/pin.bad"
chmod 600 "$T/pin.bad"
logins() { sed -n 's/^C_Login \([0-9]*\)$/\1/p' "$T/ctl.state" 2>/dev/null |
    grep . || echo 0; }
start_agent ps4 -- -P "$FDIR/*" \
    "$URI2?module-path=$FAULTMOD&pin-source=file:$T/pin.bad" ||
    bail "agent ps4 does not start"
check "a wrong PIN from pin-source: the signature fails" \
    eval '! ysign ps4 "$T/pinkey.pub"'
is "$(logins)" 1 "...after exactly one C_Login"
check "...and the log says the PIN from pin-source failed" grep -q \
    "login with the PIN from pin-source $T/pin.bad failed" "$T/ps4.log"
check "the next signature fails too" eval '! ysign ps4 "$T/pinkey.pub"'
check "...and the one after" eval '! ysign ps4 "$T/pinkey.pub"'
is "$(logins)" 1 "...without another C_Login: the unchanged file is not retried"
check "...the log says it waits for the file to change" grep -q \
    "was refused before; it is not tried again until the file changes" \
    "$T/ps4.log"
is "$(askpass_calls)" 0 "...and no prompt was shown"
printf '%s\n' $PIN2 >"$T/pin.new"
chmod 600 "$T/pin.new"
mv "$T/pin.new" "$T/pin.bad"
check "the file corrected: the next signature logs in and signs" \
    ysign ps4 "$T/pinkey.pub"
is "$(logins)" 2 "...with one more C_Login"
stop_agent ps4
unset TK_FAULT_MODULE TK_FAULT_CONTROL

# ------------------------------------------- 3. the registry changing
# p11-kit ignores user configuration for root, so this agent runs as the
# throwaway user, with a private HOME whose p11-kit user config says
# "only": the system's softhsm2.module does not count, and the registry
# starts empty.
"$TOKENKEYS" list --module "$TK_MODULE" 'pkcs11:' 2>/dev/null |
    tk_blobs >"$T/all.blobs"
NALL=$(wc -l <"$T/all.blobs")
[ "$NALL" -ge 4 ] || bail "expected the SoftHSM tokens' keys, got $NALL"
U=$T/u
RH=$U/home
mkdir -p "$RH/.config/pkcs11/modules"
echo "user-config: only" >"$RH/.config/pkcs11/pkcs11.conf"
printf 'module: %s\n' "$TK_MODULE" >"$T/tk-softhsm.module"
chown -R "$TK_USER" "$U" "$T/tokens"
chmod 666 "$T/askpass.calls"
UGID=$(id -g "$TK_USER")
tk_user_reach "$TK_USER" TOKENKEYS
as_user() {
	setpriv --reuid="$TK_USER" --regid="$UGID" --clear-groups \
	    env HOME="$RH" "$@"
}

# ustart NAME ARGS...: the agent as the throwaway user on $U/NAME.sock.
ustart() {
	local name=$1 i
	shift
	# not through as_user: $! must be the agent itself
	setpriv --reuid="$TK_USER" --regid="$UGID" --clear-groups \
	    env HOME="$RH" SSH_ASKPASS="$T/askpass.sh" \
	    SSH_ASKPASS_REQUIRE=force DISPLAY= \
	    "$TOKENKEYS" agent -D -d -a "$U/$name.sock" "$@" \
	    </dev/null >"$T/$name.out" 2>"$T/$name.log" &
	eval "PID_$name=$!"
	tk_at_exit "kill $! 2>/dev/null"
	for i in $(seq 150); do
		[ -S "$U/$name.sock" ] && return 0
		sleep 0.1
	done
	diag "agent $name did not start:" "$(cat "$T/$name.log")"
	return 1
}
usa() { as_user SSH_AUTH_SOCK="$U/$1.sock" "${@:2}" </dev/null; }
nkeys() { usa "$1" ssh-add -L 2>/dev/null | grep -c '^[a-z]'; }
has_keys() { [ "$(nkeys "$1")" = "$2" ]; }
TK_MODULE_REAL=$(readlink -f "$TK_MODULE")
helpers() {
	ps -o args= --ppid "$1" |
	    grep -c -E "__helper (--registered )?($TK_MODULE|$TK_MODULE_REAL)( --events)?\$"
}
uysign() {
	echo "message $RANDOM" >"$U/msg"
	rm -f "$U/msg.sig"
	chown "$TK_USER" "$U/msg"
	usa "$1" ssh-keygen -Y sign -n file -f "$2" "$U/msg" >/dev/null 2>&1 &&
	printf 'tk %s\n' "$(cat "$2")" >"$T/allowed" &&
	ssh-keygen -Y verify -f "$T/allowed" -I tk -n file -s "$U/msg.sig" \
	    <"$U/msg" >/dev/null 2>&1
}

ustart reg || bail "agent reg does not start"
ustart regb "$URI2" || bail "agent regb does not start"
sleep 1
is "$(nkeys reg)" 0 \
    "user-config only, no user module: nothing served (system modules do not count)"
is "$(helpers "$PID_reg")" 0 "...and no helper runs for SoftHSM"

cp "$T/tk-softhsm.module" "$RH/.config/pkcs11/modules/tk-softhsm.module"
check "a .module file added: its keys appear in ssh-add -l within seconds" \
    wait_for 20 has_keys reg "$NALL"
is "$(usa reg ssh-add -L | tk_blobs)" "$(cat "$T/all.blobs")" \
    "...exactly the keys tokenkeys list finds on that module"
check "an agent started with a URI serves only the matching key of the new module" \
    wait_for 20 has_keys regb 1
is "$(usa regb ssh-add -L | awk '{ print $1, $2 }')" "$(cat "$T/pinkey.pub")" \
    "...token B's key"
is "$(helpers "$PID_reg")" 1 "one helper was started for the new module"
check "a key of the new module signs" uysign reg "$T/rsa2048.pub"

rm "$RH/.config/pkcs11/modules/tk-softhsm.module"
check "the .module file removed: its keys go within seconds" \
    wait_for 20 has_keys reg 0
check "...from the agent started with a URI too" wait_for 20 has_keys regb 0
check "...and the module's helper is retired" \
    wait_for 20 eval 'test "$(helpers "$PID_reg")" = 0'
check "...the log says the module left the registry" \
    grep -q -E "module ($TK_MODULE|$TK_MODULE_REAL) left p11-kit's registry" \
    "$T/reg.log"
cp "$T/tk-softhsm.module" "$RH/.config/pkcs11/modules/tk-softhsm.module"
check "the .module file back: the keys are served again" \
    wait_for 20 has_keys reg "$NALL"
check "...and sign" uysign reg "$T/p256.pub"
check "the agent is still alive and answering" kill -0 "$PID_reg"
stop_agent reg
stop_agent regb

done_testing
