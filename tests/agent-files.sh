#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys agent follows its files by inotify: a module config dropped
# into the user's p11-kit module directory and a certificate dropped into
# the certs directory, both directories made only after the agent
# started, are picked up within seconds; and an idle agent does not look
# at p11-kit's configuration or the certificate files at all (strace on
# the agent: no stat or open of them while nothing changes), where it
# used to look every 2 s.  p11-kit ignores user configuration for root,
# so the agent runs as a throwaway user with a private HOME and
# XDG_CONFIG_HOME.  Needs root and strace.

. "$(dirname "$0")/lib.sh"

tk_need_root
for tool in softhsm2-util pkcs11-tool ssh-add ssh-keygen setpriv strace \
    useradd; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"

plan 9

tk_tmpdir
tk_softhsm_init "$T"
S=$(tk_token_new "tk files" 1234 12345678) || bail "cannot create a token"
tk_keygen "$S" 1234 EC:prime256v1 01 fileskey || bail "cannot make a key"
"$TOKENKEYS" list --module "$TK_MODULE" "pkcs11:token=tk%20files" \
    >"$T/key.pub" 2>"$T/err" && [ -s "$T/key.pub" ] ||
    bail "tokenkeys list failed: $(cat "$T/err")"
ssh-keygen -q -t ed25519 -N '' -C tk-files-ca -f "$T/ca" || bail "CA key"
cp "$T/key.pub" "$T/id.pub"
ssh-keygen -q -s "$T/ca" -I id-files -n tk -V -1h:+1h "$T/id.pub" ||
    bail "cannot certify the token key"

# The throwaway user; its p11-kit user config says "only", so the
# registry starts empty.  Neither the user's module directory nor the
# certs directory exists yet.
TK_USER=tk$$
while getent passwd "$TK_USER" >/dev/null; do
	TK_USER=tk$$r$RANDOM
done
useradd -M -d "$T/home" -s /bin/sh "$TK_USER" || bail "useradd failed"
tk_at_exit "tk_user_remove $TK_USER"
RH=$T/home
MODDIR=$RH/.config/pkcs11/modules
CERTDIR=$RH/.config/tokenkeys/certs
mkdir -p "$RH/.config/pkcs11"
echo "user-config: only" >"$RH/.config/pkcs11/pkcs11.conf"
printf 'module: %s\n' "$TK_MODULE" >"$T/tk-softhsm.module"
chmod 755 "$RH"
chown -R "$TK_USER" "$RH" "$T/tokens"
UGID=$(id -g "$TK_USER")
tk_user_reach "$TK_USER" TOKENKEYS
as_user() {
	setpriv --reuid="$TK_USER" --regid="$UGID" --clear-groups \
	    env HOME="$RH" XDG_CONFIG_HOME="$RH/.config" "$@" </dev/null
}

setpriv --reuid="$TK_USER" --regid="$UGID" --clear-groups \
    env HOME="$RH" XDG_CONFIG_HOME="$RH/.config" SSH_ASKPASS=/bin/false \
    SSH_ASKPASS_REQUIRE=force DISPLAY= \
    "$TOKENKEYS" agent -D -d -a "$RH/agent.sock" \
    </dev/null >"$T/agent.out" 2>"$T/agent.log" &
APID=$!
tk_at_exit "kill $APID 2>/dev/null"
for i in $(seq 150); do
	[ -S "$RH/agent.sock" ] && break
	sleep 0.1
done
[ -S "$RH/agent.sock" ] || bail "the agent does not start: $(cat "$T/agent.log")"
sa() { as_user SSH_AUTH_SOCK="$RH/agent.sock" "$@"; }
keys() { sa ssh-add -L 2>/dev/null | grep -c '^[a-z]'; }
has_cert() { sa ssh-add -L 2>/dev/null | grep -qF "$cblob"; }
no_cert() { ! has_cert; }
is "$(keys)" 0 "user-config only, no user module: nothing served"

# ------------------------------------------------------------ idle
# The agent's first look at its files happens as its background thread
# starts; after that, nothing may look at them while nothing changes.
sleep 1
timeout -s INT 5 strace -f -qq -p "$APID" \
    -e trace=stat,lstat,newfstatat,statx,access,faccessat,faccessat2,open,openat \
    -o "$T/strace.out" >/dev/null 2>&1
[ -s "$T/strace.out" ] || : >"$T/strace.out"
check "strace could watch the idle agent" kill -0 "$APID"
looks=$(grep -c -E "\"($RH/.config|/usr/share/p11-kit|/etc/pkcs11)" \
    "$T/strace.out")
is "$looks" 0 \
    "idle for 5 s: the agent did not look at p11-kit's configuration or the certs directory"
[ "$looks" = 0 ] || diag "$(head -5 "$T/strace.out")"

# --------------------------------------------------- a module dropped in
as_user mkdir -p "$MODDIR"
as_user cp "$T/tk-softhsm.module" "$MODDIR/"
t0=$(tk_now_ms)
for i in $(seq 100); do
	[ "$(keys)" -ge 1 ] && break
	sleep 0.1
done
ms=$(($(tk_now_ms) - t0))
check "a module config dropped into a new ~/.config/pkcs11/modules: its key is served ($ms ms)" \
    test "$(keys)" -ge 1
is "$(sa ssh-add -L | awk '{ print $2 }')" "$(awk '{ print $2 }' "$T/key.pub")" \
    "...the token's key"

# ---------------------------------------------- a certificate dropped in
as_user sh -c "umask 022 && mkdir -p '$CERTDIR'"
as_user cp "$T/id-cert.pub" "$CERTDIR/"
cblob=$(awk '{ print $2 }' "$T/id-cert.pub")
t0=$(tk_now_ms)
for i in $(seq 100); do
	has_cert && break
	sleep 0.1
done
ms=$(($(tk_now_ms) - t0))
check "a certificate dropped into a new certs directory is served ($ms ms)" \
    has_cert

# ---------------------------------------------------- and both removed
rm "$CERTDIR/id-cert.pub"
for i in $(seq 100); do
	no_cert && break
	sleep 0.1
done
check "the certificate removed: no longer served" no_cert
rm -r "$RH/.config/pkcs11/modules"
for i in $(seq 100); do
	[ "$(keys)" = 0 ] && break
	sleep 0.1
done
is "$(keys)" 0 "the user's module directory removed: the key goes"
check "the agent is still alive" kill -0 "$APID"
kill "$APID" 2>/dev/null
wait "$APID" 2>/dev/null

done_testing
