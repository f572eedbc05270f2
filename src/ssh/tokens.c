/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Modules, slots and tokens as `tokenkeys tokens` shows them, with the
 * number of distinct keys each token holds.
 */
#include <stdlib.h>
#include <string.h>

#include <p11-kit/p11-kit.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "common/util.h"
#include "pkcs11/ctx.h"
#include "pkcs11/pingate.h"
#include "ssh/sshkey.h"

struct tk_token {
	char		*uri;
	char		*module;
	char		*modname;
	char		*moderr;	/* why it failed to start, or NULL */
	unsigned long	 slot;
	char		 slotdesc[65];
	struct tk_p11_names names;
	unsigned int	 flags;
	size_t		 nkeys;
	uint64_t	*seen;		/* blob hashes while counting */
	size_t		 nseen;
};

struct tk_tokenlist {
	struct tk_token	*t;
	size_t		 n;
};

struct tokarg {
	struct tk_tokenlist	*list;
	struct tk_buf		 blob;
	int			 err;
};

static unsigned int
token_flags(const struct tk_p11_token *t)
{
	CK_FLAGS	f = t->tinfo.flags;
	unsigned int	r = 0;

	if (t->slot == (CK_SLOT_ID)-1)
		r |= TK_TOKEN_NO_SLOT;
	if (t->mod->trust)
		r |= TK_TOKEN_TRUST_MODULE;
	if (!t->mod->ready)
		r |= TK_TOKEN_MODULE_FAILED;
	if (!t->present)
		goto out;
	r |= tk_p11_token_flags(f);
 out:
	return r;
}

static int
on_token(void *arg, const struct tk_p11_token *pt)
{
	struct tokarg	*ta = arg;
	struct tk_token	*t, *nt;
	char		 cause[512];
	int		 r = TK_ERR_NOMEM;

	nt = reallocarray(ta->list->t, ta->list->n + 1, sizeof(*nt));
	if (nt == NULL)
		goto out;
	ta->list->t = nt;
	t = &nt[ta->list->n++];
	memset(t, 0, sizeof(*t));
	t->slot = (unsigned long)pt->slot;
	t->flags = token_flags(pt);
	if ((t->module = strdup(pt->mod->path)) == NULL ||
	    (t->modname = strdup(pt->mod->name)) == NULL)
		goto out;
	if (t->flags & TK_TOKEN_MODULE_FAILED) {
		tk_module_cause(pt->mod, cause, sizeof(cause));
		if ((t->moderr = strdup(cause)) == NULL)
			goto out;
	}
	if (!(t->flags & TK_TOKEN_NO_SLOT)) {
		tk_fixed_string(t->slotdesc,
		    sizeof(t->slotdesc), pt->sinfo.slotDescription,
		    sizeof(pt->sinfo.slotDescription));
		if ((r = tk_uri_for_token(pt, &t->uri)) != 0)
			goto out;
	}
	if (pt->present)
		tk_p11_token_names(pt, &t->names);
	r = 0;
 out:
	if (r != 0)
		ta->err = r;
	return r;
}

/* Objects arrive right after their token: count distinct blobs. */
static int
on_object(void *arg, const struct tk_p11_token *pt,
    const struct tk_p11_object *o)
{
	struct tokarg	*ta = arg;
	struct tk_token	*t;
	uint64_t	 h, *ns;
	size_t		 i;
	int		 r = 0;

	(void)pt;
	if (ta->list->n == 0)
		goto out;
	t = &ta->list->t[ta->list->n - 1];
	tk_buf_reset(&ta->blob);
	/* A key that cannot be encoded is not counted, nor an error here. */
	if (tk_ssh_blob(&o->key, &ta->blob) != 0)
		goto out;
	h = tk_hash64(tk_buf_ptr(&ta->blob), tk_buf_avail(&ta->blob));
	for (i = 0; i < t->nseen; i++)
		if (t->seen[i] == h)
			goto out;
	if ((ns = reallocarray(t->seen, t->nseen + 1, sizeof(*ns))) == NULL) {
		r = TK_ERR_NOMEM;
		ta->err = r;
		goto out;
	}
	t->seen = ns;
	t->seen[t->nseen++] = h;
	t->nkeys++;
 out:
	return r;
}

void
tk_tokenlist_free(struct tk_tokenlist *l)
{
	size_t	i;

	if (l != NULL) {
		for (i = 0; i < l->n; i++) {
			free(l->t[i].uri);
			free(l->t[i].module);
			free(l->t[i].modname);
			free(l->t[i].moderr);
			free(l->t[i].seen);
		}
		free(l->t);
		free(l);
	}
}

int
tk_find_tokens(struct tk_ctx *c, const char *uri, struct tk_tokenlist **out)
{
	struct tokarg	ta;
	size_t		i;
	int		r;

	*out = NULL;
	memset(&ta, 0, sizeof(ta));
	tk_buf_init(&ta.blob, 1 << 20, 0);
	if ((ta.list = calloc(1, sizeof(*ta.list))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	r = tk_ctx_walk(c, uri, 0, 1, on_token, on_object, &ta, NULL);
	if (r == 0 && ta.err != 0)
		r = ta.err;
	for (i = 0; i < ta.list->n; i++) {
		free(ta.list->t[i].seen);
		ta.list->t[i].seen = NULL;
	}
 out:
	tk_buf_free(&ta.blob);
	if (r != 0)
		tk_tokenlist_free(ta.list);
	else
		*out = ta.list;
	return r;
}

size_t
tk_tokenlist_count(const struct tk_tokenlist *l)
{
	return l == NULL ? 0 : l->n;
}

const struct tk_token *
tk_tokenlist_get(const struct tk_tokenlist *l, size_t i)
{
	return l == NULL || i >= l->n ? NULL : &l->t[i];
}

const char *
tk_token_uri(const struct tk_token *t)
{
	return t->uri != NULL ? t->uri : "";
}

const char *
tk_token_module_path(const struct tk_token *t)
{
	return t->module;
}

const char *
tk_token_module_name(const struct tk_token *t)
{
	return t->modname;
}

unsigned long
tk_token_slot_id(const struct tk_token *t)
{
	return t->slot;
}

const char *
tk_token_slot_description(const struct tk_token *t)
{
	return t->slotdesc;
}

const char *
tk_token_label(const struct tk_token *t)
{
	return t->names.label;
}

const char *
tk_token_manufacturer(const struct tk_token *t)
{
	return t->names.manuf;
}

const char *
tk_token_model(const struct tk_token *t)
{
	return t->names.model;
}

const char *
tk_token_serial(const struct tk_token *t)
{
	return t->names.serial;
}

unsigned int
tk_token_flags(const struct tk_token *t)
{
	return t->flags;
}

size_t
tk_token_nkeys(const struct tk_token *t)
{
	return t->nkeys;
}

const char *
tk_token_module_error(const struct tk_token *t)
{
	return t->moderr != NULL ? t->moderr : "";
}
