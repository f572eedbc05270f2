#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The Debian packages, as CI checks them (tests/check-all.sh runs this when
# TK_CHECK_DEBIAN=1, as .ci/run sets it): build tokenkeys, libtokenkeys0
# and libtokenkeys-dev with dpkg-buildpackage -us -uc -b in a copy of the
# tree under a temporary directory (the clone stays clean), check the
# symbols file against the export map, run lintian (no error, no
# warning), install them with apt-get, use them (list and tokens on a
# demo token, the agent started and stopped, pkg-config, a program
# compiled against the installed header and library, bash completion,
# the system units) and purge them: the machine is left as found, which
# is checked too (no file named *tokenkeys* appears or stays, no other
# package comes or goes).
#
# Needs root, apt-get, dpkg-buildpackage and lintian; installs missing
# Build-Depends with apt-get build-dep (they stay, like .ci/deps).

. "$(dirname "$0")/lib.sh"

SRC=$(cd "${abs_top_srcdir:-$TK_TESTDIR/..}" && pwd)
PKGS="tokenkeys libtokenkeys0 libtokenkeys-dev"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (apt-get install, purge)"
for tool in apt-get dpkg-buildpackage lintian git softhsm2-util pkcs11-tool \
    pkg-config cc ssh-add; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -d "$SRC/debian" ] || bail "no debian/ directory in $SRC"
git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 ||
    skip_all "$SRC is not a git checkout (the copy is made from git ls-files)"
for p in $PKGS; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed
	then
		skip_all "$p is installed already: not touching it"
	fi
done

plan 24
tk_tmpdir
export DEBIAN_FRONTEND=noninteractive

# What "as found" means: the files named *tokenkeys* outside private
# directories, and the installed packages.
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp \
	    -o -path /var/tmp -o -path /root -o -path /home -o -path /work \
	    -o -path "$SRC" -o -path /var/cache/apt -o -path /var/log \) \
	    -prune -o -name '*tokenkeys*' -print 2>/dev/null | LC_ALL=C sort
	dpkg-query -W -f='${Package} ${Version} ${Status}\n' |
	    grep ' installed$' | LC_ALL=C sort
}
installed=
purge() {
	[ -n "$installed" ] || return 0
	apt-get purge -y -q $PKGS >"$T/purge.log" 2>&1
	# man-db's formatted pages of ours, if anything showed them
	rm -f /var/cache/man/cat[1-9]/tokenkeys*
	installed=
}
tk_at_exit purge

# --- build, in a copy of what git knows of the tree
mkdir -p "$T/build/tokenkeys"
(cd "$SRC" && git ls-files -z -c -o --exclude-standard) |
    (cd "$SRC" && while IFS= read -r -d '' f; do
	[ -e "$f" ] && printf '%s\0' "$f"; done) |
    (cd "$SRC" && xargs -0 cp -P --parents -t "$T/build/tokenkeys") ||
    bail "cannot copy the tree"
B=$T/build/tokenkeys
if ! (cd "$B" && dpkg-checkbuilddeps) >/dev/null 2>&1; then
	diag "installing Build-Depends"
	apt-get build-dep -y -q "$B" >"$T/builddep.log" 2>&1 ||
	    { diag "$(tail -20 "$T/builddep.log")"; bail "apt-get build-dep failed"; }
