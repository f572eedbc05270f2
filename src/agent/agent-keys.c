/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the agent serves.  A source is a URI on one module (from the
 * command line, the registry default or ssh-add -s); its keys are listed
 * by the module's helper, in the background, and cached.  The served set
 * is the union of the sources' keys minus the hidden blobs (ssh-add -d,
 * -e, expired lifetimes); a later source's constraints win for a key that
 * two sources list.  The IDENTITIES_ANSWER is built whenever that set
 * changes, so listing never waits for a token.  (The lock is in
 * agent-lock.c.)
 */
#include <sys/types.h>

#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "agent/agent.h"

static void
source_free(struct agent *a, struct agent_source *s)
{
	if (s == NULL)
		return;
	if (s->keys != NULL)
		a->ops->keys_free(s->keys, s->nkeys);
	free(s->uri);
	free(s->reader);
	free(s->pin_source);
	free(s);
}

static void
spec_clear(struct agent_spec *sp)
{
	free(sp->uri);
	free(sp->reader);
	memset(sp, 0, sizeof(*sp));
}

/* Forget registry-wide requests: reader's (NULL: all); a->lock held. */
static void
specs_remove(struct agent *a, const char *reader, int expired)
{
	time_t	now = expired ? agent_now(a) : 0;
	size_t	i;

	for (i = a->nspecs; i > 0; i--) {
		struct agent_spec *sp = &a->specs[i - 1];

		if (expired ? (sp->deadline == 0 || sp->deadline > now) :
		    (reader != NULL && strcmp(sp->reader, reader) != 0))
			continue;
		spec_clear(sp);
		a->specs[i - 1] = a->specs[--a->nspecs];
	}
}

/* Remember a registry-wide request (replacing the reader's); lock held. */
static int
spec_add(struct agent *a, const char *uri, const char *reader,
    time_t deadline, int confirm)
{
	struct agent_spec	*ns, sp;
	int			 r = TK_ERR_NOMEM;

	memset(&sp, 0, sizeof(sp));
	if (reader[0] != '\0')
		specs_remove(a, reader, 0);
	if (a->nspecs >= AGENT_MAX_SOURCES) {
		r = TK_ERR_RANGE;
		goto out;
	}
	if ((sp.uri = strdup(uri)) == NULL ||
	    (sp.reader = strdup(reader)) == NULL)
		goto out;
	if ((ns = reallocarray(a->specs, a->nspecs + 1, sizeof(*ns))) == NULL)
		goto out;
	a->specs = ns;
	sp.deadline = deadline;
	sp.confirm = confirm;
	a->specs[a->nspecs++] = sp;
	memset(&sp, 0, sizeof(sp));
	r = 0;
 out:
	spec_clear(&sp);
	return r;
}

static int
blob_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

static int
is_hidden(struct agent *a, const uint8_t *blob, size_t len)
{
	size_t	i;

	for (i = 0; i < a->nhidden; i++)
		if (blob_eq(a->hidden[i].blob, a->hidden[i].len, blob, len))
			return 1;
	return 0;
}

static void
unhide(struct agent *a, const uint8_t *blob, size_t len)
{
	size_t	i;

	for (i = 0; i < a->nhidden; i++) {
		if (!blob_eq(a->hidden[i].blob, a->hidden[i].len, blob, len))
			continue;
		free(a->hidden[i].blob);
		a->hidden[i] = a->hidden[--a->nhidden];
		return;
	}
}

