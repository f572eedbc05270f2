/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The agent's module table: one helper per module, by real path, shared
 * by every source on it and held (refs) by whoever uses it outside
 * a->lock; a module that left p11-kit's registry is retired and freed
 * with its last reference.  Which module files may be loaded at all is
 * the -P allowlist's business.
 */
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "agent/agent.h"

int
agent_module_allowed(struct agent *a, const char *path, char *rpath,
    size_t rpathsz)
{
	char	 pat[PATH_MAX], rp[PATH_MAX];
	const char *p, *e;
	size_t	 n;
	int	 r = TK_ERR_DENIED;

	/* relative to what the agent's cwd happens to be: never */
	if (path[0] != '/')
		goto out;
	if (realpath(path, rp) == NULL) {
		r = TK_ERR_NOT_FOUND;
		goto out;
	}
	for (p = a->allowlist; p != NULL && *p != '\0'; p = e) {
		e = strchr(p, ',');
		n = e == NULL ? strlen(p) : (size_t)(e - p);
		e = e == NULL ? NULL : e + 1;
		if (n == 0 || n >= sizeof(pat))
			continue;
		memcpy(pat, p, n);
		pat[n] = '\0';
		if (fnmatch(pat, rp, 0) == 0) {
			r = 0;
			break;
		}
	}
	if (r == 0 && snprintf(rpath, rpathsz, "%s", rp) >= (int)rpathsz)
		r = TK_ERR_RANGE;
 out:
	return r;
}

int
agent_module_get(struct agent *a, const char *path, int registry,
    struct agent_module **out)
{
	struct agent_module	*m = NULL;
	void			*h = NULL;
	size_t			 i;
	int			 r;

	*out = NULL;
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->nmods; i++)
		if (strcmp(a->mods[i]->path, path) == 0)
			*out = a->mods[i];
	if (*out != NULL) {
		(*out)->refs++;
		if (registry)
			/* registered after ssh-add -s */
			(*out)->registry = 1;
	}
	pthread_mutex_unlock(&a->lock);
	if (*out != NULL) {
		r = 0;
		goto out;
	}
	/* Starting a helper takes a while: not under the lock. */
	if ((r = a->ops->mod_new(path, registry, &h)) != 0)
		goto out;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->path = strdup(path)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	m->h = h;
	m->registry = registry;
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->nmods; i++)
		if (strcmp(a->mods[i]->path, path) == 0)
			*out = a->mods[i];
	if (*out == NULL && a->nmods < AGENT_MAX_MODULES) {
		a->mods[a->nmods++] = m;
		*out = m;
		m = NULL;
		h = NULL;
	}
	if (*out != NULL)
		(*out)->refs++;
	pthread_mutex_unlock(&a->lock);
	r = *out != NULL ? 0 : TK_ERR_RANGE;
 out:
	if (h != NULL)
		a->ops->mod_free(h);
	if (m != NULL) {
		free(m->path);
		free(m);
	}
	return r;
}

void
agent_module_free(struct agent *a, struct agent_module *m)
{
	agent_tokens_forget(a, m);
	if (m->h != NULL)
		a->ops->mod_free(m->h);
	free(m->path);
	free(m);
}

void
agent_module_release(struct agent *a, struct agent_module *m)
{
	int	gone;

	if (m == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	gone = --m->refs == 0 && m->retired;
	pthread_mutex_unlock(&a->lock);
	if (gone)
		agent_module_free(a, m);
}

void
agent_mods_free(struct agent *a)
{
	size_t	i;

	for (i = 0; i < a->nmods; i++)
		agent_module_free(a, a->mods[i]);
	a->nmods = 0;
}
