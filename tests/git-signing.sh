#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys git-signing on a throwaway repository: --dry-run changes
# nothing; then gpg.format, user.signingkey and allowedSignersFile are set
# and printed, and a commit signed through the tokenkeys agent verifies
# with git verify-commit and git log --show-signature.

. "$(dirname "$0")/lib.sh"

for tool in softhsm2-util pkcs11-tool git ssh-keygen ssh-add; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
plan 13

tk_tmpdir
tk_softhsm_init "$T"
tk_agent_askpass
echo 1234 >"$T/agent.pin"
S=$(tk_token_new "tk git" 1234 12345678) || bail "cannot create a token"
tk_keygen "$S" 1234 EC:prime256v1 02 "git key" &&
    tk_keygen "$S" 1234 EC:prime256v1 03 "other" || bail "cannot make keys"
URI='pkcs11:token=tk%20git;object=git%20key'

mkdir -p "$T/home"
export HOME=$T/home GIT_CONFIG_NOSYSTEM=1
tk_agent_start a 'pkcs11:token=tk%20git' || bail "agent did not start"
export SSH_AUTH_SOCK=$T/a.sock

git init -q "$T/repo" || bail "git init failed"
cd "$T/repo" || bail "no repository"
git config user.name "Tok Keys"

# no user.email yet
"$TOKENKEYS" git-signing "$URI" >"$T/out" 2>&1
rc=$?
check "without user.email: exit 1 and how to set it" sh -c \
    '[ "$1" = 1 ] && grep -q "user.email is not set: set it first: "\
"git config user.email" "$2"' \
    sh "$rc" "$T/out"
git config user.email tk@example.org

# a URI that matches two keys
"$TOKENKEYS" git-signing 'pkcs11:token=tk%20git' >"$T/out" 2>&1
check "two keys match: exit 1, asks for one" sh -c \
    '[ "$1" = 1 ] && grep -q "2 keys match" "$2"' sh $? "$T/out"

# --dry-run
"$TOKENKEYS" git-signing --dry-run "$URI" >"$T/out" 2>&1
rc=$?
check "--dry-run: prints the changes" sh -c '[ "$1" = 0 ] &&
    grep -q "^gpg.format: (unset) -> ssh (dry run: not changed)" "$2" &&
    grep -q "^user.signingkey: (unset) -> .*tk_git_git_key.pub (dry run" "$2"' \
    sh "$rc" "$T/out"
check "--dry-run: changes nothing" sh -c \
    '[ -z "$(git config --get gpg.format)" ] && [ ! -e "$1" ]' \
    sh "$HOME/.ssh/tokenkeys"

# the real thing
"$TOKENKEYS" git-signing "$URI" >"$T/out" 2>&1
rc=$?
PUB=$HOME/.ssh/tokenkeys/tk_git_git_key.pub
SIGNERS=$HOME/.ssh/tokenkeys/allowed_signers
check "git-signing: exit 0" test "$rc" = 0
[ "$rc" = 0 ] || diag "$(cat "$T/out")"
got=$(git config gpg.format)\|$(git config user.signingkey)
got=$got\|$(git config gpg.ssh.allowedSignersFile)
is "$got" "ssh|$PUB|$SIGNERS" \
    "git's configuration names the key's file and the signers file"
is "$(cut -d' ' -f1-4 "$SIGNERS")" \
    "tk@example.org namespaces=\"git\" $(cut -d' ' -f1,2 "$PUB")" \
    "allowed_signers lists the key for user.email"
check "each change is printed" sh -c \
    'grep -q "^gpg.ssh.allowedSignersFile: (unset) -> $1" "$2" &&
    grep -q "^$1: add tk@example.org namespaces=\"git\" "\
"ecdsa-sha2-nistp256 pkcs11:" "$2"' \
    sh "$SIGNERS" "$T/out"

# a signed commit verifies
echo hello >file
git add file
git commit -q -S -m "signed on the token" >"$T/commit" 2>&1
check "git commit -S signs through the agent" test $? = 0
git verify-commit HEAD >"$T/verify" 2>&1
rc=$?
fp=$(ssh-keygen -lf "$PUB" | cut -d' ' -f2)
check "git verify-commit: good signature by the token key" sh -c \
    '[ "$1" = 0 ] && grep -q "Good \"git\" signature for "\
"tk@example.org with ECDSA key $2" "$3"' \
    sh "$rc" "$fp" "$T/verify"
[ "$rc" = 0 ] || diag "$(cat "$T/commit" "$T/verify")"
check "git log --show-signature shows it" sh -c \
    'git log --show-signature -1 |
    grep -q "Good \"git\" signature for tk@example.org"'

# run again: nothing changes
"$TOKENKEYS" git-signing "$URI" >"$T/out" 2>&1
check "again: every setting already there" sh -c \
    'grep -q "^gpg.format: already ssh" "$1" &&
    grep -q "already lists tk@example.org with this key" "$1"' sh "$T/out"
is "$(wc -l <"$SIGNERS")" 1 "again: allowed_signers keeps one line"

done_testing
