/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The served set: the union of the sources' keys minus the hidden blobs
 * (a later source's constraints win for a key that two sources list),
 * and the IDENTITIES_ANSWER built from it whenever it changes, so listing
 * never waits for a token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "agent/agent.h"

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
	k->dests = s->dests;	/* the source's; both live under a->lock */
	r = 0;
 out:
	return r;
}

/* What adding one identity needs: the set's capacity and the key. */
struct add_ctx {
	struct agent		*a;
	struct agent_source	*s;
	const struct tk_hkey	*h;
	size_t			 cap;
};

/*
 * Serve blob (the key's own, or a certificate of it) with the source's
 * rules; a blob already served takes the later source's.
 */
static int
add_identity(struct add_ctx *x, const uint8_t *blob, size_t len, int cert)
{
	struct agent	*a = x->a;
	struct agent_key *nk;
	size_t		 k;
	int		 r = 0;

	if (agent_hidden_has(a, blob, len))
		goto out;
	for (k = 0; k < a->nkeys; k++)
		if (agent_blob_eq(a->keys[k].blob, a->keys[k].bloblen, blob,
		    len))
			break;
	if (k == a->nkeys) {
		if (a->nkeys >= x->cap)
			goto out;
		if ((a->keys[k].blob = malloc(len)) == NULL) {
			r = TK_ERR_NOMEM;
			goto out;
		}
		memcpy(a->keys[k].blob, blob, len);
		a->keys[k].bloblen = len;
		a->nkeys++;
	}
	nk = &a->keys[k];
	nk->cert = cert;
	r = key_set(nk, x->s, x->h);
 out:
	return r;
}

static int
add_cert(void *arg, const struct agent_cert *c)
{
	return add_identity(arg, c->blob, c->bloblen, 1);
}

/* Rebuild the served set and the ready answer; a->lock held. */
int
agent_rebuild(struct agent *a)
{
	struct add_ctx		 x;
	struct agent_source	*s;
	size_t			 i, j, n = 0, mark = 0;
	int			 r = 0, only;

	keys_clear(a);
	a->ndestkeys = 0;
	agent_certs_begin(a);
	for (i = 0; i < a->nsrcs; i++)
		n += a->srcs[i]->nkeys;
	n += agent_certs_count(a);
	if (n > AGENT_MAX_KEYS)
		n = AGENT_MAX_KEYS;
	if (n > 0 && (a->keys = calloc(n, sizeof(*a->keys))) == NULL) {
		r = TK_ERR_NOMEM;
		goto answer;
	}
	x.a = a;
	x.cap = n;
	for (i = 0; i < a->nsrcs; i++) {
		s = a->srcs[i];
		x.s = s;
		only = agent_certs_only(a, s->reader);
		for (j = 0; j < s->nkeys; j++) {
			const struct tk_hkey *h = &s->keys[j];

			/* a removed key takes its certificates with it */
			if (h->blob == NULL || h->bloblen == 0 ||
			    agent_hidden_has(a, h->blob, h->bloblen))
				continue;
			x.h = h;
			if ((!only && (r = add_identity(&x, h->blob,
			    h->bloblen, 0)) != 0) ||
			    (r = agent_certs_each(a, s->reader, h->blob,
			    h->bloblen, add_cert, &x)) != 0)
				goto answer;
		}
	}
 answer:
	tk_buf_reset(&a->idanswer);
	if (tk_buf_put_u8(&a->idanswer, SSH_AGENT_IDENTITIES_ANSWER) != 0 ||
	    tk_buf_put_u32(&a->idanswer, (uint32_t)a->nkeys) != 0)
		r = TK_ERR_NOMEM;
	for (i = 0; i < a->nkeys; i++)
		if (a->keys[i].dests != NULL)
			a->ndestkeys++;
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
		tk_be32_put(a->idanswer.d + 1, (uint32_t)i);
		r = 0;
	}
	if (r != 0) {
		/* never answer with a half-written list */
		tk_buf_reset(&a->idanswer);
		keys_clear(a);
		a->ndestkeys = 0;
		(void)tk_buf_put_u8(&a->idanswer, SSH_AGENT_IDENTITIES_ANSWER);
		(void)tk_buf_put_u32(&a->idanswer, 0);
	}
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
		if (!agent_blob_eq(a->keys[i].blob, a->keys[i].bloblen, blob,
		    len))
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

void
agent_keyset_free(struct agent *a)
{
	keys_clear(a);
	tk_buf_free(&a->idanswer);
}
