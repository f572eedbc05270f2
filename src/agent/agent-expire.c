/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Keeping the sources fresh: lifetimes that end (ssh-add -t, -s with a
 * lifetime) and listing the sources' keys again, which the background
 * thread does when a module's tokens may have changed (agent-follow.c)
 * or a client asked for it (relist@tokenkeys, agent-relist.c).
 * Helpers are asked without a->lock held, into copies, so listing and
 * signing go on meanwhile.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "agent/agent.h"

/* Expire sources whose lifetime has passed; a->lock held. */
int
agent_expire_locked(struct agent *a)
{
	time_t	now = agent_now(a);
	size_t	i;
	int	changed = 0;

	for (i = a->nsrcs; i > 0; i--) {
		struct agent_source *s = a->srcs[i - 1];

		if (s->deadline == 0 || s->deadline > now)
			continue;
		agent_log(a, AGENT_LOG_INFO, "lifetime of %s%s ended: its "
		    "keys are no longer served", s->reader[0] != '\0' ?
		    s->reader : s->uri, s->mod->registry ? "" : "");
		agent_source_remove(a, i - 1, 1);
		changed = 1;
	}
	agent_specs_remove(a, NULL, 1);
	/* a certificate's validity window opened or closed */
	if (agent_certs_due(a))
		changed = 1;
	if (changed)
		(void)agent_rebuild(a);
	return changed;
}

time_t
agent_next_deadline(struct agent *a)
{
	time_t	d = 0;
	size_t	i;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->nsrcs; i++)
		if (a->srcs[i]->deadline != 0 &&
		    (d == 0 || a->srcs[i]->deadline < d))
			d = a->srcs[i]->deadline;
	for (i = 0; i < a->nspecs; i++)
		if (a->specs[i].deadline != 0 &&
		    (d == 0 || a->specs[i].deadline < d))
			d = a->specs[i].deadline;
	pthread_mutex_unlock(&a->lock);
	return d;
}

void
agent_expire(struct agent *a)
{
	pthread_mutex_lock(&a->lock);
	(void)agent_expire_locked(a);
	pthread_mutex_unlock(&a->lock);
}

int
agent_refresh(struct agent *a)
{
	return agent_refresh_module(a, NULL);
}

int
agent_refresh_module(struct agent *a, struct agent_module *m)
{
	struct agent_source	*snap[AGENT_MAX_SOURCES], *cur;
	size_t			 n = 0, i, j;
	uint64_t		 covered = 0;
	int			 r = 0, e;

	/* relist@tokenkeys requests made before this are answered by it */
	if (m == NULL)
		covered = agent_relist_begin(a);
	/* Copies to list into, so the lock is free while helpers work. */
	pthread_mutex_lock(&a->lock);
	if (m == NULL)
		a->listed_at = agent_now(a);
	for (i = 0; i < a->nsrcs; i++) {
		if (m != NULL && a->srcs[i]->mod != m)
			continue;
		if ((snap[n] = calloc(1, sizeof(*snap[n]))) == NULL ||
		    (snap[n]->uri = strdup(a->srcs[i]->uri)) == NULL) {
			free(snap[n]);
			r = TK_ERR_NOMEM;
			break;
		}
		snap[n]->mod = a->srcs[i]->mod;
		snap[n]->mod->refs++;
		snap[n]->id = a->srcs[i]->id;
		n++;
	}
	pthread_mutex_unlock(&a->lock);

	for (i = 0; i < n; i++)
		if ((e = agent_source_list(a, snap[i])) != 0)
			agent_log(a, AGENT_LOG_DEBUG, "module %s: refreshing "
			    "keys failed: %s", snap[i]->mod->path,
			    tk_strerror(e));

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < n; i++) {
		if (!snap[i]->listed)
			continue;
		for (j = 0; j < a->nsrcs; j++)
			if (a->srcs[j]->id == snap[i]->id)
				break;
		if (j == a->nsrcs)
			continue;	/* removed meanwhile */
		cur = a->srcs[j];
		/* a pulled card is what a user must be able to read back */
		if (snap[i]->nkeys < cur->nkeys)
			agent_log(a, AGENT_LOG_INFO, "%s: %zu of %zu key(s) "
			    "gone (token not present, or keys deleted): no "
			    "longer served", cur->uri,
			    cur->nkeys - snap[i]->nkeys, cur->nkeys);
		else if (cur->nkeys == 0 && snap[i]->nkeys > 0)
			agent_log(a, AGENT_LOG_INFO, "%s: %zu key(s) back: "
			    "served again", cur->uri, snap[i]->nkeys);
		if (cur->keys != NULL)
			a->ops->keys_free(cur->keys, cur->nkeys);
		cur->keys = snap[i]->keys;
		cur->nkeys = snap[i]->nkeys;
		snap[i]->keys = NULL;
		snap[i]->nkeys = 0;
	}
	(void)agent_expire_locked(a);
	if (r == 0)
		r = agent_rebuild(a);
	pthread_mutex_unlock(&a->lock);
	if (m == NULL)
		agent_relist_end(a, covered);
	for (i = 0; i < n; i++) {
		agent_module_release(a, snap[i]->mod);
		agent_source_free(a, snap[i]);
	}
	return r;
}
