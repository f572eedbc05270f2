# SPDX-License-Identifier: BSD-2-Clause
# tests/lib.sh -- helpers sourced by the tokenkeys shell tests (bash).
#
# TAP output, a private temporary directory that is cleaned up on every exit
# path, a throwaway SoftHSM2 token store, key and certificate fixtures, a
# throwaway sshd run as a ProxyCommand, and askpass PIN scripts.
#
# Nothing here touches ~/.ssh, /etc/ssh or the machine's own tokens.

TK_MODULE=/usr/lib/softhsm/libsofthsm2.so
TK_TESTDIR=$(cd "$(dirname "$0")" && pwd)
if [ -z "${TOKENKEYS:-}" ]; then
	if [ -n "${abs_top_builddir:-}" ]; then
		TOKENKEYS=$abs_top_builddir/tokenkeys
	else
		TOKENKEYS=$TK_TESTDIR/../tokenkeys
	fi
fi
export TOKENKEYS
# The tests must never talk to the user's agent or display.
unset SSH_AUTH_SOCK SSH_AGENT_PID DISPLAY
# ...nor to the desktop's session bus (the agent's notices): a test that
# wants one starts its own.
export DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/tokenkeys-test-bus

# ---------------------------------------------------------------- TAP

tk_n=0
tk_planned=
tk_failed=0

plan() { tk_planned=$1; echo "1..$1"; }

skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# Abort the whole script: fixture trouble, not a failed assertion.
bail() { echo "Bail out! $*"; exit 1; }

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

ok() { tk_n=$((tk_n + 1)); echo "ok $tk_n - $*"; }

not_ok() {
	tk_n=$((tk_n + 1))
	tk_failed=$((tk_failed + 1))
	echo "not ok $tk_n - $*"
}

skip() { tk_n=$((tk_n + 1)); echo "ok $tk_n - $1 # SKIP $2"; }

# check DESC CMD [ARG...]: one test point, passing when CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# is GOT EXPECTED DESC: string equality, with a unified diff on failure.
is() {
	if [ "$1" = "$2" ]; then
		ok "$3"
		return 0
	fi
	not_ok "$3"
	printf '%s\n' "$2" >"$T/.is.expected"
	printf '%s\n' "$1" >"$T/.is.got"
	diff -u --label expected --label got "$T/.is.expected" "$T/.is.got" |
	    sed 's/^/# /'
	return 1
}

# Call at the end: a test count that differs from the plan is an error.
done_testing() {
	if [ -n "$tk_planned" ] && [ "$tk_n" -ne "$tk_planned" ]; then
		echo "# planned $tk_planned tests but ran $tk_n"
		exit 1
	fi
	exit 0
}

# ------------------------------------------------- temp dir and cleanup

tk_cleanups=

# tk_at_exit CMD: run CMD (a shell string) at exit, last registered first.
tk_at_exit() { tk_cleanups="$1
$tk_cleanups"; }

tk_cleanup() {
	local rc=$? cmd
	trap - EXIT INT TERM HUP PIPE
	set +e
	while IFS= read -r cmd; do
		[ -n "$cmd" ] && eval "$cmd"
	done <<EOF
$tk_cleanups
EOF
	exit $rc
}

# tk_tmpdir: create $T (mode 0755 so a throwaway user can reach its home
# below it) and arrange for it to be removed.
tk_tmpdir() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/tokenkeys-test.XXXXXXXX") ||
	    bail "mktemp failed"
	chmod 755 "$T"
	trap tk_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 141' PIPE
	tk_at_exit "rm -rf '$T'"
	export T
}

# tk_run CMD [ARG...]: run with no stdin; sets $rc, $out, $err and leaves the
# raw streams in $T/out and $T/err.
# shellcheck disable=SC2034
tk_run() {
	"$@" </dev/null >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
	return 0
}

# tk_sorted: sort lines bytewise, whatever the locale.
tk_sorted() { LC_ALL=C sort; }

# tk_blobs: "TYPE BASE64" of each key line on stdin, sorted.
tk_blobs() { awk 'NF >= 2 { print $1, $2 }' | tk_sorted; }

# tk_comment LINE: everything after the second field.
tk_comment() { printf '%s\n' "$1" | cut -d' ' -f3-; }

