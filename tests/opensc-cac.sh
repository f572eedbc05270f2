#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The real OpenSC stack: libcacard's emulated CAC card, backed by a
# throwaway SoftHSM token, sits in pcscd's virtual reader (vsmartcard-vpcd)
# through our bridge (tests/vcard-bridge.c) and is read by opensc-pkcs11.so,
# exactly as a physical card would be; what the card cannot do (keygen,
# passwd, unblock, delete) fails in one clear line.  pcscd and the bridge run in a
# private mount and network namespace, so the machine's own pcscd, its
# /run/pcscd and its network are never touched.  Needs root.

. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] ||
    skip_all "needs root (private namespaces for pcscd and the card)"
for tool in unshare ip pcscd modutil certtool softhsm2-util pkcs11-tool \
    opensc-tool ssh-add ssh-keygen; do
	command -v $tool >/dev/null ||
	    skip_all "$tool not installed (packages: pcscd vsmartcard-vpcd" \
	    "libnss3-tools gnutls-bin opensc iproute2)"
done
VPCD_DRIVER=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
[ -r "$VPCD_DRIVER" ] || skip_all "vpcd driver not installed (vsmartcard-vpcd)"
OPENSC_MODULE=
for m in /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so \
    /usr/lib/*-linux-gnu*/opensc-pkcs11.so /usr/lib64/opensc-pkcs11.so \
    /usr/lib/opensc-pkcs11.so; do
	[ -r "$m" ] && { OPENSC_MODULE=$m; break; }
done
[ -n "$OPENSC_MODULE" ] || skip_all "opensc-pkcs11.so not installed (opensc)"
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
BRIDGE=$(dirname "$TOKENKEYS")/tests/vcard-bridge
[ -x "$BRIDGE" ] || skip_all "tests/vcard-bridge not built (libcacard-dev" \
    "was missing when configure ran)"

# Everything below runs in private mount, network and pid namespaces: its
# own loopback (vpcd's fixed port 35963 collides with nobody), its own
# /run/pcscd, and this shell as pid 1, so that the kernel ends pcscd, the
# bridge and the agent with it, however it ends.
if [ -z "${TK_OPENSC_NS:-}" ]; then
	unshare -m -n -p -f --mount-proc true 2>/dev/null ||
	    skip_all "cannot create mount, network and pid namespaces" \
	    "(unshare)"
	TK_OPENSC_NS=1 exec unshare -m -n -p -f --kill-child --mount-proc \
	    --propagation private bash "$0" "$@"
fi
# A private /run/pcscd; where the machine has none, a private /run, so
# not even an empty directory is left behind.
if [ -d /run/pcscd ]; then
	mount -t tmpfs -o mode=0755 tk-pcscd /run/pcscd ||
	    bail "cannot mount a private /run/pcscd"
else
	mount -t tmpfs -o mode=0755 tk-run /run && mkdir /run/pcscd ||
	    bail "cannot mount a private /run"
fi
ip link set lo up || bail "cannot bring up the private loopback"

plan 34

tk_tmpdir
tk_softhsm_init "$T"
# libcacard mirrors only removable slots.
echo "slots.removable = true" >>"$SOFTHSM2_CONF"
PIN=123456

# ---------------------------------------------------------------- the card
S=$(tk_token_new "tk cac" $PIN 12345678) || bail "cannot create a token"
for i in 1 2; do
	tk_keygen "$S" $PIN rsa:2048 0$i "cac key $i" ||
	    bail "cannot make key $i"
	# The CAC applet shows a key only with its certificate.
	printf 'cn = "tokenkeys cac %s"\nserial = %s\n' $i $i >"$T/cert$i.tmpl"
	printf 'expiration_days = 30\nsigning_key\n' >>"$T/cert$i.tmpl"
	GNUTLS_PIN=$PIN certtool --generate-self-signed \
	    --provider "$TK_MODULE" --template "$T/cert$i.tmpl" \
	    --load-privkey "pkcs11:serial=$S;id=%0$i;type=private" \
	    --load-pubkey "pkcs11:serial=$S;id=%0$i;type=public" \
	    --outder --outfile "$T/cert$i.der" >/dev/null 2>&1 ||
	    bail "certtool cannot make certificate $i"
	tk_cert_write "$S" $PIN "$T/cert$i.der" 0$i "cac key $i" ||
	    bail "cannot store certificate $i"
