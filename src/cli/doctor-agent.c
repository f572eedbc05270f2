/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * doctor: the agent ssh asks ($SSH_AUTH_SOCK): set, there, ours, alive,
 * a tokenkeys agent or another one; the keys it serves against those on
 * the tokens; with --sign one signature per served key.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli-agent.h"
#include "cli/doctor.h"

#define SIGN_MS		120000	/* the agent may ask for a PIN */

static const char *start_fix =
    "start the agent: eval \"$(tokenkeys agent)\"";

/* The socket itself, before talking: 0 when it may be tried. */
static int
check_socket(struct dr_report *rep, const char *sock)
{
	struct stat	st;
	char		fix[600];

	if (sock == NULL || *sock == '\0') {
		dr_add(rep, DR_FAIL, "agent", start_fix, "SSH_AUTH_SOCK is "
		    "not set: ssh finds no agent (\"Could not open a "
		    "connection to your authentication agent\")");
		return -1;
	}
	if (lstat(sock, &st) != 0) {
		dr_add(rep, DR_FAIL, "agent", start_fix, "SSH_AUTH_SOCK=%s "
		    "does not exist: the agent has gone", sock);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		dr_add(rep, DR_FAIL, "agent", start_fix, "SSH_AUTH_SOCK=%s "
		    "is not a socket", sock);
		return -1;
	}
	if (st.st_uid != getuid()) {
		snprintf(fix, sizeof(fix), "use an agent of your own: %s",
		    start_fix);
		dr_add(rep, DR_FAIL, "agent", fix, "SSH_AUTH_SOCK=%s belongs "
		    "to uid %lu, not to you", sock, (unsigned long)st.st_uid);
		return -1;
	}
	return 0;
}

/* The agent's keys against the tokens': missing and extra. */
static void
compare_keys(struct dr_report *rep, struct dr_opts *o,
    const struct cli_agent_id *ids, size_t n, int ours)
{
	const struct tk_key	*k;
	const uint8_t		*b;
	char			 name[600], uri[1024], fix[1400];
	size_t			 i, j, bl, ntok = 0, nk, other = 0;
	int			 found;

	for (i = 0; i < n; i++) {
		if (dr_token_key(o, ids[i].blob, ids[i].bloblen) != NULL)
			ntok++;
		else if (strncmp(ids[i].comment, "pkcs11:", 7) == 0) {
			tk_str_sanitize(ids[i].comment, uri, sizeof(uri));
			dr_add(rep, DR_WARN, "agent keys", "plug the token "
			    "in, or see tokenkeys tokens", "serves %s, "
			    "which no token shows now", uri);
		} else
			other++;
	}
	nk = tk_keylist_count(o->keys);
	for (j = 0; j < nk; j++) {
		k = tk_keylist_get(o->keys, j);
		b = tk_key_blob(k, &bl);
		for (i = 0, found = 0; i < n && !found; i++)
			found = ids[i].bloblen == bl &&
			    memcmp(ids[i].blob, b, bl) == 0;
		if (found)
			continue;
		dr_key_name(k, name, sizeof(name));
		tk_str_sanitize(tk_key_uri(k), uri, sizeof(uri));
		if (ours)
			snprintf(fix, sizeof(fix), "serve it too: ssh-add -s "
			    "'%s'", uri);
		else
			snprintf(fix, sizeof(fix), "use a tokenkeys agent "
			    "(%s), or keep this agent for other keys: eval "
			    "\"$(tokenkeys agent -A \"$SSH_AUTH_SOCK\")\"",
			    start_fix);
		dr_add(rep, DR_WARN, "agent keys", fix, "%s is not served",
		    name);
	}
	dr_add(rep, DR_OK, "agent keys", NULL, "%zu key%s served: %zu on "
	    "tokens, %zu other", n, n == 1 ? "" : "s", ntok, other);
}

/* --sign: one signature per served key, verified. */
static void
sign_each(struct dr_report *rep, struct dr_opts *o, struct cli_agent *a,
    const struct cli_agent_id *ids, size_t n)
{
	const struct tk_key	*k;
	char			 name[600], fp[128];
	size_t			 i;
	int			 r;

	for (i = 0; i < n; i++) {
		if ((k = dr_token_key(o, ids[i].blob, ids[i].bloblen)) != NULL)
			dr_key_name(k, name, sizeof(name));
		else if (tk_blob_fingerprint(ids[i].blob, ids[i].bloblen,
		    TK_FP_SHA256, fp, sizeof(fp)) == 0)
			snprintf(name, sizeof(name), "key %s", fp);
		else
			snprintf(name, sizeof(name), "key %zu", i + 1);
		r = cli_agent_sign_check(a, ids[i].blob, ids[i].bloblen,
		    SIGN_MS);
		if (r == 0)
			dr_add(rep, DR_OK, "sign", NULL, "%s signs, and the "
			    "signature verifies", name);
		else if (r == TK_ERR_DENIED)
			dr_add(rep, DR_FAIL, "sign", "see the token's line "
			    "above, and the agent's log (tokenkeys agent -d)",
			    "%s: the agent refused (\"agent refused "
			    "operation\": PIN cancelled or wrong, token "
			    "locked or gone)", name);
		else
			dr_add(rep, DR_FAIL, "sign", "see the agent's log "
			    "(tokenkeys agent -d)", "%s: %s", name,
			    tk_strerror(r));
	}
}

void
dr_check_agent(struct dr_report *rep, struct dr_opts *o)
{
	struct cli_agent	*a = NULL;
	struct cli_agent_id	*ids = NULL;
	const char		*sock = getenv("SSH_AUTH_SOCK");
	char			 exe[256], names[512], safe[4200];
	size_t			 n = 0;
	int			 r, ours;

	if (check_socket(rep, sock) != 0)
		goto out;
	tk_str_sanitize(sock, safe, sizeof(safe));
	if ((r = cli_agent_open(sock, &a)) != 0) {
		dr_add(rep, DR_FAIL, "agent", start_fix, "nothing answers on "
		    "SSH_AUTH_SOCK=%s (a stale socket)", safe);
		goto out;
	}
	(void)cli_agent_peer(sock, exe, sizeof(exe));
	r = cli_agent_query(a, names, sizeof(names));
	ours = cli_agent_judge(exe, r);
	if (exe[0] == '\0')
		snprintf(exe, sizeof(exe), "%s", r == 1 ?
		    "answers query" : "does not answer query");
	if (ours)
		dr_add(rep, DR_OK, "agent", NULL, "SSH_AUTH_SOCK=%s: a "
		    "tokenkeys agent (extensions: %s)", safe, names);
	else
		dr_add(rep, DR_WARN, "agent", "token keys reach ssh through "
		    "it only after ssh-add -s MODULE; for PIN prompts, "
		    "following cards and URIs, use a tokenkeys agent: "
		    "eval \"$(tokenkeys agent -A \"$SSH_AUTH_SOCK\")\"",
		    "SSH_AUTH_SOCK=%s is another agent (%s), not a "
		    "tokenkeys agent", safe, exe);
	if ((r = cli_agent_ids(a, &ids, &n)) != 0) {
		dr_add(rep, DR_FAIL, "agent keys", "see the agent's log",
		    "the agent did not list its keys: %s", tk_strerror(r));
		goto out;
	}
	o->agent_ok = 1;
	compare_keys(rep, o, ids, n, ours);
	if (o->sign)
		sign_each(rep, o, a, ids, n);
	o->ids = ids;
	o->nids = n;
	ids = NULL;
	n = 0;
 out:
	cli_agent_ids_free(ids, n);
	cli_agent_close(a);
}
