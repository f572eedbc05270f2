/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The helper's keys: what a listing reports, and the table from OpenSSH
 * blob to the signer's key entry that SIGN, LOGIN and TOKEN requests go
 * through.  A blob the table does not know (or whose token moved) makes
 * the helper walk the module again before it gives up.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "common/util.h"
#include "helper/helper.h"
#include "helper/hproto.h"
#include "pkcs11/registry.h"
#include "ssh/sshkey.h"

#define HK_ENTRIES_MAX	65536

struct listarg {
	struct helper	*h;
	int		 collect;
	struct tk_hkey	*out;
	size_t		 n, cap;
	struct tk_buf	 blob;
	unsigned int	 gen;
	int		 err;
};

int
hk_init(struct hk_table *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
	pthread_mutex_init(&t->walk_mu, NULL);
	return 0;
}

void
hk_free(struct hk_table *t)
{
	size_t	i;

	for (i = 0; i < t->n; i++)
		free(t->ents[i].blob);
	free(t->ents);
	tk_blobidx_free(&t->idx);
	pthread_mutex_destroy(&t->mu);
	pthread_mutex_destroy(&t->walk_mu);
	memset(t, 0, sizeof(*t));
}

/* For the blob index: entry i of the table. */
static const uint8_t *
hk_entry(const void *arg, size_t i, size_t *len, uint64_t *hash)
{
	const struct hk_table	*t = arg;

	*len = t->ents[i].bloblen;
	*hash = t->ents[i].hash;
	return t->ents[i].blob;
}

/*
 * With t->mu held: the entry for blob, made if new.  *first tells
 * whether this listing generation reports it for the first time.
 */
static int
hk_put(struct hk_table *t, const uint8_t *blob, size_t len, int type,
    struct tk_skey *sk, unsigned int gen, int *first)
{
	struct hk_ent	*e, *ne;
	size_t		*slot;
	uint64_t	 h = tk_hash64(blob, len);
	int		 r = 0;

	if ((r = tk_blobidx_reserve(&t->idx, t->n, hk_entry, t)) != 0)
		goto out;
	slot = tk_blobidx_slot(&t->idx, blob, len, h, hk_entry, t);
	if (*slot == 0) {
		if (t->n >= HK_ENTRIES_MAX) {
			r = TK_ERR_RANGE;
			goto out;
		}
		if (t->n == t->cap) {
			ne = reallocarray(t->ents, t->cap ? t->cap * 2 : 16,
			    sizeof(*ne));
			if (ne == NULL) {
				r = TK_ERR_NOMEM;
				goto out;
			}
			t->ents = ne;
			t->cap = t->cap ? t->cap * 2 : 16;
		}
		e = &t->ents[t->n];
		memset(e, 0, sizeof(*e));
		if ((e->blob = malloc(len)) == NULL) {
			r = TK_ERR_NOMEM;
			goto out;
		}
		memcpy(e->blob, blob, len);
		e->bloblen = len;
		e->hash = h;
		*slot = ++t->n;
	}
	e = &t->ents[*slot - 1];
	e->type = type;
	e->sk = sk;
	*first = e->listgen != gen;
	e->listgen = gen;
 out:
	return r;
}

static int
on_token(void *arg, const struct tk_p11_token *t)
{
	struct listarg	*la = arg;
	char		 serial[17];

	if (t->present) {
		tk_fixed_string(serial, sizeof(serial), t->tinfo.serialNumber,
		    sizeof(t->tinfo.serialNumber));
		tk_signer_seen(la->h->sg, t->slot, serial);
	}
	return 0;
}

static int
append(struct listarg *la, const struct tk_p11_token *t,
    const struct tk_p11_object *o, struct tk_skey *sk)
{
	struct tk_hkey	*k, *nk;
	char		 s[33];
	int		 r = TK_ERR_NOMEM;

	if (la->n == la->cap) {
		nk = reallocarray(la->out, la->cap ? la->cap * 2 : 16,
		    sizeof(*nk));
		if (nk == NULL)
			goto out;
		la->out = nk;
		la->cap = la->cap ? la->cap * 2 : 16;
	}
	k = &la->out[la->n];
	memset(k, 0, sizeof(*k));
	la->n++;
	k->bloblen = tk_buf_avail(&la->blob);
	if ((k->blob = malloc(k->bloblen)) == NULL ||
	    (k->label = strdup(o->label)) == NULL)
		goto out;
	memcpy(k->blob, tk_buf_ptr(&la->blob), k->bloblen);
	tk_fixed_string(s, sizeof(s), t->tinfo.label, sizeof(t->tinfo.label));
	if ((k->token_label = strdup(s)) == NULL)
		goto out;
	tk_fixed_string(s, sizeof(s), t->tinfo.serialNumber,
	    sizeof(t->tinfo.serialNumber));
	if ((k->token_serial = strdup(s)) == NULL)
		goto out;
	if ((r = tk_uri_for_key(t, o, &k->uri)) != 0)
		goto out;
	if (tk_skey_always_auth(la->h->sg, sk))
		k->flags |= TK_HKEY_ALWAYS_AUTH;
	r = 0;
 out:
	return r;
}

