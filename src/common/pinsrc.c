/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unattended PINs: the pin-source attribute of a URI (RFC 7512;
 * "file:PATH" or a plain absolute path), for the agent and for
 * `tokenkeys list --login`.  The file is read only when a login needs it,
 * straight into the caller's locked buffer, and only if it is a regular
 * file owned by our user that nobody else may read: a PIN others can
 * read is not a secret worth guarding.
 * pin-value (a PIN written into the URI, so into argv or a config file)
 * is refused.  The file's identity is returned, so a PIN the token
 * refused is not tried again until the file changes.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <p11-kit/uri.h>

#include "tokenkeys.h"
#include "common/pinsrc.h"

/* The path a pin-source value names, or NULL if it names none we read. */
static const char *
source_path(const char *v)
{
	if (strncmp(v, "file:", 5) == 0) {
		v += 5;
		if (strncmp(v, "///", 3) == 0)
			v += 2;		/* file:///path, empty authority */
	}
	return v[0] == '/' ? v : NULL;
}

int
tk_pinsrc_from_uri(const char *uri, char **path)
{
	P11KitUri	*u = NULL;
	const char	*v, *p;
	int		 r;

	*path = NULL;
	if ((u = p11_kit_uri_new()) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if ((r = p11_kit_uri_parse(uri, P11_KIT_URI_FOR_ANY, u)) !=
	    P11_KIT_URI_OK) {
		r = r == P11_KIT_URI_BAD_SCHEME ? TK_ERR_URI_SCHEME :
		    TK_ERR_URI;
		goto out;
	}
	if (p11_kit_uri_get_pin_value(u) != NULL) {
		r = TK_ERR_DENIED;
		goto out;
	}
	r = 0;
	if ((v = p11_kit_uri_get_pin_source(u)) == NULL)
		goto out;
	if ((p = source_path(v)) == NULL) {
		r = TK_ERR_INVAL;
		goto out;
	}
	if ((*path = strdup(p)) == NULL)
		r = TK_ERR_NOMEM;
 out:
	if (u != NULL)
		p11_kit_uri_free(u);
	return r;
}

const char *
tk_pinsrc_uri_error(int r)
{
	if (r == TK_ERR_DENIED)
		return "pin-value is refused (a PIN in a URI ends up in argv "
		    "and logs); use pin-source=file:PATH";
	if (r == TK_ERR_INVAL)
		return "pin-source must be file:PATH or an absolute path";
	return tk_strerror(r);
}

/* Why st is not fit to hold a PIN, or NULL. */
static const char *
unfit(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return "it is not a regular file";
	if (st->st_uid != getuid())
		return "it is not owned by this user";
	if (st->st_mode & (S_IRWXG | S_IRWXO))
		return "group or others have access to it (chmod 600 it)";
	return NULL;
}

int
tk_pinsrc_check(const char *path, char *why, size_t whysz)
{
	struct stat	 st;
	const char	*w;
	int		 r = 0;

	why[0] = '\0';
	if (lstat(path, &st) != 0) {
		snprintf(why, whysz, "%s", strerror(errno));
		r = errno == ENOENT ? TK_ERR_NOT_FOUND : TK_ERR_SYSTEM;
	} else if (S_ISLNK(st.st_mode)) {
		snprintf(why, whysz, "it is a symbolic link");
		r = TK_ERR_DENIED;
	} else if ((w = unfit(&st)) != NULL) {
		snprintf(why, whysz, "%s", w);
		r = TK_ERR_DENIED;
	}
	return r;
}

int
tk_pinsrc_read(const char *path, char *pin, size_t pinsz, size_t *len,
    struct tk_fileid *id, char *why, size_t whysz)
{
	struct stat	 st;
	const char	*w;
	ssize_t		 n;
	size_t		 got = 0;
	char		 extra;
	int		 fd = -1, r = TK_ERR_SYSTEM;

	*len = 0;
	why[0] = '\0';
	memset(id, 0, sizeof(*id));
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1) {
		snprintf(why, whysz, "%s", errno == ELOOP ?
		    "it is a symbolic link" : strerror(errno));
		r = errno == ENOENT ? TK_ERR_NOT_FOUND : errno == ELOOP ?
		    TK_ERR_DENIED : TK_ERR_SYSTEM;
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(why, whysz, "%s", strerror(errno));
		goto out;
	}
	if ((w = unfit(&st)) != NULL) {
		snprintf(why, whysz, "%s", w);
		r = TK_ERR_DENIED;
		goto out;
	}
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
	id->ctime = st.st_ctim;
	while (got < pinsz - 1) {
		n = read(fd, pin + got, pinsz - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, whysz, "%s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	pin[got] = '\0';
	*len = strcspn(pin, "\r\n");
	if (*len == got && got == pinsz - 1 && read(fd, &extra, 1) == 1) {
		explicit_bzero(&extra, sizeof(extra));
		snprintf(why, whysz, "its first line is longer than %zu "
		    "bytes", pinsz - 1);
		r = TK_ERR_PIN_INVALID;
		goto out;
	}
	if (*len == 0) {
		snprintf(why, whysz, "its first line is empty");
		r = TK_ERR_PIN_INVALID;
		goto out;
	}
	r = 0;
 out:
	if (r != 0)
		*len = 0;
	/* only the first line is the PIN: nothing else stays in memory */
	explicit_bzero(pin + *len, pinsz - *len);
	if (fd != -1)
		close(fd);
	return r;
}

int
tk_fileid_eq(const struct tk_fileid *a, const struct tk_fileid *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec &&
	    a->ctime.tv_sec == b->ctime.tv_sec &&
	    a->ctime.tv_nsec == b->ctime.tv_nsec;
}
