/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Key pairs found on tokens, as OpenSSH public keys.  The same public key
 * reached twice (two modules, a proxy, a public key object and its
 * certificate) is kept once: the first sighting wins, so a public key
 * object is preferred to its certificate.
 */
#include <stdlib.h>
#include <string.h>

#include <p11-kit/p11-kit.h>

#include "tokenkeys.h"
#include "common/blobidx.h"
#include "common/buf.h"
#include "common/util.h"
#include "pkcs11/ctx.h"
#include "ssh/sshkey.h"

struct tk_key {
	int		 type;
	unsigned int	 bits;
	uint8_t		*blob;
	size_t		 bloblen;
	uint64_t	 hash;
	char		*uri;
	char		*label;
	uint8_t		*id;
	size_t		 idlen;
	struct tk_p11_names tok;
	char		*module;
};

struct tk_keylist {
	struct tk_key	**k;
	size_t		  n, cap;
	struct tk_blobidx idx;		/* by blob */
};

struct findarg {
	struct tk_keylist	*list;
	struct tk_buf		 blob;
	int			 err;
};

static void
key_free(struct tk_key *k)
{
	if (k != NULL) {
		free(k->blob);
		free(k->uri);
		free(k->label);
		free(k->id);
		free(k->module);
		free(k);
	}
}

void
tk_keylist_free(struct tk_keylist *l)
{
	size_t	i;

	if (l != NULL) {
		for (i = 0; i < l->n; i++)
			key_free(l->k[i]);
		free(l->k);
		tk_blobidx_free(&l->idx);
		free(l);
	}
}

size_t
tk_keylist_count(const struct tk_keylist *l)
{
	return l == NULL ? 0 : l->n;
}

const struct tk_key *
tk_keylist_get(const struct tk_keylist *l, size_t i)
{
	return l == NULL || i >= l->n ? NULL : l->k[i];
}

/* For the blob index: key i of the list. */
static const uint8_t *
entry(const void *arg, size_t i, size_t *len, uint64_t *hash)
{
	const struct tk_keylist	*l = arg;

	*len = l->k[i]->bloblen;
	*hash = l->k[i]->hash;
	return l->k[i]->blob;
}

static int
key_new(const struct tk_p11_token *t, const struct tk_p11_object *o,
    const struct tk_buf *blob, uint64_t h, struct tk_key **out)
{
	struct tk_key	*k;
	int		 r = TK_ERR_NOMEM;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		goto out;
	k->type = o->key.type;
	k->bits = o->key.bits;
	k->hash = h;
	k->bloblen = tk_buf_avail(blob);
	if ((k->blob = malloc(k->bloblen)) == NULL ||
	    (k->label = strdup(o->label)) == NULL ||
	    (k->id = malloc(o->idlen + 1)) == NULL)
		goto out;
	memcpy(k->blob, tk_buf_ptr(blob), k->bloblen);
	memcpy(k->id, o->id, o->idlen);
	k->idlen = o->idlen;
	tk_p11_token_names(t, &k->tok);
	k->module = strdup(t->mod->rpath != NULL ? t->mod->rpath :
	    t->mod->path);
	if (k->module == NULL)
		goto out;
	if ((r = tk_uri_for_key(t, o, &k->uri)) != 0)
		goto out;
	*out = k;
	k = NULL;
 out:
	key_free(k);
	return r;
}

static int
found(void *arg, const struct tk_p11_token *t, const struct tk_p11_object *o)
{
	struct findarg		*fa = arg;
	struct tk_keylist	*l = fa->list;
	struct tk_key		*k = NULL, **nk;
	size_t			*slot;
	uint64_t		 h;
	int			 r;

	tk_buf_reset(&fa->blob);
	if ((r = tk_ssh_blob(&o->key, &fa->blob)) != 0)
		goto out;
	h = tk_hash64(tk_buf_ptr(&fa->blob), tk_buf_avail(&fa->blob));
	if ((r = tk_blobidx_reserve(&l->idx, l->n, entry, l)) != 0)
		goto out;
	slot = tk_blobidx_slot(&l->idx, tk_buf_ptr(&fa->blob),
	    tk_buf_avail(&fa->blob), h, entry, l);
	if (*slot != 0)
		goto out;	/* seen before */
	if (l->n == l->cap) {
		nk = reallocarray(l->k, l->cap ? l->cap * 2 : 16, sizeof(*nk));
		if (nk == NULL) {
			r = TK_ERR_NOMEM;
			goto out;
		}
		l->k = nk;
		l->cap = l->cap ? l->cap * 2 : 16;
	}
	if ((r = key_new(t, o, &fa->blob, h, &k)) != 0)
		goto out;
	l->k[l->n++] = k;
	*slot = l->n;
 out:
	if (r != 0)
		fa->err = r;
	return r;
}

int
tk_find_keys(struct tk_ctx *c, const char *uri, int flags,
    struct tk_keylist **list)
{
	struct findarg	fa;
	size_t		matched = 0;
	int		r, created = 0;

	memset(&fa, 0, sizeof(fa));
	tk_buf_init(&fa.blob, 1 << 20, 0);
	if (*list == NULL) {
		if ((*list = calloc(1, sizeof(**list))) == NULL) {
			r = TK_ERR_NOMEM;
			goto out;
		}
		created = 1;
	}
	fa.list = *list;
	/* a listing says which CA certificates only a login can decide */
	c->ms.note_undecided = 1;
	r = tk_ctx_walk(c, uri, flags, 0, NULL, found, &fa, &matched);
	c->ms.note_undecided = 0;
	if (r == 0 && fa.err != 0)
		r = fa.err;
	if (r == 0 && matched == 0)
		r = TK_ERR_NOT_FOUND;
 out:
	if (r != 0 && r != TK_ERR_NOT_FOUND && created) {
		tk_keylist_free(*list);
		*list = NULL;
	}
	tk_buf_free(&fa.blob);
	return r;
}

int
tk_key_type(const struct tk_key *k)
{
	return k->type;
}

const char *
tk_key_type_name(const struct tk_key *k)
{
	return tk_ssh_type_name(k->type);
}

const char *
tk_key_type_short(const struct tk_key *k)
{
	return tk_ssh_type_short(k->type);
}

unsigned int
tk_key_bits(const struct tk_key *k)
{
	return k->bits;
}

const uint8_t *
tk_key_blob(const struct tk_key *k, size_t *len)
{
	*len = k->bloblen;
	return k->blob;
}

const char *
tk_key_uri(const struct tk_key *k)
{
	return k->uri;
}

const char *
tk_key_label(const struct tk_key *k)
{
	return k->label;
}

const uint8_t *
tk_key_id(const struct tk_key *k, size_t *len)
{
	*len = k->idlen;
	return k->id;
}

const char *
tk_key_token_label(const struct tk_key *k)
{
	return k->tok.label;
}

const char *
tk_key_token_serial(const struct tk_key *k)
{
	return k->tok.serial;
}

const char *
tk_key_token_manufacturer(const struct tk_key *k)
{
	return k->tok.manuf;
}

const char *
tk_key_token_model(const struct tk_key *k)
{
	return k->tok.model;
}

const char *
tk_key_module_path(const struct tk_key *k)
{
	return k->module;
}

int
tk_key_fingerprint(const struct tk_key *k, int alg, char *buf, size_t bufsz)
{
	return tk_blob_fingerprint(k->blob, k->bloblen, alg, buf, bufsz);
}
