/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Certificate files and the certs directory: see certfile.h.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tokenkeys.h"
#include "ssh/certfile.h"

#define LINE_MAX_CERT	(4 * ((TK_SSHCERT_MAX + 2) / 3) + 256)

struct reader {
	tk_certfile_fn		*fn;
	tk_certfile_log_fn	*log;
	void			*arg;
};

/* "PATH[ line N]: [pre]why" to the caller's log. */
static void
say(const struct reader *rd, const char *path, size_t line, const char *pre,
    const char *why)
{
	char	safe[PATH_MAX + 64], at[32], msg[PATH_MAX + 512];

	tk_str_sanitize(path, safe, sizeof(safe));
	at[0] = '\0';
	if (line > 0)
		snprintf(at, sizeof(at), " line %zu", line);
	snprintf(msg, sizeof(msg), "%s%s: %s%s", safe, at, pre, why);
	rd->log(rd->arg, msg);
}

/* Owned by us and writable by nobody else; why not in words. */
static const char *
mode_problem(const struct stat *st)
{
	if (st->st_uid != geteuid())
		return "owned by another user";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by its group or by others";
	return NULL;
}

/* One "TYPE BASE64 [comment]" line. */
static void
one_line(const struct reader *rd, const char *path, size_t lineno,
    char *line)
{
	struct tk_sshcert	 c;
	struct tk_buf		 store;
	char			*type, *b64, *save = NULL;
	uint8_t			*blob = NULL;
	size_t			 n, tl;
	int			 got, r;

	tk_buf_init(&store, TK_SSHCERT_MAX, 0);
	if ((type = strtok_r(line, " \t\r", &save)) == NULL || *type == '#')
		goto out;
	if ((b64 = strtok_r(NULL, " \t\r", &save)) == NULL) {
		say(rd, path, lineno, "", "not a public key line (TYPE "
		    "BASE64 COMMENT)");
		goto out;
	}
	n = strlen(b64);
	if (n % 4 != 0 || n > 4 * ((TK_SSHCERT_MAX + 2) / 3) ||
	    (blob = malloc(n / 4 * 3 + 1)) == NULL ||
	    (got = EVP_DecodeBlock(blob, (unsigned char *)b64, (int)n)) < 0) {
		say(rd, path, lineno, "", "not valid base64");
		goto out;
	}
	while (n > 0 && b64[n - 1] == '=') {
		got--;
		n--;
	}
	if (!tk_sshcert_is_cert(blob, (size_t)got)) {
		say(rd, path, lineno, "", "not a certificate (a plain "
		    "public key?): ignored");
		goto out;
	}
	r = tk_sshcert_parse(blob, (size_t)got, &c, &store);
	/* the type before the blob must name the same certificate type */
	tl = strlen(type);
	if (r == 0 && (got < 4 + (int)tl || tk_be32_get(blob) != tl ||
	    memcmp(blob + 4, type, tl) != 0))
		r = TK_ERR_FORMAT;
	if (r == 0 && (r = tk_sshcert_verify(&c)) == TK_ERR_UNSUPPORTED)
		r = 0;	/* a CA type we cannot check: sshd will */
	if (r != 0) {
		say(rd, path, lineno, "", r == TK_ERR_UNSUPPORTED ?
		    "refused: a certificate type or key type this agent does "
		    "not serve (user or host certificates of RSA, ECDSA and "
		    "Ed25519 keys)" : r == TK_ERR_SIGNATURE ?
		    "refused: the CA's signature does not verify" :
		    "refused: a malformed certificate");
		goto out;
	}
	rd->fn(rd->arg, path, &c);
 out:
	tk_buf_free(&store);
	free(blob);
}

static int
read_file(const struct reader *rd, const char *path, int in_dir)
{
	struct stat	 st;
	const char	*why;
	char		*text = NULL, *line, *nl;
	size_t		 len = 0, lineno = 0;
	ssize_t		 got;
	int		 fd = -1, r = 0;

	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK)) < 0) {
		r = errno == ENOENT ? TK_ERR_NOT_FOUND : TK_ERR_DENIED;
		if (r != TK_ERR_NOT_FOUND)
			say(rd, path, 0, "", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (!in_dir)
			say(rd, path, 0, "", "not a regular file");
		r = TK_ERR_DENIED;
		goto out;
	}
	if ((why = mode_problem(&st)) != NULL) {
		say(rd, path, 0, "refused: ", why);
		r = TK_ERR_DENIED;
		goto out;
	}
	if (st.st_size > TK_CERTFILE_MAX) {
		say(rd, path, 0, "refused: ", "over 256 KiB");
		r = TK_ERR_DENIED;
		goto out;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size &&
	    (got = read(fd, text + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)got;
	text[len] = '\0';
	for (line = text; line != NULL && *line != '\0'; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		lineno++;
		if (strlen(line) > LINE_MAX_CERT) {
			say(rd, path, lineno, "", "line too long");
			continue;
		}
		one_line(rd, path, lineno, line);
	}
 out:
	if (fd >= 0)
		close(fd);
	free(text);
	return r;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

int
tk_certfile_read(const char *path, tk_certfile_fn *fn,
    tk_certfile_log_fn *log, void *arg)
{
	struct reader	 rd = { fn, log, arg };
	struct dirent	*e;
	struct stat	 st;
	const char	*why;
	char		*names[TK_CERTFILE_MAX_FILES], sub[PATH_MAX];
	size_t		 n = 0, i;
	DIR		*d = NULL;
	int		 r = 0;

	if (stat(path, &st) != 0) {
		r = TK_ERR_NOT_FOUND;
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		r = read_file(&rd, path, 0);
		goto out;
	}
	if ((why = mode_problem(&st)) != NULL) {
		say(&rd, path, 0, "directory refused: ", why);
		r = TK_ERR_DENIED;
		goto out;
	}
	if ((d = opendir(path)) == NULL) {
		say(&rd, path, 0, "", strerror(errno));
		r = TK_ERR_DENIED;
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == TK_CERTFILE_MAX_FILES) {
			say(&rd, path, 0, "", "more than 256 "
			    "files: the rest are not read");
			break;
		}
		if ((names[n] = strdup(e->d_name)) == NULL) {
			r = TK_ERR_NOMEM;
			break;
		}
		n++;
	}
	/* in name order, so logs and listings are stable */
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n; i++)
		if (snprintf(sub, sizeof(sub), "%s/%s", path, names[i]) <
		    (int)sizeof(sub))
			(void)read_file(&rd, sub, 1);
	for (i = 0; i < n; i++)
		free(names[i]);
 out:
	if (d != NULL)
		closedir(d);
	return r;
}

int
tk_certfile_default_dir(char *buf, size_t bufsz)
{
	struct passwd	*pw;
	const char	*base, *home;
	int		 n;

	if ((base = getenv("XDG_CONFIG_HOME")) != NULL && base[0] == '/')
		n = snprintf(buf, bufsz, "%s/tokenkeys/certs", base);
	else {
		if ((home = getenv("HOME")) == NULL || home[0] == '\0')
			home = (pw = getpwuid(getuid())) != NULL ?
			    pw->pw_dir : NULL;
		if (home == NULL)
			return TK_ERR_NOT_FOUND;
		n = snprintf(buf, bufsz, "%s/.config/tokenkeys/certs", home);
	}
	return n < 0 || (size_t)n >= bufsz ? TK_ERR_RANGE : 0;
}
