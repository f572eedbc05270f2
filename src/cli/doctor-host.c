/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * doctor HOST: what ssh resolves for HOST (ssh -G): IdentitiesOnly, the
 * IdentityFile lines (a pkcs11: URI there breaks upstream OpenSSH),
 * PKCS11Provider beside the agent, IdentityAgent, how many keys ssh will
 * offer; then one login with BatchMode, its outcome explained.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli-pubfile.h"
#include "cli/cli-run.h"
#include "cli/doctor.h"

#define SSH_G_MS	10000
#define LOGIN_MS	60000	/* the agent may ask for a PIN */
#define OUT_MAX		(256 * 1024)
#define MAX_AUTH_TRIES	6	/* sshd's default MaxAuthTries */
#define MAX_FILES	64

struct resolved {
	int	 identities_only;
	char	*files[MAX_FILES];
	size_t	 nfiles;
	char	 provider[1024];
	char	 agent[1024];
	char	 user[256];
	char	 hostname[256];
};

static void
resolved_free(struct resolved *res)
{
	size_t	i;

	for (i = 0; i < res->nfiles; i++)
		free(res->files[i]);
}

/* ssh [-F file] ARGS... -- HOST [CMD] into argv (NULL-terminated). */
static void
ssh_argv(const struct dr_opts *o, char **argv, char **extra, size_t nextra,
    char *cmd)
{
	size_t	i = 0, j;

	argv[i++] = "ssh";
	if (o->ssh_config != NULL) {
		argv[i++] = "-F";
		argv[i++] = (char *)o->ssh_config;
	}
	for (j = 0; j < nextra; j++)
		argv[i++] = extra[j];
	argv[i++] = "--";
	argv[i++] = (char *)o->host;
	if (cmd != NULL)
		argv[i++] = cmd;
	argv[i] = NULL;
}

static int
resolve(struct dr_report *rep, const struct dr_opts *o, struct resolved *res)
{
	struct cli_run	 run;
	char		*argv[12], *extra[] = { "-G" }, *line, *save, *v;
	char		 err[512];
	int		 r;

	memset(res, 0, sizeof(*res));
	ssh_argv(o, argv, extra, 1, NULL);
	if ((r = cli_run(argv, SSH_G_MS, OUT_MAX, &run)) != 0) {
		dr_add(rep, DR_FAIL, "ssh -G", "install the OpenSSH client",
		    "cannot run ssh: %s", tk_strerror(r));
		return -1;
	}
	if (cli_run_exit(&run) != 0) {
		run.err[strcspn(run.err, "\n")] = '\0';
		tk_str_sanitize(run.err, err, sizeof(err));
		dr_add(rep, DR_FAIL, "ssh -G", "fix the line ssh names in "
		    "your ssh configuration", "ssh cannot read its "
		    "configuration for this host: %s", err);
		cli_run_free(&run);
		return -1;
	}
	for (line = strtok_r(run.out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((v = strchr(line, ' ')) == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "identitiesonly") == 0)
			res->identities_only = strcmp(v, "yes") == 0;
		else if (strcmp(line, "identityfile") == 0 &&
		    res->nfiles < MAX_FILES &&
		    (res->files[res->nfiles] = strdup(v)) != NULL)
			res->nfiles++;
		else if (strcmp(line, "pkcs11provider") == 0)
			snprintf(res->provider, sizeof(res->provider), "%s", v);
		else if (strcmp(line, "identityagent") == 0)
			snprintf(res->agent, sizeof(res->agent), "%s", v);
		else if (strcmp(line, "user") == 0)
			snprintf(res->user, sizeof(res->user), "%s", v);
		else if (strcmp(line, "hostname") == 0)
			snprintf(res->hostname, sizeof(res->hostname), "%s", v);
	}
	cli_run_free(&run);
	return 0;
}

/* "~/x" as the path ssh takes it for (the account's home). */
static void
expand_tilde(const char *p, char *buf, size_t bufsz)
{
	struct passwd	*pw = getpwuid(getuid());
	const char	*home = pw != NULL ? pw->pw_dir : NULL;

	if (p[0] == '~' && p[1] == '/' && home != NULL)
		snprintf(buf, bufsz, "%s%s", home, p + 1);
	else
		snprintf(buf, bufsz, "%s", p);
}

/* The first token key ssh would offer: one the agent serves, else any. */
static const struct tk_key *
first_token_key(const struct dr_opts *o)
{
	const struct tk_key	*k;
	size_t			 i;

	for (i = 0; i < o->nids; i++)
		if ((k = dr_token_key(o, o->ids[i].blob,
		    o->ids[i].bloblen)) != NULL)
			return k;
	return tk_keylist_count(o->keys) > 0 ?
	    tk_keylist_get(o->keys, 0) : NULL;
}

