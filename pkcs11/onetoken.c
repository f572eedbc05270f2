/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one token a URI selects (onetoken.h).
 */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/ctx.h"
#include "pkcs11/onetoken.h"

#define CAND_MAX	16	/* candidate tokens we name */

struct pick {
	struct tk_p11_token	 tok;
	size_t			 n;
	char			*cands[CAND_MAX];
};

static int
tok_cb(void *arg, const struct tk_p11_token *t)
{
	struct pick	*p = arg;

	if (!t->present)
		return 0;
	if (p->n == 0)
		p->tok = *t;
	if (p->n < CAND_MAX)
		(void)tk_uri_for_token(t, &p->cands[p->n]);
	p->n++;
	return 0;
}

int
tk_one_token(struct tk_ctx *c, const char *uri, struct tk_p11_token *t)
{
	struct pick	p;
	size_t		i;
	int		r;

	memset(&p, 0, sizeof(p));
	if ((r = tk_ctx_walk(c, uri, 0, 0, tok_cb, NULL, &p, NULL)) != 0)
		goto out;
	if (p.n == 0) {
		r = TK_ERR_NOT_FOUND;
		goto out;
	}
	if (p.n > 1) {
		r = TK_ERR_RANGE;
		tk_modset_report(&c->ms, r, "%zu tokens match; name one of "
		    "them:", p.n);
		for (i = 0; i < p.n && i < CAND_MAX; i++)
			if (p.cands[i] != NULL && c->ms.log != NULL)
				c->ms.log(c->ms.logarg, r, p.cands[i]);
		goto out;
	}
	*t = p.tok;
	r = 0;
 out:
	for (i = 0; i < CAND_MAX; i++)
		free(p.cands[i]);
	return r;
}
