/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Telling the agent when the module's tokens may have changed, so that
 * an idle agent need not ask.  One thread per helper:
 *
 * - A module with slot events (OpenSC with pcscd, made for threads)
 *   sleeps in C_WaitForSlotEvent; every event (a card in or out) is
 *   passed on at once.
 * - A module without (SoftHSM says CKR_FUNCTION_NOT_SUPPORTED), or one
 *   not made for threads, is asked which tokens it holds (the presence
 *   digest: slot and token information, no objects) every HW_POLL_MS,
 *   and a change of the digest is passed on.  The digest compared with
 *   is the one taken just before the agent's last listing (hw_listing),
 *   or at the last report: a card put back and pulled again between two
 *   looks, with a listing in between, is still a change.
 * - A module whose slot events fail now (OpenSC without pcscd, which
 *   then sees no reader and no card at all) is looked at the same way,
 *   but only every HW_RETRY_MS, and its slot events tried again each
 *   time (pcscd may have started).
 *
 * Passing on is one byte written to the events pipe (fd 4, non-blocking:
 * a full pipe already says "look").  The byte carries nothing; the agent
 * lists the module again.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "common/deadline.h"
#include "helper/helper.h"

/*
 * The idle budget (doc/performance.md): an idle agent and its helpers
 * wake at most twice a second in all.  A look is one wake-up of this
 * thread; 600 ms leaves room for a module whose slot events fail and
 * for the agent's own slow looks, and finds a card pulled about 300 ms
 * later on average.
 */
#define HW_POLL_MS	600	/* no slot events: look this often */
#define HW_RETRY_MS	30000	/* slot events fail now: this often */
#define HW_MIN_GAP_MS	100	/* slot events closer than this: pace them */
#define HW_MAX_QUICK	20	/* ...and this many in a row: a wait that
				   does not wait; look instead */

/* 0, or -1 once the agent is gone (it closed the pipe's read end). */
static int
notify(struct helper *h)
{
	static const char	b = 'e';
	ssize_t			n;

	do {
		n = write(h->evfd, &b, 1);
	} while (n == -1 && errno == EINTR);
	return n == -1 && errno != EAGAIN ? -1 : 0;
}

/* Sleep ms, or less if the helper is ending; 1 when it is. */
static int
nap(struct helper *h, int ms)
{
	struct timespec	ts;
	int		s;

	tk_deadline_set(&ts, ms);
	pthread_mutex_lock(&h->wmu);
	while (!h->wstop && pthread_cond_clockwait(&h->wcv, &h->wmu,
	    CLOCK_MONOTONIC, &ts) == 0)
		continue;
	s = h->wstop;
	pthread_mutex_unlock(&h->wmu);
	return s;
}

static int
presence(struct helper *h, uint64_t *digest)
{
	int	r;

	if (h->serial)
		pthread_mutex_lock(&h->modmu);
	r = tk_p11_presence(h->mod, digest);
	if (h->serial)
		pthread_mutex_unlock(&h->modmu);
	return r;
}

/* One blocking C_WaitForSlotEvent, marked so the exit can tell. */
static int
wait_event(struct helper *h)
{
	int	r;

	pthread_mutex_lock(&h->wmu);
	if (h->wstop) {
		pthread_mutex_unlock(&h->wmu);
		return TK_ERR_CANCELLED;
	}
	h->in_wait = 1;
	pthread_mutex_unlock(&h->wmu);
	r = tk_p11_slot_event(h->mod, 1);
	pthread_mutex_lock(&h->wmu);
	h->in_wait = 0;
	if (h->wstop)
		r = TK_ERR_CANCELLED;
	pthread_mutex_unlock(&h->wmu);
	return r;
}

/*
 * Whether d differs from what the agent last saw (a listing, or our last
 * report), and remember it.
 */
static int
changed(struct helper *h, uint64_t d)
{
	int	c;

	pthread_mutex_lock(&h->wmu);
	c = !h->have_known || h->known != d;
	h->known = d;
	h->have_known = 1;
	pthread_mutex_unlock(&h->wmu);
	return c;
}

void
hw_listing(struct helper *h)
{
	uint64_t	d;

	if (!h->watching || tk_p11_presence(h->mod, &d) != 0)
		return;
	pthread_mutex_lock(&h->wmu);
	h->known = d;
	h->have_known = 1;
	pthread_mutex_unlock(&h->wmu);
}

static void *
watch(void *arg)
{
	struct helper	*h = arg;
	struct timespec	 last = { 0, 0 }, now;
	uint64_t	 d;
	long long	 gap;
	int		 events = !h->serial, quick = 0, ms, r;

	if (presence(h, &d) == 0)
		(void)changed(h, d);
	for (;;) {
		if (events) {
			r = wait_event(h);
			if (r == TK_ERR_CANCELLED)
				break;
			if (r == 0) {
				/* a wait that does not block: pace it */
				clock_gettime(CLOCK_MONOTONIC, &now);
				gap = (long long)(now.tv_sec - last.tv_sec) *
				    1000 + (now.tv_nsec - last.tv_nsec) /
				    1000000;
				quick = gap < HW_MIN_GAP_MS ? quick + 1 : 0;
				if (quick >= HW_MAX_QUICK)
					events = 0;
				if (gap < HW_MIN_GAP_MS &&
				    nap(h, HW_MIN_GAP_MS - (int)gap))
					break;
				clock_gettime(CLOCK_MONOTONIC, &last);
				if (notify(h) != 0)
					break;
				continue;
			}
			if (r == TK_ERR_UNSUPPORTED)
				events = 0;
			/* else none now (OpenSC without pcscd): look, retry */
		}
		ms = events ? HW_RETRY_MS : HW_POLL_MS;
		if (nap(h, ms))
			break;
		if ((r = presence(h, &d)) != 0)
			continue;	/* no verdict: look again later */
		if (!changed(h, d))
			continue;
		if (notify(h) != 0)
			break;
	}
	return NULL;
}

int
hw_start(struct helper *h)
{
	if (h->evfd < 0 || h->mod == NULL || !h->mod->ready)
		return 0;
	if (pthread_create(&h->wt, NULL, watch, h) != 0)
		return TK_ERR_SYSTEM;
	h->watching = 1;
	return 0;
}

int
hw_stop(struct helper *h)
{
	int	blocked;

	if (!h->watching)
		return 0;
	pthread_mutex_lock(&h->wmu);
	h->wstop = 1;
	blocked = h->in_wait;
	pthread_cond_broadcast(&h->wcv);
	pthread_mutex_unlock(&h->wmu);
	if (blocked)
		return -1;
	pthread_join(h->wt, NULL);
	h->watching = 0;
	return 0;
}