static int
hide(struct agent *a, const uint8_t *blob, size_t len)
{
	struct agent_blob	*nh;
	int			 r = 0;

	if (is_hidden(a, blob, len))
		goto out;
	if (a->nhidden >= AGENT_MAX_KEYS) {
		r = TK_ERR_RANGE;
		goto out;
	}
	if ((nh = reallocarray(a->hidden, a->nhidden + 1,
	    sizeof(*nh))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	a->hidden = nh;
	if ((nh[a->nhidden].blob = malloc(len)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	memcpy(nh[a->nhidden].blob, blob, len);
	nh[a->nhidden].len = len;
	a->nhidden++;
 out:
	return r;
}

static void
keys_clear(struct agent *a)
{
	size_t	i;

	for (i = 0; i < a->nkeys; i++) {
		free(a->keys[i].blob);
		free(a->keys[i].comment);
	}
	free(a->keys);
	a->keys = NULL;
	a->nkeys = 0;
}

static int
key_set(struct agent_key *k, struct agent_source *s, const struct tk_hkey *h)
{
	int	r = TK_ERR_NOMEM;

	if (k->blob == NULL) {
		if ((k->blob = malloc(h->bloblen)) == NULL)
			goto out;
		memcpy(k->blob, h->blob, h->bloblen);
		k->bloblen = h->bloblen;
	}
	free(k->comment);
	if ((k->comment = strdup(h->uri != NULL ? h->uri : "")) == NULL)
		goto out;
	k->mod = s->mod;
	k->src = s;
	k->flags = h->flags;
	snprintf(k->token_label, sizeof(k->token_label), "%s",
	    h->token_label != NULL ? h->token_label : "");
	snprintf(k->token_serial, sizeof(k->token_serial), "%s",
	    h->token_serial != NULL ? h->token_serial : "");
	k->deadline = s->deadline;
	k->confirm = s->confirm;
	r = 0;
 out:
	return r;
}

/* Rebuild the served set and the ready answer; a->lock held. */
static int
rebuild(struct agent *a)
{
	struct agent_key	*nk;
	struct agent_source	*s;
	size_t			 i, j, k, n = 0, mark = 0;
	int			 r = 0;

	keys_clear(a);
	for (i = 0; i < a->nsrcs; i++)
		n += a->srcs[i]->nkeys;
	if (n > AGENT_MAX_KEYS)
		n = AGENT_MAX_KEYS;
	if (n > 0 && (a->keys = calloc(n, sizeof(*a->keys))) == NULL) {
		r = TK_ERR_NOMEM;
		goto answer;
	}
	for (i = 0; i < a->nsrcs; i++) {
		s = a->srcs[i];
		for (j = 0; j < s->nkeys; j++) {
			const struct tk_hkey *h = &s->keys[j];

			if (h->blob == NULL || h->bloblen == 0 ||
			    is_hidden(a, h->blob, h->bloblen))
				continue;
			for (k = 0; k < a->nkeys; k++)
				if (blob_eq(a->keys[k].blob, a->keys[k].bloblen,
				    s->keys[j].blob, s->keys[j].bloblen))
					break;
			if (k == a->nkeys) {
				if (a->nkeys >= n)
					continue;
				a->nkeys++;
			}
			nk = &a->keys[k];
			if ((r = key_set(nk, s, &s->keys[j])) != 0)
				goto answer;
		}
	}
 answer:
	tk_buf_reset(&a->idanswer);
	if (tk_buf_put_u8(&a->idanswer, SSH_AGENT_IDENTITIES_ANSWER) != 0 ||
	    tk_buf_put_u32(&a->idanswer, (uint32_t)a->nkeys) != 0)
		r = TK_ERR_NOMEM;
	for (i = 0; r == 0 && i < a->nkeys; i++) {
		mark = a->idanswer.len;
		if ((r = tk_buf_put_string(&a->idanswer, a->keys[i].blob,
		    a->keys[i].bloblen)) != 0 ||
		    (r = tk_buf_put_cstring(&a->idanswer,
		    a->keys[i].comment)) != 0)
			break;
	}
	if (r == TK_ERR_RANGE) {
		/* clients take at most 256 KiB: list what fits */
		a->idanswer.len = mark;
		agent_log(a, AGENT_LOG_ERR, "%zu keys do not fit one answer: "
		    "listing the first %zu (select fewer with URIs)",
		    a->nkeys, i);
		a->idanswer.d[1] = (uint8_t)(i >> 24);
		a->idanswer.d[2] = (uint8_t)(i >> 16);
		a->idanswer.d[3] = (uint8_t)(i >> 8);
		a->idanswer.d[4] = (uint8_t)i;
		r = 0;
	}
	if (r != 0) {
		/* never answer with a half-written list */
		tk_buf_reset(&a->idanswer);
		keys_clear(a);
		(void)tk_buf_put_u8(&a->idanswer, SSH_AGENT_IDENTITIES_ANSWER);
		(void)tk_buf_put_u32(&a->idanswer, 0);
	}
	return r;
}

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

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
agent_uri_module_path(const char *uri, char *path, size_t pathsz)
{
	const char	*q, *v;
	size_t		 n = 0;
	int		 hi, lo, r = TK_ERR_NOT_FOUND;

	if (strncmp(uri, "pkcs11:", 7) != 0) {
		r = TK_ERR_URI_SCHEME;
		goto out;
	}
	if ((q = strchr(uri, '?')) == NULL)
		goto out;
	for (q++; *q != '\0'; q += strcspn(q, "&"), q += *q == '&') {
		if (strncmp(q, "module-path=", 12) != 0)
			continue;
		for (v = q + 12; *v != '\0' && *v != '&'; v++) {
			if (n + 1 >= pathsz) {
				r = TK_ERR_RANGE;
				goto out;
			}
			if (*v != '%') {
				path[n++] = *v;
				continue;
			}
			hi = hexval(v[1]);
			lo = hi < 0 ? -1 : hexval(v[2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				r = TK_ERR_URI;
				goto out;
			}
			path[n++] = (char)(hi << 4 | lo);
			v += 2;
		}
		path[n] = '\0';
		r = n > 0 ? 0 : TK_ERR_URI;
		break;
	}
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
			(*out)->registry = 1;	/* registered after ssh-add -s */
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

static void
module_free(struct agent *a, struct agent_module *m)
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
		module_free(a, m);
}

/* List a source's keys (no lock held); absent tokens list nothing. */
static int
source_list(struct agent *a, struct agent_source *s)
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
static void
source_remove(struct agent *a, size_t i, int hidekeys)
{
	struct agent_source	*s = a->srcs[i];
	size_t			 j;

	for (j = 0; hidekeys && j < s->nkeys; j++)
		(void)hide(a, s->keys[j].blob, s->keys[j].bloblen);
	memmove(&a->srcs[i], &a->srcs[i + 1],
	    (a->nsrcs - i - 1) * sizeof(a->srcs[0]));
	a->nsrcs--;
	source_free(a, s);
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
static int
add_sources(struct agent *a, const char *uri, const char *reader,
    time_t deadline, int confirm, const char *pin, size_t pinlen,
    int allow_empty, struct agent_module *only)
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
	r = agent_uri_module_path(uri, path, sizeof(path));
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
		if ((r = source_list(a, ns[n])) != 0)
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
			source_remove(a, i - 1, 0);
	if (a->nsrcs + n > AGENT_MAX_SOURCES)
		r = TK_ERR_RANGE;
	for (i = 0; r == 0 && i < n; i++) {
		if (ns[i]->mod->retired)
			continue;	/* left the registry meanwhile */
		for (j = 0; j < ns[i]->nkeys; j++)
			unhide(a, ns[i]->keys[j].blob, ns[i]->keys[j].bloblen);
		a->srcs[a->nsrcs++] = ns[i];
		ns[i] = NULL;
	}
	if (r == 0 && wide)
		r = spec_add(a, uri, reader, deadline, confirm);
	if (r == 0)
		r = rebuild(a);
	pthread_mutex_unlock(&a->lock);
 out:
	for (i = 0; i < n; i++)
		source_free(a, ns[i]);
	for (i = 0; i < nmods; i++)
		agent_module_release(a, mods[i]);
	free(pinsrc);
	return r;
}

int
agent_add_uri(struct agent *a, const char *uri, const char *reader,
    time_t deadline, int confirm, const char *pin, size_t pinlen,
    int allow_empty)
{
	return add_sources(a, uri, reader, deadline, confirm, pin, pinlen,
	    allow_empty, NULL);
}

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
			if (specs[n].uri == NULL || specs[n].reader == NULL)
				spec_clear(&specs[n]);
			else
				n++;
		}
	}
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < n; i++) {
		if ((r = add_sources(a, specs[i].uri, specs[i].reader,
		    specs[i].deadline, specs[i].confirm, NULL, 0, 1, m)) != 0)
			agent_log(a, AGENT_LOG_ERR, "module %s: serving %s "
			    "failed: %s", m->path, specs[i].uri,
			    tk_strerror(r));
		spec_clear(&specs[i]);
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
	char	path[8];
	size_t	i, left = 0;

	m->registry = 0;
	for (i = a->nsrcs; i > 0; i--) {
		if (a->srcs[i - 1]->mod != m)
			continue;
		if (agent_uri_module_path(a->srcs[i - 1]->uri, path,
		    sizeof(path)) == TK_ERR_NOT_FOUND)
			source_remove(a, i - 1, 0);
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
	r = rebuild(a);
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < ngone; i++)
		module_free(a, gone[i]);
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
			source_remove(a, i - 1, 1);
			r = 0;
		}
	}
	specs_remove(a, reader, 0);
	if (r == 0)
		r = rebuild(a);
	pthread_mutex_unlock(&a->lock);
	return r;
}

