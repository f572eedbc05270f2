/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Waking the background thread (agent-follow.c), which otherwise sleeps
 * until a helper says its tokens may have changed or a timer is due: a
 * non-blocking pipe it polls, and what it was woken for (a module to
 * list again, or all of them).  Any thread may call these, with or
 * without a->lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "agent/agent.h"

void
agent_wake_init(struct agent *a)
{
	a->wake[0] = a->wake[1] = -1;
	if (pipe2(a->wake, O_CLOEXEC | O_NONBLOCK) == -1)
		a->wake[0] = a->wake[1] = -1;
}

void
agent_wake_free(struct agent *a)
{
	if (a->wake[0] != -1)
		close(a->wake[0]);
	if (a->wake[1] != -1)
		close(a->wake[1]);
	a->wake[0] = a->wake[1] = -1;
}

void
agent_wake(struct agent *a)
{
	static const char	b = 'w';
	ssize_t			n;

	if (a->wake[1] == -1)
		return;
	do {
		n = write(a->wake[1], &b, 1);
	} while (n == -1 && errno == EINTR);
	/* a full pipe: the thread has a wake-up pending anyway */
}

void
agent_wake_relist(struct agent *a, struct agent_module *m)
{
	if (m != NULL)
		__atomic_store_n(&m->relist, 1, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&a->relist_all, 1, __ATOMIC_RELAXED);
	agent_wake(a);
}

void
agent_wake_drain(struct agent *a)
{
	char	buf[64];

	if (a->wake[0] == -1)
		return;
	while (read(a->wake[0], buf, sizeof(buf)) > 0)
		continue;
}