static int
on_object(void *arg, const struct tk_p11_token *t,
    const struct tk_p11_object *o)
{
	struct listarg	*la = arg;
	struct hk_table	*tab = &la->h->keys;
	struct tk_skey	*sk;
	char		 serial[17];
	int		 first = 0, r;

	tk_buf_reset(&la->blob);
	if (tk_ssh_blob(&o->key, &la->blob) != 0)
		return 0;	/* a key we cannot express: not ours to list */
	tk_fixed_string(serial, sizeof(serial), t->tinfo.serialNumber,
	    sizeof(t->tinfo.serialNumber));
	if ((r = tk_signer_add(la->h->sg, &o->key, t->slot, serial, o->id,
	    o->idlen, &sk)) != 0)
		goto out;
	pthread_mutex_lock(&tab->mu);
	r = hk_put(tab, tk_buf_ptr(&la->blob), tk_buf_avail(&la->blob),
	    o->key.type, sk, la->gen, &first);
	pthread_mutex_unlock(&tab->mu);
	if (r == 0 && first && la->collect)
		r = append(la, t, o, sk);
 out:
	if (r != 0 && la->err == 0)
		la->err = r;
	/* too many keys is the token's problem: list what fits */
	return r == TK_ERR_NOMEM ? r : 0;
}

/* Walk the module's tokens matching uri. */
static int
walk(struct helper *h, const char *uristr, struct listarg *la)
{
	struct tk_walk	 w;
	P11KitUri	*uri = NULL;
	const char	*mp;
	char		*rp = NULL;
	int		 r;

	tk_buf_init(&la->blob, TK_HP_BLOB_MAX, 0);
	if ((r = tk_uri_parse(uristr, &uri)) != 0)
		goto out;
	if ((mp = p11_kit_uri_get_module_path(uri)) != NULL) {
		/* this helper serves its own module and no other */
		rp = realpath(mp, NULL);
		if (rp == NULL || h->mod->rpath == NULL ||
		    strcmp(rp, h->mod->rpath) != 0)
			goto out;
	}
	memset(&w, 0, sizeof(w));
	w.uri = uri;
	w.tokfn = on_token;
	w.objfn = on_object;
	w.arg = la;
	w.retry_lost = 1;	/* on_object reports a key once per listing */
	pthread_mutex_lock(&h->keys.walk_mu);
	pthread_mutex_lock(&h->keys.mu);
	la->gen = ++h->keys.listgen;
	pthread_mutex_unlock(&h->keys.mu);
	r = tk_p11_walk(&h->ms, &w);
	pthread_mutex_unlock(&h->keys.walk_mu);
	if (r == 0 && la->err == TK_ERR_NOMEM)
		r = la->err;
 out:
	free(rp);
	if (uri != NULL)
		p11_kit_uri_free(uri);
	tk_buf_free(&la->blob);
	return r;
}

int
hk_list(struct helper *h, const char *uri, struct tk_hkey **keys, size_t *n)
{
	struct listarg	la;
	int		r;

	memset(&la, 0, sizeof(la));
	la.h = h;
	la.collect = 1;
	*keys = NULL;
	*n = 0;
	if ((r = walk(h, uri, &la)) != 0)
		goto out;
	*keys = la.out;
	*n = la.n;
	la.out = NULL;
	la.n = 0;
 out:
	tk_hkeys_free(la.out, la.n);
	return r;
}

static int
find(struct hk_table *t, const uint8_t *blob, size_t len, struct hk_ent *out)
{
	size_t	*slot;
	int	 r = TK_ERR_NOT_FOUND;

	pthread_mutex_lock(&t->mu);
	slot = tk_blobidx_slot(&t->idx, blob, len, tk_hash64(blob, len),
	    hk_entry, t);
	if (slot != NULL && *slot != 0) {
		*out = t->ents[*slot - 1];
		r = 0;
	}
	pthread_mutex_unlock(&t->mu);
	return r;
}

int
hk_lookup(struct helper *h, const uint8_t *blob, size_t len, int rescan,
    struct hk_ent *out)
{
	struct listarg	la;
	int		r;

	if (!rescan && (r = find(&h->keys, blob, len, out)) == 0)
		goto out;
	memset(&la, 0, sizeof(la));
	la.h = h;
	if ((r = walk(h, "pkcs11:", &la)) != 0)
		goto out;
	r = find(&h->keys, blob, len, out);
 out:
	return r;
}

int
hk_presence(struct helper *h, uint64_t *digest)
{
	*digest = 0;
	if (h->mod == NULL)
		return TK_ERR_MODULE;
	return tk_p11_presence(h->mod, digest);
}

int
hk_registry_paths(char ***pathsp, size_t *np)
{
	/* trust-policy modules hold CA certificates, never keys */
	return tk_p11_registry_paths(NULL, TK_REG_SKIP_TRUST, pathsp, np);
}