void
agent_remove_all(struct agent *a)
{
	size_t	i;

	pthread_mutex_lock(&a->lock);
	while (a->nsrcs > 0)
		source_remove(a, a->nsrcs - 1, 0);
	specs_remove(a, NULL, 0);
	for (i = 0; i < a->nhidden; i++)
		free(a->hidden[i].blob);
	free(a->hidden);
	a->hidden = NULL;
	a->nhidden = 0;
	(void)rebuild(a);
	pthread_mutex_unlock(&a->lock);
}

int
agent_hide(struct agent *a, const uint8_t *blob, size_t len)
{
	size_t	i;
	int	r = TK_ERR_NOT_FOUND;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->nkeys; i++)
		if (blob_eq(a->keys[i].blob, a->keys[i].bloblen, blob, len))
			break;
	if (i < a->nkeys && (r = hide(a, blob, len)) == 0)
		r = rebuild(a);
	pthread_mutex_unlock(&a->lock);
	return r;
}

/* Expire sources whose lifetime has passed; a->lock held. */
static int
expire_locked(struct agent *a)
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
		source_remove(a, i - 1, 1);
		changed = 1;
	}
	specs_remove(a, NULL, 1);
	if (changed)
		(void)rebuild(a);
	return changed;
}

void
agent_expire(struct agent *a)
{
	pthread_mutex_lock(&a->lock);
	(void)expire_locked(a);
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
	int			 r = 0, e;

	/* Copies to list into, so the lock is free while helpers work. */
	pthread_mutex_lock(&a->lock);
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
		if ((e = source_list(a, snap[i])) != 0)
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
		if (cur->keys != NULL)
			a->ops->keys_free(cur->keys, cur->nkeys);
		cur->keys = snap[i]->keys;
		cur->nkeys = snap[i]->nkeys;
		snap[i]->keys = NULL;
		snap[i]->nkeys = 0;
	}
	(void)expire_locked(a);
	if (r == 0)
		r = rebuild(a);
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < n; i++) {
		agent_module_release(a, snap[i]->mod);
		source_free(a, snap[i]);
	}
	return r;
}

