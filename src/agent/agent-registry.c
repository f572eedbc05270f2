/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Following p11-kit's registry while the agent runs.  p11-kit reads module
 * configs (*.module) from ~/.config/pkcs11/modules, /etc/pkcs11/modules
 * and its package directory, and pkcs11.conf from /etc/pkcs11 and
 * ~/.config/pkcs11, whose user-config setting (none, merge, only) decides
 * which of them count.  Rather than re-implement those rules, the agent
 * watches every place p11-kit reads -- cheaply: inotify says when to
 * take a digest of the names, sizes and times found there
 * (agent-follow.c) -- and when the digest changes it asks a short-lived
 * helper for the registry again, so p11-kit itself decides what is in
 * it.  New modules get a helper; the helpers of modules that left are
 * retired (agent_registry_apply).  The digest and the reading are in
 * agent-regread.c.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "pkcs11/p11.h"

/* Sources on m for what the registry-wide requests select. */
static void
serve_new_module(struct agent *a, struct agent_module *m)
{
	struct agent_spec	*specs = NULL;
	size_t			 n = 0, i;
	int			 r;

	pthread_mutex_lock(&a->lock);
	if (a->nspecs > 0 && (specs = calloc(a->nspecs,
	    sizeof(*specs))) != NULL) {
		for (i = 0; i < a->nspecs; i++) {
			specs[n] = a->specs[i];
			specs[n].uri = strdup(a->specs[i].uri);
			specs[n].reader = strdup(a->specs[i].reader);
			specs[n].dests = agent_dests_ref(a->specs[i].dests);
			if (specs[n].uri == NULL || specs[n].reader == NULL)
				agent_spec_clear(&specs[n]);
			else
				n++;
		}
	}
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < n; i++) {
		if ((r = agent_add_sources(a, specs[i].uri, specs[i].reader,
		    specs[i].deadline, specs[i].confirm, NULL, 0, 1, m,
		    specs[i].dests)) != 0)
			agent_log(a, AGENT_LOG_ERR, "module %s: serving %s "
			    "failed: %s", m->path, specs[i].uri,
			    tk_strerror(r));
		agent_spec_clear(&specs[i]);
	}
	free(specs);
}

/*
 * m left the registry: stop serving what registry-wide requests found on
 * it, and retire it when nothing else (ssh-add -s, module-path) uses it.
 * a->lock held; returns m if the caller must free it (unlocked).
 */
static struct agent_module *
module_leaves(struct agent *a, struct agent_module *m)
{
	char	path[PATH_MAX];
	size_t	i, left = 0;

	m->registry = 0;
	for (i = a->nsrcs; i > 0; i--) {
		if (a->srcs[i - 1]->mod != m)
			continue;
		if (tk_uri_module_path(a->srcs[i - 1]->uri, path,
		    sizeof(path)) == TK_ERR_NOT_FOUND)
			agent_source_remove(a, i - 1, 0);
		else
			left++;
	}
	if (left > 0)
		return NULL;
	for (i = 0; i < a->nmods; i++)
		if (a->mods[i] == m)
			break;
	if (i < a->nmods) {
		a->mods[i] = a->mods[--a->nmods];
		m->retired = 1;
	}
	return m->refs == 0 ? m : NULL;
}

int
agent_registry_apply(struct agent *a, char **paths, size_t n)
{
	struct agent_module	*m, *gone[AGENT_MAX_MODULES];
	size_t			 ngone = 0, i, j;
	int			 r, isnew;

	for (i = 0; i < n; i++) {
		isnew = 1;
		pthread_mutex_lock(&a->lock);
		for (j = 0; j < a->nmods; j++)
			if (a->mods[j]->registry &&
			    strcmp(a->mods[j]->path, paths[i]) == 0)
				isnew = 0;
		pthread_mutex_unlock(&a->lock);
		if (!isnew)
			continue;
		if ((r = agent_module_get(a, paths[i], 1, &m)) != 0) {
			agent_log(a, AGENT_LOG_ERR, "module %s: cannot start "
			    "its helper: %s", paths[i], tk_strerror(r));
			continue;
		}
		agent_log(a, AGENT_LOG_INFO, "module %s joined p11-kit's "
		    "registry: serving its keys", paths[i]);
		serve_new_module(a, m);
		agent_module_release(a, m);
	}
	pthread_mutex_lock(&a->lock);
	for (i = a->nmods; i > 0; i--) {
		m = a->mods[i - 1];
		if (!m->registry)
			continue;
		for (j = 0; j < n; j++)
			if (strcmp(m->path, paths[j]) == 0)
				break;
		if (j < n)
			continue;
		agent_log(a, AGENT_LOG_INFO, "module %s left p11-kit's "
		    "registry: its keys are no longer served", m->path);
		if ((m = module_leaves(a, m)) != NULL)
			gone[ngone++] = m;
	}
	r = agent_rebuild(a);
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < ngone; i++)
		agent_module_free(a, gone[i]);
	return r;
}

int
agent_load_registry(struct agent *a)
{
	struct agent_module	*m;
	char			**paths = NULL;
	size_t			 n = 0, i;
	int			 r;

	/* before reading: a change from now on is noticed */
	a->regsig = agent_registry_sig();
	a->regsig_set = 1;
	if ((r = agent_registry_read(a, &paths, &n)) != 0) {
		agent_log(a, AGENT_LOG_ERR, "reading p11-kit's module registry "
		    "failed: %s", tk_strerror(r));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = agent_module_get(a, paths[i], 1, &m)) != 0)
			agent_log(a, AGENT_LOG_ERR, "module %s: cannot start "
			    "its helper: %s", paths[i], tk_strerror(r));
		else
			agent_module_release(a, m);
	}
	r = 0;
 out:
	if (paths != NULL)
		a->ops->paths_free(paths, n);
	return r;
}

void
agent_registry_poll(struct agent *a)
{
	char		**paths = NULL;
	size_t		  n = 0;
	uint64_t	  sig;
	int		  r;

	sig = agent_registry_sig();
	if (a->regsig_set && sig == a->regsig)
		goto out;
	/* taken before reading: a change while we read is seen next time */
	a->regsig = sig;
	a->regsig_set = 1;
	agent_log(a, AGENT_LOG_DEBUG, "p11-kit's configuration changed: "
	    "reading its module registry again");
	if ((r = agent_registry_read(a, &paths, &n)) != 0) {
		agent_log(a, AGENT_LOG_ERR, "reading p11-kit's module registry "
		    "failed: %s; keeping the modules served so far until its "
		    "configuration changes again", tk_strerror(r));
		goto out;
	}
	(void)agent_registry_apply(a, paths, n);
 out:
	if (paths != NULL)
		a->ops->paths_free(paths, n);
}
