/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * systemd-logind, followed over sd-bus on the system bus: every token is
 * logged out when the machine prepares to sleep (the manager's
 * PrepareForSleep(true)) and when the user's session locks (its Lock()
 * signal, or its LockedHint property turning true), unless --keep-pin-on
 * says not to.  The session is $XDG_SESSION_ID's, else the one logind
 * gives for our pid; outside a session only suspend is followed.  Without
 * a reachable logind the agent says so once at -d and carries on.
 *
 * One thread owns the bus connection and runs the callbacks; the logouts
 * themselves are agent-policy.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SDBUS
#include <systemd/sd-bus.h>
#endif

#include "tokenkeys.h"
#include "agent/agent.h"

#ifdef HAVE_SDBUS

#define LOGIND_NAME	"org.freedesktop.login1"
#define LOGIND_PATH	"/org/freedesktop/login1"
#define LOGIND_MANAGER	"org.freedesktop.login1.Manager"
#define LOGIND_SESSION	"org.freedesktop.login1.Session"
#define LOGIND_CALL_USEC (5 * 1000000ULL)

struct agent_logind {
	pthread_t	 tid;
	int		 stop;		/* atomic */
	int		 stopfd[2];	/* a byte here ends the thread */
	struct agent	*a;
	sd_bus		*bus;
	char		*session;	/* object path, or NULL */
	int		 locked;	/* LockedHint, last seen */
};

static int
on_sleep(sd_bus_message *m, void *arg, sd_bus_error *err)
{
	struct agent_logind	*l = arg;
	int			 start;

	if (sd_bus_message_read(m, "b", &start) < 0)
		return 0;
	agent_log(l->a, AGENT_LOG_DEBUG, "logind: PrepareForSleep(%s)",
	    start ? "true" : "false");
	if (start && !(l->a->keep_pin_on & AGENT_KEEP_SUSPEND))
		agent_policy_logout_all(l->a, AGENT_OUT_SUSPEND);
	return 0;
}

static int
on_lock(sd_bus_message *m, void *arg, sd_bus_error *err)
{
	struct agent_logind	*l = arg;

	agent_log(l->a, AGENT_LOG_DEBUG, "logind: the session locks");
	if (!(l->a->keep_pin_on & AGENT_KEEP_LOCK))
		agent_policy_logout_all(l->a, AGENT_OUT_SCREEN);
	return 0;
}

/* PropertiesChanged(s iface, a{sv} changed, as invalidated). */
static int
on_props(sd_bus_message *m, void *arg, sd_bus_error *err)
{
	struct agent_logind	*l = arg;
	const char		*iface, *name;
	int			 v, was, r;

	if (sd_bus_message_read(m, "s", &iface) < 0 ||
	    strcmp(iface, LOGIND_SESSION) != 0 ||
	    sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
		return 0;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		if (sd_bus_message_read(m, "s", &name) < 0)
			return 0;
		if (strcmp(name, "LockedHint") != 0) {
			if (sd_bus_message_skip(m, "v") < 0)
				return 0;
		} else if (sd_bus_message_read(m, "v", "b", &v) < 0)
			return 0;
		else {
			was = l->locked;
			l->locked = v;
			agent_log(l->a, AGENT_LOG_DEBUG, "logind: LockedHint "
			    "%s", v ? "true" : "false");
			if (v && !was && !(l->a->keep_pin_on & AGENT_KEEP_LOCK))
				agent_policy_logout_all(l->a,
				    AGENT_OUT_SCREEN);
		}
		if (sd_bus_message_exit_container(m) < 0)
			return 0;
	}
	return 0;
}