int
agent_key_lookup(struct agent *a, const uint8_t *blob, size_t len,
    struct agent_key *out, char *comment, size_t commentsz)
{
	size_t	i;
	int	r = TK_ERR_NOT_FOUND;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&a->lock);
	if (a->locked) {
		r = TK_ERR_DENIED;
		goto out;
	}
	(void)expire_locked(a);
	for (i = 0; i < a->nkeys; i++) {
		if (!blob_eq(a->keys[i].blob, a->keys[i].bloblen, blob, len))
			continue;
		*out = a->keys[i];
		out->blob = NULL;
		out->comment = NULL;
		out->src = NULL;
		out->mod->refs++;
		snprintf(comment, commentsz, "%s", a->keys[i].comment);
		r = 0;
		break;
	}
 out:
	pthread_mutex_unlock(&a->lock);
	return r;
}

int
agent_key_pin_source(struct agent *a, const uint8_t *blob, size_t len,
    char *path, size_t pathsz)
{
	size_t	i;
	int	r = TK_ERR_NOT_FOUND;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->nkeys; i++) {
		if (!blob_eq(a->keys[i].blob, a->keys[i].bloblen, blob, len))
			continue;
		if (a->keys[i].src != NULL &&
		    a->keys[i].src->pin_source != NULL &&
		    snprintf(path, pathsz, "%s", a->keys[i].src->pin_source) <
		    (int)pathsz)
			r = 0;
		break;
	}
	pthread_mutex_unlock(&a->lock);
	return r;
}

int
agent_identities(struct agent *a, struct tk_buf *reply)
{
	int	r;

	pthread_mutex_lock(&a->lock);
	(void)expire_locked(a);
	if (a->locked) {
		if ((r = tk_buf_put_u8(reply,
		    SSH_AGENT_IDENTITIES_ANSWER)) == 0)
			r = tk_buf_put_u32(reply, 0);
	} else
		r = tk_buf_put(reply, tk_buf_ptr(&a->idanswer),
		    tk_buf_avail(&a->idanswer));
	pthread_mutex_unlock(&a->lock);
	return r;
}

void
agent_keys_free(struct agent *a)
{
	size_t	i;

	while (a->nsrcs > 0)
		source_remove(a, a->nsrcs - 1, 0);
	specs_remove(a, NULL, 0);
	free(a->specs);
	a->specs = NULL;
	keys_clear(a);
	for (i = 0; i < a->nhidden; i++)
		free(a->hidden[i].blob);
	free(a->hidden);
	a->hidden = NULL;
	a->nhidden = 0;
	for (i = 0; i < a->nmods; i++)
		module_free(a, a->mods[i]);
	a->nmods = 0;
	tk_buf_free(&a->idanswer);
}
