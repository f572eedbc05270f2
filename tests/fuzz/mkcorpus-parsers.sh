#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Regenerate the seed corpora of the parsers that came with certificates,
# destination constraints and the requester: certfile, dest, knownhosts,
# peer, urifile, userauth (tests/fuzz/corpus/NAME).  Keys, host keys and
# certificates come from ssh-keygen, hashed names from ssh-keygen -H;
# keys are fresh on every run: commit the result, do not run this in make
# check.  Framing of each target's input: see the fuzz-*.c headers.
#
#	tests/fuzz/mkcorpus-parsers.sh [OUTDIR]
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
outdir=${1:-$srcdir/tests/fuzz/corpus}
T=$(mktemp -d "${TMPDIR:-/tmp}/tk-corpus.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
for d in certfile dest knownhosts peer urifile userauth; do
	rm -rf "${outdir:?}/$d"
	mkdir -p "$outdir/$d"
done

# Inputs are assembled as hex strings.
hlen() { echo $((${#1} / 2)); }
hex() { xxd -p | tr -d '\n'; }
str() { printf '%s' "$1" | hex; }
field() { printf '%04x%s' "$(hlen "$1")" "$1"; }
sshstr() { printf '%08x%s' "$(hlen "$1")" "$1"; }
out() { printf '%s' "$2" | xxd -r -p >"$outdir/$1"; }
blob() { awk '{print $2}' "$1" | base64 -d | hex; }

kg() { ssh-keygen -q -t "$1" -N '' -C "$3" -f "$T/$2"; }
kg ed25519 user ''
kg ecdsa userec ''
kg ed25519 ha ''
kg ecdsa hb ''
kg rsa hc ''
kg ed25519 ca ''
kg ed25519 hostca ''
ssh-keygen -q -s "$T/ca" -I 'user cert' -n alice,bob -V -5m:+52w \
    "$T/user.pub"
ssh-keygen -q -s "$T/ca" -I 'ec cert' -V always:forever "$T/userec.pub"
ssh-keygen -q -s "$T/hostca" -h -I 'host b' -n 'hb.example,*.example' \
    -V always:forever "$T/hb.pub"
USER=$(blob "$T/user.pub")
HA=$(blob "$T/ha.pub")
HB=$(blob "$T/hb.pub")
HC=$(blob "$T/hc.pub")
HBCERT=$(blob "$T/hb-cert.pub")
HOSTCA=$(blob "$T/hostca.pub")
SID1=$(head -c 32 /dev/urandom | hex)
SID2=$(head -c 32 /dev/urandom | hex)

# userauth: the data of a login signature
ua() {	# sid user method key [hostkey]
	printf '%s32%s%s%s01%s%s%s' "$(sshstr "$1")" "$(sshstr "$(str "$2")")" \
	    "$(sshstr "$(str ssh-connection)")" "$(sshstr "$(str "$3")")" \
	    "$(sshstr "$(str ssh-ed25519)")" "$(sshstr "$4")" \
	    "${5:+$(sshstr "$5")}"
}
HBM=publickey-hostbound-v00@openssh.com
out userauth/publickey "$(ua "$SID1" alice publickey "$USER")"
out userauth/hostbound "$(ua "$SID1" alice $HBM "$USER" "$HA")"
out userauth/hostbound-cert "$(ua "$SID2" root $HBM "$USER" "$HBCERT")"
out userauth/no-hostkey "$(ua "$SID1" alice $HBM "$USER")"
out userauth/password "$(ua "$SID1" alice password "$USER")"
out userauth/trailing "$(ua "$SID1" alice publickey "$USER")00"
out userauth/user-nul "$(ua "$SID1" "$(printf 'al\001ce')" publickey "$USER")"

# dest: flags, constraint body, bindings, user, data to sign
hop() {	# user host [key ca ...]
	h="$(sshstr "$(str "$1")")$(sshstr "$(str "$2")")$(sshstr '')"
	shift 2
	while [ $# -ge 2 ]; do
		h="$h$(sshstr "$1")$2"
		shift 2
	done
	sshstr "$h"
}
dst() { sshstr "$1$2$(sshstr '')"; }	# from-hop to-hop
LOCAL=$(hop '' '')
D_A=$(dst "$LOCAL" "$(hop '' ha.example "$HA" 00)")
D_AU=$(dst "$LOCAL" "$(hop 'al*' ha.example "$HA" 00)")
D_AB=$(dst "$(hop '' ha.example "$HA" 00)" "$(hop '' hb.example "$HB" 00)")
D_ACA=$(dst "$(hop '' ha.example "$HA" 00)" \
    "$(hop '' hb.example "$HOSTCA" 01)")
D_C=$(dst "$LOCAL" "$(hop root hc.example "$HC" 00 "$HA" 00)")
bind() { printf '%s%s' "$1" "$(field "$2")"; }	# byte(key) sid
# the constraint's keys by place: D_A D_AB -> 0 HA, 1 HA, 2 HB
out dest/local-list "00$(field "$D_A")$(field '')"
out dest/refused "08$(field "$D_A")$(field '')"
out dest/one-hop-login "11$(field "$D_AU")$(bind 00 "$SID1")$(field \
    "$(str alice)")$(ua "$SID1" alice $HBM "$USER" "$HA")"
out dest/one-hop-plain "11$(field "$D_A")$(bind 00 "$SID1")$(field \
    "$(str alice)")$(ua "$SID1" alice publickey "$USER")"
out dest/two-hops-login "12$(field "$D_A$D_AB")$(bind 80 "$SID1")$(bind \
    02 "$SID2")$(field "$(str bob)")$(ua "$SID2" bob $HBM "$USER" "$HB")"
out dest/two-hops-list "02$(field "$D_A$D_AB")$(bind 80 "$SID1")$(bind \
    82 "$SID2")$(field '')"
out dest/ca-hop "12$(field "$D_A$D_ACA")$(bind 80 "$SID1")3f$(field \
    "$HBCERT")$(field "$SID2")$(field "$(str bob)")$(ua "$SID2" bob $HBM \
    "$USER" "$HBCERT")"
out dest/wrong-session "11$(field "$D_A")$(bind 00 "$SID1")$(field \
    "$(str alice)")$(ua "$SID2" alice $HBM "$USER" "$HA")"
out dest/other-key "31$(field "$D_C")$(bind 00 "$SID1")$(field \
    "$(str root)")$(ua "$SID1" root $HBM "$USER" "$HC")"
# a user pattern of many stars against a long user: no hang
STARS=$(printf '*a%.0s' $(seq 100))*b
MANYA=$(printf 'a%.0s' $(seq 1000))
out dest/user-stars "11$(field "$(dst "$LOCAL" "$(hop "$STARS" ha.example \
    "$HA" 00)")")$(bind 00 "$SID1")$(field "$(str "$MANYA")")$(ua "$SID1" \
    "$MANYA" $HBM "$USER" "$HA")"
out dest/unbound-sign "10$(field "$D_A")$(field '')$(ua "$SID1" alice \
    publickey "$USER")"
out dest/reserved "00$(field "$(dst "$LOCAL" "$(sshstr "$(sshstr '')$(sshstr \
    "$(str ha)")$(sshstr 00)")")")"

# knownhosts: byte (bit 0 match only; bits 1-7 stop at key N), host, file
ssh-keygen -q -t ed25519 -N '' -C '' -f "$T/kh1"
ssh-keygen -q -t ecdsa -N '' -C '' -f "$T/kh2"
K1=$(cut -d' ' -f1,2 "$T/kh1.pub")
K2=$(cut -d' ' -f1,2 "$T/kh2.pub")
{
	echo "# a comment"
	echo "ha.example,192.0.2.1 $K1"
	echo "[hb.example]:2222 $K2 a comment"
	echo "*.example,!bad.example $K2"
	echo "@cert-authority *.example $(cut -d' ' -f1,2 "$T/hostca.pub")"
	echo "@revoked ha.example $K2"
	echo "h?.example $K1"
	printf 'ha.example ssh-ed25519 AAAA\r\n'
	echo "ha.example ssh-rsa $(echo "$K1" | cut -d' ' -f2)"
	printf 'ha.example\t%s\n' "$K1"
} >"$T/kh"
cp "$T/kh" "$T/kh-hashed"
ssh-keygen -q -H -f "$T/kh-hashed" >/dev/null 2>&1
rm -f "$T/kh-hashed.old"
khin() { printf '%s%s%s' "$1" "$(field "$(str "$2")")" "$(hex <"$3")"; }
out knownhosts/plain "$(khin 00 ha.example "$T/kh")"
out knownhosts/stop-first "$(khin 02 ha.example "$T/kh")"
out knownhosts/wildcard "$(khin 00 hz.example "$T/kh")"
out knownhosts/negated "$(khin 00 bad.example "$T/kh")"
out knownhosts/hashed "$(khin 00 ha.example "$T/kh-hashed")"
out knownhosts/hashed-miss "$(khin 00 hq.example "$T/kh-hashed")"
out knownhosts/match-list "01$(field "$(str Ha.Example)")$(str \
    'x.example,!y.example,h?.*')"
out knownhosts/match-hashed "01$(field "$(str ha.example)")$(head -n 2 \
    "$T/kh-hashed" | tail -n 1 | cut -d' ' -f1 | hex)"
out knownhosts/match-stars "01$(field "$(printf 'a%.0s' $(seq 60) | hex)")$(str \
    '*a*a*a*a*a*a*a*a*a*a*a*a*b')"

# certfile: the file
{ cat "$T/user-cert.pub"; echo '# a comment'; cat "$T/userec-cert.pub"
  cat "$T/hb-cert.pub"; } >"$outdir/certfile/three"
cp "$T/user-cert.pub" "$outdir/certfile/one"
{ cat "$T/user.pub"; echo 'ssh-ed25519-cert-v01@openssh.com AAA= x'
  echo 'garbage'; sed 's/ssh-ed25519-cert/ecdsa-sha2-nistp256-cert/' \
  "$T/user-cert.pub"; } >"$outdir/certfile/refused"
printf '%s\r\n' "$(cat "$T/user-cert.pub")" >"$outdir/certfile/crlf"
# a certificate whose CA signature does not verify
awk '{print $2}' "$T/user-cert.pub" | base64 -d >"$T/bad"
printf 'x' | dd of="$T/bad" bs=1 seek=$(($(wc -c <"$T/bad") - 3)) \
    conv=notrunc 2>/dev/null
printf 'ssh-ed25519-cert-v01@openssh.com %s\n' "$(base64 -w0 "$T/bad")" \
    >"$outdir/certfile/bad-signature"

# urifile: the file
printf '# keys\npkcs11:token=tk%%20test;id=%%01\n\n  pkcs11:object=a  \n' \
    >"$outdir/urifile/two"
printf 'pkcs11:token=a b\n' >"$outdir/urifile/blank-inside"
printf 'ssh-ed25519 AAAA\n' >"$outdir/urifile/not-uri"
printf '# nothing\n' >"$outdir/urifile/empty"
printf 'pkcs11:model=\033[31m;id=%%00\r\n' >"$outdir/urifile/escape"

# peer: selector, then command lines (fields, the last the rest), a stat
# text, or a key's base64 and a known_hosts line
cmdl() { printf '%s' "$1" | tr '|' '\000' | hex; }
out peer/ssh "00$(cmdl 'ssh|git@github.com|git-upload-pack')"
out peer/chain "02$(field "$(cmdl '/usr/bin/ssh|-T|git@host')")$(field \
    "$(cmdl 'git|push')")$(cmdl '-bash')"
out peer/escapes "01$(field "$(printf 'evil\033]0;owned\007\033[2J\r\n|x\233y|\302\205' |
    tr '|' '\000' | hex)")$(cmdl 'bash')"
out peer/long-arg "00$(cmdl 'prog|')$(head -c 600 /dev/zero | tr '\000' A | hex)"
out peer/nuls "00$(printf '\000\000/x/\000a\000\000\000' | hex)"
out peer/rtl "00$(printf 'ssh \342\200\256gnp.exe\000\357\273\277' | hex)"
out peer/stat "04$(field "$(str '1234 (a) b) c) S 77 1 1 0 -1')")$(cmdl \
    'sh|-c|x')"
B64=$(echo "$K1" | cut -d' ' -f2)
out peer/known-host "05$(field "$(str "$B64")")$(str \
    "!x,*.w,[ha.example]:22,hb $K1 c")"
out peer/known-host-escape "05$(field "$(str "$B64")")$(printf \
    'h\033[1m\302\233x %s\n' "$K1" | hex)"
