#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Regenerate the seed corpora under tests/fuzz/corpus from real programs:
# keys from ssh-keygen, OpenSSL and a throwaway SoftHSM token (its
# CKA_EC_PARAMS/CKA_EC_POINT in both forms SoftHSM produces), URIs as
# `tokenkeys list` prints them, replies recorded from pinentry-curses on a
# pty.  Keys are fresh on every run: commit the result, do not run this in
# make check.  Framing of each target's input: see the fuzz-*.c headers.
#
#	tests/fuzz/mkcorpus.sh [OUTDIR]	(needs a built ./tokenkeys)
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
outdir=${1:-$srcdir/tests/fuzz/corpus}
TOKENKEYS=${TOKENKEYS:-$srcdir/tokenkeys}
M=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
T=$(mktemp -d "${TMPDIR:-/tmp}/tk-corpus.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
mkdir -p "$outdir/decode" "$outdir/uri" "$outdir/assuan" "$outdir/buf" \
    "$outdir/hproto"

# Inputs are assembled as hex strings.
hlen() { echo $((${#1} / 2)); }
u16() { printf '%04x' "$1"; }
u32() { printf '%08x' "$1"; }
hex() { xxd -p | tr -d '\n'; }
str() { printf '%s' "$1" | hex; }
field() { printf '%04x%s' "$(hlen "$1")" "$1"; }
sshstr() { printf '%08x%s' "$(hlen "$1")" "$1"; }
out() { printf '%s' "$2" | xxd -r -p >"$outdir/$1"; }

P256=06082a8648ce3d030107
P384=06052b81040022
P521=06052b81040023
EDOID=06032b6570
EDSTR=130c656477617264733235353139

# decode: 00 RSA, 01 EC, 02 certificate, 03 OpenSSH blob
for spec in rsa:1024 rsa:2048 rsa:4096 ecdsa:256 ecdsa:384 ecdsa:521 \
    ed25519:256; do
	t=${spec%:*}
	b=${spec#*:}
	k=$T/k-$t-$b
	ssh-keygen -q -t "$t" -b "$b" -N '' -C '' -f "$k"
	blob=$(awk '{print $2}' "$k.pub" | base64 -d | hex)
	out "decode/blob-$t-$b" "03$blob"
	case $t in
	rsa)
		ssh-keygen -e -m PKCS8 -f "$k.pub" >"$k.pem"
		n=$(openssl rsa -pubin -in "$k.pem" -noout -modulus |
		    sed 's/^Modulus=//' | tr 'A-F' 'a-f')
		out "decode/rsa-$b" "00$(field "$n")010001"
		# some tokens keep a sign byte or a wide exponent
		out "decode/rsa-$b-padded" "00$(field "00$n")00010001"
		;;
	ecdsa)
		q=$(printf '%s' "$blob" | cut -c79-)
		case $b in
		256)	oid=$P256 wrap=0441 ;;
		384)	oid=$P384 wrap=0461 ;;
		521)	oid=$P521 wrap=048185 ;;
		esac
		out "decode/ec-$b-der" "01$(field "$oid")$wrap$q"
		out "decode/ec-$b-raw" "01$(field "$oid")$q"
		;;
	ed25519)
		q=$(printf '%s' "$blob" | cut -c39-)
		out "decode/ed25519-oid-raw" "01$(field "$EDOID")$q"
		out "decode/ed25519-str-der" "01$(field "$EDSTR")0420$q"
		;;
	esac
done

# SoftHSM's own attribute bytes, as pkcs11-tool reads them
export SOFTHSM2_CONF=$T/softhsm2.conf
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$T/tokens" >"$SOFTHSM2_CONF"
mkdir -p "$T/tokens"
softhsm2-util --init-token --free --label "tk test" --pin 1234 \
    --so-pin 12345678 >/dev/null
gen() {
	pkcs11-tool --module "$M" -l --pin 1234 --keypairgen --key-type "$1" \
	    --id "$2" --label "$3" >/dev/null 2>&1
}
gen rsa:2048 01 rsa2048
gen EC:prime256v1 02 ec256
gen EC:secp384r1 03 ec384
gen EC:secp521r1 04 ec521
gen EC:edwards25519 05 ed25519
openssl genpkey -algorithm ed25519 -out "$T/ed.pem"
softhsm2-util --import "$T/ed.pem" --token "tk test" --label imported \
    --id 0a --pin 1234 >/dev/null