static void
check_config(struct dr_report *rep, const struct dr_opts *o,
    const struct resolved *res)
{
	const struct tk_key	*k = first_token_key(o);
	char			 fix[2048], uri[1024], path[4096], safe[1024];
	size_t			 i, n = 0, bad = 0;

	tk_str_sanitize(k != NULL ? tk_key_uri(k) : "pkcs11:...", uri,
	    sizeof(uri));
	snprintf(fix, sizeof(fix), "use the form every OpenSSH reads: "
	    "tokenkeys ssh-config --host '%s' --append ~/.ssh/config '%s', "
	    "and remove that IdentityFile line", o->host, uri);
	for (i = 0; i < res->nfiles; i++) {
		tk_str_sanitize(res->files[i], safe, sizeof(safe));
		if (strncmp(res->files[i], "pkcs11:", 7) == 0) {
			dr_add(rep, DR_FAIL, "ssh -G", fix, "IdentityFile %s: "
			    "upstream and Debian OpenSSH expand %% in it and "
			    "exit (percent_expand: unknown key) or look for "
			    "a file of that name; only Fedora's reads URIs",
			    safe);
			bad++;
			continue;
		}
		expand_tilde(res->files[i], path, sizeof(path));
		if (access(path, F_OK) == 0)
			n++;
	}
	if (res->provider[0] != '\0' && strcmp(res->provider, "none") != 0 &&
	    o->agent_ok) {
		tk_str_sanitize(res->provider, safe, sizeof(safe));
		dr_add(rep, DR_WARN, "ssh -G", "remove PKCS11Provider for this "
		    "host: the agent serves the token's keys",
		    "PKCS11Provider %s: ssh loads the module itself beside "
		    "the agent, asks for the PIN itself and offers the keys "
		    "twice", safe);
	}
	if (strcmp(res->agent, "none") == 0)
		dr_add(rep, DR_WARN, "ssh -G", "remove IdentityAgent none for "
		    "this host", "IdentityAgent none: ssh asks no agent");
	else if (res->agent[0] != '\0' &&
	    strcmp(res->agent, "SSH_AUTH_SOCK") != 0) {
		tk_str_sanitize(res->agent, safe, sizeof(safe));
		expand_tilde(res->agent, path, sizeof(path));
		if (access(path, F_OK) != 0)
			dr_add(rep, DR_FAIL, "ssh -G", "start the agent there "
			    "(tokenkeys agent -a SOCKET) or fix the line",
			    "IdentityAgent %s does not exist", safe);
		else
			dr_add(rep, DR_OK, "ssh -G", NULL, "IdentityAgent %s",
			    safe);
	}
	if (!res->identities_only && strcmp(res->agent, "none") != 0)
		n += o->nids;
	if (n >= MAX_AUTH_TRIES)
		dr_add(rep, DR_WARN, "ssh -G", fix, "IdentitiesOnly %s: ssh "
		    "may offer %zu keys, and sshd's default MaxAuthTries %d "
		    "ends the login before the last (\"Too many "
		    "authentication failures\")",
		    res->identities_only ? "yes" : "no", n, MAX_AUTH_TRIES);
	else if (bad == 0)
		dr_add(rep, DR_OK, "ssh -G", NULL, "IdentitiesOnly %s: ssh "
		    "offers up to %zu key%s (sshd's default MaxAuthTries: "
		    "%d)", res->identities_only ? "yes" : "no", n,
		    n == 1 ? "" : "s", MAX_AUTH_TRIES);
}

/* What to do when the server took no key. */
static void
denied_fix(const struct dr_opts *o, char *fix, size_t fixsz)
{
	const struct tk_key	*k = first_token_key(o);
	char			 name[600], path[4096], t[4096], uri[1024];
	int			 state;

	if (k == NULL) {
		snprintf(fix, fixsz, "no token key here to install: plug in "
		    "the token, or make a key: tokenkeys keygen");
		return;
	}
	dr_key_name(k, name, sizeof(name));
	tk_str_sanitize(tk_key_uri(k), uri, sizeof(uri));
	if (cli_pubfile_write(o->pubdir, k, 1, path, sizeof(path),
	    &state) != 0) {
		snprintf(fix, fixsz, "put %s in the server's authorized_keys: "
		    "tokenkeys list '%s'", name, uri);
		return;
	}
	cli_path_tilde(path, t, sizeof(t));
	if (state == CLI_PUB_SAME)
		snprintf(fix, fixsz, "put %s in the server's authorized_keys: "
		    "ssh-copy-id -f -i %s %s", name, t, o->host);
	else
		snprintf(fix, fixsz, "put %s in the server's authorized_keys: "
		    "tokenkeys ssh-config '%s' && ssh-copy-id -f -i %s %s",
		    name, uri, t, o->host);
}

