/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A file of pkcs11: URIs (agent --config): which keys a service serves,
 * kept where an administrator edits it rather than in a unit's command
 * line.  Only the file's owner, us or root, may have written it: it
 * decides which keys root's agent signs with.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define URIFILE_LINE_MAX	8192
#define URIFILE_URIS_MAX	256

static int
urifile_open(const char *path, const char *spath, FILE **fp)
{
	struct stat	st;
	int		fd = -1, r = 1;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		cli_warnx("%s: %s", spath, errno == ELOOP ?
		    "a symbolic link; name the file itself" : strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		cli_warnx("%s: %s", spath, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cli_warnx("%s: not a regular file", spath);
		goto out;
	}
	if (st.st_uid != getuid() && st.st_uid != 0) {
		cli_warnx("%s: owned by another user; it must be yours or "
		    "root's", spath);
		goto out;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		cli_warnx("%s: group or others may write it; chmod go-w %s",
		    spath, spath);
		goto out;
	}
	if ((*fp = fdopen(fd, "r")) == NULL) {
		cli_warnx("%s: %s", spath, strerror(errno));
		goto out;
	}
	fd = -1;
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	return r;
}

/*
 * A URI is printable ASCII (RFC 3986: anything else percent-encoded);
 * a blank, a control character (an escape sequence, a NUL, a lone CR)
 * or a byte over 0x7e is not one, and would reach logs and prompts.
 */
static int
uri_chars(const char *s, const char *e)
{
	for (; s < e; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int
urifile_add(char ***uris, size_t *n, const char *uri)
{
	char	**nu;

	if (*n >= URIFILE_URIS_MAX)
		return -1;
	if ((nu = reallocarray(*uris, *n + 1, sizeof(*nu))) == NULL)
		return -1;
	*uris = nu;
	if ((nu[*n] = strdup(uri)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

int
cli_urifile_read(const char *path, char ***uris, size_t *n)
{
	FILE	*fp = NULL;
	char	*line = NULL, *s, *e, spath[512];
	size_t	 cap = 0, lineno = 0, before = *n;
	ssize_t	 len;
	int	 r = 1;

	tk_str_sanitize(path, spath, sizeof(spath));
	if (urifile_open(path, spath, &fp) != 0)
		goto out;
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (len > URIFILE_LINE_MAX) {
			cli_warnx("%s:%zu: line too long (over %d bytes)",
			    spath, lineno, URIFILE_LINE_MAX);
			goto out;
		}
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		e = line + len;	/* a NUL inside is a control character */
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' ||
		    e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		if (strncmp(s, "pkcs11:", 7) != 0 || !uri_chars(s, e)) {
			cli_warnx("%s:%zu: not a pkcs11: URI (one URI a line, "
			    "printable ASCII without blanks: percent-encode "
			    "the rest; # for comments)", spath, lineno);
			r = EXIT_USAGE;
			goto out;
		}
		if (urifile_add(uris, n, s) != 0) {
			cli_warnx("%s:%zu: %s", spath, lineno,
			    *n >= URIFILE_URIS_MAX ? "too many URIs" :
			    "out of memory");
			goto out;
		}
	}
	if (ferror(fp)) {
		cli_warnx("%s: %s", spath, strerror(errno));
		goto out;
	}
	if (*n == before) {
		cli_warnx("%s lists no pkcs11: URI: add the keys to serve, "
		    "one URI a line", spath);
		goto out;
	}
	r = 0;
 out:
	free(line);
	if (fp != NULL)
		fclose(fp);
	return r;
}

void
cli_urifile_free(char **uris, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(uris[i]);
	free(uris);
}