pkcs11-tool --module "$M" --list-objects --type pubkey 2>/dev/null | awk '
	/EC_POINT:/ { pt = $2 }
	/EC_PARAMS:/ { pa = $2 }
	/label:/ { if (pa != "") print $2, pa, pt; pa = "" }' |
while read -r label pa pt; do
	out "decode/softhsm-$label" "01$(field "$pa")$pt"
done
pkcs11-tool --module "$M" --read-object --type pubkey --id 01 \
    -o "$T/rsa.der" >/dev/null 2>&1
n=$(openssl rsa -pubin -inform DER -in "$T/rsa.der" -noout -modulus |
    sed 's/^Modulus=//' | tr 'A-F' 'a-f')
out decode/softhsm-rsa2048 "00$(field "$n")010001"

# certificates: leaf certificates of each key type, and a CA's
cert() {
	printf '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=%s\n[ext]\nbasicConstraints=%s\n' \
	    "$1" "$3" >"$T/req.cnf"
	openssl req -x509 -new -key "$2" -config "$T/req.cnf" -extensions ext \
	    -days 3650 -outform DER -out "$T/$1.der" 2>/dev/null
	out "decode/cert-$1" "02$(hex <"$T/$1.der")"
}
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$T/c-rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/c-p256.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
    -out "$T/c-p384u.pem"
openssl ec -in "$T/c-p384u.pem" -conv_form compressed -out "$T/c-p384.pem" \
    2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 \
    -out "$T/c-p521.pem"
openssl genpkey -algorithm ed25519 -out "$T/c-ed.pem"
cert rsa2048 "$T/c-rsa.pem" CA:FALSE
cert p256 "$T/c-p256.pem" CA:FALSE
cert p384-compressed "$T/c-p384.pem" CA:FALSE
cert p521 "$T/c-p521.pem" CA:FALSE
cert ed25519 "$T/c-ed.pem" CA:FALSE
cert ca-rsa2048 "$T/c-rsa.pem" critical,CA:TRUE

# uri: byte flags, byte sansz, fields id, label, token, serial,
# manufacturer, rest the URI
key() { # name flags id-hex label token serial manufacturer uri
	out "uri/$1" "$2$(field "$3")$(field "$(str "$4")")$(field \
	    "$(str "$5")")$(field "$(str "$6")")$(field "$(str "$7")")$(str "$8")"
}
"$TOKENKEYS" list | awk '{ print $3 }' >"$T/uris"
n=0
while read -r uri; do
	n=$((n + 1))
	id=$(echo "$uri" | sed -n 's/.*;id=\([^;?]*\).*/\1/p' | tr -d '%')
	label=$(echo "$uri" | sed -n 's/.*;object=\([^;?]*\).*/\1/p')
	serial=$(echo "$uri" | sed -n 's/.*serial=\([^;?]*\).*/\1/p')
	key "list-$label" 0100 "$id" "$label" "tk test" "$serial" \
	    "SoftHSM project" "$uri"
done <"$T/uris"
"$TOKENKEYS" tokens | awk '$1 == "uri" { print $2 }' >"$T/turis"
n=0
while read -r uri; do
	n=$((n + 1))
	key "tokens-$n" 0100 "" "" "" "" "" "$uri"
done <"$T/turis"
esc=$(printf '\033')
key hostile-label 0010 00ff3b25 "$esc]0;pwned$(printf '\007')" \
    "tk; 100% $(printf '\303\251')" "$(printf '\0')0001" "ACME$esc[2J" \
    "pkcs11:object=a%1B%5B31m;token=x?module-path=/dev/null"
key unregistered 0000 01 "my key" "tk test" 0001 ACME \
    "pkcs11:token=tk%20test;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so"
key full-fields 0140 "$(printf '%0512d' 0)" \
    "$(printf '%0256d' 7)" "$(printf '%032d' 3)" "$(printf '%016d' 9)" \
    "$(printf '%032d' 1)" "pkcs11:slot-id=7;type=private"
