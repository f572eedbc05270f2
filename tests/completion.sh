#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Bash completion (contrib/bash-completion/tokenkeys) in a scripted bash:
# complete -p names the function; COMP_WORDS/COMP_CWORD as bash splits a
# line (':' and '=' are word breaks) drive it, and COMPREPLY is what a
# user would see after TAB: verbs, options, option values, files, and
# pkcs11: URIs from a throwaway SoftHSM token, escaped for the shell.  No
# PIN is ever asked for, and a token that hangs does not hang the shell.
#
# The fault module is registered with p11-kit only inside a private
# mount namespace (a bind mount over p11-kit's module directory).

. "$(dirname "$0")/lib.sh"

BC=/usr/share/bash-completion/bash_completion
COMP=${abs_top_srcdir:-$TK_TESTDIR/..}/contrib/bash-completion/tokenkeys
for tool in softhsm2-util pkcs11-tool timeout unshare mount; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$BC" ] || skip_all "bash-completion not installed ($BC)"
[ -r "$COMP" ] || bail "$COMP missing"
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE missing"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
[ -f "${FAULTMOD:-}" ] || skip_all "fault module not built (FAULTMOD)"
MODDIR=/usr/share/p11-kit/modules
[ -d "$MODDIR" ] || skip_all "no p11-kit module directory $MODDIR"
if [ -z "${TK_COMP_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || skip_all "needs root for a private mount namespace"
	unshare -m true 2>/dev/null ||
	    skip_all "cannot create a mount namespace (unshare)"
	TK_COMP_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi

plan 24
tk_tmpdir
tk_softhsm_init "$T"
SERIAL=$(tk_token_new "tk comp" 1234 12345678) || bail "cannot create a token"
tk_keygen "$SERIAL" 1234 EC:prime256v1 02 ec256 || bail "cannot make a key"
FAULTMOD_RP=$(realpath "$FAULTMOD")
TK_FAULT_CONTROL=$T/ctl
export TK_FAULT_CONTROL
unset TK_FAULT_STATE TK_FAULT_MODULE
# the same SoftHSM token once more through the fault module, as another
# card: "tk hang", serial 4a4e4a4e
tk_fault_ctl 'serial 4a4e4a4e' 'token_label "tk hang"'

# This namespace's registry: SoftHSM and the fault module only.
mkdir "$T/modules" "$T/empty"
printf 'module: %s\n' "$TK_MODULE" >"$T/modules/softhsm2.module"
printf 'module: %s\n' "$FAULTMOD_RP" >"$T/modules/tkfault.module"
mount --bind "$T/modules" "$MODDIR" || bail "cannot bind-mount $MODDIR"
if [ -d /etc/pkcs11/modules ]; then
	mount --bind "$T/empty" /etc/pkcs11/modules ||
	    bail "cannot bind-mount /etc/pkcs11/modules"
fi

tk_askpass_scripts 1234
export SSH_ASKPASS=$T/countpin.sh SSH_ASKPASS_REQUIRE=force
mkdir "$T/bin"
ln -s "$TOKENKEYS" "$T/bin/tokenkeys"

KEYURI=$("$TOKENKEYS" list --module "$TK_MODULE" "pkcs11:serial=$SERIAL" |
    cut -d' ' -f3)
TOKURI=${KEYURI%;id=*}
HANGURI=$("$TOKENKEYS" list "pkcs11:token=tk%20hang" 2>/dev/null |
    cut -d' ' -f3)
case $KEYURI in pkcs11:*serial=*) ;; *) bail "no key URI: $KEYURI" ;; esac
case $HANGURI in pkcs11:*4a4e4a4e*) ;; *) bail "no URI via faultmod" ;; esac

# comp LINE: what TAB at the end of LINE offers, one candidate a line,
# sorted.  The words are split as bash splits them for completion.
cat >"$T/driver.sh" <<'EOF'
. /usr/share/bash-completion/bash_completion
. "$COMP"
if [ "$1" = -p ]; then
	complete -p tokenkeys
	exit
