/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sources: what the user asked to serve.  A source is a URI on one module
 * (from the command line, the registry default or ssh-add -s); its keys
 * are listed by the module's helper and cached in the source, the served
 * set (agent-keyset.c) is made from them.  ssh-add -s adds sources, -e and
 * -D remove them.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "pkcs11/p11.h"

void
agent_source_free(struct agent *a, struct agent_source *s)
{
	if (s == NULL)
		return;
	if (s->keys != NULL)
		a->ops->keys_free(s->keys, s->nkeys);
	free(s->uri);
	free(s->reader);
	free(s->pin_source);
	agent_dests_unref(s->dests);
	free(s);
}

/* List a source's keys (no lock held); absent tokens list nothing. */
int
agent_source_list(struct agent *a, struct agent_source *s)
{
	int	r;

	r = a->ops->list(s->mod->h, s->uri, &s->keys, &s->nkeys);
	if (r == TK_ERR_NOT_FOUND || r == TK_ERR_NO_TOKEN) {
		s->keys = NULL;
		s->nkeys = 0;
		r = 0;
	}
	s->listed = r == 0;
	return r;
}

/* Remove sources i (a->lock held), hiding their keys when asked. */
void
agent_source_remove(struct agent *a, size_t i, int hidekeys)
{
	struct agent_source	*s = a->srcs[i];
	size_t			 j;

	for (j = 0; hidekeys && j < s->nkeys; j++)
		(void)agent_hidden_add(a, s->keys[j].blob, s->keys[j].bloblen);
	memmove(&a->srcs[i], &a->srcs[i + 1],
	    (a->nsrcs - i - 1) * sizeof(a->srcs[0]));
	a->nsrcs--;
	agent_source_free(a, s);
}

/* A pin-source the agent may use (and says why not, once). */
static int
uri_pin_source(struct agent *a, const char *uri, char **pinsrc)
{
	char	why[128];
	int	r;

	if ((r = tk_pinsrc_from_uri(uri, pinsrc)) != 0) {
		/* a URI with pin-value is not logged: it holds a PIN */
		agent_log(a, AGENT_LOG_ERR, "%s: %s", r == TK_ERR_DENIED ?
		    "a URI" : uri, tk_pinsrc_uri_error(r));
		goto out;
	}
	if (*pinsrc == NULL)
		goto out;
	r = tk_pinsrc_check(*pinsrc, why, sizeof(why));
	if (r == TK_ERR_NOT_FOUND) {
		agent_log(a, AGENT_LOG_INFO, "pin-source %s does not exist "
		    "yet; it is read when a login needs it", *pinsrc);
		r = 0;
	} else if (r != 0)
		agent_log(a, AGENT_LOG_ERR, "pin-source %s refused: %s",
		    *pinsrc, why);
 out:
	if (r != 0) {
		free(*pinsrc);
		*pinsrc = NULL;
	}
	return r;
}

/*
 * Add the sources for uri: one module if it names module-path (which must
 * pass the allowlist), else every registry module (only: just that one,
 * for a module joining the registry).  With a PIN, log in on the one
 * token the new keys live on (several tokens: not used, since a PIN tried
 * on every card loses retries).  A source with the same reader is
 * replaced (new constraints).
 */