i=0
for uri in "pkcs11:" \
    "pkcs11:token=tk%20test?pin-value=1234" \
    "pkcs11:slot-id=3;library-manufacturer=SoftHSM;library-version=2.6" \
    "pkcs11:model=SoftHSM%20v2;slot-description=SoftHSM%20slot%20ID%200x7" \
    "pkcs11:type=cert;id=%01%02%ff?module-name=softhsm2" \
    "pkcs11:object=x?pin-source=file:/dev/null" \
    "pkcs11:lable=x" "pkcs11:id=%zz" "pkcs11:id=%0" "http://x" \
    "pkcs11:library-version=1;manufacturer=%00%20" \
    "pkcs11:?module-path=relative/mod.so"; do
	i=$((i + 1))
	key "typed-$i" 0000 "" "" "" "" "" "$uri"
done

# assuan: byte cfg (PIN buffer size; 7f: TK_PIN_MAX; 80: no data
# expected), byte escape buffer size (0: enough), the reply lines
reply() { printf '%s%s' "$2" "$(printf '%s' "$3" | hex)" |
    xxd -r -p >"$outdir/assuan/$1"; }
record() { # name keystrokes [command]
	python3 - "$2" "${3:-GETPIN}" <<'PY' >"$T/rec" 2>/dev/null || return 1
import os, pty, select, subprocess, sys, time
keys, cmd = sys.argv[1].encode(), sys.argv[2]
m, s = pty.openpty()
p = subprocess.Popen(["pinentry-curses"], stdin=subprocess.PIPE,
    stdout=subprocess.PIPE, env=dict(os.environ, TERM="xterm"))
out = b""
def drain(t):
    global out
    while True:
        r, _, _ = select.select([p.stdout, m], [], [], t)
        if not r:
            return
        for f in r:
            if f is m:
                os.read(m, 65536)
            else:
                d = os.read(p.stdout.fileno(), 65536)
                if not d:
                    return
                out += d
drain(0.5)
for c in ("OPTION ttyname=" + os.ttyname(s), "OPTION ttytype=xterm",
    "SETDESC Enter the PIN for tk test", cmd):
    p.stdin.write(c.encode() + b"\n")
    p.stdin.flush()
    drain(0.5)
mark = len(out)
for k in keys:
    os.write(m, bytes([k]))
    time.sleep(0.05)
drain(2)
sys.stdout.buffer.write(out[mark:])
p.stdin.write(b"BYE\n")
p.stdin.flush()
p.wait()
PY
	[ -s "$T/rec" ] && cp "$T/rec" "$T/$1"
}
# pinentry's answers; recorded from pinentry-curses where it runs
have_pe=no
command -v python3 >/dev/null && command -v pinentry-curses >/dev/null &&
    have_pe=yes
rec_or() { # name keystrokes fallback-text [command]
	if [ $have_pe = yes ] && record "$1" "$2" "${4:-GETPIN}"; then
		printf '7f00%s' "$(hex <"$T/$1")" | xxd -r -p \
		    >"$outdir/assuan/$1"
	else
		reply "$1" 7f00 "$3"
	fi
}
nl='
'
rec_or pin-1234 "1234$(printf '\r')" "D 1234${nl}OK${nl}"
rec_or pin-percent "12%34$(printf '\r')" "D 12%2534${nl}OK${nl}"
rec_or pin-utf8 "p$(printf '\303\257')n 1$(printf '\r')" \
    "D p$(printf '\303\257')n 1${nl}OK${nl}"
rec_or cancel "$(printf '\t\t\r')" \
    "ERR 83886179 Operation cancelled <Pinentry>${nl}"
rec_or confirm-no "$(printf '\t\r')" \
    "ERR 83886179 Operation cancelled <Pinentry>${nl}" CONFIRM
