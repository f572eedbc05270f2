#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Seeds for certificates: tests/fuzz/corpus/sshcert (certificates from
# ssh-keygen -s: RSA, ECDSA and Ed25519 keys, user and host, CAs of every
# type and signature algorithm) and tests/fuzz/corpus/agent/certs-*
# (fuzz-agent input: the stub token holds two real keys; ssh-add -s with
# associated-certs-v00@openssh.com carrying certificates of them, listing,
# signing with a certificate, ssh-add -d of one, -C, -e; and the hostile
# encodings: wrong nesting, 1025 entries, trailing bytes, a cut-short
# certificate, the constraint twice, an unknown extension).  Keys are
# fresh on every run: commit the result, do not run this in make check.
#
#	tests/fuzz/mkcorpus-certs.sh [OUTDIR]
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
outdir=${1:-$srcdir/tests/fuzz/corpus}
T=$(mktemp -d "${TMPDIR:-/tmp}/tk-corpus.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
mkdir -p "$outdir/sshcert" "$outdir/agent"

hlen() { echo $((${#1} / 2)); }
u32() { printf '%08x' "$1"; }
hex() { xxd -p | tr -d '\n'; }
str() { printf '%s' "$1" | hex; }
sshstr() { printf '%08x%s' "$(hlen "$1")" "$1"; }
blob() { cut -d' ' -f2 "$1" | base64 -d | hex; }
out() { printf '%s' "$2" | xxd -r -p >"$1"; }

ssh-keygen -q -t ed25519 -N '' -f "$T/ca-ed"
ssh-keygen -q -t ecdsa -b 384 -N '' -f "$T/ca-ec"
ssh-keygen -q -t rsa -b 2048 -N '' -f "$T/ca-rsa"
ssh-keygen -q -t ed25519 -N '' -f "$T/ed"
ssh-keygen -q -t rsa -b 2048 -N '' -f "$T/rsa"
ssh-keygen -q -t ecdsa -b 256 -N '' -f "$T/ec256"
ssh-keygen -q -t ecdsa -b 521 -N '' -f "$T/ec521"

# sshcert: one of each
mk() {
	local name=$1 key=$2
	shift 2
	cp "$T/$key.pub" "$T/$name.pub"
	ssh-keygen -q -I "id-$name" "$@" "$T/$name.pub"
	blob "$T/$name-cert.pub"
}
out "$outdir/sshcert/rsa" "$(mk c-rsa rsa -s "$T/ca-ed" -n alice,root \
    -z 42 -V 20200101:20400101)"
out "$outdir/sshcert/ec256" "$(mk c-ec256 ec256 -s "$T/ca-rsa" \
    -t rsa-sha2-512 -n bob -V 20200101:20210101)"
out "$outdir/sshcert/ec521" "$(mk c-ec521 ec521 -s "$T/ca-ec" -h \
    -n host1.example,host1)"
out "$outdir/sshcert/ed" "$(mk c-ed ed -s "$T/ca-rsa" -t ssh-rsa \
    -O no-pty -O force-command=/bin/true)"

# agent: knobs (right PIN), the token's keys, then records
ED=$(blob "$T/ed.pub")
RSA=$(blob "$T/rsa.pub")
CED=$(mk a-ed ed -s "$T/ca-ed" -n user -V always:forever)
CRSA=$(mk a-rsa rsa -s "$T/ca-ed" -n user -V always:forever)
CEXP=$(mk a-exp ed -s "$T/ca-ed" -n user -V 20200101:20210101)
U1=pkcs11:object=ed
U2=pkcs11:object=rsa
keys=$(sshstr "$ED")$(sshstr "$(str $U1)")$(sshstr "$RSA")$(sshstr "$(str $U2)")
head="03$(printf '%04x' "$(hlen "$keys")")$keys"
# rec BODY: a frame on connection 0
rec() { printf '00%08x%s' "$(hlen "$1")" "$1"; }
EXT=$(str associated-certs-v00@openssh.com)
# add26 READER ONLY LIST [EXTRA]: 26 with the constraint
add26() {
	printf '1a%s%sff%s%s%s%s' "$(sshstr "$(str "$1")")" "$(sshstr '')" \
	    "$(sshstr "$EXT")" "$2" "$3" "${4:-}"
}
list=$(sshstr "$CED")$(sshstr "$CRSA")$(sshstr "$CEXP")
seed=$head
seed=$seed$(rec "$(add26 $U1 00 "$(sshstr "$list")")")
seed=$seed$(rec 0b)
seed=$seed$(rec "0d$(sshstr "$CED")$(sshstr "$(str data)")00000000")
seed=$seed$(rec "0d$(sshstr "$CRSA")$(sshstr "$(str data)")00000004")
seed=$seed$(rec "12$(sshstr "$CED")")
seed=$seed$(rec 0b)
seed=$seed$(rec "$(add26 pkcs11: 01 "$(sshstr "$(sshstr "$CRSA")")")")
seed=$seed$(rec 0b)
seed=$seed$(rec "15$(sshstr "$(str pkcs11:)")$(sshstr '')")
seed=$seed$(rec 0b)
out "$outdir/agent/certs-ssh-add-s" "$seed"

many=$(sshstr "$CED")
for i in $(seq 1024); do many=${many}00000000; done
seed=$head
seed=$seed$(rec "$(add26 $U1 00 "$list")")			# flat
seed=$seed$(rec "$(add26 $U1 00 "$(sshstr "$many")")")		# 1025
seed=$seed$(rec "$(add26 $U1 00 "$(sshstr "$list")" 00)")	# trailing
seed=$seed$(rec "$(add26 $U1 00 "$(sshstr "$list$(u32 1000)")")")
seed=$seed$(rec "$(add26 $U1 00 "$(sshstr "$list")" \
    "ff$(sshstr "$EXT")00$(sshstr "$list")")")			# twice
seed=$seed$(rec "1a$(sshstr "$(str $U1)")$(sshstr '')ff$(sshstr \
    "$(str other@example.com)")00")				# unknown
seed=$seed$(rec 0b)
out "$outdir/agent/certs-hostile" "$seed"