/* The session's object path into l->session; 0, or a negative errno. */
static int
find_session(struct agent_logind *l, sd_bus_error *err)
{
	sd_bus_message	*reply = NULL;
	const char	*id, *path;
	int		 r;

	id = getenv("XDG_SESSION_ID");
	if (id != NULL && *id != '\0')
		r = sd_bus_call_method(l->bus, LOGIND_NAME, LOGIND_PATH,
		    LOGIND_MANAGER, "GetSession", err, &reply, "s", id);
	else
		r = sd_bus_call_method(l->bus, LOGIND_NAME, LOGIND_PATH,
		    LOGIND_MANAGER, "GetSessionByPID", err, &reply, "u",
		    (uint32_t)getpid());
	if (r < 0)
		goto out;
	if ((r = sd_bus_message_read(reply, "o", &path)) < 0)
		goto out;
	if ((l->session = strdup(path)) == NULL)
		r = -ENOMEM;
 out:
	sd_bus_message_unref(reply);
	return r < 0 ? r : 0;
}

static int
is_absent(const sd_bus_error *err)
{
	return sd_bus_error_has_name(err, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
	    sd_bus_error_has_name(err, SD_BUS_ERROR_NAME_HAS_NO_OWNER);
}

/* Connect and subscribe; 0, or -1 after saying why. */
static int
follow(struct agent_logind *l)
{
	struct agent	*a = l->a;
	sd_bus_error	 err = SD_BUS_ERROR_NULL;
	int		 r, want_lock = !(a->keep_pin_on & AGENT_KEEP_LOCK);
	int		 want_suspend = !(a->keep_pin_on & AGENT_KEEP_SUSPEND);

	if ((r = sd_bus_open_system(&l->bus)) < 0) {
		l->bus = NULL;
		agent_log(a, AGENT_LOG_DEBUG, "no logind: the system bus is "
		    "not reachable (%s); tokens are not logged out on suspend "
		    "or screen lock", strerror(-r));
		goto fail;
	}
	(void)sd_bus_set_method_call_timeout(l->bus, LOGIND_CALL_USEC);
	r = find_session(l, &err);
	if (r < 0 && is_absent(&err)) {
		agent_log(a, AGENT_LOG_DEBUG, "no logind on the system bus "
		    "(%s); tokens are not logged out on suspend or screen lock",
		    err.message != NULL ? err.message : strerror(-r));
		goto fail;
	}
	if (r < 0 && want_lock)
		agent_log(a, AGENT_LOG_DEBUG, "logind: not in a session (%s); "
		    "screen lock is not followed",
		    err.message != NULL ? err.message : strerror(-r));
	if (want_suspend && (r = sd_bus_match_signal(l->bus, NULL,
	    LOGIND_NAME, LOGIND_PATH, LOGIND_MANAGER, "PrepareForSleep",
	    on_sleep, l)) < 0)
		goto subfail;
	if (l->session != NULL && want_lock &&
	    ((r = sd_bus_match_signal(l->bus, NULL, LOGIND_NAME, l->session,
	    LOGIND_SESSION, "Lock", on_lock, l)) < 0 ||
	    (r = sd_bus_match_signal(l->bus, NULL, LOGIND_NAME, l->session,
	    "org.freedesktop.DBus.Properties", "PropertiesChanged", on_props,
	    l)) < 0))
		goto subfail;
	want_lock = want_lock && l->session != NULL;
	if (!want_suspend && !want_lock) {
		agent_log(a, AGENT_LOG_DEBUG, "logind: nothing to follow "
		    "(--keep-pin-on suspend, and not in a session)");
		goto fail;
	}
	agent_log(a, AGENT_LOG_DEBUG, "logind: tokens are logged out on %s",
	    want_suspend && want_lock ? "suspend and screen lock" :
	    want_suspend ? "suspend" : "screen lock");
	sd_bus_error_free(&err);
	return 0;
 subfail:
	agent_log(a, AGENT_LOG_ERR, "logind: cannot subscribe to its signals "
	    "(%s); tokens are not logged out on suspend or screen lock",
	    strerror(-r));
 fail:
	sd_bus_error_free(&err);
	return -1;
}

/* Milliseconds until the bus wants processing again; -1: no limit. */
static int
bus_timeout_ms(sd_bus *bus)
{
	struct timespec	now;
	uint64_t	usec, nowusec;
	int		ms = -1;

	if (sd_bus_get_timeout(bus, &usec) < 0 || usec == UINT64_MAX)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &now);
	nowusec = (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;
	if (usec <= nowusec)
		ms = 0;
	else if (usec - nowusec >= (uint64_t)INT_MAX * 1000)
		ms = INT_MAX;
	else
		ms = (int)((usec - nowusec + 999) / 1000);
 out:
	return ms;
}

/*
 * Sleeps in poll(2) on the bus and the stop pipe: no wake-up until a
 * signal comes or the agent stops.
 */
static void *
logind_thread(void *arg)
{
	struct agent_logind	*l = arg;
	struct pollfd		 pfd[2];
	int			 r;

	if (follow(l) != 0)
		return NULL;
	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		if ((r = sd_bus_process(l->bus, NULL)) < 0) {
			agent_log(l->a, AGENT_LOG_ERR, "logind: lost the "
			    "system bus (%s); tokens are no longer logged out "
			    "on suspend or screen lock", strerror(-r));
			break;
		}
		if (r > 0)
			continue;
		if ((pfd[0].fd = sd_bus_get_fd(l->bus)) < 0 ||
		    (r = sd_bus_get_events(l->bus)) < 0) {
			agent_log(l->a, AGENT_LOG_ERR, "logind: the system "
			    "bus has no connection to wait on");
			break;
		}
		pfd[0].events = (short)r;
		pfd[1].fd = l->stopfd[0];
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, bus_timeout_ms(l->bus)) < 0 &&
		    errno != EINTR) {
			agent_log(l->a, AGENT_LOG_ERR, "logind: waiting on the "
			    "system bus: %s", strerror(errno));
			break;
		}
	}
	return NULL;
}

