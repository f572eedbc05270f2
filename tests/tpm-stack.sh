# SPDX-License-Identifier: BSD-2-Clause
# tests/tpm-stack.sh -- a software TPM 2.0 behind Debian's TPM PKCS#11
# module, for tests/tpm.sh and the TPM row of make bench (bash, sourced).
#
# swtpm on a unix socket (no port to collide on; its TCTI finds the
# control socket at the same path + ".ctrl"), a private D-Bus session
# bus, the tpm2-abrmd resource manager on it (without one the TPM runs
# out of object slots after a few commands), and a token made with
# tpm2_ptool.  The packages come from .ci/deps-tpm, which keeps the
# module's p11-kit registration out of the machine-wide registry: the
# package's .module file is diverted to TK_TPM_DIVERTED.
#
# Every process started here is in $TK_TPM_PIDS; tk_tpm_stop ends them.

TK_TPM_REGISTERED=/usr/share/p11-kit/modules/tpm2_pkcs11.module
TK_TPM_DIVERTED=/usr/share/p11-kit/tpm2_pkcs11.module.tokenkeys
TK_TPM_PIDS=

# tk_tpm_find: sets TK_TPM_MODFILE (the package's .module file, diverted
# or not) and TK_TPM_MODULE (the module); otherwise returns 1 with the
# reason in TK_TPM_WHY.
tk_tpm_find() {
	local tool dir
	TK_TPM_WHY=
	for tool in swtpm tpm2-abrmd tpm2_ptool tpm2_getrandom dbus-daemon \
	    pkcs11-tool; do
		command -v $tool >/dev/null && continue
		TK_TPM_WHY="$tool not installed (TPM packages: run .ci/deps-tpm)"
		return 1
	done
	TK_TPM_MODFILE=$(dpkg-divert --truename "$TK_TPM_REGISTERED" \
	    2>/dev/null) || TK_TPM_MODFILE=$TK_TPM_REGISTERED
	if [ ! -r "$TK_TPM_MODFILE" ]; then
		TK_TPM_WHY="no $TK_TPM_REGISTERED (libtpm2-pkcs11-1 not installed: run .ci/deps-tpm)"
		return 1
	fi
	dir=$(pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null)
	TK_TPM_MODULE=${dir:-/usr/lib/x86_64-linux-gnu/pkcs11}/libtpm2_pkcs11.so
	if [ ! -r "$TK_TPM_MODULE" ]; then
		TK_TPM_WHY="TPM PKCS#11 module $TK_TPM_MODULE missing"
		return 1
	fi
}

# tk_tpm_start DIR: swtpm, a bus and the broker, their files in DIR;
# exports what tpm2_ptool and the module need to reach the TPM through
# the broker (TPM2TOOLS_TCTI, TPM2_PKCS11_TCTI, TPM2_PKCS11_STORE=DIR/store,
# DBUS_SESSION_BUS_ADDRESS).
tk_tpm_start() {
	local d=$1
	mkdir -p "$d/state" "$d/store" || return 1
	swtpm socket --tpm2 --tpmstate dir="$d/state" \
	    --server type=unixio,path="$d/swtpm.sock" \
	    --ctrl type=unixio,path="$d/swtpm.sock.ctrl" \
	    --flags not-need-init,startup-clear --daemon \
	    --pid file="$d/swtpm.pid" --log file="$d/swtpm.log" ||
	    { echo "swtpm does not start" >&2; return 1; }
	TK_TPM_PIDS="$TK_TPM_PIDS $(cat "$d/swtpm.pid")"
	cat >"$d/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$d/bus</listen>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
	dbus-daemon --config-file="$d/bus.conf" --fork --print-pid \
	    >"$d/bus.pid" || { echo "dbus-daemon does not start" >&2; return 1; }
	TK_TPM_PIDS="$TK_TPM_PIDS $(cat "$d/bus.pid")"
	export DBUS_SESSION_BUS_ADDRESS=unix:path=$d/bus
	export TPM2TOOLS_TCTI=tabrmd:bus_type=session
	export TPM2_PKCS11_TCTI=tabrmd:bus_type=session
	export TPM2_PKCS11_STORE=$d/store
	export TSS2_LOG=all+NONE	# no TSS2 chatter on stderr
	TK_TPM_DIR=$d
	tk_tpm_abrmd_start
}

# tk_tpm_abrmd_start: tpm2-abrmd on the bus, pid in $TK_TPM_ABRMD; waits
# until a TPM command goes through it.
tk_tpm_abrmd_start() {
	local i root=
	[ "$(id -u)" -eq 0 ] && root=--allow-root
	tpm2-abrmd --tcti="swtpm:path=$TK_TPM_DIR/swtpm.sock" --session \
	    $root </dev/null >>"$TK_TPM_DIR/abrmd.log" 2>&1 &
	TK_TPM_ABRMD=$!
	TK_TPM_PIDS="$TK_TPM_PIDS $TK_TPM_ABRMD"
	for i in $(seq 100); do
		tpm2_getrandom 4 >/dev/null 2>&1 && return 0
		kill -0 "$TK_TPM_ABRMD" 2>/dev/null || break
		sleep 0.1
	done
	echo "tpm2-abrmd does not start: $(cat "$TK_TPM_DIR/abrmd.log")" >&2
	return 1
}

# tk_tpm_abrmd_stop: end the broker and wait until it is gone.
tk_tpm_abrmd_stop() {
	kill "$TK_TPM_ABRMD" 2>/dev/null
	wait "$TK_TPM_ABRMD" 2>/dev/null
}

# tk_tpm_token LABEL USERPIN SOPIN KEY...: a token made with tpm2_ptool,
# with one key per KEY, given as ALGORITHM:KEYLABEL (ecc256:ec1,
# rsa2048:rsa1).
tk_tpm_token() {
	local label=$1 upin=$2 sopin=$3 k st=$TPM2_PKCS11_STORE
	shift 3
	(
		tpm2_ptool init --path "$st" &&
		tpm2_ptool addtoken --pid=1 --label="$label" --sopin="$sopin" \
		    --userpin="$upin" --path "$st" &&
		for k in "$@"; do
			tpm2_ptool addkey --algorithm="${k%%:*}" \
			    --label="$label" --key-label="${k#*:}" \
			    --userpin="$upin" --path "$st" || exit 1
		done
	) >"$TK_TPM_DIR/ptool.out" 2>&1 && return 0
	cat "$TK_TPM_DIR/ptool.out" >&2
	return 1
}

# tk_tpm_stop: end every process tk_tpm_start started.
tk_tpm_stop() {
	local p
	for p in $TK_TPM_PIDS; do
		kill "$p" 2>/dev/null
	done
	[ -n "${TK_TPM_ABRMD:-}" ] && wait "$TK_TPM_ABRMD" 2>/dev/null
	TK_TPM_PIDS=
}
