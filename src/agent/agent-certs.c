/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Certificates for token keys.  Two kinds of sets: one per ssh-add -s
 * READER that sent the associated-certs-v00@openssh.com constraint
 * (OpenSSH 9.6+), and one of the certs directory and --cert files
 * (agent-certdir.c).  A certificate is served as an identity of its own
 * wherever the key it certifies is served, with that source's lifetime,
 * confirm and every other per-source rule (agent-keyset.c), and only
 * inside its validity window: unlike OpenSSH's agent, which serves -s
 * certificates until they are removed, we stop at valid_before and start
 * at valid_after, with a log line each.
 *
 * Everything here but the constraint parser wants a->lock held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "ssh/sshcert.h"

static uint64_t
wall_now(void)
{
	time_t	t = time(NULL);

	return t < 0 ? 0 : (uint64_t)t;
}

int
agent_certs_push(struct agent_certs *cs, const uint8_t *blob, size_t len,
    const uint8_t *key, size_t keylen, uint64_t after, uint64_t before,
    const char *name)
{
	struct agent_cert	*nv, *c;
	size_t			 i;
	int			 r = TK_ERR_NOMEM;

	for (i = 0; i < cs->n; i++)
		if (agent_blob_eq(cs->v[i].blob, cs->v[i].bloblen, blob, len))
			return 0;	/* the same certificate twice */
	if (cs->n >= AGENT_MAX_CERTS)
		return TK_ERR_RANGE;
	if ((nv = reallocarray(cs->v, cs->n + 1, sizeof(*nv))) == NULL)
		goto out;
	cs->v = nv;
	c = &cs->v[cs->n];
	memset(c, 0, sizeof(*c));
	if ((c->blob = malloc(len)) == NULL ||
	    (c->key = malloc(keylen)) == NULL) {
		free(c->blob);
		goto out;
	}
	memcpy(c->blob, blob, len);
	c->bloblen = len;
	memcpy(c->key, key, keylen);
	c->keylen = keylen;
	c->valid_after = after;
	c->valid_before = before;
	c->when = 2;
	snprintf(c->name, sizeof(c->name), "%s", name);
	cs->n++;
	r = 0;
 out:
	return r;
}

void
agent_certs_clear(struct agent_certs *cs)
{
	size_t	i;

	for (i = 0; i < cs->n; i++) {
		free(cs->v[i].blob);
		free(cs->v[i].key);
	}
	free(cs->v);
	cs->v = NULL;
	cs->n = 0;
}

void
agent_certs_free(struct agent_certs *cs)
{
	if (cs == NULL)
		return;
	agent_certs_clear(cs);
	free(cs->reader);
	free(cs);
}

void
agent_cert_name(const struct tk_sshcert *c, const char *origin, char *buf,
    size_t bufsz)
{
	char	id[128], safe[200];
	size_t	n = c->key_idlen < sizeof(id) - 1 ? c->key_idlen :
		    sizeof(id) - 1;

	memcpy(id, c->key_id, n);
	id[n] = '\0';
	tk_str_sanitize(id, safe, sizeof(safe));
	snprintf(buf, bufsz, "\"%s\" (serial %llu, %s)", safe,
	    (unsigned long long)c->serial, origin);
}

int
agent_certs_constraint(struct agent *a, struct tk_buf *m,
    struct agent_certs **out)
{
	struct agent_certs	*cs = NULL;
	struct tk_sshcert	 c;
	struct tk_buf		 list, cut, store;
	const uint8_t		*blob;
	char			 name[200];
	size_t			 len, i = 0;
	uint8_t			 only;
	int			 e, r = TK_ERR_FORMAT;