done
mkdir "$T/nssdb"
modutil -create -dbdir "sql:$T/nssdb" -force >/dev/null 2>&1 &&
modutil -add softhsm -libfile "$TK_MODULE" -dbdir "sql:$T/nssdb" \
    -force >/dev/null 2>&1 || bail "modutil cannot make the NSS database"

# --------------------------------------------------- pcscd and the bridge
mkdir "$T/readers"
cat >"$T/readers/vpcd" <<EOF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:0x8C7B
LIBPATH      $VPCD_DRIVER
CHANNELID    0x8C7B
EOF
printf 'app default {\n\tuse_file_caching = no;\n}\n' >"$T/opensc.conf"
OPENSC_CONF=$T/opensc.conf
export OPENSC_CONF

pcscd -f -c "$T/readers" >"$T/pcscd.log" 2>&1 &
PCSCD=$!
tk_at_exit "kill $PCSCD 2>/dev/null; wait $PCSCD 2>/dev/null"
"$BRIDGE" "$T/nssdb" 2>"$T/bridge.log" &
BRIDGE_PID=$!
tk_at_exit "kill $BRIDGE_PID 2>/dev/null; wait $BRIDGE_PID 2>/dev/null"

# card_state present|absent: wait (up to 20 s) until pcscd reports that
# (opensc-tool -l asks pcscd only; it does not read the card).
card_state() {
	local i want=Yes
	[ "$1" = absent ] && want=No
	for i in $(seq 100); do
		opensc-tool -l 2>/dev/null | awk -v w=$want '
		    /Virtual PCD 00 00$/ { found = $2 == w }
		    END { exit !found }' && return 0
		sleep 0.2
	done
	return 1
}

if card_state present; then
	ok "the bridge puts the emulated card into pcscd's virtual reader"
else
	not_ok "the bridge puts the emulated card into pcscd's virtual reader"
	diag "bridge:" "$(cat "$T/bridge.log")" "pcscd:" \
	    "$(tail -20 "$T/pcscd.log")"
	bail "no card in the virtual reader"
fi

# ---------------------------------------------------------------- listing
"$TOKENKEYS" list --module "$TK_MODULE" "pkcs11:serial=$S" </dev/null \
    2>/dev/null | tk_blobs >"$T/softhsm.blobs"
is "$(wc -l <"$T/softhsm.blobs" | tr -d ' ')" 2 \
    "the SoftHSM token behind the card holds two keys"
tk_run "$TOKENKEYS" list --module "$OPENSC_MODULE"
is "$rc" 0 "tokenkeys list --module opensc-pkcs11.so succeeds without a PIN"
printf '%s\n' "$out" >"$T/card.pub"
is "$(tk_blobs <"$T/card.pub")" "$(cat "$T/softhsm.blobs")" \
    "...and exports exactly the keys of the SoftHSM token behind the card"
check "...each named by a URI of the CAC token (OpenSC's CAC driver)" \
    test "$(grep -c ' pkcs11:manufacturer=Common%20Access%20Card;.*id=' \
    "$T/card.pub")" = 2

# ---------------------------------------------------------------- agent
# The agent's askpass counts its calls and answers with $T/agent.pin.
cat >"$T/agent-askpass.sh" <<EOF
#!/bin/sh
echo call >>"$T/agent.count"
cat "$T/agent.pin"
EOF
chmod 755 "$T/agent-askpass.sh"
echo $PIN >"$T/agent.pin"
: >"$T/agent.count"
SOCK=$T/agent.sock
SSH_ASKPASS=$T/agent-askpass.sh SSH_ASKPASS_REQUIRE=force DISPLAY= \
    "$TOKENKEYS" agent -D -d -a "$SOCK" \
    "pkcs11:?module-path=$OPENSC_MODULE" \
    </dev/null >"$T/agent.out" 2>"$T/agent.log" &
AGENT=$!
tk_at_exit "kill $AGENT 2>/dev/null; wait $AGENT 2>/dev/null"
sa() { SSH_AUTH_SOCK=$SOCK "$@" </dev/null; }
agent_keys() { sa ssh-add -L 2>/dev/null | grep -c ' pkcs11:'; }

# wait_keys N: until the agent lists N card keys (up to 30 s).
wait_keys() {
	local i
	for i in $(seq 150); do
		[ "$(agent_keys)" = "$1" ] && return 0
		sleep 0.2
	done
	return 1
}
wait_keys 2
is "$(sa ssh-add -L | tk_blobs)" "$(cat "$T/softhsm.blobs")" \
    "the agent serves the card's two keys"
