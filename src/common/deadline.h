/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Deadlines on CLOCK_MONOTONIC: a wall-clock jump neither cuts a wait
 * short nor stretches it.
 */
#ifndef TK_DEADLINE_H
#define TK_DEADLINE_H

#include <stdint.h>
#include <time.h>

/* *d = now + ms. */
void	tk_deadline_set(struct timespec *d, unsigned int ms);
/* CLOCK_MONOTONIC in milliseconds, for deadlines kept as numbers. */
int64_t	tk_mono_ms(void);
/* *d = the instant tk_mono_ms() will read at, for timed waits. */
void	tk_deadline_at(struct timespec *d, int64_t at);
/* Milliseconds until d (at most INT_MAX), 0 once it has passed. */
int	tk_deadline_left(const struct timespec *d);
/*
 * Wait until fd is ready for events (poll(2) flags) or d passes; EINTR is
 * retried.  0 when ready (POLLHUP and POLLERR count: the next read or
 * write says which), TK_ERR_TIMEOUT, TK_ERR_SYSTEM.
 */
int	tk_deadline_wait_fd(int fd, short events, const struct timespec *d);

#endif /* TK_DEADLINE_H */
