/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Following tokens as cards come and go, without waking when nothing
 * happens.  The background thread (agent.c) sleeps in agent_follow_wait
 * on every helper's events pipe and the wake pipe (agent-wake.c), and
 * lists a module again only when something may have changed there:
 *
 * - its helper says so: a slot event (OpenSC with pcscd: at once), or a
 *   change the helper saw looking every few seconds (SoftHSM, which has
 *   no slot events; src/helper/helper-watch.c);
 * - its helper died: the listing starts another;
 * - a login happened on one of its tokens (private keys and
 *   certificates may show only now: agent-login.c);
 * - a client asked for the identities and the last full listing is
 *   FOLLOW_ASK_SECS old (agent-lookup.c): that client gets the cached
 *   answer at once, the next one the fresh listing -- this is how keys
 *   made or deleted on a token that stayed in are found soon;
 * - the safety re-list, every FOLLOW_RELIST_SECS.
 *
 * p11-kit's configuration and the certificate files (the certs
 * directory, --cert) are looked at (names, sizes, times) when inotify
 * says one of them may have changed (src/common/pathwatch.c), and every
 * FOLLOW_FILES_SAFE_MS in case a change happened where no watch sees it;
 * without inotify, or when a watch cannot be had, every FOLLOW_FILES_MS.
 * Lifetimes end and certificate windows open and close when they are
 * due, and a module without an events pipe (a test keystore) is asked
 * which tokens it holds every FOLLOW_POLL_MS, its failures logged once
 * per change.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "common/deadline.h"
#include "common/pathwatch.h"

#define FOLLOW_FILES_MS		2000	/* without inotify: "within 2 s" */
#define FOLLOW_FILES_SAFE_MS	60000	/* with it: a change no watch saw */
#define FOLLOW_POLL_MS		3000
#define FOLLOW_RELIST_SECS	300
#define FOLLOW_MAX_SLEEP_MS	(3600 * 1000)

/* Without the watcher from now on (it failed): looking instead. */
static void
files_unwatched(struct agent *a, int r, int err)
{
	agent_log(a, AGENT_LOG_DEBUG, "p11-kit's configuration and the "
	    "certificate files are looked at every %d s: they cannot be "
	    "watched (inotify): %s", FOLLOW_FILES_MS / 1000,
	    r == TK_ERR_SYSTEM ? strerror(err) : tk_strerror(r));
	tk_pathwatch_free(a->fw_files);
	a->fw_files = NULL;
}

/* Watch where p11-kit reads its configuration, and the certificates. */
static void
files_watch(struct agent *a)
{
	char	reg[AGENT_REG_PATHS][PATH_MAX];
	size_t	i;
	int	n, r;

	if ((r = tk_pathwatch_new(&a->fw_files)) != 0)
		goto out;
	n = agent_registry_paths(reg, AGENT_REG_PATHS);
	for (i = 0; i < (size_t)n && r == 0; i++)
		r = tk_pathwatch_add(a->fw_files, reg[i]);
	for (i = 0; i < a->ncertpaths && r == 0; i++)
		r = tk_pathwatch_add(a->fw_files, a->certpaths[i]);
	if (r == 0)
		r = tk_pathwatch_arm(a->fw_files);
 out:
	if (r != 0)
		files_unwatched(a, r, errno);
}

static long long
files_ms(struct agent *a)
{
	return a->fw_files != NULL ? FOLLOW_FILES_SAFE_MS : FOLLOW_FILES_MS;
}

static void
start(struct agent *a)
{
	if (a->fw_started)
		return;
	files_watch(a);
	/*
	 * One look now: what changed between the first reading (before
	 * serving) and the watches being placed.
	 */
	tk_deadline_set(&a->fw_registry,
	    a->fw_files != NULL ? 0 : FOLLOW_FILES_MS);
	tk_deadline_set(&a->fw_relist, FOLLOW_RELIST_SECS * 1000);
	tk_deadline_set(&a->fw_poll, FOLLOW_POLL_MS);
	a->fw_started = 1;
	/* the sources were listed as they were added */
	pthread_mutex_lock(&a->lock);
	a->listed_at = agent_now(a);
	pthread_mutex_unlock(&a->lock);
}

