/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * doctor's local checks: every module p11-kit names (or --module) and the
 * state of each token; pcscd when OpenSC needs it; OpenSSH's version
 * against the key types the tokens hold.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli-run.h"
#include "cli/doctor.h"

#define PCSCD_SOCK	"/run/pcscd/pcscd.comm"

/* One token's line: its state decides the level. */
static void
token_line(struct dr_report *rep, const struct tk_token *t)
{
	unsigned int	 f = tk_token_flags(t);
	char		 label[256], uri[1024], check[300], fix[1200];
	const char	*pad;

	tk_str_sanitize(tk_token_label(t), label, sizeof(label));
	tk_str_sanitize(tk_token_uri(t), uri, sizeof(uri));
	if (label[0] != '\0')
		snprintf(check, sizeof(check), "token \"%s\"", label);
	else
		snprintf(check, sizeof(check), "token in slot %lu",
		    tk_token_slot_id(t));
	pad = (f & TK_TOKEN_PROTECTED_AUTH) ?
	    "; PIN pad: the PIN is typed on the reader" : "";
	if (f & TK_TOKEN_NOT_INITIALIZED)
		dr_add(rep, DR_WARN, check, "to use it, initialise it with its "
		    "vendor's tool (e.g. pkcs11-tool --init-token), then make "
		    "a key: tokenkeys keygen", "not initialised: holds no "
		    "keys");
	else if (f & TK_TOKEN_PIN_LOCKED) {
		snprintf(fix, sizeof(fix), "set a new PIN with the PUK: "
		    "tokenkeys unblock '%s'", uri);
		dr_add(rep, DR_FAIL, check, fix, "PIN locked: no PIN try "
		    "left");
	} else if (f & TK_TOKEN_PIN_FINAL_TRY) {
		snprintf(fix, sizeof(fix), "the next wrong PIN locks it: type "
		    "it with care, or set a new one with the PUK: tokenkeys "
		    "unblock '%s'", uri);
		dr_add(rep, DR_WARN, check, fix, "final PIN try%s", pad);
	} else if (f & TK_TOKEN_PIN_COUNT_LOW)
		dr_add(rep, DR_WARN, check, "a wrong PIN was typed: the next "
		    "right one resets the count", "PIN retry count low%s",
		    pad);
	else if (tk_token_nkeys(t) == 0)
		dr_add(rep, DR_WARN, check, "make one: tokenkeys keygen "
		    "(some cards show keys only after login: tokenkeys list "
		    "--login)", "no key visible%s", pad);
	else
		dr_add(rep, DR_OK, check, NULL, "%zu key%s%s",
		    tk_token_nkeys(t), tk_token_nkeys(t) == 1 ? "" : "s", pad);
}

/* pcscd, for a module that talks to card readers through it. */
static void
check_pcscd(struct dr_report *rep)
{
	struct sockaddr_un	 sun;
	const char		*path;
	char			 fix[600];
	int			 fd, ok = 0;

	if ((path = getenv("PCSCLITE_CSOCK_NAME")) == NULL || *path == '\0')
		path = PCSCD_SOCK;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) < sizeof(sun.sun_path) &&
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		memcpy(sun.sun_path, path, strlen(path));
		ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		close(fd);
	}
	snprintf(fix, sizeof(fix), "OpenSC sees no card reader without it: "
	    "sudo systemctl start pcscd.socket");
	if (ok)
		dr_add(rep, DR_OK, "pcscd", NULL, "answers on %s", path);
	else
		dr_add(rep, DR_WARN, "pcscd", fix, "nothing answers on %s",
		    path);
}

static int
needs_pcscd(const char *path)
{
	const char	*base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	return strstr(base, "opensc") != NULL;
}