# tk_pct STRING: RFC 3986 percent-encoding of every byte except unreserved.
tk_pct() {
	printf '%s' "$1" | od -An -v -tx1 | tr -s ' \n' '\n\n' | sed '/^$/d' |
	while read -r h; do
		case $h in
		3[0-9]|4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a]|2d|2e|5f|7e)
			printf "\\x$h" ;;
		*)	printf '%%%s' "$h" ;;
		esac
	done
}

# tk_unpct STRING: undo percent-encoding.
tk_unpct() { printf '%b' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/%/\\x/g')"; }

# ------------------------------------------------------------ SoftHSM

# tk_softhsm_init DIR: private token store in DIR; exports SOFTHSM2_CONF.
tk_softhsm_init() {
	mkdir -p "$1/tokens" || bail "cannot create $1/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	    "$1/tokens" >"$1/softhsm2.conf"
	SOFTHSM2_CONF=$1/softhsm2.conf
	export SOFTHSM2_CONF
}

# tk_token_new LABEL PIN SOPIN: initialise a new token, print its serial.
tk_token_new() {
	local o slot
	o=$(softhsm2-util --init-token --free --label "$1" --pin "$2" \
	    --so-pin "$3" 2>&1) || { echo "$o" >&2; return 1; }
	slot=$(printf '%s\n' "$o" | sed -n 's/.*reassigned to slot \([0-9]*\).*/\1/p')
	[ -n "$slot" ] || { echo "$o" >&2; return 1; }
	softhsm2-util --show-slots | awk -v s="$slot" '
	    /^Slot [0-9]+$/ { cur = $2 }
	    cur == s && /Serial number:/ { print $3; found = 1; exit }
	    END { exit !found }'
}

# tk_token_slot SERIAL: the slot id (pkcs11-tool --slot) of that token.
tk_token_slot() {
	[ -n "$1" ] || return 1
	softhsm2-util --show-slots | awk -v want="$1" '
	    /^Slot [0-9]+$/ { cur = $2 }
	    /Serial number:/ && $3 == want { print cur; found = 1; exit }
	    END { exit !found }'
}

tk_p11tool() { pkcs11-tool --module "$TK_MODULE" "$@"; }

# tk_keygen SERIAL PIN KEYTYPE ID LABEL: key pair made on the token.
# KEYTYPE as pkcs11-tool: rsa:2048, EC:prime256v1, EC:secp384r1,
# EC:secp521r1, EC:edwards25519.
tk_keygen() {
	local slot
	slot=$(tk_token_slot "$1") || return 1
	tk_p11tool --slot "$slot" --login --pin "$2" --keypairgen \
	    --key-type "$3" --id "$4" --label "$5" >/dev/null 2>&1 ||
	    { echo "keygen $3 on $1 failed" >&2; return 1; }
}

# tk_keyfile KIND FILE: PKCS#8 PEM private key from OpenSSL.
# KIND: rsa2048 rsa3072 rsa4096 p256 p384 p521 ed25519.
tk_keyfile() {
	case $1 in
	rsa*)	openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${1#rsa}" \
		    -out "$2" 2>/dev/null ;;
	p256|p384|p521)
		openssl genpkey -algorithm EC \
		    -pkeyopt "ec_paramgen_curve:P-${1#p}" -out "$2" ;;
	ed25519) openssl genpkey -algorithm ed25519 -out "$2" ;;
	*)	echo "tk_keyfile: unknown kind $1" >&2; return 1 ;;
	esac
}

# tk_import SERIAL PIN FILE ID LABEL: import a PKCS#8 key pair.
tk_import() {
	softhsm2-util --import "$3" --serial "$1" --pin "$2" --id "$4" \
	    --label "$5" >/dev/null ||
	    { echo "import of $3 failed" >&2; return 1; }
}

# tk_cert KEY OUT.der leaf|ca: self-signed X.509 certificate for KEY.
tk_cert() {
	local bc=CA:FALSE
	[ "$3" = ca ] && bc=CA:TRUE
	openssl req -x509 -new -key "$1" -subj "/CN=tokenkeys test $3" \
	    -days 30 -addext "basicConstraints=critical,$bc" \
	    -outform DER -out "$2" 2>/dev/null
}

# tk_cert_write SERIAL PIN DER ID LABEL: certificate object on the token.
tk_cert_write() {
	local slot
	slot=$(tk_token_slot "$1") || return 1
	tk_p11tool --slot "$slot" --login --pin "$2" --write-object "$3" \
	    --type cert --id "$4" --label "$5" >/dev/null 2>&1 ||
	    { echo "writing certificate $3 failed" >&2; return 1; }
}

