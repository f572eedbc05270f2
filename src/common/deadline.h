/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Deadlines on CLOCK_MONOTONIC: a wall-clock jump neither cuts a wait
 * short nor stretches it.
 */
#ifndef TK_DEADLINE_H
#define TK_DEADLINE_H

#include <time.h>

/* *d = now + ms. */
void	tk_deadline_set(struct timespec *d, unsigned int ms);
/* Milliseconds until d (at most INT_MAX), 0 once it has passed. */
int	tk_deadline_left(const struct timespec *d);
/*
 * Wait until fd is ready for events (poll(2) flags) or d passes; EINTR is
 * retried.  0 when ready (POLLHUP and POLLERR count: the next read or
 * write says which), TK_ERR_TIMEOUT, TK_ERR_SYSTEM.
 */
int	tk_deadline_wait_fd(int fd, short events, const struct timespec *d);

#endif /* TK_DEADLINE_H */