static void
explain(struct dr_report *rep, const struct dr_opts *o, struct cli_run *run)
{
	const struct tk_key *k = first_token_key(o);
	const char	*e = run->err;
	char		 uri[1024];
	char		 fix[6000], last[512], *p, host[256], verbose[300];

	/* the last non-empty line of stderr, for what is not known */
	for (p = run->err + run->errlen; p > run->err &&
	    (p[-1] == '\n' || p[-1] == '\r'); p--)
		p[-1] = '\0';
	p = strrchr(run->err, '\n');
	tk_str_sanitize(p != NULL ? p + 1 : run->err, last, sizeof(last));
	tk_str_sanitize(o->host, host, sizeof(host));
	snprintf(verbose, sizeof(verbose), "ssh -v %s shows each step", host);
	tk_str_sanitize(k != NULL ? tk_key_uri(k) : "pkcs11:...", uri,
	    sizeof(uri));
	if (run->timed_out)
		dr_add(rep, DR_FAIL, "login", verbose,
		    "no answer within %d s", LOGIN_MS / 1000);
	else if (cli_run_exit(run) == 0)
		dr_add(rep, DR_OK, "login", NULL, "ssh -o BatchMode=yes %s "
		    "true: logged in", host);
	else if (strstr(e, "percent_expand") != NULL)
		dr_add(rep, DR_FAIL, "login", "see the IdentityFile line "
		    "above", "ssh exits before connecting: %s", last);
	else if (strstr(e, "Too many authentication failures") != NULL) {
		snprintf(fix, sizeof(fix), "offer only the token key: "
		    "tokenkeys ssh-config --host '%s' --append ~/.ssh/config "
		    "'%s'", host, uri);
		dr_add(rep, DR_FAIL, "login", fix, "Too many authentication "
		    "failures: ssh offered more keys than the server allows");
	} else if (strstr(e, "agent refused operation") != NULL)
		dr_add(rep, DR_FAIL, "login", "see the token and agent lines "
		    "above; tokenkeys doctor --sign tries each key",
		    "the agent refused to sign (PIN cancelled or wrong, "
		    "token locked or removed)");
	else if (strstr(e, "Permission denied") != NULL) {
		denied_fix(o, fix, sizeof(fix));
		dr_add(rep, DR_FAIL, "login", fix, "the server took none of "
		    "the keys ssh offered: %s", last);
	} else if (strstr(e, "IDENTIFICATION HAS CHANGED") != NULL) {
		snprintf(fix, sizeof(fix), "find out why; if the change is "
		    "expected: ssh-keygen -R %s", host);
		dr_add(rep, DR_FAIL, "login", fix, "the server's host key "
		    "changed");
	} else if (strstr(e, "Host key verification failed") != NULL ||
	    strstr(e, "No ED25519 host key is known") != NULL ||
	    strstr(e, "host key is known") != NULL) {
		snprintf(fix, sizeof(fix), "log in once by hand and check "
		    "the fingerprint it shows: ssh %s", host);
		dr_add(rep, DR_FAIL, "login", fix, "the host key is not "
		    "known yet (BatchMode cannot ask)");
	} else if (strstr(e, "Could not resolve") != NULL ||
	    strstr(e, "Connection refused") != NULL ||
	    strstr(e, "timed out") != NULL ||
	    strstr(e, "No route to host") != NULL ||
	    strstr(e, "Connection closed") != NULL ||
	    strstr(e, "Connection reset") != NULL ||
	    strstr(e, "kex_exchange_identification") != NULL ||
	    strstr(e, "banner exchange") != NULL)
		dr_add(rep, DR_FAIL, "login", verbose, "cannot connect: %s "
		    "(check the host name, port and network)", last);
	else
		dr_add(rep, DR_FAIL, "login", verbose, "ssh failed: %s",
		    last[0] != '\0' ? last : "no message");
}

void
dr_check_host(struct dr_report *rep, struct dr_opts *o)
{
	struct resolved	 res;
	struct cli_run	 run;
	char		*argv[20];
	/* no multiplexing: the login must authenticate for real */
	char		*extra[] = { "-o", "BatchMode=yes", "-o",
			    "ConnectTimeout=20", "-o", "ControlPath=none",
			    "-T" };
	int		 r;

	if (resolve(rep, o, &res) != 0)
		goto out;
	check_config(rep, o, &res);
	ssh_argv(o, argv, extra, 7, "true");
	if ((r = cli_run(argv, LOGIN_MS, OUT_MAX, &run)) != 0) {
		dr_add(rep, DR_FAIL, "login", "install the OpenSSH client",
		    "cannot run ssh: %s", tk_strerror(r));
		goto out;
	}
	explain(rep, o, &run);
	cli_run_free(&run);
 out:
	resolved_free(&res);
}
