/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys agent --dest: destinations in the syntax of ssh-add -h
 * ("host", "user@host", "hostA>hostB", "hostA>user@hostB"), their host
 * keys from known_hosts files as ssh-add finds them, encoded as the
 * restrict-destination-v00@openssh.com constraint ssh-add sends, so the
 * agent checks the keys it serves on its own with the very code that
 * checks ssh-add -h (src/agent/agent-dest.c).
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "cli/cli.h"
#include "common/buf.h"
#include "ssh/knownhosts.h"

#define DEST_FILES_MAX	16

struct hop_keys {
	struct tk_buf	*out;
	size_t		 n;
};

static int
put_key(void *arg, const uint8_t *blob, size_t len, int is_ca)
{
	struct hop_keys	*h = arg;
	int		 r;

	if ((r = tk_buf_put_string(h->out, blob, len)) == 0 &&
	    (r = tk_buf_put_u8(h->out, is_ca ? 1 : 0)) == 0)
		h->n++;
	return r;
}

/*
 * One hop, "[user@]host" (s may be NULL: this machine), appended to out as
 * string(string user, string host, string reserved, keys).
 */
static int
put_hop(struct tk_buf *out, char *s, const char *dest, char **files,
    size_t nfiles)
{
	struct hop_keys	 h = { out, 0 };
	char		*host, *user = NULL, safe[512];
	size_t		 mark, i, found;
	int		 r;

	if ((r = tk_buf_open_string(out, &mark)) != 0)
		goto out;
	if (s == NULL) {
		r = tk_buf_put_cstring(out, "");
		if (r == 0)
			r = tk_buf_put_cstring(out, "");
		if (r == 0)
			r = tk_buf_put_string(out, NULL, 0);
		goto close;
	}
	if ((host = strrchr(s, '@')) != NULL) {
		*host++ = '\0';
		user = s;
	} else
		host = s;
	tk_str_sanitize(dest, safe, sizeof(safe));
	if (*host == '\0') {
		cli_warnx("agent: --dest %s: no host name", safe);
		r = EXIT_USAGE;
		goto out;
	}
	if (user != NULL && *user == '\0')
		user = NULL;
	if ((r = tk_buf_put_cstring(out, user != NULL ? user : "")) != 0 ||
	    (r = tk_buf_put_cstring(out, host)) != 0 ||
	    (r = tk_buf_put_string(out, NULL, 0)) != 0)
		goto out;
	for (i = 0; i < nfiles; i++) {
		if ((r = tk_known_hosts_find(files[i], host, put_key, &h,
		    &found)) != 0) {
			cli_warnx("agent: --dest %s: cannot read %s: %s",
			    safe, files[i], tk_strerror(r));
			r = 1;
			goto out;
		}
	}
	if (h.n == 0) {
		tk_str_sanitize(host, safe, sizeof(safe));
		cli_warnx("agent: --dest: no host key for \"%s\" in %s%s: "
		    "log in there once with ssh, or name a file with "
		    "--known-hosts", safe, files[0], nfiles > 1 ?
		    " or the other known_hosts files" : "");
		r = 1;
		goto out;
	}
 close:
	if (r == 0)
		r = tk_buf_close_string(out, mark);
 out:
	return r;
}

/* One destination: string(from hop, to hop, string reserved). */
static int
put_dest(struct tk_buf *out, const char *dest, char **files, size_t nfiles)
{
	char	*s, *to, *from = NULL, safe[512];
	size_t	 mark;
	int	 r;

	if ((s = strdup(dest)) == NULL)
		return TK_ERR_NOMEM;
	if ((to = strchr(s, '>')) != NULL) {
		*to++ = '\0';
		from = s;
		if (strchr(from, '@') != NULL) {
			tk_str_sanitize(dest, safe, sizeof(safe));
			cli_warnx("agent: --dest %s: a user name on the first "
			    "host is not allowed (only the last hop has one)",
			    safe);
			r = EXIT_USAGE;
			goto out;
		}
	} else
		to = s;
	if ((r = tk_buf_open_string(out, &mark)) != 0 ||
	    (r = put_hop(out, from, dest, files, nfiles)) != 0 ||
	    (r = put_hop(out, to, dest, files, nfiles)) != 0 ||
	    (r = tk_buf_put_string(out, NULL, 0)) != 0 ||
	    (r = tk_buf_close_string(out, mark)) != 0)
		goto out;
 out:
	free(s);
	return r;
}

/* ssh-add's default: the user's and the system's known_hosts files. */
static int
default_files(char **files, size_t *n)
{
	static const char *const sys[] = { "/etc/ssh/ssh_known_hosts",
	    "/etc/ssh/ssh_known_hosts2" };
	const char	*home = getenv("HOME");
	struct passwd	*pw;
	size_t		 i;

	*n = 0;
	if ((home == NULL || *home == '\0') &&
	    (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	if (home != NULL && *home != '\0') {
		if (asprintf(&files[(*n)++], "%s/.ssh/known_hosts", home) < 0 ||
		    asprintf(&files[(*n)++], "%s/.ssh/known_hosts2", home) < 0)
			return TK_ERR_NOMEM;
	}
	for (i = 0; i < 2; i++)
		if ((files[(*n)++] = strdup(sys[i])) == NULL)
			return TK_ERR_NOMEM;
	return 0;
}

int
cli_dest_encode(char *const *dests, size_t ndests, char *const *khfiles,
    size_t nkh, struct tk_buf *out)
{
	char	*files[DEST_FILES_MAX];
	size_t	 nfiles = 0, i;
	int	 own = 0, r = 0;

	memset(files, 0, sizeof(files));
	if (nkh > DEST_FILES_MAX) {
		cli_warnx("agent: more than %d --known-hosts files",
		    DEST_FILES_MAX);
		return EXIT_USAGE;
	}
	if (nkh == 0) {
		own = 1;
		if ((r = default_files(files, &nfiles)) != 0)
			goto out;
	} else {
		for (i = 0; i < nkh; i++)
			files[i] = khfiles[i];
		nfiles = nkh;
	}
	for (i = 0; r == 0 && i < ndests; i++)
		r = put_dest(out, dests[i], files, nfiles);
 out:
	if (r < 0) {
		cli_warnx("agent: --dest: %s", tk_strerror(r));
		r = 1;
	}
	for (i = 0; own && i < DEST_FILES_MAX; i++)
		free(files[i]);
	return r;
}
