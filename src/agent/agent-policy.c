/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * How long a PIN stays.  The agent keeps, per token, whether it is
 * logged in as far as we know (a login we made, or a signature the helper
 * says ran logged in), when that login happened and when the token last
 * signed.  A timer thread logs a token out when --pin-timeout has passed
 * without a signature on it, or --pin-max-age after its login; ssh-add -x
 * and logind (agent-logind.c) log every token out at once.  A logout is
 * C_Logout in the helper with the token's sessions closed, so the next
 * signature logs in again as the PIN gate allows (a pin-source file is
 * read again; an ssh-add -s PIN was never kept, so the user is asked).
 * Each logout is one log line saying why.
 *
 * The policy fields of struct agent_token are guarded by a->tokens_mu.
 * Modules are held (refs) across the helper call, under a->lock.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "common/deadline.h"

struct agent_policy {
	pthread_t	 tid;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 stop;
	int		 kick;		/* a login: a deadline to wait for */
};

/* One logout to make, outside every lock. */
struct job {
	struct agent_module	*m;
	uint8_t			*blob;	/* NULL: every token of m */
	size_t			 bloblen;
	char			 label[33];
	int			 why;
	int64_t			 secs;	/* idle or age, for the log line */
};

void
agent_policy_login(struct agent *a, struct agent_token *t,
    const uint8_t *blob, size_t bloblen)
{
	uint8_t	*b;
	int64_t	 now = tk_mono_ms();

	pthread_mutex_lock(&a->tokens_mu);
	t->logged_in = 1;
	t->login_ms = t->used_ms = now;
	if (bloblen > 0 && !agent_blob_eq(t->pol_blob, t->pol_bloblen, blob,
	    bloblen) && (b = malloc(bloblen)) != NULL) {
		memcpy(b, blob, bloblen);
		free(t->pol_blob);
		t->pol_blob = b;
		t->pol_bloblen = bloblen;
	}
	pthread_mutex_unlock(&a->tokens_mu);
	/* the timer thread may sleep with no deadline: give it this one */
	if (a->policy != NULL) {
		pthread_mutex_lock(&a->policy->mu);
		a->policy->kick = 1;
		pthread_cond_signal(&a->policy->cv);
		pthread_mutex_unlock(&a->policy->mu);
	}
}

void
agent_policy_signed(struct agent *a, struct agent_token *t,
    const uint8_t *blob, size_t bloblen, const struct tk_htoken *tok)
{
	int	first = 0;

	pthread_mutex_lock(&a->tokens_mu);
	/* logged in without us (a helper's login we did not see): from now */
	if (!t->logged_in && (tok->flags & TK_HTOKEN_LOGGED_IN))
		first = 1;
	else if (t->logged_in)
		t->used_ms = tk_mono_ms();
	pthread_mutex_unlock(&a->tokens_mu);
	if (first)
		agent_policy_login(a, t, blob, bloblen);
}

/* With a->lock held: is m still served (not retired)?  Then hold it. */
static int
module_hold(struct agent *a, struct agent_module *m)
{
	size_t	i;

	for (i = 0; i < a->nmods; i++)
		if (a->mods[i] == m && !m->retired) {
			m->refs++;
			return 1;
		}
	return 0;
}

/*
 * With a->lock and a->tokens_mu held: the token's logout, if its time is
 * up (why 0: the timers decide) and we can name it; if not, *next is
 * lowered to when it will be.
 */
static int
token_job(struct agent *a, struct agent_token *t, int why, int64_t now,
    struct job *j, int64_t *next)
{
	int64_t	idle, age, due;

	if (!t->logged_in)
		return 0;
	idle = now - t->used_ms;
	age = now - t->login_ms;
	if (why == 0 && a->pin_max_age > 0 &&
	    age >= (int64_t)a->pin_max_age * 1000)
		why = AGENT_OUT_AGE;
	else if (why == 0 && a->pin_timeout > 0 &&
	    idle >= (int64_t)a->pin_timeout * 1000)
		why = AGENT_OUT_IDLE;
	if (why == 0) {
		if (a->pin_max_age > 0 && (due = t->login_ms +
		    (int64_t)a->pin_max_age * 1000) < *next)
			*next = due;
		if (a->pin_timeout > 0 && (due = t->used_ms +
		    (int64_t)a->pin_timeout * 1000) < *next)
			*next = due;
		return 0;
	}
	t->logged_in = 0;
	memset(j, 0, sizeof(*j));
	if (t->pol_blob == NULL || !module_hold(a, t->mod))
		return 0;
	if ((j->blob = malloc(t->pol_bloblen)) == NULL) {
		t->mod->refs--;		/* not retired: a->lock is held */
		return 0;
	}
	memcpy(j->blob, t->pol_blob, t->pol_bloblen);
	j->bloblen = t->pol_bloblen;
	j->m = t->mod;
	j->why = why;
	j->secs = (why == AGENT_OUT_AGE ? age : idle) / 1000;
	tk_str_sanitize(t->label, j->label, sizeof(j->label));
	return 1;
}

