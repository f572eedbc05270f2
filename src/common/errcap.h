/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What a library writes to file descriptor 2 while we call it (a PKCS#11
 * module's own logging as it starts), caught instead of reaching the
 * user's terminal.  The bytes go to an unlinked temporary file, not a
 * pipe: a module that writes more than a pipe holds never blocks, and no
 * thread is needed to drain it.
 */
#ifndef TK_ERRCAP_H
#define TK_ERRCAP_H

#include <stddef.h>

struct tk_errcap {
	int	saved;		/* the real fd 2, or -1: not capturing */
	int	fd;		/* the temporary file */
};

/*
 * Point fd 2 at a fresh temporary file.  0, or TK_ERR_SYSTEM with fd 2
 * untouched (the caller goes on without capturing).
 */
int	tk_errcap_begin(struct tk_errcap *);
/*
 * Put the real fd 2 back (always, whatever happened) and hand over up to
 * bufsz - 1 of the caught bytes, NUL-terminated, in buf; *more says how
 * many did not fit.  A no-op leaving buf empty if begin failed.
 */
void	tk_errcap_end(struct tk_errcap *, char *buf, size_t bufsz,
	    size_t *more);

#endif /* TK_ERRCAP_H */
