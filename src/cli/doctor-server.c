/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * doctor --server [USER]: the receiving side on this machine.  sshd -T
 * for PubkeyAuthentication, StrictModes, AuthorizedKeysFile and
 * PubkeyAcceptedAlgorithms; the account's home, ~/.ssh and
 * authorized_keys as StrictModes judges them; the token keys (here or in
 * the agent) in authorized_keys.
 */
#include <sys/types.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "cli/cli-run.h"
#include "cli/doctor.h"

#define SSHD_MS		10000
#define OUT_MAX		(256 * 1024)
#define MAX_AKF		16
#define B64_MAX		4096
#define MAX_WANT	256

struct sshd {
	int	 strict;
	int	 pubkey;
	char	 akf[2048];
	char	 algs[4096];
};

static int
sshd_t(struct dr_report *rep, const struct dr_opts *o, const char *user,
    struct sshd *s)
{
	struct cli_run	 run;
	char		 spec[512], err[512], *argv[8], *line, *save, *v;
	int		 i = 0, r;

	s->strict = 1;
	s->pubkey = 1;
	snprintf(s->akf, sizeof(s->akf), ".ssh/authorized_keys "
	    ".ssh/authorized_keys2");
	s->algs[0] = '\0';
	snprintf(spec, sizeof(spec), "user=%s,host=localhost,addr=127.0.0.1",
	    user);
	argv[i++] = "/usr/sbin/sshd";
	argv[i++] = "-T";
	if (o->sshd_config != NULL) {
		argv[i++] = "-f";
		argv[i++] = (char *)o->sshd_config;
	}
	argv[i++] = "-C";
	argv[i++] = spec;
	argv[i] = NULL;
	if ((r = cli_run(argv, SSHD_MS, OUT_MAX, &run)) != 0 ||
	    cli_run_exit(&run) != 0) {
		if (r == 0) {
			run.err[strcspn(run.err, "\n")] = '\0';
			tk_str_sanitize(run.err, err, sizeof(err));
			cli_run_free(&run);
		} else
			snprintf(err, sizeof(err), "%s", tk_strerror(r));
		dr_add(rep, DR_WARN, "sshd -T", "run doctor --server as root "
		    "to read sshd's configuration", "%s; assuming sshd's "
		    "defaults", err);
		return -1;
	}
	for (line = strtok_r(run.out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((v = strchr(line, ' ')) == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "strictmodes") == 0)
			s->strict = strcmp(v, "yes") == 0;
		else if (strcmp(line, "pubkeyauthentication") == 0)
			s->pubkey = strcmp(v, "yes") == 0;
		else if (strcmp(line, "authorizedkeysfile") == 0)
			snprintf(s->akf, sizeof(s->akf), "%s", v);
		else if (strcmp(line, "pubkeyacceptedalgorithms") == 0 ||
		    strcmp(line, "pubkeyacceptedkeytypes") == 0)
			snprintf(s->algs, sizeof(s->algs), "%s", v);
	}
	cli_run_free(&run);
	return 0;
}

/* One AuthorizedKeysFile token as a path: %h %u %U %%, relative to home. */
static void
akf_path(const char *tok, const struct passwd *pw, char *buf, size_t bufsz)
{
	size_t	o = 0;
	int	n = 0;

	if (*tok != '/' && *tok != '%')
		n = snprintf(buf, bufsz, "%s/", pw->pw_dir);
	o = n > 0 && (size_t)n < bufsz ? (size_t)n : 0;
	for (; *tok != '\0' && o + 1 < bufsz; tok++) {
		if (*tok != '%' || tok[1] == '\0') {
			buf[o++] = *tok;
			continue;
		}
		tok++;
		if (*tok == 'h')
			n = snprintf(buf + o, bufsz - o, "%s", pw->pw_dir);
		else if (*tok == 'u')
			n = snprintf(buf + o, bufsz - o, "%s", pw->pw_name);
		else if (*tok == 'U')
			n = snprintf(buf + o, bufsz - o, "%lu",
			    (unsigned long)pw->pw_uid);
		else
			n = snprintf(buf + o, bufsz - o, "%c", *tok);
		if (n > 0)
			o = (size_t)n < bufsz - o ? o + (size_t)n : bufsz - 1;
	}
	buf[o] = '\0';
}