# tk_ed25519_line RAW32FILE: "ssh-ed25519 BASE64" built by hand.
tk_ed25519_line() {
	printf 'ssh-ed25519 %s\n' "$({
		printf '\000\000\000\013ssh-ed25519\000\000\000\040'
		cat "$1"
	} | base64 -w0)"
}

# tk_spki_line FILE: "TYPE BASE64" of a SubjectPublicKeyInfo (PEM or DER).
tk_spki_line() {
	local pem=$T/.spki.pem
	openssl pkey -pubin -inform DER -in "$1" -out "$pem" 2>/dev/null ||
	    openssl pkey -pubin -in "$1" -out "$pem" || return 1
	if openssl pkey -pubin -in "$pem" -noout -text | grep -q '^ED25519'; then
		openssl pkey -pubin -in "$pem" -outform DER | tail -c 32 >"$T/.raw"
		tk_ed25519_line "$T/.raw"
	else
		ssh-keygen -i -m PKCS8 -f "$pem" | awk '{ print $1, $2 }'
	fi
}

# tk_pem_line KEY.pem: "TYPE BASE64" OpenSSH derives from a private key.
# ssh-keygen -y reads OpenSSL's PKCS#8 PEM for RSA and ECDSA; OpenSSH 9.2
# cannot read Ed25519 PKCS#8, so that blob is built from the raw key.
tk_pem_line() {
	if ssh-keygen -y -f "$1" 2>/dev/null | awk '{ print $1, $2 }' |
	    grep . ; then
		return 0
	fi
	openssl pkey -in "$1" -pubout -out "$T/.pub.pem" || return 1
	tk_spki_line "$T/.pub.pem"
}

# tk_token_line SERIAL ID: "TYPE BASE64" of the public key object on the
# token, as read by pkcs11-tool (independent of tokenkeys).  Works for keys
# made by tk_keygen; OpenSC 0.23's pkcs11-tool cannot read some imported
# keys (Ed25519 with a raw point, P-384), so use tk_pem_line for those.
tk_token_line() {
	local slot
	slot=$(tk_token_slot "$1") || return 1
	tk_p11tool --slot "$slot" --read-object --type pubkey --id "$2" \
	    -o "$T/.obj" >/dev/null 2>&1 || return 1
	tk_spki_line "$T/.obj"
}

# ------------------------------------------------------------- askpass

# tk_askpass_scripts PIN: $T/pin.sh (right PIN), $T/badpin.sh (wrong PIN),
# $T/countpin.sh (right PIN, appends one line per call to $T/askpass.count).
tk_askpass_scripts() {
	printf '#!/bin/sh\necho %s\n' "$1" >"$T/pin.sh"
	printf '#!/bin/sh\necho %s\n' "0$1x" >"$T/badpin.sh"
	# one line per call in askpass.count; the prompts (which may span
	# several lines) in askpass.prompts
	printf '#!/bin/sh\necho call >>%s/askpass.count\nprintf "%%s\\n" "$1" >>%s/askpass.prompts\necho %s\n' \
	    "$T" "$T" "$1" >"$T/countpin.sh"
	: >"$T/askpass.count"
	chmod 755 "$T/pin.sh" "$T/badpin.sh" "$T/countpin.sh"
}

# tk_askpass_calls: how often countpin.sh ran.
tk_askpass_calls() { wc -l <"$T/askpass.count" | tr -d ' '; }

# ----------------------------------------------------- throwaway sshd

tk_need_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (throwaway user and sshd)"
}

# tk_user_reach USER VAR...: make the programs named by the variables
# (TOKENKEYS, say) something USER can run.  A build under a private
# directory (root's 0700 home, a mktemp -d) is out of its reach: then the
# variable is pointed at a copy in $T/bin (our programs link our code
# statically).
tk_user_reach() {
	local user=$1 var f
	shift
	for var in "$@"; do
		f=${!var}
		setpriv --reuid="$user" --regid="$(id -g "$user")" \
		    --clear-groups test -r "$f" 2>/dev/null && continue
		mkdir -p "$T/bin" && chmod 755 "$T/bin" &&
		    cp "$f" "$T/bin/" && chmod a+rx "$T/bin/${f##*/}" ||
		    bail "cannot copy $f where $user can run it"
		diag "$f is out of $user's reach: using a copy in $T/bin"
		printf -v "$var" '%s' "$T/bin/${f##*/}"
	done
}