# p11-kit's registry names OpenSC by a symlink (.../pkcs11/opensc-pkcs11.so),
# the URI by its real path: still one module, one helper.
is "$(ps -o args= --ppid "$AGENT" |
    grep -c -E '__helper.*opensc-pkcs11\.so( --events)?$')" 1 \
    "one helper for OpenSC, however it is named"
grep ' pkcs11:' "$T/card.pub" | head -1 >"$T/key.pub"
(printf 'me '; awk '{ print $1, $2 }' "$T/key.pub") >"$T/allowed"
echo "signed through OpenSC" >"$T/msg"

# sign: ssh-keygen -Y sign through the agent; sets rc and ms.
sign() {
	local start
	rm -f "$T/msg.sig"
	start=$(date +%s%N)
	sa ssh-keygen -Y sign -f "$T/key.pub" -n tktest "$T/msg" \
	    >"$T/sign.out" 2>&1
	rc=$?
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
}
verify() {
	ssh-keygen -Y verify -f "$T/allowed" -I me -n tktest \
	    -s "$T/msg.sig" <"$T/msg" >/dev/null 2>&1
}
# signed: the last sign succeeded and its signature verifies.
signed() { [ "$rc" = 0 ] && verify; }
prompts() { wc -l <"$T/agent.count" | tr -d ' '; }

sign
check "ssh-keygen -Y sign through the agent and the card" test "$rc" = 0
check "...and ssh-keygen -Y verify accepts the signature" signed
is "$(prompts)" 1 "...after one PIN prompt"

tk_sshd_setup
cp "$T/card.pub" "$T/home/.ssh/authorized_keys"
chown "$TK_USER" "$T/home/.ssh/authorized_keys"
tk_ssh -o IdentityAgent="$SOCK" -o IdentitiesOnly=yes \
    -o IdentityFile="$T/key.pub" \
    -o PubkeyAcceptedAlgorithms=rsa-sha2-256 test echo logged-in \
    >"$T/ssh.out" 2>&1
check "ssh login with the card's key through the agent (rsa-sha2-256)" \
    grep -q logged-in "$T/ssh.out"
is "$(prompts)" 1 "...without another PIN prompt"

# ---------------------------------------------------------------- removal
n0=$(wc -l <"$T/agent.log")
kill -USR1 $BRIDGE_PID
card_state absent || bail "OpenSC still sees the card after removal"
sign
check "card removed: the signature fails, without hanging (${ms} ms)" \
    test "$rc" != 0 -a "$ms" -lt 5000
diag "ssh-keygen says: $(tr '\n' ' ' <"$T/sign.out")"
check "...and the agent lives on" kill -0 $AGENT
# Either the signature reached the token (and failed), or the agent had
# already seen the card go and no longer listed its key: the log says which.
tail -n +$((n0 + 1)) "$T/agent.log" >"$T/removal.log"
check "...and its log says why" grep -q -e 'failed: the token is not present' \
    -e 'a token was put in, pulled or changed' "$T/removal.log"
start=$(date +%s%N)
sa ssh-add -l >/dev/null 2>&1
lrc=$?
lms=$(( ($(date +%s%N) - start) / 1000000 ))
check "...and ssh-add -l still answers (${lms} ms)" test "$lrc" -le 1

# ---------------------------------------------------------- re-insertion
kill -USR2 $BRIDGE_PID
card_state present || bail "OpenSC does not see the card re-inserted"
wait_keys 2
: >"$T/agent.count"
sign
check "card re-inserted: the next signature succeeds, no ssh-add -e/-s" \
    signed
is "$(prompts)" 1 "...after exactly one PIN prompt"

# ------------------------------------------------------------ quick swap
# Pulled and put back at once: the agent may not have noticed, its session
# and key handles are stale and the card is logged out.  The keys may have
# left the listing meanwhile: they are back within about a second, then the
# user just signs.
kill -USR1 $BRIDGE_PID
card_state absent || bail "OpenSC still sees the card after removal"
kill -USR2 $BRIDGE_PID
card_state present || bail "OpenSC does not see the card re-inserted"
: >"$T/agent.count"
t0=$(date +%s%N)
wait_keys 2
wms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "pulled and put back: its keys are listed again within 3 s (${wms} ms)" \
    test "$wms" -lt 3000
sign
check "...and the next signature succeeds (${ms} ms)" signed
is "$(prompts)" 1 "...after one PIN prompt"