/* The file and each directory up to home, as StrictModes walks them. */
static int
check_modes(struct dr_report *rep, const struct sshd *s,
    const struct passwd *pw, const char *file)
{
	char	 p[4096], why[256], fix[13000], *slash;
	int	 dir = 0, bad = 0;

	snprintf(p, sizeof(p), "%s", file);
	for (;;) {
		if (dr_mode_bad(p, pw->pw_uid, dir, why, sizeof(why))) {
			snprintf(fix, sizeof(fix), "chown %s %s && chmod "
			    "go-w %s", pw->pw_name, p, p);
			dr_add(rep, s->strict ? DR_FAIL : DR_WARN, "server",
			    fix, "%s: %s: %s", p, why, s->strict ?
			    "sshd (StrictModes yes) refuses the keys in it "
			    "(\"bad ownership or modes\")" :
			    "StrictModes would refuse it");
			bad = 1;
		}
		if (strcmp(p, pw->pw_dir) == 0 ||
		    (slash = strrchr(p, '/')) == NULL || slash == p)
			break;
		*slash = '\0';
		dir = 1;
	}
	return bad;
}

/* Does file hold a line with this base64 key? */
static int
file_has(const char *file, const char *b64)
{
	FILE	*f;
	char	 line[16384], *tok, *save;
	int	 found = 0;

	if ((f = fopen(file, "re")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		for (tok = strtok_r(line, " \t\n", &save); tok != NULL &&
		    !found; tok = strtok_r(NULL, " \t\n", &save))
			found = strcmp(tok, b64) == 0;
	fclose(f);
	return found;
}

/* The algorithms sshd would need to accept one of for this key. */
static int
alg_ok(const char *algs, const char *type)
{
	static const char	*rsa[] = { "rsa-sha2-256", "rsa-sha2-512",
				    "ssh-rsa", NULL };
	const char		*one[] = { type, NULL }, **want;
	char			 copy[4096], *a, *save;
	size_t			 i;

	if (*algs == '\0')
		return 1;
	want = strcmp(type, "ssh-rsa") == 0 ? rsa : one;
	for (i = 0; want[i] != NULL; i++) {
		snprintf(copy, sizeof(copy), "%s", algs);
		for (a = strtok_r(copy, ",", &save); a != NULL;
		    a = strtok_r(NULL, ",", &save))
			if (strcmp(a, want[i]) == 0)
				return 1;
	}
	return 0;
}

/* One token key to look for: from a token here, or the agent's. */
struct want {
	const uint8_t	*blob;
	size_t		 bloblen;
	char		 type[64];
	char		 name[600];
	char		 uri[1024];
	int		 agent;		/* only the agent has it */
};

/* The type name a blob starts with ("ssh-rsa"...), sanitised. */
static void
blob_type(const uint8_t *b, size_t bl, char *buf, size_t bufsz)
{
	struct tk_buf	 m;
	const uint8_t	*t;
	size_t		 tl;
	char		 raw[64];

	buf[0] = '\0';
	tk_buf_init_ro(&m, b, bl);
	if (tk_buf_get_string(&m, &t, &tl) != 0 || tl >= sizeof(raw))
		return;
	memcpy(raw, t, tl);
	raw[tl] = '\0';
	tk_str_sanitize(raw, buf, bufsz);
}

/*
 * The token keys here and those the agent serves with a pkcs11: comment
 * (a forwarded agent brings the client's tokens to the server).
 */
static size_t
wanted(const struct dr_opts *o, struct want *w, size_t max)
{
	const struct tk_key	*k;
	size_t			 i, n = 0;

	for (i = 0; i < tk_keylist_count(o->keys) && n < max; i++, n++) {
		k = tk_keylist_get(o->keys, i);
		w[n].blob = tk_key_blob(k, &w[n].bloblen);
		snprintf(w[n].type, sizeof(w[n].type), "%s",
		    tk_key_type_name(k));
		dr_key_name(k, w[n].name, sizeof(w[n].name));
		tk_str_sanitize(tk_key_uri(k), w[n].uri, sizeof(w[n].uri));
	}
	for (i = 0; i < o->nids && n < max; i++) {
		if (strncmp(o->ids[i].comment, "pkcs11:", 7) != 0 ||
		    dr_token_key(o, o->ids[i].blob, o->ids[i].bloblen) != NULL)
			continue;
		w[n].blob = o->ids[i].blob;
		w[n].bloblen = o->ids[i].bloblen;
		blob_type(w[n].blob, w[n].bloblen, w[n].type,
		    sizeof(w[n].type));
		tk_str_sanitize(o->ids[i].comment, w[n].uri,
		    sizeof(w[n].uri));
		snprintf(w[n].name, sizeof(w[n].name), "the agent's %s key",
		    w[n].type);
		w[n].agent = 1;
		n++;
	}
	return n;
}

static void
check_keys(struct dr_report *rep, const struct dr_opts *o,
    const struct sshd *s, char files[][4096], size_t nfiles)
{
	struct want	*w = NULL;
	char		 b64[B64_MAX], fix[6000];
	const char	*to;
	size_t		 i, j, n, found = 0;

	if ((w = calloc(MAX_WANT, sizeof(*w))) == NULL)
		return;
	n = wanted(o, w, MAX_WANT);
	for (i = 0; i < n; i++) {
		if (!alg_ok(s->algs, w[i].type))
			dr_add(rep, DR_FAIL, "server", "add its algorithm to "
			    "PubkeyAcceptedAlgorithms in sshd_config",
			    "sshd accepts no signature algorithm of %s (%s)",
			    w[i].name, w[i].type);
		if (tk_blob_base64(w[i].blob, w[i].bloblen, b64,
		    sizeof(b64)) != 0)
			continue;
		for (j = 0; j < nfiles; j++) {
			if (!file_has(files[j], b64))
				continue;
			dr_add(rep, DR_OK, "server", NULL, "%s is in %s",
			    w[i].name, files[j]);
			found++;
			break;
		}
	}
	if (n == 0)
		dr_add(rep, DR_WARN, "server", "plug the token in here, or "
		    "log in with the agent forwarded (ssh -A)",
		    "no token key to look for");
	else if (found == 0) {
		to = nfiles > 0 ? files[0] : "~/.ssh/authorized_keys";
		if (w[0].agent)
			snprintf(fix, sizeof(fix), "add one as that user: "
			    "ssh-add -L | grep -F '%s' >> %.4000s", w[0].uri,
			    to);
		else
			snprintf(fix, sizeof(fix), "add one as that user: "
			    "tokenkeys list '%s' >> %.4000s", w[0].uri, to);
		dr_add(rep, DR_FAIL, "server", fix, "none of the %zu token "
		    "key%s is in authorized_keys", n, n == 1 ? "" : "s");
	}
	free(w);
}

void
dr_check_server(struct dr_report *rep, struct dr_opts *o)
{
	struct passwd	*pw;
	struct sshd	 s;
	char		 user[256], files[MAX_AKF][4096], *tok, *save;
	size_t		 nfiles = 0;
	int		 bad = 0;

	if (o->server_user != NULL)
		pw = getpwnam(o->server_user);
	else
		pw = getpwuid(getuid());
	if (pw == NULL) {
		dr_add(rep, DR_FAIL, "server", "name an account of this "
		    "machine", "no such user");
		return;
	}
	snprintf(user, sizeof(user), "%s", pw->pw_name);
	pw->pw_name = user;
	if ((pw->pw_dir = strdup(pw->pw_dir)) == NULL)
		return;
	(void)sshd_t(rep, o, user, &s);
	if (!s.pubkey)
		dr_add(rep, DR_FAIL, "server", "set PubkeyAuthentication yes "
		    "in sshd_config", "sshd takes no public keys "
		    "(PubkeyAuthentication no)");
	else
		dr_add(rep, DR_OK, "server", NULL, "PubkeyAuthentication "
		    "yes, StrictModes %s, AuthorizedKeysFile %s",
		    s.strict ? "yes" : "no", s.akf);
	for (tok = strtok_r(s.akf, " ", &save); tok != NULL &&
	    nfiles < MAX_AKF; tok = strtok_r(NULL, " ", &save)) {
		if (strcmp(tok, "none") == 0)
			continue;
		akf_path(tok, pw, files[nfiles], sizeof(files[0]));
		if (access(files[nfiles], F_OK) != 0)
			continue;
		if (check_modes(rep, &s, pw, files[nfiles]))
			bad = 1;
		nfiles++;
	}
	if (nfiles == 0)
		dr_add(rep, DR_FAIL, "server", "create ~/.ssh/authorized_keys "
		    "(mode 600) for that user with the token key's line",
		    "%s has no authorized_keys file", user);
	else if (!bad)
		dr_add(rep, DR_OK, "server", NULL, "owner and modes of %s and "
		    "the directories above it suit StrictModes", files[0]);
	check_keys(rep, o, &s, files, nfiles);
	free(pw->pw_dir);
}
