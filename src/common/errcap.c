/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Catching fd 2 around a call (errcap.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "common/errcap.h"

int
tk_errcap_begin(struct tk_errcap *ec)
{
	FILE	*tf = NULL;
	int	 r = TK_ERR_SYSTEM;

	ec->saved = ec->fd = -1;
	(void)fflush(stderr);
	if ((tf = tmpfile()) == NULL)
		goto out;
	if ((ec->fd = fcntl(fileno(tf), F_DUPFD_CLOEXEC, 3)) == -1 ||
	    (ec->saved = fcntl(2, F_DUPFD_CLOEXEC, 3)) == -1)
		goto out;
	if (dup2(ec->fd, 2) == -1)
		goto out;
	r = 0;
 out:
	if (tf != NULL)
		(void)fclose(tf);
	if (r != 0) {
		if (ec->fd != -1)
			(void)close(ec->fd);
		if (ec->saved != -1)
			(void)close(ec->saved);
		ec->saved = ec->fd = -1;
	}
	return r;
}

void
tk_errcap_end(struct tk_errcap *ec, char *buf, size_t bufsz, size_t *more)
{
	struct stat	st;
	size_t		len = 0;
	ssize_t		n;

	*more = 0;
	if (bufsz > 0)
		buf[0] = '\0';
	if (ec->saved == -1)
		return;
	(void)fflush(stderr);
	while (dup2(ec->saved, 2) == -1 && (errno == EINTR || errno == EBUSY))
		;	/* fd 2 must come back */
	(void)close(ec->saved);
	ec->saved = -1;
	while (bufsz > 0 && len < bufsz - 1) {
		n = pread(ec->fd, buf + len, bufsz - 1 - len, (off_t)len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (bufsz > 0)
		buf[len] = '\0';
	if (fstat(ec->fd, &st) == 0 && st.st_size > 0 &&
	    (size_t)st.st_size > len)
		*more = (size_t)st.st_size - len;
	(void)close(ec->fd);
	ec->fd = -1;
}
