/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * relist@tokenkeys: a client that has just written to a token (tokenkeys
 * keygen, delete) asks for every source to be listed again, and is
 * answered once a full listing that began after its request has ended,
 * so that its next listing shows the change.  The background thread
 * lists (agent-follow.c, agent_refresh); this file hands out tickets and
 * waits for them.
 *
 * A request that finds one pending (asked for, not yet begun) shares it.
 * The background thread is asked for each pending listing once, and not
 * before AGENT_RELIST_GAP_MS after the last full listing began: clients
 * asking in a loop wait out the gap instead of making the agent walk its
 * tokens more often, and those that came meanwhile share the next one.  No
 * request waits longer than AGENT_RELIST_WAIT_MS, and other clients do
 * not wait at all: listings are answered from the cache meanwhile.
 */
#include <stdint.h>
#include <time.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "common/deadline.h"

void
agent_relist_init(struct agent *a)
{
	pthread_condattr_t	attr;

	pthread_mutex_init(&a->relist_mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&a->relist_cv, &attr);
	pthread_condattr_destroy(&attr);
	a->relist_asked = a->relist_woken = 0;
	a->relist_begun = a->relist_done = 0;
	/* no listing yet: the first request need not wait for a gap */
	a->relist_at_ms = INT64_MIN / 2;
}

void
agent_relist_free(struct agent *a)
{
	pthread_mutex_destroy(&a->relist_mu);
	pthread_cond_destroy(&a->relist_cv);
}

uint64_t
agent_relist_begin(struct agent *a)
{
	uint64_t	covered;

	pthread_mutex_lock(&a->relist_mu);
	covered = a->relist_begun = a->relist_asked;
	a->relist_at_ms = tk_mono_ms();
	pthread_mutex_unlock(&a->relist_mu);
	return covered;
}

void
agent_relist_end(struct agent *a, uint64_t covered)
{
	pthread_mutex_lock(&a->relist_mu);
	if (covered > a->relist_done)
		a->relist_done = covered;
	pthread_cond_broadcast(&a->relist_cv);
	pthread_mutex_unlock(&a->relist_mu);
}

/* Wait on relist_cv (relist_mu held) until the monotonic ms at. */
static void
wait_until(struct agent *a, int64_t at)
{
	struct timespec	ts;

	tk_deadline_at(&ts, at);
	(void)pthread_cond_timedwait(&a->relist_cv, &a->relist_mu, &ts);
}

int
agent_relist_ask(struct agent *a, const struct agent_conn *c)
{
	char		who[AGENT_WHO_MAX];
	uint64_t	ticket;
	int64_t		now, deadline, until, gap;
	unsigned int	wait_ms;
	int		r;

	if (c->bound || agent_is_locked(a)) {
		agent_peer_who(c, who, sizeof(who));
		agent_log(a, AGENT_LOG_INFO, "%s from %s refused: %s",
		    AGENT_EXT_RELIST, who, c->bound ? "the request came "
		    "through a forwarded or bound agent connection" :
		    "the agent is locked");
		r = TK_ERR_DENIED;
		goto out;
	}
	wait_ms = a->relist_wait_ms != 0 ? a->relist_wait_ms :
	    AGENT_RELIST_WAIT_MS;
	deadline = tk_mono_ms() + wait_ms;
	pthread_mutex_lock(&a->relist_mu);
	/* one pending (asked for, not begun) covers this request too */
	ticket = a->relist_asked > a->relist_begun ? a->relist_asked :
	    ++a->relist_asked;
	for (;;) {
		if (a->relist_done >= ticket) {
			r = 0;
			break;
		}
		if ((now = tk_mono_ms()) >= deadline) {
			r = TK_ERR_TIMEOUT;
			break;
		}
		until = deadline;
		gap = a->relist_at_ms + AGENT_RELIST_GAP_MS;
		/* whoever of those sharing it comes first asks, once */
		if (a->relist_begun < ticket && a->relist_woken < ticket) {
			if (now >= gap) {
				a->relist_woken = a->relist_asked;
				agent_wake_relist(a, NULL);
			} else if (gap < until)
				until = gap;
		}
		wait_until(a, until);
	}
	pthread_mutex_unlock(&a->relist_mu);
	if (r == TK_ERR_TIMEOUT)
		agent_log(a, AGENT_LOG_INFO, "%s: the tokens are still being "
		    "listed after %u ms; answering now, the listing goes on",
		    AGENT_EXT_RELIST, wait_ms);
	else
		agent_log(a, AGENT_LOG_DEBUG, "%s: every token's keys listed "
		    "again", AGENT_EXT_RELIST);
 out:
	return r;
}
