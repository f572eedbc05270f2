/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Token keys' public halves as files ssh can name in IdentityFile (and
 * git in user.signingkey): one file per key in one directory, its name
 * from the token and key labels, its comment the key's URI.  Shared by
 * ssh-config, git-signing and doctor.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <pwd.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli-pubfile.h"

#define LINE_MAX_LEN	16384
#define NAME_TRIES	100

int
cli_pubdir_default(char *buf, size_t bufsz)
{
	const char	*home = getenv("HOME");

	if (home == NULL || *home != '/')
		return TK_ERR_NOT_FOUND;
	if ((size_t)snprintf(buf, bufsz, "%s/.ssh/tokenkeys", home) >= bufsz)
		return TK_ERR_RANGE;
	return 0;
}

void
cli_path_tilde(const char *path, char *buf, size_t bufsz)
{
	struct passwd	*pw;
	const char	*home;
	size_t		 hl;

	/* ssh expands "~" to the account's home, whatever $HOME says */
	pw = getpwuid(getuid());
	home = pw != NULL ? pw->pw_dir : NULL;
	hl = home != NULL ? strlen(home) : 0;
	if (hl > 1 && strncmp(path, home, hl) == 0 && path[hl] == '/')
		snprintf(buf, bufsz, "~%s", path + hl);
	else
		snprintf(buf, bufsz, "%s", path);
}

/* Keep [A-Za-z0-9._-], turn runs of anything else into one '_'. */
static void
name_part(const char *s, char *out, size_t outsz)
{
	size_t	o = 0;
	int	last_us = 0;

	for (; *s != '\0' && o + 1 < outsz; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '-') {
			out[o++] = *s;
			last_us = 0;
		} else if (!last_us && o > 0) {
			out[o++] = '_';
			last_us = 1;
		}
	}
	while (o > 0 && (out[o - 1] == '_' || out[o - 1] == '.'))
		o--;
	out[o] = '\0';
}

void
cli_pubfile_base(const struct tk_key *k, char *buf, size_t bufsz)
{
	char		 tok[64], key[64], idhex[41];
	const uint8_t	*id;
	size_t		 idlen, i;

	name_part(tk_key_token_label(k), tok, sizeof(tok));
	name_part(tk_key_label(k), key, sizeof(key));
	if (key[0] == '\0') {
		id = tk_key_id(k, &idlen);
		for (i = 0; i < idlen && i < 20; i++)
			snprintf(idhex + 2 * i, 3, "%02x", id[i]);
		idhex[2 * i] = '\0';
		snprintf(key, sizeof(key), "id%s", idhex);
	}
	snprintf(buf, bufsz, "%s%s%s", tok[0] != '\0' ? tok : "token", "_",
	    key);
}

/* The first line of path into line (without the newline): 0 or -1. */
static int
first_line(const char *path, char *line, size_t linesz)
{
	FILE	*f;
	int	 r = -1;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(line, (int)linesz, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		r = 0;
	}
	fclose(f);
	return r;
}

/* The comment (third field) of an authorized_keys style line, or "". */
const char *
cli_publine_comment(const char *line)
{
	const char	*p = line;
	int		 i;

	for (i = 0; i < 2 && p != NULL; i++)
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	return p != NULL ? p : "";
}

/* A .pub file in dir whose comment is uri, into path: 0 or -1. */
static int
find_by_uri(const char *dir, const char *uri, char *path, size_t pathsz)
{
	DIR		*d;
	struct dirent	*e;
	char		 p[4096], line[LINE_MAX_LEN];
	size_t		 n;
	int		 r = -1;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while (r != 0 && (e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 4, ".pub") != 0)
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >=
		    sizeof(p) || first_line(p, line, sizeof(line)) != 0)
			continue;
		if (strcmp(cli_publine_comment(line), uri) == 0) {
			snprintf(path, pathsz, "%s", p);
			r = 0;
		}
	}
	closedir(d);
	return r;
}

/* Write line + "\n" to path through a temporary file and rename. */
static int
write_file(const char *path, const char *line)
{
	char	 tmp[4096];
	FILE	*f = NULL;
	int	 fd = -1, r = TK_ERR_SYSTEM;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		return TK_ERR_RANGE;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) < 0)
		goto out;
	if ((f = fdopen(fd, "w")) == NULL)
		goto out;
	fd = -1;
	if (fprintf(f, "%s\n", line) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0)
		goto out;
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) != 0)
		goto out;
	r = 0;
 out:
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (r != 0)
		(void)unlink(tmp);
	return r;
}

int
cli_pubdir_make(const char *dir)
{
	char	parent[4096], *slash;

	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return TK_ERR_SYSTEM;
	/* ~/.ssh itself may be missing */
	snprintf(parent, sizeof(parent), "%s", dir);
	if ((slash = strrchr(parent, '/')) == NULL || slash == parent)
		return TK_ERR_SYSTEM;
	*slash = '\0';
	if (mkdir(parent, 0700) != 0 && errno != EEXIST)
		return TK_ERR_SYSTEM;
	return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : TK_ERR_SYSTEM;
}

int
cli_pubfile_write(const char *dir, const struct tk_key *k, int dry_run,
    char *path, size_t pathsz, int *state)
{
	char	*line = NULL, base[160], old[LINE_MAX_LEN];
	int	 i, r;

	*state = CLI_PUB_SAME;
	if ((r = cli_key_line(k, tk_key_uri(k), &line)) != 0)
		goto out;
	if (find_by_uri(dir, tk_key_uri(k), path, pathsz) == 0) {
		if (first_line(path, old, sizeof(old)) == 0 &&
		    strcmp(old, line) == 0)
			goto out;
		*state = CLI_PUB_CHANGED;
	} else {
		cli_pubfile_base(k, base, sizeof(base));
		*state = CLI_PUB_NEW;
		for (i = 1; i <= NAME_TRIES; i++) {
			if ((size_t)(i == 1 ?
			    snprintf(path, pathsz, "%s/%s.pub", dir, base) :
			    snprintf(path, pathsz, "%s/%s-%d.pub", dir, base,
			    i)) >= pathsz) {
				r = TK_ERR_RANGE;
				goto out;
			}
			if (access(path, F_OK) != 0)
				break;
		}
		if (i > NAME_TRIES) {
			r = TK_ERR_RANGE;
			goto out;
		}
	}
	if (!dry_run) {
		if ((r = cli_pubdir_make(dir)) != 0)
			goto out;
		r = write_file(path, line);
	}
 out:
	free(line);
	return r;
}

int
cli_pubdir_each(const char *dir, int (*fn)(void *, const char *path,
    const char *uri), void *arg)
{
	DIR		*d;
	struct dirent	*e;
	char		 p[4096], line[LINE_MAX_LEN];
	const char	*c;
	size_t		 n;
	int		 r = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : TK_ERR_SYSTEM;
	while (r == 0 && (e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 4, ".pub") != 0)
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >=
		    sizeof(p) || first_line(p, line, sizeof(line)) != 0)
			continue;
		c = cli_publine_comment(line);
		if (strncmp(c, "pkcs11:", 7) == 0)
			r = fn(arg, p, c);
	}
	closedir(d);
	return r;
}