fi
line=$1
COMP_LINE=$line
COMP_POINT=${#line}
COMP_WORDS=()
read -ra parts <<<"$line"
for w in "${parts[@]}"; do
	while [[ $w =~ ^([^:=]*)([:=])(.*)$ ]]; do
		[ -n "${BASH_REMATCH[1]}" ] && COMP_WORDS+=("${BASH_REMATCH[1]}")
		COMP_WORDS+=("${BASH_REMATCH[2]}")
		w=${BASH_REMATCH[3]}
	done
	[ -n "$w" ] && COMP_WORDS+=("$w")
done
[[ $line == *' ' || $line == *[:=] ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMPREPLY=()
_tokenkeys tokenkeys "${COMP_WORDS[COMP_CWORD]}" \
    "${COMP_WORDS[COMP_CWORD - 1]}"
[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort
EOF
comp() {
	(cd "$T" && COMP=$COMP PATH=$T/bin:$PATH timeout 30 \
	    bash --norc --noprofile "$T/driver.sh" "$@" </dev/null 2>"$T/comp.err")
}
has() { printf '%s\n' "$1" | grep -qxF -- "$2"; }
# all_in TEXT WORD...: every WORD is a line of TEXT
all_in() {
	local text=$1 w
	shift
	for w; do
		has "$text" "$w" || return 1
	done
}
lines() { printf '%s\n' "$@" | LC_ALL=C sort; }

is "$(comp -p)" "complete -F _tokenkeys tokenkeys" \
    "complete -p: tokenkeys is completed by _tokenkeys"

out=$(comp "tokenkeys ")
check "the verbs: list, tokens, keygen, delete, passwd, unblock, agent" \
    all_in "$out" list tokens keygen delete passwd unblock agent
check "...not the helper's internal verb" eval '! has "$out" __helper'
is "$(comp "tokenkeys li")" "list" "a verb's first letters complete it"

out=$(comp "tokenkeys list -")
check "list's options: -l -E -v --format --comment --module --login" \
    all_in "$out" -l -E -v --format --comment --module --login --help
is "$(comp "tokenkeys list -E ")" "$(lines md5 sha256)" \
    "-E: the hash names"
is "$(comp "tokenkeys keygen -t ")" "$(lines ecdsa ed25519 rsa)" \
    "keygen -t: the key types"
is "$(comp "tokenkeys keygen -t e")" "$(lines ecdsa ed25519)" \
    "keygen -t e: the types starting with e"
is "$(comp "tokenkeys list --format ")" "$(lines json text)" \
    "--format: text and json"
is "$(comp "tokenkeys list --comment ")" "$(lines label none uri)" \
    "--comment: uri, label, none"
is "$(comp "tokenkeys tokens --format j")" "json" \
    "tokens --format j: json"
out=$(comp "tokenkeys agent -")
check "agent's options: -A -a -D -d -k -P -t --config" \
    all_in "$out" -A -a -D -d -k -P -t -c -s --config

: >"$T/hostkeys.conf"
: >"$T/pkmod.so"
is "$(comp "tokenkeys agent --config $T/hostk")" "$T/hostkeys.conf" \
    "agent --config: a file name"
is "$(comp "tokenkeys list --module $T/pkm")" "$T/pkmod.so" \
    "list --module: a file name"
is "$(comp "tokenkeys agent -t ")" "" "agent -t: a lifetime, nothing offered"

# URIs, escaped: ';' and '?' would end or glob the word unquoted.
esc() { printf '%q' "$1"; }
out=$(comp "tokenkeys list ")
check "list: the key's URI, ';' escaped for the shell" has "$out" \
    "$(esc "$KEYURI")"
check "...and its token's URI" has "$out" "$(esc "$TOKURI")"
check "...not p11-kit's trust store or an uninitialised slot" \
    eval '! printf "%s\n" "$out" | grep -q -e "System%20Trust" -e "project$"'
# after "serial=" readline replaces only what follows the last '='
part=$(esc "$KEYURI")
part=${part%%serial=*}serial=${SERIAL:0:4}
is "$(comp "tokenkeys list $part" | grep -F 'id=')" \
    "$(esc "$SERIAL${KEYURI##*serial=$SERIAL}")" \
    "a half-typed URI: the rest after the last '='"
out=$(comp "tokenkeys tokens ")
check "tokens: token URIs, no key URIs" \
    eval 'has "$out" "$(esc "$TOKURI")" && ! printf "%s\n" "$out" | grep -q "id="'
is "$(tk_askpass_calls)" 0 "no PIN was asked for"
is "$(tk_fault_count C_Login)" 0 "...and no C_Login reached a token"

# A card that hangs: TAB still returns (each token within 1 s, the token
# list within 1 s), offering nothing of the hung card.
tk_fault_ctl 'serial 4a4e4a4e' 'token_label "tk hang"' 'hang C_FindObjectsInit'
out=$(comp "tokenkeys list ")
rc=$?
check "a hung card: completion returns (status $rc)" test "$rc" -ne 124
check "...offering nothing from the hung card" \
    eval '! printf "%s\n" "$out" | grep -q 4a4e4a4e'
tk_fault_ctl
done_testing
