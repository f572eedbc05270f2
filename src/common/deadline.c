/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Deadlines on CLOCK_MONOTONIC.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <time.h>

#include "tokenkeys.h"
#include "common/deadline.h"

void
tk_deadline_set(struct timespec *d, unsigned int ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += ms / 1000;
	d->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (d->tv_nsec >= 1000000000L) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000L;
	}
}

int64_t
tk_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
tk_deadline_at(struct timespec *d, int64_t at)
{
	if (at < 0)
		at = 0;
	d->tv_sec = (time_t)(at / 1000);
	d->tv_nsec = (long)(at % 1000) * 1000000L;
}

int
tk_deadline_left(const struct timespec *d)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(d->tv_sec - now.tv_sec) * 1000 +
	    (d->tv_nsec - now.tv_nsec) / 1000000;
	if (ms < 0)
		ms = 0;
	if (ms > INT_MAX)
		ms = INT_MAX;
	return (int)ms;
}

int
tk_deadline_wait_fd(int fd, short events, const struct timespec *d)
{
	struct pollfd pfd;
	int n, r;

	do {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, tk_deadline_left(d));
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		r = TK_ERR_SYSTEM;
	else if (n == 0)
		r = TK_ERR_TIMEOUT;
	else
		r = 0;
	return r;
}
