#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Record the seed corpus of fuzz-agent (tests/fuzz/corpus/agent) from real
# traffic: `tokenkeys agent` serves a throwaway SoftHSM token, and the
# stock ssh-add and ssh talk to it through tests/fuzz/agent-record, which
# writes what each client sent.  One seed per scenario: ssh-add -l, -L,
# -T, -s/-e, -d/-D, -x/-X, -c, -t, -h, a software key, and (as root, with
# a throwaway sshd) an ssh login and ssh -A, also with ssh-add -h.  Keys are fresh on every run:
# commit the result, do not run this in make check.
#
#	tests/fuzz/record-agent.sh [OUTDIR]
#	(needs a built ./tokenkeys and `make tests/fuzz/agent-record`)
set -u

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
outdir=${1:-$srcdir/tests/fuzz/corpus/agent}
TOKENKEYS=${TOKENKEYS:-$srcdir/tokenkeys}
REC=${AGENT_RECORD:-$srcdir/tests/fuzz/agent-record}
export TOKENKEYS
. "$srcdir/tests/lib.sh"

[ -x "$REC" ] || bail "$REC not built (make tests/fuzz/agent-record)"
[ -x "$TOKENKEYS" ] || bail "$TOKENKEYS not built"
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
tk_tmpdir
tk_softhsm_init "$T"
PIN=1234
S=$(tk_token_new "tk fuzz" $PIN 12345678) || bail "cannot create a token"
tk_keygen "$S" $PIN rsa:2048 01 rsa2048 &&
tk_keygen "$S" $PIN EC:prime256v1 02 ec256 &&
tk_keygen "$S" $PIN EC:edwards25519 05 ed25519 || bail "cannot make keys"