# tk_sshd_setup: throwaway user $TK_USER with home $T/home, a host key, and
# $T/sshd_config + $T/ssh_config where host "test" runs `sshd -i` as a
# ProxyCommand.  The client side gets a private HOME ($T/client) so the
# real ~/.ssh is neither read nor written.
tk_sshd_setup() {
	mkdir -p /run/sshd
	TK_USER=tk$$
	while getent passwd "$TK_USER" >/dev/null; do
		TK_USER=tk$$r$RANDOM
	done
	useradd -M -d "$T/home" -s /bin/sh "$TK_USER" ||
	    bail "useradd $TK_USER failed"
	tk_at_exit "tk_user_remove $TK_USER"
	usermod -p '*' "$TK_USER" || bail "usermod failed"
	mkdir -p "$T/home/.ssh" "$T/client/.ssh"
	chmod 700 "$T/home/.ssh" "$T/client" "$T/client/.ssh"
	chown -R "$TK_USER" "$T/home"
	ssh-keygen -q -t ed25519 -N '' -C tk-hostkey -f "$T/hostkey" ||
	    bail "host key generation failed"
	cat >"$T/sshd_config" <<EOF
HostKey $T/hostkey
AuthorizedKeysFile .ssh/authorized_keys
StrictModes no
UsePAM no
PidFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
	cat >"$T/ssh_config" <<EOF
Host test
  ProxyCommand /usr/sbin/sshd -i -f $T/sshd_config -E $T/sshd.log
  UserKnownHostsFile $T/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking accept-new
  User $TK_USER
  IdentityAgent none
  PasswordAuthentication no
  KbdInteractiveAuthentication no
  PreferredAuthentications publickey
  ControlMaster no
  ControlPath none
EOF
}

# tk_user_remove USER: end what runs as the throwaway user, then delete it.
tk_user_remove() {
	local p
	for p in $(ps -o pid= -u "$1" 2>/dev/null); do
		kill "$p" 2>/dev/null
	done
	# sshd's agent-forwarding sockets (ssh -A) for the user
	find /tmp -maxdepth 1 -name 'ssh-*' -user "$1" -exec rm -rf {} + \
	    2>/dev/null
	userdel "$1" 2>/dev/null || { sleep 1; userdel "$1"; }
}

# tk_ssh ARGS...: the stock client with the private HOME and no stdin.
tk_ssh() { HOME=$T/client ssh -F "$T/ssh_config" "$@" </dev/null; }

# Fault tests of the agent (tests/faultmod/, agent-faults*.sh)

# tk_now_ms: wall clock in milliseconds, for timed asserts.
tk_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# tk_fault_ctl LINE...: replace the fault module's control file
# ($TK_FAULT_CONTROL) atomically, one directive per argument.
tk_fault_ctl() {
	printf '%s\n' "$@" >"$TK_FAULT_CONTROL.new" &&
	    mv "$TK_FAULT_CONTROL.new" "$TK_FAULT_CONTROL"
}

# tk_fault_count FUNC: calls of FUNC in every process so far (the fault
# module's state file); compare before and after.
tk_fault_count() {
	awk -v f="$1" '$1 == f { n = $2 } END { print n + 0 }' \
	    "$TK_FAULT_CONTROL.state" 2>/dev/null
}

# tk_fault_pins_left: the emulated PIN counter.
tk_fault_pins_left() {
	awk '$1 == "pin_left" { print $2 }' "$TK_FAULT_CONTROL.state"
}

# tk_agent_askpass: $T/agent-askpass.sh for the agent.  PIN prompts answer
# $T/agent.pin and add a line to $T/pin.count; confirm prompts succeed
# when $T/answer says yes and add a line to $T/confirm.count; every
# prompt text is appended to $T/prompts.
tk_agent_askpass() {
	cat >"$T/agent-askpass.sh" <<EOF
#!/bin/sh
printf '%s\n' "\$1" >>"$T/prompts"
if [ "\$SSH_ASKPASS_PROMPT" = confirm ]; then
	echo call >>"$T/confirm.count"
	[ "\$(cat "$T/answer")" = yes ]
	exit
fi
echo call >>"$T/pin.count"
cat "$T/agent.pin"
EOF
	chmod 755 "$T/agent-askpass.sh"
	: >"$T/prompts"
	: >"$T/pin.count"
	: >"$T/confirm.count"
	echo yes >"$T/answer"
}

