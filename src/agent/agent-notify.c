/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The desktop notice while a token waits.  A token operation that may
 * wait on the user (a touch-to-sign key, a PIN pad) registers itself
 * (agent_notice_begin); if it has not ended AGENT_NOTICE_MS later, a
 * notice goes up through org.freedesktop.Notifications on the session
 * bus, and it is closed when the operation ends.  Without a session bus
 * (or sd-bus in this build) the notice is a log line instead.  One notice
 * per pending operation, never more.
 *
 * Only the notifier thread talks to the bus (sd-bus objects are not for
 * several threads); callers only touch the table under n->mu, so a slow
 * notification server never delays a signature.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_SDBUS
#include <systemd/sd-bus.h>
#endif

#include "tokenkeys.h"
#include "agent/agent.h"
#include "common/deadline.h"
#include "prompt/prompt-text.h"

#define NOTICES_MAX		64
#define NOTIFY_CALL_USEC	(2 * 1000000ULL)	/* a bus call */

enum nstate { N_WAIT, N_SHOWN, N_CLOSE };

struct notice {
	uint64_t	 ticket;
	int64_t		 due_ms;
	enum nstate	 state;
	uint32_t	 id;		/* the server's; 0: none (a log line) */
	char		 label[33];	/* raw */
	const struct agent_conn *conn;	/* until the notice ends */
	char		 who[AGENT_WHO_MAX];
};

struct agent_notify {
	pthread_t	 tid;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 stop;
	int		 idle;		/* the thread waits with no deadline */
	struct notice	 n[NOTICES_MAX];
	size_t		 nn;
	uint64_t	 next;
#ifdef HAVE_SDBUS
	sd_bus		*bus;
	int		 said_nobus;
#endif
};

/* With mu held. */
static struct notice *
find(struct agent_notify *nt, uint64_t ticket)
{
	size_t	i;

	for (i = 0; i < nt->nn; i++)
		if (nt->n[i].ticket == ticket)
			return &nt->n[i];
	return NULL;
}

static void
drop(struct agent_notify *nt, struct notice *e)
{
	*e = nt->n[--nt->nn];
}

/*
 * Cheap on the way to every signature: no wake-up of the thread, which
 * looks at the table at least every AGENT_NOTICE_MS anyway.
 */
uint64_t
agent_notice_begin(struct agent *a, const char *label,
    const struct agent_conn *c)
{
	struct agent_notify	*nt = a->notify;
	struct notice		*e;
	uint64_t		 t = 0;

	if (nt == NULL)
		return 0;
	pthread_mutex_lock(&nt->mu);
	if (nt->nn == NOTICES_MAX)
		goto out;
	e = &nt->n[nt->nn++];
	memset(e, 0, sizeof(*e));
	e->ticket = t = ++nt->next;
	e->due_ms = tk_mono_ms() + AGENT_NOTICE_MS;
	e->state = N_WAIT;
	snprintf(e->label, sizeof(e->label), "%s", label != NULL ? label : "");
	e->conn = c;
	/* a sleeping thread must learn the deadline; a waiting one knows one */
	if (nt->idle)
		pthread_cond_signal(&nt->cv);
 out:
	pthread_mutex_unlock(&nt->mu);
	return t;
}

void
agent_notice_end(struct agent *a, uint64_t ticket)
{
	struct agent_notify	*nt = a->notify;
	struct notice		*e;

	if (nt == NULL || ticket == 0)
		return;
	pthread_mutex_lock(&nt->mu);
	if ((e = find(nt, ticket)) != NULL) {
		if (e->state == N_WAIT)
			drop(nt, e);
		else {
			e->state = N_CLOSE;
			pthread_cond_signal(&nt->cv);
		}
	}
	pthread_mutex_unlock(&nt->mu);
}

#ifdef HAVE_SDBUS
static int
bus_get(struct agent *a, struct agent_notify *nt)
{
	int	r;

	if (nt->bus != NULL)
		return 0;
	if ((r = sd_bus_open_user(&nt->bus)) < 0) {
		nt->bus = NULL;
		if (!nt->said_nobus)
			agent_log(a, AGENT_LOG_DEBUG, "no session bus for "
			    "desktop notices (%s): a waiting token is logged "
			    "instead", strerror(-r));
		nt->said_nobus = 1;
		return -1;
	}
	(void)sd_bus_set_method_call_timeout(nt->bus, NOTIFY_CALL_USEC);
	return 0;
}

static void
bus_lost(struct agent_notify *nt)
{
	if (nt->bus != NULL && !sd_bus_is_open(nt->bus)) {
		sd_bus_flush_close_unref(nt->bus);
		nt->bus = NULL;
	}
}

/* 0 with the notice's id, or -1 (no bus, no server). */
static int
show(struct agent *a, struct agent_notify *nt, const char *summary,
    const char *body, uint32_t *id)
{
	sd_bus_error	 err = SD_BUS_ERROR_NULL;
	sd_bus_message	*reply = NULL;
	int		 r = -1;

	if (bus_get(a, nt) != 0)
		goto out;
	if (sd_bus_call_method(nt->bus, "org.freedesktop.Notifications",
	    "/org/freedesktop/Notifications", "org.freedesktop.Notifications",
	    "Notify", &err, &reply, "susssasa{sv}i", "tokenkeys", 0u,
	    "dialog-password", summary, body, 0, 0, -1) < 0) {
		agent_log(a, AGENT_LOG_DEBUG, "desktop notice not shown: %s",
		    err.message != NULL ? err.message : "no answer");
		bus_lost(nt);
		goto out;
	}
	if (sd_bus_message_read(reply, "u", id) < 0)
		goto out;
	r = 0;
 out:
	sd_bus_error_free(&err);
	sd_bus_message_unref(reply);
	return r;
}

