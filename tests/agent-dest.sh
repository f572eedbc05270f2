#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Destination constraints end to end: Debian's own ssh-add -h and
# tokenkeys agent --dest, two throwaway sshds with different host keys
# (host A and host B, both ProxyCommands), and ssh -A from A onward to B
# (B's sshd run on "A" by the throwaway user, as agent-ssh.sh does).
# A key constrained to A logs into A and not into B; through A to B only
# with -h A -h 'A>B'; on the connection forwarded to A it is listed only
# when it may go beyond A.  Needs root (throwaway user, sshd).

. "$(dirname "$0")/lib.sh"

tk_need_root
for tool in softhsm2-util pkcs11-tool ssh ssh-add ssh-keygen /usr/sbin/sshd \
    setpriv; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
POKE=${abs_top_builddir:-$TK_TESTDIR/..}/tests/agent-poke
[ -x "$POKE" ] || skip_all "$POKE not built (make check builds it)"

plan 57

tk_tmpdir
tk_softhsm_init "$T"
PIN=1234
S=$(tk_token_new "tk dest" $PIN 12345678) || bail "cannot create a token"
tk_keygen "$S" $PIN EC:prime256v1 02 ec256 || bail "cannot make a key"
URI="pkcs11:token=tk%20dest;object=ec256"
tk_agent_askpass
echo $PIN >"$T/agent.pin"
printf '#!/bin/sh\necho\n' >"$T/empty.sh"
chmod 755 "$T/empty.sh"

# ------------------------------------------------------- hosts A and B
tk_sshd_setup
# sshd leaves the forwarded agents' /tmp/ssh-* directories behind.
tk_at_exit "find /tmp -maxdepth 1 -name 'ssh-*' -user $TK_USER \
    -exec rm -rf {} + 2>/dev/null"
B=$T/home/hostb
mkdir -p "$B"
ssh-keygen -q -t ed25519 -N '' -C tk-hostkey-b -f "$B/hostkey" ||
    bail "host key B"
sed "s|^HostKey .*|HostKey $B/hostkey|;
    s|^AuthorizedKeysFile .*|AuthorizedKeysFile $T/home/.ssh/authorized_keys|" \
    "$T/sshd_config" >"$B/sshd_config"
printf 'hosta %s\nhostb %s\n' "$(cut -d' ' -f1,2 "$T/hostkey.pub")" \
    "$(cut -d' ' -f1,2 "$B/hostkey.pub")" >"$T/known_hosts"
cat >>"$T/ssh_config" <<EOF
Host hosta hostb
  UserKnownHostsFile $T/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  User $TK_USER
  IdentityAgent $T/main.sock
  IdentitiesOnly yes
  IdentityFile $T/ec256.pub
  PreferredAuthentications publickey
  BatchMode yes
  ControlMaster no
  ControlPath none
Host hosta
  ProxyCommand /usr/sbin/sshd -i -f $T/sshd_config -E $T/sshd-a.log
Host hostb
  ProxyCommand /usr/sbin/sshd -i -f $B/sshd_config -E $T/sshd-b.log
EOF
# On A, the way on to B: the same sshd, run by the user itself.
grep '^hostb ' "$T/known_hosts" >"$B/known_hosts"
cat >"$B/ssh_config" <<EOF
Host hostb
  ProxyCommand /usr/sbin/sshd -i -f $B/sshd_config -E $B/sshd-onward.log
  UserKnownHostsFile $B/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  IdentitiesOnly yes
  IdentityFile $B/ec256.pub
  PreferredAuthentications publickey
  BatchMode yes
EOF

# sa ARGS...: a client of the agent on $T/main.sock.
sa() { SSH_AUTH_SOCK=$T/main.sock "$@" </dev/null; }

# login HOST [ssh args...]: log in and say hello; output in $T/ssh.out.
login() {
	local host=$1
	shift
	tk_ssh "$@" "$host" echo "hello-from-$host" >"$T/ssh.out" 2>&1
}

# onward: ssh -A to A, and from there to B.
onward() {
	tk_ssh -A hosta "ssh -F $B/ssh_config hostb echo onward-ok" \
	    >"$T/ssh.out" 2>&1
	grep -q onward-ok "$T/ssh.out"
}

# listed_on_a: what ssh-add -l shows on A, through the forwarded agent.
listed_on_a() {
	tk_ssh -A hosta 'ssh-add -l' 2>&1 | grep -c 'ECDSA'
}