# ------------------------------------------------------------ wrong PIN
# Through OpenSC a wrong PIN may come back as CKR_GENERAL_ERROR, not
# CKR_PIN_INCORRECT: still one try spent, never retried on its own.
kill -USR1 $BRIDGE_PID
card_state absent || bail "OpenSC still sees the card after removal"
kill -USR2 $BRIDGE_PID
card_state present || bail "OpenSC does not see the card re-inserted"
wait_keys 2
echo 0$PIN >"$T/agent.pin"
: >"$T/agent.count"
sign
check "wrong PIN: the signature fails" test "$rc" != 0
is "$(prompts)" 1 \
    "...after one prompt: the agent does not retry on its own"
echo $PIN >"$T/agent.pin"
: >"$T/agent.count"
sign
check "the next signature, with the right PIN, succeeds" \
    signed
is "$(prompts)" 1 "...after one prompt"
# ------------------------------------------- how quickly (figures only)
# The card pulled and put back through the bridge, the agent's listing
# watched every 10 ms: the helper sleeps in OpenSC's C_WaitForSlotEvent,
# so this is pcscd's and OpenSC's notice plus one listing.  Printed for
# doc/performance.md, never asserted (the machine may be busy).
keys_ms() {
	local t0=$(date +%s%N) i
	for i in $(seq 2000); do
		[ "$(agent_keys)" = "$1" ] && break
		sleep 0.01
	done
	echo $(( ($(date +%s%N) - t0) / 1000000 ))
}
ins=
outs=
for i in 1 2 3 4 5; do
	sleep 0.$((RANDOM % 10))
	kill -USR1 $BRIDGE_PID
	outs="$outs $(keys_ms 0)"
	sleep 0.$((RANDOM % 10))
	kill -USR2 $BRIDGE_PID
	ins="$ins $(keys_ms 2)"
done
diag "card put back -> keys listed, ms:$ins; pulled -> gone, ms:$outs"

# ------------------------------------- keygen, passwd, delete on the card
# What the emulated CAC card cannot do fails with one clear line, before
# any PIN is asked or tried, and leaves the card as it was.
export SSH_ASKPASS=$T/agent-askpass.sh SSH_ASKPASS_REQUIRE=force
unset DISPLAY WAYLAND_DISPLAY
card="pkcs11:manufacturer=Common%20Access%20Card"
# verb ARGS...: tokenkeys ARGS --module OpenSC on the card; $rc, $T/v.err,
# and $said: its lines that are tokenkeys' own (not the keys shown)
verb() {
	: >"$T/agent.count"
	"$TOKENKEYS" "$@" --module "$OPENSC_MODULE" "$card" </dev/null \
	    >"$T/v.out" 2>"$T/v.err"
	rc=$?
	said=$(grep -c '^tokenkeys: ' "$T/v.err")
}
# card_keys: the card's keys are still the two it had
card_keys() {
	"$TOKENKEYS" list --module "$OPENSC_MODULE" "$card" </dev/null \
	    2>/dev/null | tk_blobs >"$T/now"
	cmp -s "$T/now" "$T/softhsm.blobs"
}
verb keygen -t rsa -b 2048
is "$rc:$(prompts):$said:$(cat "$T/v.out")" "1:0:1:" \
    "keygen on the CAC card: refused before any PIN, in one line"
check "...saying it cannot make key pairs" grep -q \
    'token "tokenkeys cac [0-9]" cannot make key pairs at all' "$T/v.err"
verb passwd
is "$rc:$said" "1:1" "passwd on the CAC card: fails in one line"
check "...saying the PIN was not changed and why" grep -q \
    'the PIN was not changed: the token' "$T/v.err"
tk_run env SSH_ASKPASS="$T/agent-askpass.sh" "$TOKENKEYS" list --login \
    --module "$OPENSC_MODULE" "$card"
is "$rc:$(printf '%s\n' "$out" | tk_blobs)" "0:$(cat "$T/softhsm.blobs")" \
    "...and the old PIN still logs in"
verb unblock
is "$rc:$said" "1:1" "unblock on the CAC card: fails in one line"
verb delete --yes --all
is "$rc:$said" "1:1" "delete on the CAC card: fails in one line"
check "...saying the card does not let its keys be deleted, nothing was" \
    grep -q 'does not let its keys be deleted; nothing of this key was deleted' \
    "$T/v.err"
check "...and the card still has both keys" card_keys
if [ "$tk_failed" -gt 0 ]; then
	diag "agent log:" "$(tail -30 "$T/agent.log")" "bridge log:" \
	    "$(cat "$T/bridge.log")"
fi

done_testing