/* Modules without an events pipe (or whose helper died): with a->lock. */
static int
polled_locked(struct agent *a)
{
	size_t	i;

	for (i = 0; i < a->nmods; i++)
		if (a->ops->events == NULL || a->mods[i]->ev_eof ||
		    a->ops->events(a->mods[i]->h) < 0)
			return 1;
	return 0;
}

int
agent_follow_due(struct agent *a)
{
	long long	ms, t;
	time_t		d, now;
	size_t		i;
	int		asked = 0, polled;

	start(a);
	ms = tk_deadline_left(&a->fw_registry);
	if ((t = tk_deadline_left(&a->fw_relist)) < ms)
		ms = t;
	pthread_mutex_lock(&a->lock);
	polled = polled_locked(a);
	for (i = 0; i < a->nmods; i++)
		if (__atomic_load_n(&a->mods[i]->relist, __ATOMIC_RELAXED))
			asked = 1;
	pthread_mutex_unlock(&a->lock);
	if (polled && (t = tk_deadline_left(&a->fw_poll)) < ms)
		ms = t;
	if ((d = agent_next_deadline(a)) != 0) {
		now = agent_now(a);
		t = d > now ? (long long)(d - now) * 1000 : 0;
		if (t < ms)
			ms = t;
	}
	if ((t = agent_certs_wait_ms(a)) >= 0 && t < ms)
		ms = t;
	if (asked || __atomic_load_n(&a->relist_all, __ATOMIC_RELAXED))
		ms = 0;
	return ms > FOLLOW_MAX_SLEEP_MS ? FOLLOW_MAX_SLEEP_MS : (int)ms;
}

/* Read what is pending on an events pipe: 1 events, 0 none, -1 EOF. */
static int
drain(int fd)
{
	char	buf[64];
	ssize_t	n;
	int	got = 0;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			got = 1;
			continue;
		}
		if (n == 0)
			return -1;
		if (errno == EINTR)
			continue;
		return got;
	}
}

/* The watcher has something: the files are looked at now if it says. */
static void
files_event(struct agent *a)
{
	int	r;

	if ((r = tk_pathwatch_read(a->fw_files)) < 0)
		files_unwatched(a, r, errno);
	if (r != 0)
		tk_deadline_set(&a->fw_registry, 0);
}

void
agent_follow_wait(struct agent *a, int ms)
{
	struct agent_module	*mods[AGENT_MAX_MODULES];
	struct pollfd		 pfd[AGENT_MAX_MODULES + 2];
	size_t			 n = 0, i;
	int			 fd, r;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->nmods && n < AGENT_MAX_MODULES; i++) {
		if (a->ops->events == NULL ||
		    (fd = a->ops->events(a->mods[i]->h)) < 0)
			continue;
		if (a->mods[i]->ev_eof) {
			/* still the dead helper's pipe, or a new one? */
			if ((r = drain(fd)) < 0)
				continue;
			a->mods[i]->ev_eof = 0;
			if (r > 0)
				__atomic_store_n(&a->mods[i]->relist, 1,
				    __ATOMIC_RELAXED);
		}
		a->mods[i]->refs++;
		mods[n] = a->mods[i];
		pfd[n + 2].fd = fd;
		pfd[n + 2].events = POLLIN;
		pfd[n + 2].revents = 0;
		n++;
	}
	pthread_mutex_unlock(&a->lock);
	pfd[0].fd = a->wake[0];
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	/* a negative descriptor is left out by poll */
	pfd[1].fd = a->fw_files != NULL ? tk_pathwatch_fd(a->fw_files) : -1;
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	if (poll(pfd, n + 2, ms) > 0) {
		for (i = 0; i < n; i++) {
			if (pfd[i + 2].revents == 0)
				continue;
			if ((r = drain(pfd[i + 2].fd)) == 0)
				continue;
			if (r < 0) {
				/*
				 * Not polled until a listing starts another
				 * (now, then every FOLLOW_POLL_MS).
				 */
				agent_log(a, AGENT_LOG_DEBUG, "module %s: its "
				    "helper ended: listing its keys again "
				    "starts another", mods[i]->path);
				pthread_mutex_lock(&a->lock);
				mods[i]->ev_eof = 1;
				pthread_mutex_unlock(&a->lock);
			} else
				agent_log(a, AGENT_LOG_DEBUG, "module %s: a "
				    "token was put in, pulled or changed: "
				    "listing its keys again", mods[i]->path);
			__atomic_store_n(&mods[i]->relist, 1,
			    __ATOMIC_RELAXED);
		}
		if (pfd[0].revents != 0)
			agent_wake_drain(a);
		if (pfd[1].revents != 0)
			files_event(a);
	}
	for (i = 0; i < n; i++)
		agent_module_release(a, mods[i]);
}