# ------------------------------------------------ an empty agent first
tk_agent_start main --empty || bail "the agent does not start"
sa ssh-add -l >"$T/out" 2>&1
is "$?" 1 "agent --empty: ssh-add -l finds no key at start"
check "...and the log says it serves nothing until ssh-add -s" \
    grep -q 'serving no key until ssh-add -s' "$T/main.log"
check "-d logs a listing request" grep -q 'request 11 (list keys)' \
    "$T/main.log"

sa env SSH_ASKPASS="$T/empty.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -H "$T/known_hosts" -h hosta -s "$URI" >"$T/out" 2>&1
is "$?" 0 "ssh-add -h hosta -s URI is taken"
sa ssh-add -L | grep 'object=ec256' | cut -d' ' -f1,2 >"$T/ec256.pub"
check "...and the key is listed locally" test -s "$T/ec256.pub"
cp "$T/ec256.pub" "$T/home/.ssh/authorized_keys"
cp "$T/ec256.pub" "$B/ec256.pub"
chown -R "$TK_USER" "$T/home"

login hosta
check "a key constrained to A logs into A" grep -q hello-from-hosta \
    "$T/ssh.out" || diag "$(cat "$T/ssh.out")" "$(tail -5 "$T/main.log")"
: >"$T/sshd-b.log"
login hostb
check "...and not into B" sh -c "! grep -q hello-from-hostb '$T/ssh.out'"
check "...B's sshd accepted no key" \
    sh -c "! grep -q 'Accepted publickey' '$T/sshd-b.log'"
is "$(listed_on_a)" 0 "ssh -A to A: the key is not listed there (it may \
not go beyond A)"
onward
check "ssh -A to A, then on to B: refused" \
    sh -c "! grep -q onward-ok '$T/ssh.out'"

# SSHSIG (git signing) with a constrained key: refused, as OpenSSH does
echo data >"$T/data"
sa ssh-keygen -Y sign -f "$T/ec256.pub" -n file "$T/data" >/dev/null 2>&1
check "ssh-keygen -Y sign with a constrained key is refused" \
    test ! -s "$T/data.sig"
check "...and the log says why" grep -q 'not bound to an ssh session' \
    "$T/main.log"

