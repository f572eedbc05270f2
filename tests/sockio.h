/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sockio: the socket chores the test programs that speak to an agent
 * share.  Every function returns 0 or a negative value; nothing here
 * prints.
 */
#ifndef TK_TESTS_SOCKIO_H
#define TK_TESTS_SOCKIO_H

#include <stddef.h>

#define SIO_EOF		(-1)	/* end of file, or an error */
#define SIO_TIMEOUT	(-2)	/* nothing came within the time given */

/* A connected or listening AF_UNIX stream socket (close-on-exec), or -1. */
int	sio_connect(const char *path);
int	sio_listen(const char *path, int backlog);

/* Writes all n bytes; a closed peer is SIO_EOF, never SIGPIPE. */
int	sio_write(int fd, const void *p, size_t n);

/*
 * Reads exactly n bytes, waiting at most timeout_ms for each piece
 * (-1: for ever).
 */
int	sio_read(int fd, void *p, size_t n, int timeout_ms);

#endif /* TK_TESTS_SOCKIO_H */