static void
unshow(struct agent_notify *nt, uint32_t id)
{
	sd_bus_error	err = SD_BUS_ERROR_NULL;

	if (nt->bus == NULL || id == 0)
		return;
	if (sd_bus_call_method(nt->bus, "org.freedesktop.Notifications",
	    "/org/freedesktop/Notifications", "org.freedesktop.Notifications",
	    "CloseNotification", &err, NULL, "u", id) < 0)
		bus_lost(nt);
	sd_bus_error_free(&err);
}
#else
static int
show(struct agent *a, struct agent_notify *nt, const char *summary,
    const char *body, uint32_t *id)
{
	return -1;
}

static void
unshow(struct agent_notify *nt, uint32_t id)
{
}
#endif

/* Raise the notice for e (a copy; mu not held); its id, or 0. */
static uint32_t
raise_notice(struct agent *a, struct agent_notify *nt, const struct notice *e)
{
	char		summary[128], body[512];
	uint32_t	id = 0;

	tk_ptext_notice(summary, sizeof(summary), body, sizeof(body),
	    e->label, e->who);
	if (show(a, nt, summary, body, &id) != 0 || id == 0) {
		agent_log(a, AGENT_LOG_INFO, "%s: %s", summary, body);
		id = 0;
	}
	return id;
}

static void *
notify_thread(void *arg)
{
	struct agent		*a = arg;
	struct agent_notify	*nt = a->notify;
	struct notice		*e, copy;
	struct timespec		 ts;
	int64_t			 now, wake;
	uint32_t		 id;
	size_t			 i;

	pthread_mutex_lock(&nt->mu);
	while (!nt->stop) {
		now = tk_mono_ms();
		wake = INT64_MAX;	/* nothing pending: sleep until told */
		e = NULL;
		for (i = 0; i < nt->nn && e == NULL; i++) {
			if (nt->n[i].state == N_CLOSE ||
			    (nt->n[i].state == N_WAIT &&
			    nt->n[i].due_ms <= now))
				e = &nt->n[i];
			else if (nt->n[i].state == N_WAIT &&
			    nt->n[i].due_ms < wake)
				wake = nt->n[i].due_ms;
		}
		if (e == NULL && wake == INT64_MAX) {
			nt->idle = 1;
			(void)pthread_cond_wait(&nt->cv, &nt->mu);
			nt->idle = 0;
			continue;
		}
		if (e == NULL) {
			tk_deadline_at(&ts, wake);
			(void)pthread_cond_clockwait(&nt->cv, &nt->mu,
			    CLOCK_MONOTONIC, &ts);
			continue;
		}
		if (e->state == N_WAIT) {
			/* who asks: only now, and while the ticket holds */
			agent_peer_who(e->conn, e->who, sizeof(e->who));
			e->conn = NULL;
		}
		copy = *e;
		if (e->state == N_CLOSE) {
			drop(nt, e);
			pthread_mutex_unlock(&nt->mu);
			unshow(nt, copy.id);
			pthread_mutex_lock(&nt->mu);
			continue;
		}
		e->state = N_SHOWN;
		pthread_mutex_unlock(&nt->mu);
		id = raise_notice(a, nt, &copy);
		pthread_mutex_lock(&nt->mu);
		/* it may have ended meanwhile (N_CLOSE): closed next turn */
		if ((e = find(nt, copy.ticket)) != NULL)
			e->id = id;
	}
	pthread_mutex_unlock(&nt->mu);
	return NULL;
}

int
agent_notify_start(struct agent *a)
{
	struct agent_notify	*nt;

	if (a->notify != NULL)
		return 0;
	if ((nt = calloc(1, sizeof(*nt))) == NULL)
		return TK_ERR_NOMEM;
	pthread_mutex_init(&nt->mu, NULL);
	pthread_cond_init(&nt->cv, NULL);
	a->notify = nt;
	if (pthread_create(&nt->tid, NULL, notify_thread, a) != 0) {
		a->notify = NULL;
		pthread_mutex_destroy(&nt->mu);
		pthread_cond_destroy(&nt->cv);
		free(nt);
		agent_log(a, AGENT_LOG_ERR, "cannot start the notice thread: "
		    "no desktop notices while a token waits");
		return TK_ERR_SYSTEM;
	}
	return 0;
}

void
agent_notify_stop(struct agent *a)
{
	struct agent_notify	*nt = a->notify;
	size_t			 i;

	if (nt == NULL)
		return;
	pthread_mutex_lock(&nt->mu);
	nt->stop = 1;
	pthread_cond_broadcast(&nt->cv);
	pthread_mutex_unlock(&nt->mu);
	pthread_join(nt->tid, NULL);
	a->notify = NULL;
	/* notices still up go down with us */
	for (i = 0; i < nt->nn; i++)
		if (nt->n[i].state != N_WAIT)
			unshow(nt, nt->n[i].id);
#ifdef HAVE_SDBUS
	if (nt->bus != NULL)
		sd_bus_flush_close_unref(nt->bus);
#endif
	pthread_mutex_destroy(&nt->mu);
	pthread_cond_destroy(&nt->cv);
	free(nt);
}