static const char *
reason(const struct job *j, char *buf, size_t bufsz)
{
	switch (j->why) {
	case AGENT_OUT_IDLE:
		snprintf(buf, bufsz, "idle: no signature for %llds",
		    (long long)j->secs);
		break;
	case AGENT_OUT_AGE:
		snprintf(buf, bufsz, "max age: logged in %llds ago",
		    (long long)j->secs);
		break;
	case AGENT_OUT_LOCK:
		snprintf(buf, bufsz, "lock: the agent was locked");
		break;
	case AGENT_OUT_SUSPEND:
		snprintf(buf, bufsz, "suspend: the system is going to sleep");
		break;
	case AGENT_OUT_SCREEN:
		snprintf(buf, bufsz, "screen lock");
		break;
	default:
		snprintf(buf, bufsz, "unknown reason");
		break;
	}
	return buf;
}

static void
job_run(struct agent *a, struct job *j)
{
	unsigned int	n = 0;
	char		why[96];
	int		r;

	r = a->ops->logout(j->m->h, j->blob, j->bloblen, &n);
	reason(j, why, sizeof(why));
	if (r != 0 && j->blob != NULL)
		agent_log(a, AGENT_LOG_ERR, "token \"%s\": logout (%s) failed: "
		    "%s", j->label, why, tk_strerror(r));
	else if (r != 0)	/* a module that never started, say */
		agent_log(a, AGENT_LOG_DEBUG, "module %s: logout (%s) failed: "
		    "%s", j->m->path, why, tk_strerror(r));
	else if (j->blob != NULL && n > 0)
		agent_log(a, AGENT_LOG_INFO, "token \"%s\": logged out (%s)",
		    j->label, why);
	else if (j->blob != NULL)
		agent_log(a, AGENT_LOG_DEBUG, "token \"%s\": no longer logged "
		    "in (%s)", j->label, why);
	else if (n > 0)
		agent_log(a, AGENT_LOG_INFO, "module %s: %u more token(s) "
		    "logged out (%s)", j->m->path, n, why);
	agent_module_release(a, j->m);
	free(j->blob);
}

/*
 * Find and make the logouts that are due (why 0: the timers').  The
 * next time one will be due (tk_mono_ms()), or INT64_MAX for none
 * until another login.
 */
static int64_t
logouts(struct agent *a, int why)
{
	struct job	*jobs;
	size_t		 n = 0, max, i;
	int64_t		 now = tk_mono_ms(), next = INT64_MAX;

	if (a->ops->logout == NULL)
		return next;
	max = AGENT_MAX_TOKENS + (why != 0 ? AGENT_MAX_MODULES : 0);
	if ((jobs = calloc(max, sizeof(*jobs))) == NULL)
		return now + 1000;	/* try again soon */
	pthread_mutex_lock(&a->lock);
	pthread_mutex_lock(&a->tokens_mu);
	for (i = 0; i < a->ntokens && n < max; i++)
		n += token_job(a, a->tokens[i], why, now, &jobs[n], &next);
	pthread_mutex_unlock(&a->tokens_mu);
	/* then every module, for logins we never saw */
	for (i = 0; why != 0 && i < a->nmods && n < max; i++) {
		if (!module_hold(a, a->mods[i]))
			continue;
		jobs[n].m = a->mods[i];
		jobs[n].why = why;
		n++;
	}
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < n; i++)
		job_run(a, &jobs[i]);
	free(jobs);
	return next;
}

int64_t
agent_policy_tick(struct agent *a)
{
	return a->pin_timeout > 0 || a->pin_max_age > 0 ? logouts(a, 0) :
	    INT64_MAX;
}

void
agent_policy_logout_all(struct agent *a, int why)
{
	(void)logouts(a, why);
}

/* Sleeps until the next logout is due, or until a login gives one. */
static void *
policy_thread(void *arg)
{
	struct agent		*a = arg;
	struct agent_policy	*p = a->policy;
	struct timespec		 ts;
	int64_t			 next;
	int			 stop;

	for (;;) {
		next = agent_policy_tick(a);
		pthread_mutex_lock(&p->mu);
		if (!p->stop && !p->kick && next == INT64_MAX)
			(void)pthread_cond_wait(&p->cv, &p->mu);
		else if (!p->stop && !p->kick) {
			if (next > tk_mono_ms()) {
				tk_deadline_at(&ts, next);
				(void)pthread_cond_clockwait(&p->cv, &p->mu,
				    CLOCK_MONOTONIC, &ts);
			}
		}
		p->kick = 0;
		stop = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			break;
	}
	return NULL;
}

int
agent_policy_start(struct agent *a)
{
	struct agent_policy	*p;

	if (a->policy != NULL || (a->pin_timeout == 0 && a->pin_max_age == 0))
		return 0;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return TK_ERR_NOMEM;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	a->policy = p;
	if (pthread_create(&p->tid, NULL, policy_thread, a) != 0) {
		a->policy = NULL;
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		free(p);
		agent_log(a, AGENT_LOG_ERR, "cannot start the PIN timer "
		    "thread: --pin-timeout and --pin-max-age do nothing");
		return TK_ERR_SYSTEM;
	}
	return 0;
}

void
agent_policy_stop(struct agent *a)
{
	struct agent_policy	*p = a->policy;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->tid, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
	a->policy = NULL;
}