int
agent_logind_start(struct agent *a)
{
	struct agent_logind	*l;

	if (a->logind != NULL)
		return 0;
	if ((a->keep_pin_on & (AGENT_KEEP_SUSPEND | AGENT_KEEP_LOCK)) ==
	    (AGENT_KEEP_SUSPEND | AGENT_KEEP_LOCK)) {
		agent_log(a, AGENT_LOG_DEBUG, "logind not followed: "
		    "--keep-pin-on suspend,lock");
		return 0;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return TK_ERR_NOMEM;
	l->a = a;
	if (pipe2(l->stopfd, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(l);
		agent_log(a, AGENT_LOG_ERR, "cannot start the logind thread: "
		    "%s; tokens are not logged out on suspend or screen lock",
		    strerror(errno));
		return TK_ERR_SYSTEM;
	}
	if (pthread_create(&l->tid, NULL, logind_thread, l) != 0) {
		close(l->stopfd[0]);
		close(l->stopfd[1]);
		free(l);
		agent_log(a, AGENT_LOG_ERR, "cannot start the logind thread: "
		    "tokens are not logged out on suspend or screen lock");
		return TK_ERR_SYSTEM;
	}
	a->logind = l;
	return 0;
}

void
agent_logind_stop(struct agent *a)
{
	struct agent_logind	*l = a->logind;

	if (l == NULL)
		return;
	__atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
	/* only ever written here: the empty pipe takes the byte */
	if (write(l->stopfd[1], "", 1) != 1)
		agent_log(a, AGENT_LOG_ERR, "logind: cannot wake its thread "
		    "(%s)", strerror(errno));
	pthread_join(l->tid, NULL);
	close(l->stopfd[0]);
	close(l->stopfd[1]);
	if (l->bus != NULL)
		sd_bus_flush_close_unref(l->bus);
	free(l->session);
	free(l);
	a->logind = NULL;
}

#else /* !HAVE_SDBUS */

int
agent_logind_start(struct agent *a)
{
	if ((a->keep_pin_on & (AGENT_KEEP_SUSPEND | AGENT_KEEP_LOCK)) !=
	    (AGENT_KEEP_SUSPEND | AGENT_KEEP_LOCK))
		agent_log(a, AGENT_LOG_DEBUG, "no logind: this build has no "
		    "sd-bus (libsystemd); tokens are not logged out on suspend "
		    "or screen lock");
	return 0;
}

void
agent_logind_stop(struct agent *a)
{
}

#endif /* HAVE_SDBUS */
