/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Whole writes and reads on stream sockets and pipes: the loops every
 * frame writer needs, in one place.  Sends use MSG_NOSIGNAL, so a peer
 * that went away is TK_ERR_CONNECTION, never SIGPIPE.
 */
#ifndef TK_FDIO_H
#define TK_FDIO_H

#include <stddef.h>
#include <time.h>

/* Send all n bytes on a blocking socket; EINTR is retried. */
int	tk_fd_send_all(int fd, const void *p, size_t n);
/*
 * The same on a socket that may not block for longer than deadline d:
 * TK_ERR_TIMEOUT when it passes, TK_ERR_CONNECTION when the peer closed,
 * TK_ERR_SYSTEM for any other error.
 */
int	tk_fd_send_all_by(int fd, const void *p, size_t n,
	    const struct timespec *d);
/* Read exactly n bytes: 0, or TK_ERR_CONNECTION on end of file or error. */
int	tk_fd_read_full(int fd, void *p, size_t n);
/* The same by deadline d, without blocking past it (TK_ERR_TIMEOUT). */
int	tk_fd_read_full_by(int fd, void *p, size_t n,
	    const struct timespec *d);

#endif /* TK_FDIO_H */