reply greeting 7f00 "OK Pleased to meet you${nl}"
reply no-tty 7f00 "S ERROR curses.isatty 83918950 ${nl}ERR 83918950 Inappropriate ioctl for device <Pinentry>${nl}"
reply cached 7f00 "S PASSWORD_FROM_CACHE${nl}D 1234${nl}OK${nl}"
reply split 7f00 "# a comment${nl}D 12${nl}D %0D%0A${nl}D 34${nl}OK${nl}"
reply small-buffer 0500 "D 123456${nl}OK${nl}"
reply no-data-expected 8000 "D 1234${nl}OK${nl}"
reply bad-nul 7f00 "D 12%0034${nl}OK${nl}"
reply bad-cr 7f00 "D 12$(printf '\r')34${nl}OK${nl}"
reply escape-cut 7f06 "p$(printf '\303\257')n%$(printf '\001')${nl}OK${nl}"
reply long-pin 7f00 "D $(printf '%0255d' 0)${nl}OK${nl}"

# buf: uint16 max, byte flags, field of reader bytes, then operations
# (byte: op << 1 | on-reader, then its arguments; see fuzz-buf.c)
bufseed() { out "buf/$1" "$2"; }
edblob=$(awk '{print $2}' "$T/k-ed25519-256.pub" | base64 -d | hex)
body=0d$(sshstr "$edblob")$(sshstr "$(str 'session id and user auth data')")$(u32 0)
frame=$(u32 "$(hlen "$body")")$body
# parse an agent SIGN_REQUEST the way agent-proto.c would
bufseed sign-request "4000""00""$(field "$frame")""1b""19""23""0202""23020202""1b""27"
# build a key blob in a secret buffer, read it back, wipe it
bufseed build-blob "0400""01""0000""0c""080b$(str ssh-ed25519)""0620$(printf '%064d' 0)""0e01""0a0300ff01""22020202""14""16""26"
# a buffer too small for what is written; a reservation that overflows
bufseed overflow "0010""01""0000""02ffffffff""04""0011223344556677""0610$(printf '%032d' 0)""1000ffff""10000400""2800""0808$(str abcdefgh)""16"
# C strings of every size into destinations of every size
bufseed cstrings "0100""00""$(field "$(sshstr "$(str abc)")$(sshstr 61006200)$(sshstr "$(printf '%0200d' 0)")")""250004""250003""250004""2500ff""2500c9""27""17""1300""1500""13ff"
# a read-only reader must refuse writes, even closing a string
bufseed read-only "0100""00""$(field "$(sshstr "$(str payload)")")""01aa""0d""0f000000""0f010000""13000002""15""27"
# hproto: selector (0 request, 1 reply, 2 LIST reply, 3 REGISTRY
# reply, 4 stream), then frames: uint32 length, byte type, uint32 id,
# payload (src/helper/hproto.h)
hpframe() { printf '%08x%s%08x%s' $((5 + $(hlen "$3"))) "$1" "$2" "$3"; }
uri1=$(head -n 1 "$T/uris")
uri2=$(sed -n 2p "$T/uris")
tok=$(u32 1)$(u32 4)$(u32 255)$(sshstr "$(str 'tk test')")$(sshstr "$(str 0123456789abcdef)")
list=$(hpframe 01 1 "$(sshstr "$(str "$uri1")")")
sign=$(hpframe 02 2 "$(sshstr "$edblob")$(sshstr "$(str 'data to sign')")$(u32 0)01$(sshstr "$(str 1234)")")
login=$(hpframe 03 3 "$(sshstr "$edblob")01$(sshstr "$(str 1234)")")
pinpad=$(hpframe 03 4 "$(sshstr "$edblob")00$(sshstr '')")
token=$(hpframe 04 5 "$(sshstr "$edblob")")
registry=$(hpframe 05 6 "")
logout=$(hpframe 07 7 "$(sshstr "$edblob")")
logoutall=$(hpframe 07 8 "$(sshstr '')")
hkey() { printf '%s' "$(sshstr "$1")$(sshstr "$(str "$2")")$(sshstr "$(str "$3")")$(sshstr "$(str 'tk test')")$(sshstr "$(str 0123456789abcdef)")$(u32 0)"; }
listrep=$(hpframe 81 1 "$(u32 0)$(u32 2)$(hkey "$edblob" "$uri1" ed25519)$(hkey "$edblob" "$uri2" "$esc[1mimported")")
sigrep=$(hpframe 82 2 "$(u32 0)$tok$(sshstr "$(printf '%0128d' 0)")")
loginrep=$(hpframe 83 3 "$(printf '%08x' 4294967283)$tok")
tokenrep=$(hpframe 84 5 "$(u32 0)$tok")
regrep=$(hpframe 85 6 "$(u32 0)$(u32 2)$(sshstr "$(str "$M")")$(sshstr "$(str /usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so)")")
out hproto/req-list "00$list"
out hproto/req-sign "00$sign"
out hproto/req-login "00$login"
out hproto/req-login-pinpad "00$pinpad"
out hproto/req-token "00$token"
out hproto/req-registry "00$registry"
out hproto/req-logout "00$logout"
out hproto/req-logout-all "00$logoutall"
out hproto/rep-logout "01$(hpframe 87 8 "$(u32 0)$(u32 2)")"
out hproto/rep-sign "01$sigrep"
out hproto/rep-login-wrong-pin "01$loginrep"
out hproto/rep-token "01$tokenrep"
out hproto/rep-list "02$listrep"
out hproto/rep-registry "03$regrep"
out hproto/stream "04$list$sign$sigrep$listrep$registry"
# agent: ssh-add -s with restrict-destination-v00@openssh.com (ssh-add -h),
# well-formed and hostile, each followed by a listing; the framing of
# fuzz-agent.c (knobs, the token's keys, records on connection 0).  Real
# traffic is recorded by record-agent.sh; these are the encodings no real
# client sends (tests/test-agent-dest.c checks each answer).
mkdir -p "$outdir/agent"
ssh-keygen -q -t ed25519 -N '' -C '' -f "$T/hk"
hk=$(awk '{print $2}' "$T/hk.pub" | base64 -d | hex)
rd=$(sshstr "$(str restrict-destination-v00@openssh.com)")
hop() { sshstr "$(sshstr "$(str "$1")")$(sshstr "$(str "$2")")$(sshstr '')$3"; }
hk0="$(sshstr "$hk")00"
dst() { sshstr "$1$2$(sshstr '')"; }
add26() {
	local b
	b="1a$(sshstr "$(str pkcs11:)")$(sshstr '')ff$rd$(sshstr "$1")"
	printf '00%s%s' "$(u32 "$(hlen "$b")")" "$b"
}
lst="00$(u32 1)0b"
dseed() { out "agent/$1" "00$(field "$(sshstr "$edblob")$(sshstr "$(str "$uri1")")")$(add26 "$2")$lst"; }
origin=$(hop '' '' '')
dseed dest-one-hop "$(dst "$origin" "$(hop '' hosta "$hk0")")"
dseed dest-two-hops "$(dst "$origin" "$(hop '' hosta "$hk0")")$(dst \
    "$(hop '' hosta "$hk0")" "$(hop 'deploy*' hostb "$(sshstr "$hk")01")")"
dseed dest-flat "$(sshstr '')$(sshstr '')$(sshstr '')$(sshstr \
    "$(str hosta)")$(sshstr '')$hk0"
dseed dest-empty ''
dseed dest-empty-host "$(dst "$origin" "$(hop '' '' "$hk0")")"
dseed dest-from-user "$(dst "$(hop alice hosta "$hk0")" \
    "$(hop '' hostb "$hk0")")"
dseed dest-user-257 "$(dst "$origin" "$(hop "$(printf '%0257d' 0)" hosta \
    "$hk0")")"
dseed dest-trailing "$(sshstr "$origin$(hop '' hosta "$hk0")$(sshstr '')00")"
many=$(dst "$origin" "$(hop '' hosta "$hk0")")
all=
for i in $(seq 1025); do all=$all$many; done
dseed dest-1025 "$all"
# agent: relist@tokenkeys (tokenkeys keygen / delete) on connection 0, on
# the forwarded connection 3 (refused), and with a trailing byte (closes);
# listings between.
rl="1b$(sshstr "$(str relist@tokenkeys)")"
rlx="${rl}00"
out agent/relist "00$(field "$(sshstr "$edblob")$(sshstr "$(str "$uri1")")")\
00$(u32 "$(hlen "$rl")")${rl}${lst}03$(u32 "$(hlen "$rl")")${rl}\
00$(u32 "$(hlen "$rlx")")${rlx}${lst}"
echo "mkcorpus: wrote $(find "$outdir" -type f | wc -l) seeds to $outdir"
