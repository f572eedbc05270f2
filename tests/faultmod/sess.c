/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: per-session bookkeeping for always-authenticate keys:
 * which sessions have a sign pending and whether it has its context login.
 */

#include <stdlib.h>
#include <string.h>

#include "faultmod.h"

/* Guarded by g_mtx. */
static struct sess	*g_sess;
static size_t		 g_nsess;

/* Process-local session bookkeeping; callers hold g_mtx. */


struct sess *
sess_find(CK_SESSION_HANDLE h, int create)
{
	struct sess *s = NULL, *n;
	size_t i;

	for (i = 0; i < g_nsess; i++) {
		if (g_sess[i].h == h) {
			s = &g_sess[i];
			goto out;
		}
	}
	if (!create)
		goto out;
	if ((n = reallocarray(g_sess, g_nsess + 1, sizeof(*n))) == NULL)
		goto out;
	g_sess = n;
	s = &g_sess[g_nsess++];
	memset(s, 0, sizeof(*s));
	s->h = h;
 out:
	return s;
}

void
sess_drop(CK_SESSION_HANDLE h)
{
	struct sess *s;

	pthread_mutex_lock(&g_mtx);
	if ((s = sess_find(h, 0)) != NULL)
		*s = g_sess[--g_nsess];
	pthread_mutex_unlock(&g_mtx);
}

void
sess_clear_locked(void)
{
	free(g_sess);
	g_sess = NULL;
	g_nsess = 0;
}

void
sess_set(CK_SESSION_HANDLE h, int pending, int authed)
{
	struct sess *s;

	pthread_mutex_lock(&g_mtx);
	if ((s = sess_find(h, pending || authed)) != NULL) {
		s->pending = pending;
		s->authed = authed;
	}
	pthread_mutex_unlock(&g_mtx);
}

/* Whether a sign on h must be refused for want of a context login. */
int
sess_needs_auth(CK_SESSION_HANDLE h)
{
	struct sess *s;
	int r = 0;

	pthread_mutex_lock(&g_mtx);
	if ((s = sess_find(h, 0)) != NULL)
		r = s->pending && !s->authed;
	pthread_mutex_unlock(&g_mtx);
	return r;
}