# PINs and confirmations for the agent; lock passwords for ssh-add
cat >"$T/agent-askpass.sh" <<EOF
#!/bin/sh
[ "\$SSH_ASKPASS_PROMPT" = confirm ] && exit 0
echo $PIN
EOF
printf '#!/bin/sh\necho %s\n' $PIN >"$T/pin.sh"
printf '#!/bin/sh\necho lockpw\n' >"$T/lockpw.sh"
printf '#!/bin/sh\necho wrongpw\n' >"$T/wrongpw.sh"
chmod 755 "$T"/*.sh

SSH_ASKPASS=$T/agent-askpass.sh SSH_ASKPASS_REQUIRE=force \
    "$TOKENKEYS" agent -D -d -a "$T/agent.sock" </dev/null \
    >"$T/agent.out" 2>"$T/agent.log" &
apid=$!
tk_at_exit "kill $apid 2>/dev/null; wait $apid 2>/dev/null"
for i in $(seq 100); do
	[ -S "$T/agent.sock" ] &&
	    SSH_AUTH_SOCK=$T/agent.sock ssh-add -l >/dev/null 2>&1 && break
	sleep 0.1
done
SSH_AUTH_SOCK=$T/agent.sock ssh-add -L >"$T/keys.pub" ||
    bail "the agent does not list the token's keys"
grep 'object=ec256' "$T/keys.pub" >"$T/ec256.pub"
grep 'object=rsa2048' "$T/keys.pub" >"$T/rsa2048.pub"
grep 'object=ed25519' "$T/keys.pub" >"$T/ed25519.pub"
ssh-keygen -q -t ed25519 -N '' -C soft -f "$T/soft"

sa() { SSH_AUTH_SOCK=$T/agent.sock "$@" </dev/null >/dev/null 2>&1; }
lockpw() { env SSH_ASKPASS="$T/$1" SSH_ASKPASS_REQUIRE=force "${@:2}"; }
pin() { env SSH_ASKPASS="$T/pin.sh" SSH_ASKPASS_REQUIRE=force "$@"; }
M=$TK_MODULE

# record NAME CMD...: run CMD with SSH_AUTH_SOCK on the recorder, save
# what its clients sent as $outdir/NAME.
rpid=
record() {
	local name=$1 i
	shift
	# every scenario starts from the whole token served, unlocked
	sa pin ssh-add -s "pkcs11:"
	rm -f "$T/rec.sock"
	"$REC" "$T/rec.sock" "$T/agent.sock" "$T/$name.seed" &
	rpid=$!
	for i in $(seq 50); do
		[ -S "$T/rec.sock" ] && break
		sleep 0.1
	done
	SSH_AUTH_SOCK=$T/rec.sock "$@" </dev/null >>"$T/clients.log" 2>&1
	kill -TERM "$rpid"
	wait "$rpid" || bail "agent-record failed for $name"
	cp "$T/$name.seed" "$outdir/$name"
	echo "record-agent: $name: $(wc -c <"$outdir/$name") bytes"
}


record ssh-add-l ssh-add -l
record ssh-add-L ssh-add -L
record ssh-add-T bash -c "ssh-add -T '$T/ec256.pub'; ssh-add -T \
    '$T/rsa2048.pub'; ssh-add -T '$T/ed25519.pub'"
record ssh-add-s-e bash -c "$(declare -f pin); M='$M'; T='$T'
	pin ssh-add -s \"\$M\"; ssh-add -l; ssh-add -e \"\$M\"
	pin ssh-add -s 'pkcs11:object=ec256'; ssh-add -e 'pkcs11:object=ec256'
	ssh-add -e /nonexistent/module.so; ssh-add -l"
record ssh-add-d-D bash -c "ssh-add -d '$T/ec256.pub'; ssh-add -l;
	ssh-add -D; ssh-add -l"
record ssh-add-x-X bash -c "$(declare -f lockpw); T='$T'
	lockpw lockpw.sh ssh-add -x; ssh-add -l; ssh-add -T '$T/ec256.pub'
	lockpw wrongpw.sh ssh-add -X; lockpw lockpw.sh ssh-add -X; ssh-add -l"
record ssh-add-c bash -c "$(declare -f pin); M='$M'; T='$T'
	pin ssh-add -c -s \"\$M\"; ssh-add -T '$T/ed25519.pub'
	ssh-add -c '$T/soft'; ssh-add -e \"\$M\""
# ssh-add -h, as Debian's ssh-add sends it (host keys from a file)
ssh-keygen -q -t ed25519 -N '' -f "$T/hk1" && ssh-keygen -q -t rsa -b 2048 \
    -N '' -f "$T/hk2" || bail "cannot make host keys"
{ echo "hosta $(cut -d' ' -f1,2 "$T/hk1.pub")"
  echo "hostb $(cut -d' ' -f1,2 "$T/hk2.pub")"
  echo "@cert-authority hostb $(cut -d' ' -f1,2 "$T/hk1.pub")"; } >"$T/dkh"
record ssh-add-h bash -c "$(declare -f pin); T='$T'
	pin ssh-add -H '$T/dkh' -h hosta -h 'hosta>u@hostb' \
	    -s 'pkcs11:object=ec256'; ssh-add -l
	pin ssh-add -c -t 60 -H '$T/dkh' -h 'u*@hostb' -s pkcs11:
	ssh-add -l; ssh-add -e pkcs11:"
record ssh-add-t bash -c "$(declare -f pin); M='$M'; T='$T'
	pin ssh-add -t 600 -s \"\$M\"; ssh-add -l
	pin ssh-add -t 1h -c -s 'pkcs11:object=rsa2048'
	ssh-add -t 60 '$T/soft'; ssh-add '$T/soft'; ssh-add -e \"\$M\""

if [ "$(id -u)" -eq 0 ] && [ -x /usr/sbin/sshd ]; then
	tk_sshd_setup
	tk_at_exit "find /tmp -maxdepth 1 -name 'ssh-*' -user $TK_USER \
	    -exec rm -rf {} + 2>/dev/null"
	cp "$T/keys.pub" "$T/home/.ssh/authorized_keys"
	chown "$TK_USER" "$T/home/.ssh/authorized_keys"
	record ssh-login tk_ssh -o IdentityAgent="$T/rec.sock" \
	    -o IdentitiesOnly=yes -o IdentityFile="$T/ec256.pub" test true
	record ssh-A tk_ssh -A -o IdentityAgent="$T/rec.sock" \
	    -o IdentitiesOnly=yes -o IdentityFile="$T/rsa2048.pub" test \
	    "ssh-add -l; ssh-add -L; ssh-add -T $T/ed25519.pub;
	    ssh-add -s pkcs11: </dev/null; ssh-add -D"
	# destination constraints (ssh-add -h): the constraint, then a
	# login and a forwarded agent where they permit it
	echo "test $(cut -d' ' -f1,2 "$T/hostkey.pub")" >"$T/kh"
	record ssh-add-h-login bash -c "$(declare -f pin tk_ssh); T='$T'
	pin ssh-add -H '$T/kh' -h test -s 'pkcs11:object=ec256'
	tk_ssh -o IdentityAgent='$T/rec.sock' -o IdentitiesOnly=yes \
	    -o IdentityFile='$T/ec256.pub' -o UserKnownHostsFile='$T/kh' \
	    test true"
	record ssh-add-h-A bash -c "$(declare -f pin tk_ssh); T='$T'
	pin ssh-add -H '$T/kh' -h test -h 'test>test' -s 'pkcs11:object=ec256'
	tk_ssh -A -o IdentityAgent='$T/rec.sock' -o IdentitiesOnly=yes \
	    -o IdentityFile='$T/ec256.pub' -o UserKnownHostsFile='$T/kh' \
	    test 'ssh-add -l; ssh-add -T $T/ec256.pub'"
	grep -q 'forwarded' "$T/agent.log" ||
	    echo "record-agent: no forwarded connection was seen" >&2
else
	echo "record-agent: not root: no ssh-login and ssh-A seeds" >&2
fi
echo "record-agent: wrote $(ls "$outdir" | wc -l) seeds to $outdir"
