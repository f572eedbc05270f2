#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# demo-token.sh DIR: make a private SoftHSM2 token "tokenkeys demo" in DIR
# with one key pair per supported type, for the README quick start:
#
#	eval "$(tests/demo-token.sh ~/tk-demo)"
#	tokenkeys list
#
# The user PIN is 123456 (SO PIN 12345678).  Prints the export line to use.

set -u
MODULE=/usr/lib/softhsm/libsofthsm2.so
LABEL="tokenkeys demo"
PIN=123456
SOPIN=12345678

DIR=
made_dir=
die() {
	echo "demo-token.sh: $*" >&2
	# Leave nothing half-made behind, so that a rerun works.
	if [ -n "$DIR" ]; then
		rm -rf "$DIR/tokens" "$DIR/softhsm2.conf"
		[ -n "$made_dir" ] && rmdir "$DIR"
	fi
	exit 1
}

[ $# -eq 1 ] || { echo "usage: demo-token.sh DIR" >&2; exit 2; }
for tool in softhsm2-util pkcs11-tool; do
	command -v $tool >/dev/null || die "$tool not found (apt-get install softhsm2 opensc)"
done
[ -r "$MODULE" ] || die "SoftHSM2 module $MODULE not found (apt-get install softhsm2)"

if [ -e "$1" ] && [ ! -d "$1" ]; then
	die "$1 exists and is not a directory"
fi
if [ -d "$1" ] && [ -n "$(ls -A "$1")" ]; then
	die "$1 is not empty; remove it or choose another directory"
fi
[ -d "$1" ] || made_dir=1
mkdir -p "$1" || die "cannot create $1"
DIR=$(cd "$1" && pwd) || die "cannot enter $1"
chmod 700 "$DIR" || die "cannot make $DIR private"

mkdir "$DIR/tokens" || die "cannot create $DIR/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$DIR/tokens" >"$DIR/softhsm2.conf"
export SOFTHSM2_CONF=$DIR/softhsm2.conf

softhsm2-util --init-token --free --label "$LABEL" --pin $PIN \
    --so-pin $SOPIN >/dev/null || die "cannot initialise the token"

n=0
for spec in rsa:2048:rsa-2048 EC:prime256v1:ecdsa-p256 EC:secp384r1:ecdsa-p384 \
    EC:secp521r1:ecdsa-p521 EC:edwards25519:ed25519; do
	n=$((n + 1))
	pkcs11-tool --module "$MODULE" --token-label "$LABEL" --login \
	    --pin $PIN --keypairgen --key-type "${spec%:*}" --id "0$n" \
	    --label "${spec##*:}" >/dev/null 2>&1 ||
	    die "cannot generate ${spec##*:} key"
done

printf 'export SOFTHSM2_CONF=%q\n' "$SOFTHSM2_CONF"