# Message 26 with the constraint in encodings no ssh-add sends, over the
# socket (tests/agent-poke): each refused, the connection kept, the agent
# serving on; the log says why.
hex() { od -An -v -tx1 | tr -d ' \n'; }
str() { printf '%s' "$1" | hex; }
sshstr() { printf '%08x%s' $((${#1} / 2)) "$1"; }
hk=$(cut -d' ' -f2 "$T/hostkey.pub" | base64 -d | hex)
hop() { sshstr "$(sshstr "$(str "$1")")$(sshstr "$(str "$2")")$(sshstr '')$3"; }
dst() { sshstr "$1$2$(sshstr '')"; }
frame26() {
	local b
	b="1a$(sshstr "$(str "$URI")")$(sshstr '')ff$(sshstr \
	    "$(str "${2:-restrict-destination-v00@openssh.com}")")$(sshstr "$1")"
	printf '%08x%s' $((${#b} / 2)) "$b"
}
hk0="$(sshstr "$hk")00"
origin=$(hop '' '' '')
"$POKE" "$T/main.sock" \
    raw "$(frame26 "$(sshstr '')$(sshstr "$(str hosta)")$hk0")" \
    raw "$(frame26 "$(dst "$origin" "$(hop '' '' "$hk0")")")" \
    raw "$(frame26 "$(dst "$(hop alice hosta "$hk0")" "$(hop '' hostb \
	"$hk0")")")" \
    raw "$(frame26 "$(dst "$origin" "$(hop "$(printf '%0257d' 0)" hosta \
	"$hk0")")")" \
    raw "$(frame26 "$(sshstr "$origin$(hop '' hosta "$hk0")$(sshstr '')00")")" \
    raw "$(frame26 "$(dst "$origin" "$(hop '' hosta "$hk0")")" \
	frobnicate@example.com)" \
    list >"$T/poke.out" 2>&1
is "$(tr '\n' ' ' <"$T/poke.out")" "failure failure failure failure \
failure failure keys 1 " "ssh-add -h encodings no client sends (flat, empty \
host, from-user, 257-byte user, trailing bytes, an unknown extension): \
each refused, the connection goes on"
for why in 'the from hop is missing' 'the to hop has no host name' \
    'names a user on the from hop' 'is over 256 bytes' 'bytes after it' \
    'extension "frobnicate@example.com" is not implemented'; do
	grep -q "$why" "$T/main.log" || break
done
check "...and the log says why, each time" grep -q "$why" "$T/main.log"

# ssh-add -D: the protocol-1 remove-all it also sends is not noise
sa ssh-add -D >/dev/null 2>&1
is "$?" 0 "ssh-add -D"
check "...leaves no \"not supported\" line in the log" \
    sh -c "! grep -q 'request type 9 is not supported' '$T/main.log'"
sa ssh-add -l >/dev/null 2>&1
is "$?" 1 "...and removed the key"

# the control: without constraints the same key logs into B straight
sa env SSH_ASKPASS="$T/empty.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -s "$URI" >"$T/out" 2>&1
login hostb
check "without constraints (ssh-add -s alone) the key logs into B" \
    grep -q hello-from-hostb "$T/ssh.out" ||
    diag "$(cat "$T/ssh.out")" "$(tail -5 "$T/sshd-b.log")"
sa ssh-add -D >/dev/null 2>&1

sa env SSH_ASKPASS="$T/empty.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -H "$T/known_hosts" -h hosta -h 'hosta>hostb' -s "$URI" \
    >"$T/out" 2>&1
is "$?" 0 "ssh-add -h hosta -h 'hosta>hostb' -s URI is taken"
is "$(listed_on_a)" 1 "ssh -A to A: now the key is listed there"
if onward; then
	ok "ssh -A to A, then on to B: logged in"
else
	not_ok "ssh -A to A, then on to B: logged in"
	diag "$(cat "$T/ssh.out")" "$(tail -5 "$B/sshd-onward.log")" \
	    "$(tail -8 "$T/main.log")"
fi
login hostb
check "...but straight to B still not" \
    sh -c "! grep -q hello-from-hostb '$T/ssh.out'"

# the confirm prompt of a constrained key names the user and the host
sa ssh-add -D >/dev/null 2>&1
: >"$T/prompts"
sa env SSH_ASKPASS="$T/empty.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -c -H "$T/known_hosts" -h hosta -s "$URI" >"$T/out" 2>&1
is "$?" 0 "ssh-add -c -h hosta -s URI is taken"
login hosta
check "...the login to A is confirmed and done" grep -q hello-from-hosta \
    "$T/ssh.out"
check "...and the prompt named user and host" \
    grep -q "to log in as \"$TK_USER\" on hosta?" "$T/prompts"
check "the start-up listing is logged as what it is" \
    grep -Eq 'serving ([0-9]+ key\(s\)|no key until ssh-add -s)' \
    "$T/main.log"
check "...not as a token put in, pulled or changed" \
    sh -c "! grep -q 'a token was put in, pulled or changed' '$T/main.log'"
tk_agent_stop "$TK_AGENT_PID"

# ---------------------------------------------------- agent --dest
"$TOKENKEYS" agent -D --dest nosuchhost --known-hosts "$T/known_hosts" \
    -a "$T/bad.sock" "$URI" </dev/null >"$T/out" 2>&1
is "$?" 1 "agent --dest with a host not in known_hosts: refused"
check "...saying what to do" grep -q 'no host key for "nosuchhost"' \
    "$T/out"
"$TOKENKEYS" agent -D --dest 'alice@hosta>hostb' --known-hosts \
    "$T/known_hosts" -a "$T/bad.sock" "$URI" </dev/null >"$T/out" 2>&1
is "$?" 2 "agent --dest with a user on the first host: refused"
"$TOKENKEYS" agent -D --empty --dest hosta -a "$T/bad.sock" \
    </dev/null >"$T/out" 2>&1
is "$?" 2 "agent --empty --dest: refused (nothing to constrain)"
check "no socket was left behind" test ! -e "$T/bad.sock"

tk_agent_start main --dest hosta --known-hosts "$T/known_hosts" "$URI" ||
    bail "the agent does not start"
login hosta
check "agent --dest hosta: logs into A" grep -q hello-from-hosta \
    "$T/ssh.out" || diag "$(cat "$T/ssh.out")" "$(tail -5 "$T/main.log")"
login hostb
check "...not into B" sh -c "! grep -q hello-from-hostb '$T/ssh.out'"
is "$(listed_on_a)" 0 "...not listed on the connection forwarded to A"
tk_agent_stop "$TK_AGENT_PID"

# hashed known_hosts names, as ssh writes them with HashKnownHosts yes
cp "$T/known_hosts" "$T/known_hosts.hashed"
ssh-keygen -q -H -f "$T/known_hosts.hashed" >/dev/null 2>&1
rm -f "$T/known_hosts.hashed.old"
check "the hashed file has no plain host name" \
    sh -c "! grep -q 'hosta' '$T/known_hosts.hashed'"
tk_agent_start main --dest hosta --dest 'hosta>hostb' \
    --known-hosts "$T/known_hosts.hashed" "$URI" ||
    bail "the agent does not start"
is "$(listed_on_a)" 1 "agent --dest hosta --dest 'hosta>hostb' (hashed \
known_hosts): listed on A"
if onward; then
	ok "...and ssh -A to A, then on to B, logs in"
else
	not_ok "...and ssh -A to A, then on to B, logs in"
	diag "$(cat "$T/ssh.out")" "$(tail -8 "$T/main.log")"
fi
login hostb
check "...while straight to B does not" \
    sh -c "! grep -q hello-from-hostb '$T/ssh.out'"
tk_agent_stop "$TK_AGENT_PID"

# ------------------------------- a host certificate and @cert-authority
ssh-keygen -q -t ed25519 -N '' -C tk-host-ca -f "$T/hostca" ||
    bail "host CA key"
ssh-keygen -q -s "$T/hostca" -h -I hosta -n hosta "$T/hostkey.pub" ||
    bail "cannot certify host key A"
echo "HostCertificate $T/hostkey-cert.pub" >>"$T/sshd_config"
echo "@cert-authority hosta $(cut -d' ' -f1,2 "$T/hostca.pub")" \
    >"$T/known_hosts.ca"
tk_agent_start main --empty || bail "the agent does not start"
sa env SSH_ASKPASS="$T/empty.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -H "$T/known_hosts.ca" -h hosta -s "$URI" >"$T/out" 2>&1
is "$?" 0 "ssh-add -h hosta with only a @cert-authority line for A: taken"
login hosta -v -o UserKnownHostsFile="$T/known_hosts.ca"
check "...A shows its host certificate" \
    grep -q 'Server host certificate' "$T/ssh.out"
check "...and the key logs in there (the binding's certificate matched \
the CA)" grep -q hello-from-hosta "$T/ssh.out" ||
    diag "$(grep -v '^debug' "$T/ssh.out")" "$(tail -5 "$T/main.log")"
tk_agent_stop "$TK_AGENT_PID"

# --------------------- certificates with destination constraints
# Both sshds now trust a user CA and have no authorized_keys: only the
# certificate of the token key gets in.  One message 26 carries both
# constraints, restrict-destination first and then associated-certs, as
# OpenSSH 9.6+'s ssh-add -C -h hosta -s URI cert.pub sends them (Debian's
# 9.2 cannot: tests/agent-poke sends it).
ssh-keygen -q -t ed25519 -N '' -C tk-user-ca -f "$T/userca" ||
    bail "user CA key"
cp "$T/ec256.pub" "$T/uc.pub"
ssh-keygen -q -s "$T/userca" -I id-dest -n tk-principal -V -5m:+1h \
    "$T/uc.pub" || bail "cannot certify the token key"
mkdir -p "$T/principals"
echo tk-principal >"$T/principals/$TK_USER"
for cfg in "$T/sshd_config" "$B/sshd_config"; do
	# the plain host keys again: the constraints name those
	sed -i "s|^AuthorizedKeysFile .*|AuthorizedKeysFile none|;
	    /^HostCertificate /d" "$cfg"
	printf 'TrustedUserCAKeys %s\nAuthorizedPrincipalsFile %s\n' \
	    "$T/userca.pub" "$T/principals/%u" >>"$cfg"
done
# ssh signs for a certificate with a private key of the same public key
# that it was given: the certificate must be the only identity file
sed -i "s|^  IdentityFile $T/ec256.pub|  IdentityFile $T/uc-cert.pub|" \
    "$T/ssh_config"
cert=$(cut -d' ' -f2 "$T/uc-cert.pub")
# fwd_list: logged into A with the certificate, is any key listed there?
fwd_list() {
	tk_ssh -A hosta \
	    'ssh-add -l; echo listed-on-a' >"$T/fwd.out" 2>&1
	if grep -q listed-on-a "$T/fwd.out" && ! grep -q ECDSA "$T/fwd.out"
	then
		ok "...ssh -A to A with it: not listed there (not beyond A)"
	else
		not_ok "...ssh -A to A with it: not listed there (not beyond A)"
		diag "$(cat "$T/fwd.out")"
	fi
}
tk_agent_start main --empty || bail "the agent does not start"
"$POKE" "$T/main.sock" certs "$URI" 1 "$T/uc-cert.pub" \
    "dest=$(dst "$origin" "$(hop '' hosta "$hk0")")" list >"$T/poke.out"
is "$(tr '\n' ' ' <"$T/poke.out")" "success keys 1 " "message 26 with \
restrict-destination (hosta) and associated-certs (certs only): taken, one \
identity"
check "...the certificate, listed locally" \
    sh -c "SSH_AUTH_SOCK='$T/main.sock' ssh-add -L | grep -qF '$cert'"
login hosta
check "the certificate constrained to A logs into the CA-trusting A" \
    grep -q hello-from-hosta "$T/ssh.out" ||
    diag "$(cat "$T/ssh.out")" "$(tail -5 "$T/main.log")"
check "...as a certificate" \
    grep -q 'Accepted publickey.*ECDSA-CERT.*ID id-dest' "$T/sshd-a.log"
: >"$T/sshd-b.log"
login hostb
check "...and not into the CA-trusting B" \
    sh -c "! grep -q hello-from-hostb '$T/ssh.out'"
check "...B's sshd accepted no key" \
    sh -c "! grep -q 'Accepted publickey' '$T/sshd-b.log'"
fwd_list

sa ssh-add -D >/dev/null 2>&1
"$POKE" "$T/main.sock" certs "$URI" 1 "$T/uc-cert.pub" ok >"$T/poke.out"
login hostb
check "the control: without destinations the certificate logs into B" \
    grep -q hello-from-hostb "$T/ssh.out" ||
    diag "$(cat "$T/ssh.out")" "$(tail -5 "$T/sshd-b.log")"

# -h hosta -h 'hosta>hostb' with the certificate: on from A to B
sa ssh-add -D >/dev/null 2>&1
hkb0="$(sshstr "$(cut -d' ' -f2 "$B/hostkey.pub" | base64 -d | hex)")00"
"$POKE" "$T/main.sock" certs "$URI" 1 "$T/uc-cert.pub" "dest=$(dst \
    "$origin" "$(hop '' hosta "$hk0")")$(dst "$(hop '' hosta "$hk0")" \
    "$(hop '' hostb "$hkb0")")" >"$T/poke.out"
cp "$T/uc-cert.pub" "$B/"
sed -i "s|IdentityFile .*|IdentityFile $B/uc-cert.pub|" "$B/ssh_config"
chown -R "$TK_USER" "$B"
if onward; then
	ok "the certificate with -h hosta -h 'hosta>hostb': ssh -A to A, then \
on to B"
else
	not_ok "the certificate with -h hosta -h 'hosta>hostb': ssh -A to A, \
then on to B"
	diag "$(cat "$T/ssh.out")" "$(tail -5 "$B/sshd-onward.log")" \
	    "$(tail -8 "$T/main.log")"
fi
check "...B's sshd took the certificate" \
    grep -q 'Accepted publickey.*ECDSA-CERT.*ID id-dest' "$B/sshd-onward.log"
login hostb
check "...but straight to B not" \
    sh -c "! grep -q hello-from-hostb '$T/ssh.out'"
tk_agent_stop "$TK_AGENT_PID"

# agent --dest hosta: a certificate from the certs directory is held to
# it too
mkdir -p "$T/xdg/tokenkeys/certs"
chmod -R 700 "$T/xdg"
cp "$T/uc-cert.pub" "$T/xdg/tokenkeys/certs/"
XDG_CONFIG_HOME=$T/xdg tk_agent_start main --dest hosta \
    --known-hosts "$T/known_hosts" "$URI" || bail "the agent does not start"
check "agent --dest hosta: the certs directory's certificate is served" \
    sh -c "SSH_AUTH_SOCK='$T/main.sock' ssh-add -L | grep -qF '$cert'"
login hosta
check "...it logs into the CA-trusting A" grep -q hello-from-hosta \
    "$T/ssh.out" || diag "$(cat "$T/ssh.out")" "$(tail -5 "$T/main.log")"
login hostb
check "...and not into B" sh -c "! grep -q hello-from-hostb '$T/ssh.out'"
fwd_list
tk_agent_stop "$TK_AGENT_PID"

done_testing