tk_pin_prompts() { wc -l <"$T/pin.count" | tr -d ' '; }
tk_confirm_prompts() { wc -l <"$T/confirm.count" | tr -d ' '; }

# tk_agent_start NAME ARGS...: tokenkeys agent -D -d on $T/NAME.sock with
# the askpass above, log in $T/NAME.log, pid in $TK_AGENT_PID; waits
# until it answers.
tk_agent_start() {
	local name=$1
	shift
	SSH_ASKPASS=$T/agent-askpass.sh SSH_ASKPASS_REQUIRE=force DISPLAY= \
	    "$TOKENKEYS" agent -D -d -a "$T/$name.sock" "$@" \
	    </dev/null >"$T/$name.out" 2>"$T/$name.log" &
	TK_AGENT_PID=$!
	tk_at_exit "kill $TK_AGENT_PID 2>/dev/null"
	tk_agent_ready "$name" "$T/$name.sock" 100
}

# tk_agent_helper PATTERN: pid of the agent's helper whose command line
# matches PATTERN (empty if none).
tk_agent_helper() { pgrep -P "$TK_AGENT_PID" -f "$1" | head -1; }

# tk_fault_setup: skip unless the tools are there; then $T with a SoftHSM
# token "tk one" (P-256 key "ec256", PIN 1234) that the agent reaches
# through the fault module, $FAULTMOD_RP (its real path), $ONE_URI (the
# agent argument), $FAULT_ALLOW (a -P allowlist admitting it and
# SoftHSM), an empty control file and the agent's askpass.
tk_fault_setup() {
	local tool
	for tool in softhsm2-util pkcs11-tool ssh-add ssh-keygen pgrep; do
		command -v $tool >/dev/null || skip_all "$tool not installed"
	done
	[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE missing"
	[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
	[ -f "${FAULTMOD:-}" ] || skip_all "fault module not built (FAULTMOD)"
	tk_tmpdir
	tk_softhsm_init "$T"
	FAULTMOD_RP=$(realpath "$FAULTMOD")
	FAULT_ALLOW="$(dirname "$FAULTMOD_RP")/*,/usr/lib*/*"
	ONE_SERIAL=$(tk_token_new "tk one" 1234 12345678) ||
	    bail "cannot create a token"
	tk_keygen "$ONE_SERIAL" 1234 EC:prime256v1 02 ec256 ||
	    bail "cannot make a key"
	ONE_URI="pkcs11:token=tk%20one?module-path=$FAULTMOD_RP"
	TK_FAULT_CONTROL=$T/ctl
	export TK_FAULT_CONTROL
	unset TK_FAULT_STATE TK_FAULT_MODULE
	: >"$TK_FAULT_CONTROL"
	tk_agent_askpass
	echo 1234 >"$T/agent.pin"
}

# tk_timed CMD [ARG...]: run with no stdin, output in $T/out; sets $rc
# and $ms (how long it took).
tk_timed() {
	local t0
	t0=$(tk_now_ms)
	"$@" </dev/null >"$T/out" 2>&1
	rc=$?
	ms=$(( $(tk_now_ms) - t0 ))
}

# tk_quickest CMD [ARG...]: tk_timed three times; $rc is the worst, $ms
# the quickest (a blocked agent makes all three slow, a busy machine only
# some).
tk_quickest() {
	local best=999999 worst=0 i
	for i in 1 2 3; do
		tk_timed "$@"
		[ "$ms" -lt "$best" ] && best=$ms
		[ "$rc" -gt "$worst" ] && worst=$rc
	done
	ms=$best
	rc=$worst
}

# Shared test helpers
# tk_agent_ready NAME SOCK TRIES [PID]: poll every 0.1 s, TRIES times,
# until the agent on SOCK answers a listing (ssh-add -l: 0 or 1); give up
# early once PID, if given, is gone.  On failure, says so with the log
# $T/NAME.log and returns 1.
tk_agent_ready() {
	local name=$1 sock=$2 tries=$3 pid=${4:-} i rc
	for i in $(seq "$tries"); do
		if [ -S "$sock" ]; then
			SSH_AUTH_SOCK=$sock ssh-add -l </dev/null >/dev/null 2>&1
			rc=$?
			[ "$rc" -le 1 ] && return 0
		fi
		[ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	diag "agent $name did not start:" "$(cat "$T/$name.log")"
	return 1
}

# tk_agent_stop PID: stop an agent run in the background and reap it.
tk_agent_stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# Following tokens: the presence check

# tk_agent_wait_listed MS PATTERN [PATTERN2]: wait up to MS milliseconds
# until `ssh-add -l` on $SSH_AUTH_SOCK lists a key matching PATTERN (and
# PATTERN2).  Sets $rc (0: listed, 1: not in time) and $ms (how long);
# returns $rc.
tk_agent_wait_listed() {
	local t0 end
	t0=$(tk_now_ms)
	end=$((t0 + $1))
	rc=1
	while :; do
		if ssh-add -l </dev/null 2>/dev/null | grep "$2" |
		    grep -q "${3:-.}"; then
			rc=0
			break
		fi
		[ "$(tk_now_ms)" -ge "$end" ] && break
		sleep 0.05
	done
	ms=$(( $(tk_now_ms) - t0 ))
	return $rc
}

# tk_agent_wait_unlisted MS PATTERN: the same, until no key matches.
tk_agent_wait_unlisted() {
	local t0 end
	t0=$(tk_now_ms)
	end=$((t0 + $1))
	rc=1
	while :; do
		if ! ssh-add -l </dev/null 2>/dev/null | grep -q "$2"; then
			rc=0
			break
		fi
		[ "$(tk_now_ms)" -ge "$end" ] && break
		sleep 0.05
	done
	ms=$(( $(tk_now_ms) - t0 ))
	return $rc
}

# Remote tokens through p11-kit

# tk_p11_client_module: the path of p11-kit's RPC client module
# (p11-kit-client.so, Debian package p11-kit-modules), printed; fails when
# it is not installed.  Looks in p11-kit's own module directory first.
tk_p11_client_module() {
	local d
	for d in "$(pkg-config --variable=p11_module_path p11-kit-1 \
	    2>/dev/null)" /usr/lib/*/pkcs11 /usr/lib64/pkcs11 /usr/lib/pkcs11 \
	    /usr/local/lib/pkcs11; do
		if [ -n "$d" ] && [ -f "$d/p11-kit-client.so" ]; then
			printf '%s\n' "$d/p11-kit-client.so"
			return 0
		fi
	done
	return 1
}

# tk_p11_server_start SOCKET URI: `p11-kit server` in the foreground and
# in its own session (so that it and the p11-kit-remote process it starts
# per connection are stopped, continued and killed as one process group),
# serving the SoftHSM tokens matching URI on SOCKET.  Sets
# $TK_P11_SERVER_PGID and $TK_P11_SERVER_ADDRESS (what it printed).
tk_p11_server_start() {
	local i pid pgid
	rm -f "$1" "$1.out"
	setsid p11-kit server -f -n "$1" --provider "$TK_MODULE" "$2" \
	    </dev/null >"$1.out" 2>>"$T/p11-server.log" &
	for i in $(seq 100); do
		[ -S "$1" ] && grep -q '^P11_KIT_SERVER_PID=' "$1.out" && break
		sleep 0.1
	done
	pid=$(sed -n 's/^P11_KIT_SERVER_PID=\([0-9]*\);.*/\1/p' "$1.out")
	TK_P11_SERVER_ADDRESS=$(sed -n \
	    's/^P11_KIT_SERVER_ADDRESS=\([^;]*\);.*/\1/p' "$1.out")
	if [ -z "$pid" ]; then
		diag "p11-kit server did not start:" \
		    "$(cat "$T/p11-server.log")"
		return 1
	fi
	pgid=$(ps -o pgid= -p "$pid" | tr -d ' ')
	# setsid made it a group leader; a group not its own is not ours
	if [ "$pgid" != "$pid" ]; then
		diag "p11-kit server $pid is not a process group leader"
		kill "$pid"
		return 1
	fi
	TK_P11_SERVER_PGID=$pid
	tk_at_exit "kill -CONT -- -$pid 2>/dev/null; kill -KILL -- -$pid 2>/dev/null"
}

# tk_p11_server_kill: end the server started last with its per-connection
# processes, and wait until they are gone.
tk_p11_server_kill() {
	local i
	kill -TERM -- "-$TK_P11_SERVER_PGID" 2>/dev/null
	kill -CONT -- "-$TK_P11_SERVER_PGID" 2>/dev/null
	for i in $(seq 50); do
		pgrep -g "$TK_P11_SERVER_PGID" >/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$TK_P11_SERVER_PGID" 2>/dev/null
	sleep 0.2
}
