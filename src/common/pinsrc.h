/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unattended PINs from a URI's pin-source file (pinsrc.c).
 */
#ifndef TK_PINSRC_H
#define TK_PINSRC_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

/* Which version of a file: equal ids, unchanged file. */
struct tk_fileid {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime, ctime;
};

/* *path: the URI's pin-source file (NULL: none); pin-value is refused. */
int	tk_pinsrc_from_uri(const char *uri, char **path);
/* What is wrong with a URI tk_pinsrc_from_uri refused with r. */
const char *tk_pinsrc_uri_error(int r);
/* Fit to hold a PIN?  Says why not (TK_ERR_NOT_FOUND: missing). */
int	tk_pinsrc_check(const char *path, char *why, size_t whysz);
/* The first line of the file into pin (wiped beyond *len). */
int	tk_pinsrc_read(const char *path, char *pin, size_t pinsz,
	    size_t *len, struct tk_fileid *, char *why, size_t whysz);
int	tk_fileid_eq(const struct tk_fileid *, const struct tk_fileid *);

#endif