int
agent_add_sources(struct agent *a, const char *uri, const char *reader,
    time_t deadline, int confirm, const char *pin, size_t pinlen,
    int allow_empty, struct agent_module *only, struct agent_dests *dests)
{
	struct agent_source	*ns[AGENT_MAX_MODULES];
	struct agent_module	*mods[AGENT_MAX_MODULES], *m;
	char			 path[PATH_MAX], rpath[PATH_MAX];
	char			*pinsrc = NULL;
	size_t			 nmods = 0, n = 0, i, j;
	size_t			 nkeys = 0, ntok = 0;
	const struct tk_hkey	*first = NULL;
	struct agent_source	*firstsrc = NULL;
	int			 r, wide = 0;

	memset(ns, 0, sizeof(ns));
	if ((r = uri_pin_source(a, uri, &pinsrc)) != 0) {
		r = TK_ERR_DENIED;
		goto out;
	}
	r = tk_uri_module_path(uri, path, sizeof(path));
	if (r == 0) {
		if ((r = agent_module_allowed(a, path, rpath,
		    sizeof(rpath))) != 0) {
			agent_log(a, AGENT_LOG_ERR, "module %s refused: %s",
			    path, r == TK_ERR_DENIED ? "its real path is not "
			    "in the -P allowlist" : "no such file");
			r = TK_ERR_DENIED;
			goto out;
		}
		if ((r = agent_module_get(a, rpath, 0, &m)) != 0) {
			agent_log(a, AGENT_LOG_ERR, "module %s: cannot start "
			    "its helper: %s", rpath, tk_strerror(r));
			goto out;
		}
		mods[nmods++] = m;
	} else if (r == TK_ERR_NOT_FOUND) {
		wide = only == NULL;
		pthread_mutex_lock(&a->lock);
		for (i = 0; i < a->nmods; i++)
			if (a->mods[i]->registry && (only == NULL ||
			    a->mods[i] == only)) {
				a->mods[i]->refs++;
				mods[nmods++] = a->mods[i];
			}
		pthread_mutex_unlock(&a->lock);
	} else
		goto out;

	for (i = 0; i < nmods; i++) {
		if ((ns[n] = calloc(1, sizeof(*ns[n]))) == NULL ||
		    (ns[n]->uri = strdup(uri)) == NULL ||
		    (ns[n]->reader = strdup(reader)) == NULL ||
		    (pinsrc != NULL &&
		    (ns[n]->pin_source = strdup(pinsrc)) == NULL)) {
			n++;
			r = TK_ERR_NOMEM;
			goto out;
		}
		ns[n]->mod = mods[i];
		ns[n]->id = __atomic_add_fetch(&a->next_source_id, 1,
		    __ATOMIC_RELAXED);
		ns[n]->deadline = deadline;
		ns[n]->confirm = confirm;
		ns[n]->dests = agent_dests_ref(dests);
		if ((r = agent_source_list(a, ns[n])) != 0)
			agent_log(a, AGENT_LOG_ERR, "module %s: listing keys "
			    "failed: %s", mods[i]->path, tk_strerror(r));
		for (j = 0; j < ns[n]->nkeys; j++) {
			const struct tk_hkey *h = &ns[n]->keys[j];

			nkeys++;
			if (first == NULL) {
				first = h;
				firstsrc = ns[n];
				ntok = 1;
			} else if (firstsrc->mod != ns[n]->mod ||
			    strcmp(first->token_serial ? first->token_serial :
			    "", h->token_serial ? h->token_serial : "") != 0 ||
			    strcmp(first->token_label ? first->token_label :
			    "", h->token_label ? h->token_label : "") != 0)
				ntok = 2;
		}
		n++;
	}
	r = 0;
	if (nkeys == 0 && !allow_empty) {
		agent_log(a, AGENT_LOG_ERR, "%s: no key matches on any "
		    "module", uri);
		r = TK_ERR_NOT_FOUND;
		goto out;
	}
	if (pin != NULL && pinlen > 0) {
		if (ntok > 1)
			agent_log(a, AGENT_LOG_INFO, "%s: keys on several "
			    "tokens; the PIN given is not used (each token "
			    "asks at first use)", uri);
		else if ((r = agent_login_given(a, firstsrc, first, pin,
		    pinlen)) != 0)
			goto out;
	}
	pthread_mutex_lock(&a->lock);
	for (i = a->nsrcs; only == NULL && i > 0; i--)
		if (strcmp(a->srcs[i - 1]->reader, reader) == 0 &&
		    reader[0] != '\0')
			agent_source_remove(a, i - 1, 0);
	if (a->nsrcs + n > AGENT_MAX_SOURCES)
		r = TK_ERR_RANGE;
	for (i = 0; r == 0 && i < n; i++) {
		if (ns[i]->mod->retired)
			continue;	/* left the registry meanwhile */
		for (j = 0; j < ns[i]->nkeys; j++)
			agent_hidden_remove(a, ns[i]->keys[j].blob,
			    ns[i]->keys[j].bloblen);
		a->srcs[a->nsrcs++] = ns[i];
		ns[i] = NULL;
	}
	if (r == 0 && wide)
		r = agent_spec_add(a, uri, reader, deadline, confirm, dests);
	if (r == 0)
		r = agent_rebuild(a);
	pthread_mutex_unlock(&a->lock);
 out:
	for (i = 0; i < n; i++)
		agent_source_free(a, ns[i]);
	for (i = 0; i < nmods; i++)
		agent_module_release(a, mods[i]);
	free(pinsrc);
	return r;
}

int
agent_add_uri(struct agent *a, const char *uri, const char *reader,
    time_t deadline, int confirm, const char *pin, size_t pinlen,
    int allow_empty, struct agent_dests *dests)
{
	return agent_add_sources(a, uri, reader, deadline, confirm, pin, pinlen,
	    allow_empty, NULL, dests);
}

int
agent_remove_reader(struct agent *a, const char *reader)
{
	char	rp[PATH_MAX];
	size_t	i;
	int	have_rp, r = TK_ERR_NOT_FOUND;

	have_rp = reader[0] == '/' && realpath(reader, rp) != NULL;
	pthread_mutex_lock(&a->lock);
	for (i = a->nsrcs; i > 0; i--) {
		struct agent_source *s = a->srcs[i - 1];

		if (strcmp(s->reader, reader) == 0 || (have_rp &&
		    s->reader[0] == '/' && strcmp(s->mod->path, rp) == 0)) {
			agent_source_remove(a, i - 1, 1);
			r = 0;
		}
	}
	agent_specs_remove(a, reader, 0);
	if (r == 0)
		r = agent_rebuild(a);
	pthread_mutex_unlock(&a->lock);
	return r;
}

void
agent_remove_all(struct agent *a)
{
	pthread_mutex_lock(&a->lock);
	while (a->nsrcs > 0)
		agent_source_remove(a, a->nsrcs - 1, 0);
	agent_specs_remove(a, NULL, 0);
	agent_hidden_clear(a);
	(void)agent_rebuild(a);
	pthread_mutex_unlock(&a->lock);
}

void
agent_sources_free(struct agent *a)
{
	while (a->nsrcs > 0)
		agent_source_remove(a, a->nsrcs - 1, 0);
}