void
dr_check_tokens(struct dr_report *rep, struct dr_opts *o)
{
	struct tk_tokenlist	*list = NULL;
	const struct tk_token	*t;
	const char		*last = NULL;
	char			 name[256], path[1024], check[1400];
	char			 err[1024];
	size_t			 i, n, ntok = 0;
	int			 pcscd = 0, r;

	if ((r = tk_find_tokens(o->ctx, "pkcs11:", &list)) != 0) {
		dr_add(rep, DR_FAIL, "modules", "check p11-kit's "
		    "configuration: p11-kit list-modules", "%s",
		    tk_strerror(r));
		goto out;
	}
	n = tk_tokenlist_count(list);
	for (i = 0; i < n; i++) {
		t = tk_tokenlist_get(list, i);
		tk_str_sanitize(tk_token_module_name(t), name, sizeof(name));
		tk_str_sanitize(tk_token_module_path(t), path, sizeof(path));
		snprintf(check, sizeof(check), "module %s", name);
		if (tk_token_flags(t) & TK_TOKEN_MODULE_FAILED) {
			tk_str_sanitize(tk_token_module_error(t), err,
			    sizeof(err));
			/* skipped by list and the agent too: not fatal */
			dr_add(rep, DR_WARN, check, "its tokens are not "
			    "seen: install the module's package again, or "
			    "remove its p11-kit entry (p11-kit list-modules "
			    "names them)", "%s failed to start: %s", path,
			    err);
			continue;
		}
		if (last == NULL || strcmp(last, tk_token_module_path(t)) != 0)
			dr_add(rep, DR_OK, check, NULL, "%s loads%s", path,
			    (tk_token_flags(t) & TK_TOKEN_TRUST_MODULE) ?
			    " (trust policy: CA certificates, no keys)" : "");
		last = tk_token_module_path(t);
		if (needs_pcscd(tk_token_module_path(t)))
			pcscd = 1;
		if (tk_token_flags(t) & TK_TOKEN_TRUST_MODULE)
			continue;
		if (tk_token_flags(t) & TK_TOKEN_PRESENT) {
			token_line(rep, t);
			ntok++;
		}
	}
	if (pcscd)
		check_pcscd(rep);
	if (ntok == 0)
		dr_add(rep, DR_WARN, "tokens", "plug in the card or token "
		    "(tokenkeys tokens shows every slot)", "no token found");
	r = tk_find_keys(o->ctx, "pkcs11:", 0, &o->keys);
	if (r != 0 && r != TK_ERR_NOT_FOUND)
		dr_add(rep, DR_FAIL, "keys", "see tokenkeys list -v",
		    "listing the token keys failed: %s", tk_strerror(r));
 out:
	tk_tokenlist_free(list);
}

/* "OpenSSH_9.2p1 ..." from ssh -V: the version as 100 * major + minor. */
static int
openssh_version(char *text, size_t textsz)
{
	struct cli_run	 res;
	char		*argv[] = { "ssh", "-V", NULL };
	const char	*p;
	int		 major, minor, v = -1;

	text[0] = '\0';
	if (cli_run(argv, 5000, 4096, &res) != 0)
		return -1;
	p = strstr(res.err, "OpenSSH_");
	if (p == NULL)
		p = strstr(res.out, "OpenSSH_");
	if (p != NULL && sscanf(p, "OpenSSH_%d.%d", &major, &minor) == 2 &&
	    major >= 0 && major < 100 && minor >= 0 && minor < 100) {
		v = major * 100 + minor;
		snprintf(text, textsz, "%d.%d", major, minor);
	}
	cli_run_free(&res);
	return v;
}

void
dr_check_openssh(struct dr_report *rep, struct dr_opts *o)
{
	/* The first OpenSSH to sign with each type through an agent. */
	static const struct {
		int		 type;
		int		 since;
		const char	*what;
	} need[] = {
		{ TK_KEY_RSA, 702, "RSA with SHA-2 (rsa-sha2-256)" },
		{ TK_KEY_ECDSA_P256, 507, "ECDSA" },
		{ TK_KEY_ECDSA_P384, 507, "ECDSA" },
		{ TK_KEY_ECDSA_P521, 507, "ECDSA" },
		{ TK_KEY_ED25519, 605, "Ed25519" },
	};
	char	ver[32], types[128] = "";
	size_t	i, j, n;
	int	v, bad = 0, type;

	if ((v = openssh_version(ver, sizeof(ver))) < 0) {
		dr_add(rep, DR_FAIL, "openssh", "install the OpenSSH client "
		    "(Debian: apt install openssh-client)",
		    "ssh -V did not name an OpenSSH version");
		return;
	}
	n = tk_keylist_count(o->keys);
	for (i = 0; i < n; i++) {
		type = tk_key_type(tk_keylist_get(o->keys, i));
		for (j = 0; j < sizeof(need) / sizeof(need[0]); j++) {
			if (need[j].type != type || v >= need[j].since)
				continue;
			dr_add(rep, DR_FAIL, "openssh", "upgrade OpenSSH",
			    "OpenSSH %s cannot use %s keys (needs %d.%d)",
			    ver, need[j].what, need[j].since / 100,
			    need[j].since % 100);
			bad = 1;
		}
		if (strstr(types, tk_key_type_short(tk_keylist_get(o->keys,
		    i))) == NULL && strlen(types) + 16 < sizeof(types)) {
			if (types[0] != '\0')
				strcat(types, ", ");
			strcat(types, tk_key_type_short(tk_keylist_get(o->keys,
			    i)));
		}
	}
	if (!bad)
		dr_add(rep, DR_OK, "openssh", NULL, "OpenSSH %s%s%s%s", ver,
		    types[0] != '\0' ? " uses the tokens' key types (" : "",
		    types, types[0] != '\0' ? ") through an agent" : "");
}