	*out = NULL;
	tk_buf_init(&store, TK_SSHCERT_MAX, 0);
	if ((cs = calloc(1, sizeof(*cs))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if (tk_buf_get_u8(m, &only) != 0 || only > 1 ||
	    tk_buf_get_sub(m, &list) != 0) {
		agent_log(a, AGENT_LOG_ERR, "ssh-add -s refused: the %s "
		    "constraint is malformed (want a certs-only flag, then "
		    "one string of certificate strings)", AGENT_EXT_CERTS);
		goto out;
	}
	cs->certs_only = only;
	/* the nesting and the count first, before any certificate */
	cut = list;
	while (tk_buf_avail(&cut) > 0) {
		if (tk_buf_get_string(&cut, &blob, &len) != 0) {
			agent_log(a, AGENT_LOG_ERR, "ssh-add -s refused: "
			    "certificate %zu of the %s constraint is cut short "
			    "or wrongly nested", i + 1, AGENT_EXT_CERTS);
			goto out;
		}
		if (++i > AGENT_MAX_CERTS) {
			agent_log(a, AGENT_LOG_ERR, "ssh-add -s refused: more "
			    "than %d certificates", AGENT_MAX_CERTS);
			r = TK_ERR_RANGE;
			goto out;
		}
	}
	for (i = 1; tk_buf_get_string(&list, &blob, &len) == 0; i++) {
		if ((e = tk_sshcert_parse(blob, len, &c, &store)) == 0 &&
		    (e = tk_sshcert_verify(&c)) == TK_ERR_UNSUPPORTED)
			e = 0;	/* a CA type we cannot check: sshd will */
		if (e == TK_ERR_FORMAT || e == TK_ERR_RANGE) {
			agent_log(a, AGENT_LOG_ERR, "ssh-add -s refused: "
			    "certificate %zu is malformed", i);
			goto out;
		}
		if (e != 0) {
			agent_log(a, AGENT_LOG_ERR, "certificate %zu of "
			    "ssh-add -s ignored: %s", i, e == TK_ERR_SIGNATURE ?
			    "the CA's signature does not verify" :
			    !tk_sshcert_is_cert(blob, len) ?
			    "it is not a certificate (a plain public key?)" :
			    "a certificate type or key type this agent does "
			    "not serve");
			continue;
		}
		agent_cert_name(&c, "from ssh-add -s", name, sizeof(name));
		if ((r = agent_certs_push(cs, blob, len, c.key, c.keylen,
		    c.valid_after, c.valid_before, name)) != 0)
			goto out;
		r = TK_ERR_FORMAT;
	}
	*out = cs;
	cs = NULL;
	r = 0;
 out:
	tk_buf_free(&store);
	agent_certs_free(cs);
	return r;
}

static struct agent_certs **
find_set(struct agent *a, const char *reader)
{
	size_t	i;

	for (i = 0; i < a->ncertsets; i++)
		if (strcmp(a->certsets[i]->reader, reader) == 0)
			return &a->certsets[i];
	return NULL;
}

struct agent_certs *
agent_certs_swap(struct agent *a, const char *reader, struct agent_certs *cs)
{
	struct agent_certs	**slot, **nv, *old = NULL;

	if (cs != NULL && cs->reader == NULL &&
	    (cs->reader = strdup(reader)) == NULL)
		return cs;	/* no memory: the caller frees it as "old" */
	if ((slot = find_set(a, reader)) != NULL) {
		old = *slot;
		if (cs != NULL)
			*slot = cs;
		else
			*slot = a->certsets[--a->ncertsets];
		return old;
	}
	if (cs == NULL)
		return NULL;
	if ((nv = reallocarray(a->certsets, a->ncertsets + 1,
	    sizeof(*nv))) == NULL)
		return cs;
	a->certsets = nv;
	a->certsets[a->ncertsets++] = cs;
	return NULL;
}

int
agent_certs_only(struct agent *a, const char *reader)
{
	struct agent_certs	**slot = find_set(a, reader);

	return slot != NULL && (*slot)->certs_only;
}

size_t
agent_certs_count(struct agent *a)
{
	size_t	i, n = a->filecerts.n;

	for (i = 0; i < a->ncertsets; i++)
		n += a->certsets[i]->n;
	return n;
}

void
agent_certs_begin(struct agent *a)
{
	size_t	i, j;
	int	used;

	a->cert_next = 0;
	for (i = a->ncertsets; i > 0; i--) {
		const char *reader = a->certsets[i - 1]->reader;

		used = a->certsets[i - 1]->pending;
		for (j = 0; !used && j < a->nsrcs; j++)
			used = strcmp(a->srcs[j]->reader, reader) == 0;
		for (j = 0; !used && j < a->nspecs; j++)
			used = strcmp(a->specs[j].reader, reader) == 0;
		if (used)
			continue;
		agent_certs_free(a->certsets[i - 1]);
		a->certsets[i - 1] = a->certsets[--a->ncertsets];
	}
}

/* Where c's window stands now; log a change, note the next one. */
static int
cert_when(struct agent *a, struct agent_cert *c, uint64_t now)
{
	struct tk_sshcert	 w;
	char			 t[40];
	int			 when;

	memset(&w, 0, sizeof(w));
	w.valid_after = c->valid_after;
	w.valid_before = c->valid_before;
	when = tk_sshcert_when(&w, now);
	if (when == -1 && (a->cert_next == 0 || c->valid_after < a->cert_next))
		a->cert_next = c->valid_after;
	if (when == 0 && c->valid_before != TK_SSHCERT_FOREVER &&
	    (a->cert_next == 0 || c->valid_before < a->cert_next))
		a->cert_next = c->valid_before;
	if (when == c->when)
		return when;
	if (when == -1) {
		tk_sshcert_time(c->valid_after, t, sizeof(t));
		agent_log(a, AGENT_LOG_INFO, "certificate %s is not valid "
		    "before %s: served from then", c->name, t);
	} else if (when == 1) {
		tk_sshcert_time(c->valid_before, t, sizeof(t));
		agent_log(a, AGENT_LOG_INFO, "certificate %s %s at %s: not "
		    "served", c->name, c->when == 0 ? "expired now" :
		    "expired", t);
	} else if (c->when == -1)
		agent_log(a, AGENT_LOG_INFO, "certificate %s is valid from "
		    "now: served", c->name);
	else
		agent_log(a, AGENT_LOG_DEBUG, "certificate %s: served",
		    c->name);
	c->when = when;
	return when;
}

static int
each_in(struct agent *a, struct agent_certs *cs, const uint8_t *key,
    size_t keylen, uint64_t now, int (*fn)(void *, const struct agent_cert *),
    void *arg)
{
	size_t	i;
	int	r = 0;

	for (i = 0; r == 0 && i < cs->n; i++) {
		if (!agent_blob_eq(cs->v[i].key, cs->v[i].keylen, key, keylen))
			continue;
		if (cert_when(a, &cs->v[i], now) == 0)
			r = fn(arg, &cs->v[i]);
	}
	return r;
}

int
agent_certs_each(struct agent *a, const char *reader, const uint8_t *key,
    size_t keylen, int (*fn)(void *, const struct agent_cert *), void *arg)
{
	struct agent_certs	**slot = find_set(a, reader);
	uint64_t		  now = wall_now();
	int			  r = 0;

	if (slot != NULL)
		r = each_in(a, *slot, key, keylen, now, fn, arg);
	if (r == 0)
		r = each_in(a, &a->filecerts, key, keylen, now, fn, arg);
	return r;
}

int
agent_certs_due(struct agent *a)
{
	return a->cert_next != 0 && wall_now() >= a->cert_next;
}

long long
agent_certs_wait_ms(struct agent *a)
{
	uint64_t	now, next;
	long long	ms = -1;

	pthread_mutex_lock(&a->lock);
	next = a->cert_next;
	pthread_mutex_unlock(&a->lock);
	if (next != 0) {
		now = wall_now();
		/* a second's grain, and a window that opens at once: now */
		ms = next <= now ? 0 : next - now > 86400 ? 86400000LL :
		    (long long)(next - now) * 1000;
	}
	return ms;
}

/* Does a source of reader list key? */
static int
reader_has_key(struct agent *a, const char *reader, const uint8_t *key,
    size_t keylen)
{
	struct agent_source	*s;
	size_t			 j, k;

	for (j = 0; j < a->nsrcs; j++) {
		s = a->srcs[j];
		if (strcmp(s->reader, reader) != 0)
			continue;
		for (k = 0; k < s->nkeys; k++)
			if (agent_blob_eq(s->keys[k].blob, s->keys[k].bloblen,
			    key, keylen))
				return 1;
	}
	return 0;
}

void
agent_certs_unhide(struct agent *a, const char *reader)
{
	struct agent_certs	**slot = find_set(a, reader);
	struct agent_certs	 *sets[2];
	size_t			  i, j;

	sets[0] = slot != NULL ? *slot : NULL;
	sets[1] = &a->filecerts;
	for (i = 0; i < 2; i++)
		for (j = 0; sets[i] != NULL && j < sets[i]->n; j++)
			if (reader_has_key(a, reader, sets[i]->v[j].key,
			    sets[i]->v[j].keylen))
				agent_hidden_remove(a, sets[i]->v[j].blob,
				    sets[i]->v[j].bloblen);
}

size_t
agent_certs_matched(struct agent *a, const char *reader)
{
	struct agent_certs	**slot = find_set(a, reader);
	size_t			  i, n = 0;

	for (i = 0; slot != NULL && i < (*slot)->n; i++) {
		const struct agent_cert *c = &(*slot)->v[i];

		if (reader_has_key(a, reader, c->key, c->keylen))
			n++;
		else
			agent_log(a, AGENT_LOG_INFO, "certificate %s certifies "
			    "no key of this ssh-add -s: ignored", c->name);
	}
	return n;
}

void
agent_certsets_free(struct agent *a)
{
	size_t	i;

	for (i = 0; i < a->ncertsets; i++)
		agent_certs_free(a->certsets[i]);
	free(a->certsets);
	a->certsets = NULL;
	a->ncertsets = 0;
	agent_certs_clear(&a->filecerts);
}