/*
 * A module without an events pipe: which tokens does it hold?  1: that
 * changed (or is the first answer: the listing before it may be older
 * than a card pulled meanwhile).
 */
static int
look(struct agent *a, struct agent_module *m)
{
	uint64_t	digest;
	int		changed, first, r, said;

	if (a->ops->presence == NULL)
		return 0;
	r = a->ops->presence(m->h, &digest);
	pthread_mutex_lock(&a->lock);
	said = m->presence_err;
	m->presence_err = r;
	first = !m->presence_known;
	changed = r == 0 && (first || m->presence != digest);
	if (r == 0) {
		m->presence = digest;
		m->presence_known = 1;
	}
	pthread_mutex_unlock(&a->lock);
	/* a change of state, said once: not on every look */
	if (r != 0 && r != said)
		agent_log(a, AGENT_LOG_DEBUG, "module %s: cannot tell which "
		    "tokens are present: %s (said once, until it changes)",
		    m->path, tk_strerror(r));
	else if (r == 0 && said != 0)
		agent_log(a, AGENT_LOG_DEBUG, "module %s: tells which tokens "
		    "are present again", m->path);
	if (changed && first)
		agent_log(a, AGENT_LOG_DEBUG, "module %s: first look at its "
		    "tokens since it was started: listing its keys again, in "
		    "case one changed meanwhile", m->path);
	else if (changed)
		agent_log(a, AGENT_LOG_DEBUG, "module %s: a token was put in, "
		    "pulled or changed: listing its keys again", m->path);
	return changed;
}

void
agent_follow_tokens(struct agent *a)
{
	struct agent_module	*mods[AGENT_MAX_MODULES];
	int			 flag[AGENT_MAX_MODULES];
	size_t			 n = 0, i;
	int			 all, poll_due, r;

	start(a);
	if (tk_deadline_left(&a->fw_registry) == 0) {
		agent_registry_poll(a);
		agent_certdir_poll(a);
		tk_deadline_set(&a->fw_registry, files_ms(a));
	}
	all = __atomic_exchange_n(&a->relist_all, 0, __ATOMIC_RELAXED);
	if (tk_deadline_left(&a->fw_relist) == 0)
		all = 1;
	if ((poll_due = tk_deadline_left(&a->fw_poll) == 0))
		tk_deadline_set(&a->fw_poll, FOLLOW_POLL_MS);

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->nmods && n < AGENT_MAX_MODULES; i++) {
		struct agent_module *m = a->mods[i];

		flag[n] = __atomic_exchange_n(&m->relist, 0,
		    __ATOMIC_RELAXED);
		if (poll_due && (a->ops->events == NULL ||
		    a->ops->events(m->h) < 0))
			flag[n] |= 2;	/* to be looked at */
		/* a dead helper is started again by a listing */
		if (poll_due && m->ev_eof)
			flag[n] |= 1;
		m->refs++;
		mods[n++] = m;
	}
	pthread_mutex_unlock(&a->lock);

	if (all) {
		tk_deadline_set(&a->fw_relist, FOLLOW_RELIST_SECS * 1000);
		if ((r = agent_refresh(a)) != 0)
			agent_log(a, AGENT_LOG_DEBUG, "listing keys again "
			    "failed: %s", tk_strerror(r));
	}
	for (i = 0; i < n; i++) {
		if (!all && ((flag[i] & 1) || ((flag[i] & 2) &&
		    look(a, mods[i]))) &&
		    (r = agent_refresh_module(a, mods[i])) != 0)
			agent_log(a, AGENT_LOG_ERR, "module %s: listing keys "
			    "failed: %s", mods[i]->path, tk_strerror(r));
		agent_module_release(a, mods[i]);
	}
	agent_expire(a);
}