fi
(cd "$B" && dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1
rc=$?
check "dpkg-buildpackage -us -uc -b builds the packages" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { diag "$(tail -40 "$T/build.log")"; bail "no packages"; }
VER=$(cd "$B" && dpkg-parsechangelog -S Version)
DEBS=
for p in $PKGS; do
	DEBS="$DEBS $T/build/${p}_${VER}_$(dpkg --print-architecture).deb"
done
all_files() {
	local f
	for f; do
		[ -f "$f" ] || return 1
	done
}
# shellcheck disable=SC2086
check "...all three: $PKGS" all_files $DEBS
is "$("$SRC/debian/gen-symbols")" "$(cat "$SRC/debian/libtokenkeys0.symbols")" \
    "the symbols file lists exactly the exports of src/libtokenkeys.map"

# lintian keeps its caches (mldbm-*) in TMPDIR: ours, removed with T
mkdir -p "$T/tmp"
TMPDIR=$T/tmp lintian --fail-on error,warning "$T"/build/*.changes \
    >"$T/lintian.log" 2>&1
rc=$?
check "lintian: no error and no warning" test "$rc" -eq 0
[ "$rc" -eq 0 ] || diag "$(cat "$T/lintian.log")"

# --- install
snapshot >"$T/before"
installed=1
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $DEBS >"$T/install.log" 2>&1
rc=$?
check "apt-get install ./*.deb" test "$rc" -eq 0
[ "$rc" -eq 0 ] || diag "$(tail -20 "$T/install.log")"
TK=/usr/bin/tokenkeys
check "tokenkeys is /usr/bin/tokenkeys" test -x "$TK"

# --- smoke test: a demo token
"$SRC/tests/demo-token.sh" "$T/demo" >"$T/demo.env" 2>"$T/demo.err" ||
    bail "demo token: $(cat "$T/demo.err")"
eval "$(cat "$T/demo.env")"
tk_run "$TK" list 'pkcs11:token=tokenkeys%20demo'
check "tokenkeys list: the demo token's keys" \
    eval '[ "$rc" -eq 0 ] && [ "$(printf "%s\n" "$out" | grep -c "token=tokenkeys%20demo")" -ge 3 ]'
NKEYS=$(printf '%s\n' "$out" | grep -c .)
tk_run "$TK" tokens
check "tokenkeys tokens: the demo token" \
    eval '[ "$rc" -eq 0 ] && printf "%s\n" "$out" | grep -q "tokenkeys demo"'

tk_run "$TK" agent -s
eval "$out" >/dev/null
APID=${SSH_AGENT_PID:-}
[ -n "$APID" ] && tk_at_exit "kill $APID 2>/dev/null"
check "tokenkeys agent starts (pid ${APID:-none})" \
    eval '[ "$rc" -eq 0 ] && [ -S "${SSH_AUTH_SOCK:-}" ]'
tk_agent_ready agent "${SSH_AUTH_SOCK:-/nonexistent}" 100 >/dev/null
is "$(ssh-add -L </dev/null 2>/dev/null | grep -c 'tokenkeys%20demo')" \
    "$NKEYS" "...and serves the demo keys"
ASOCK=$SSH_AUTH_SOCK
tk_run "$TK" agent -k
gone() {
	local i
	for i in $(seq 50); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
check "tokenkeys agent -k stops it" eval '[ "$rc" -eq 0 ] && gone "$APID"'
check "...and its socket is gone" test ! -e "$ASOCK"
unset SSH_AUTH_SOCK SSH_AGENT_PID

# --- the library, as a user of libtokenkeys-dev builds against it
is "$(echo $(pkg-config --libs tokenkeys))" "-ltokenkeys" \
    "pkg-config --libs tokenkeys"
cat >"$T/count.c" <<'EOF'
#include <stdio.h>
#include <tokenkeys.h>

int
main(int argc, char **argv)
{
	struct tk_ctx		*ctx = NULL;
	struct tk_keylist	*keys = NULL;
	int			 r;

	if ((r = tk_ctx_new(&ctx, 0)) != 0 ||
	    (r = tk_find_keys(ctx, argc > 1 ? argv[1] : "pkcs11:", 0,
	    &keys)) != 0) {
		fprintf(stderr, "count: %s\n", tk_strerror(r));
		return 1;
	}
	printf("%zu\n", tk_keylist_count(keys));
	tk_keylist_free(keys);
	tk_ctx_free(ctx);
	return 0;
}
EOF
# shellcheck disable=SC2046
cc -Wall -Werror -o "$T/count" "$T/count.c" $(pkg-config --cflags --libs \
    tokenkeys) >"$T/cc.log" 2>&1
rc=$?
check "a program compiles against the installed tokenkeys.h and library" \
    test "$rc" -eq 0
[ "$rc" -eq 0 ] || diag "$(cat "$T/cc.log")"
check "...and links /usr/lib/*/libtokenkeys.so.0" \
    eval 'ldd "$T/count" | grep -q "libtokenkeys.so.0 => /\(usr/\)\?lib/"'
is "$("$T/count" 'pkcs11:token=tokenkeys%20demo' 2>&1)" "$NKEYS" \
    "...and finds the demo token's keys"

# --- what else the packages install
check "man tokenkeys, tokenkeys-agent (1) and tokenkeys (3)" \
    eval '{ man -w 1 tokenkeys && man -w tokenkeys-agent &&
	man -w 3 tokenkeys; } >/dev/null'
if [ -r /usr/share/bash-completion/bash_completion ]; then
	check "bash completion loads for tokenkeys on demand" \
	    eval 'bash --norc -c ". /usr/share/bash-completion/bash_completion
		__load_completion tokenkeys; complete -p tokenkeys" |
		grep -q "_tokenkeys tokenkeys"'
else
	skip "bash completion loads for tokenkeys on demand" \
	    "bash-completion is not installed"
fi
check "the host key units and /etc/tokenkeys/hostkeys.conf (a conffile)" \
    eval 'test -f /lib/systemd/system/tokenkeys-hostkeys.socket &&
	test -f /lib/systemd/system/tokenkeys-hostkeys.service &&
	grep -q "^ExecStart=/usr/bin/tokenkeys agent -D --config /etc/tokenkeys/hostkeys.conf$" \
	    /lib/systemd/system/tokenkeys-hostkeys.service &&
	dpkg-query -W -f="\${Conffiles}" tokenkeys |
	    grep -q "/etc/tokenkeys/hostkeys.conf"'
tk_run "$TK" agent -D --config /etc/tokenkeys/hostkeys.conf
check "the shipped hostkeys.conf lists no key: the service says so and stops" \
    eval '[ "$rc" -ne 0 ] && printf "%s\n" "$err" | grep -q "lists no pkcs11: URI"'
check "...not enabled by the install" \
    eval '! find /etc/systemd -name "tokenkeys*" | grep -q .'
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify /lib/systemd/system/tokenkeys-hostkeys.socket \
	    /lib/systemd/system/tokenkeys-hostkeys.service >"$T/verify.log" 2>&1
	rc=$?
	check "systemd-analyze verify: the host key units are sound" \
	    test "$rc" -eq 0
	[ "$rc" -eq 0 ] || diag "$(cat "$T/verify.log")"
else
	skip "systemd-analyze verify" "systemd-analyze is not installed"
fi

# --- purge: as found
apt-get purge -y -q $PKGS >"$T/purge.log" 2>&1
rc=$?
rm -f /var/cache/man/cat[1-9]/tokenkeys*
installed=
check "apt-get purge" test "$rc" -eq 0
[ "$rc" -eq 0 ] || diag "$(tail -20 "$T/purge.log")"
snapshot >"$T/after"
diff -u "$T/before" "$T/after" >"$T/diff"
rc=$?
check "the machine is as found: no *tokenkeys* file, the same packages" \
    test "$rc" -eq 0
[ "$rc" -eq 0 ] || diag "$(cat "$T/diff")"
done_testing
