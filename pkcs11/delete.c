/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Destroying a key pair's objects (delete.h).  The objects are found
 * after the login, so that a private key the token hides until then is
 * destroyed too.
 */
#include <string.h>

#include "pkcs11/ctx.h"
#include "pkcs11/delete.h"

#define PAIR_OBJS_MAX	16	/* objects of one class with one id */

struct pick {
	struct tk_p11_token	 tok;
	int			 found;
};

static int
tok_cb(void *arg, const struct tk_p11_token *t)
{
	struct pick	*p = arg;

	if (t->present && !p->found) {
		p->tok = *t;
		p->found = 1;
	}
	return 0;
}

/* Destroy the objects of class cls with this id; *n counts them. */
static int
destroy_class(struct tk_ctx *c, const struct tk_p11_token *t,
    CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const uint8_t *id,
    size_t idlen, size_t *n)
{
	CK_FUNCTION_LIST	*f = t->mod->f;
	CK_ATTRIBUTE		 a[2] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)id, idlen }
	};
	CK_OBJECT_HANDLE	 h[PAIR_OBJS_MAX];
	CK_ULONG		 cnt = 0, i;
	char			 name[32 * 4 + 1];
	CK_RV			 rv;

	if ((rv = f->C_FindObjectsInit(s, a, 2)) == CKR_OK) {
		rv = f->C_FindObjects(s, h, PAIR_OBJS_MAX, &cnt);
		(void)f->C_FindObjectsFinal(s);
	}
	for (i = 0; rv == CKR_OK && i < cnt; i++)
		if ((rv = f->C_DestroyObject(s, h[i])) == CKR_OK)
			(*n)++;
	if (rv != CKR_OK) {
		tk_p11_token_label(t, name, sizeof(name));
		tk_modset_report(&c->ms, tk_p11_rv(rv), "token \"%s\": cannot "
		    "destroy the %s object: %s; %s", name,
		    cls == CKO_PRIVATE_KEY ? "private key" :
		    cls == CKO_PUBLIC_KEY ? "public key" : "certificate",
		    rv == CKR_TOKEN_WRITE_PROTECTED ? "the token is read-only" :
		    rv == CKR_FUNCTION_NOT_SUPPORTED ||
		    rv == CKR_ACTION_PROHIBITED ? "the token does not let "
		    "its keys be deleted" : p11_kit_strerror(rv),
		    *n == 0 ? "nothing of this key was deleted" :
		    "the objects before it were deleted");
	}
	return rv == CKR_OK ? 0 : tk_p11_rv(rv);
}

int
tk_delete_check(struct tk_ctx *c, const char *keyuri)
{
	struct pick	p;
	char		name[32 * 4 + 1];
	int		r;

	memset(&p, 0, sizeof(p));
	if ((r = tk_ctx_walk(c, keyuri, 0, 0, tok_cb, NULL, &p, NULL)) != 0)
		goto out;
	if (p.found && (p.tok.tinfo.flags & CKF_WRITE_PROTECTED)) {
		tk_p11_token_label(&p.tok, name, sizeof(name));
		r = TK_ERR_DENIED;
		tk_modset_report(&c->ms, r, "token \"%s\" is read-only: its "
		    "keys cannot be deleted; nothing deleted", name);
	}
 out:
	return r;
}

int
tk_delete_pair(struct tk_ctx *c, const char *keyuri, const uint8_t *id,
    size_t idlen, size_t *n)
{
	static const CK_OBJECT_CLASS	 classes[] = {
		CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE
	};
	struct pick			 p;
	P11KitUri			*uri = NULL;
	CK_FUNCTION_LIST		*f;
	CK_SESSION_HANDLE		 s;
	char				 name[32 * 4 + 1];
	size_t				 i;
	CK_RV				 rv;
	int				 r, have_s = 0;

	*n = 0;
	memset(&p, 0, sizeof(p));
	if ((r = tk_uri_parse(keyuri, &uri)) != 0 ||
	    (r = tk_ctx_walk(c, keyuri, 0, 0, tok_cb, NULL, &p, NULL)) != 0)
		goto out;
	if (!p.found || idlen == 0) {
		r = TK_ERR_NOT_FOUND;
		goto out;
	}
	f = p.tok.mod->f;
	tk_p11_token_label(&p.tok, name, sizeof(name));
	rv = f->C_OpenSession(p.tok.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &s);
	if (rv != CKR_OK) {
		r = tk_p11_rv(rv);
		tk_modset_report(&c->ms, r, "token \"%s\": cannot open a "
		    "session to write: %s", name,
		    rv == CKR_TOKEN_WRITE_PROTECTED ? "the token is read-only" :
		    p11_kit_strerror(rv));
		goto out;
	}
	have_s = 1;
	if (tk_ctx_login(c, uri, keyuri, &p.tok, s) != 0) {
		r = TK_ERR_DENIED;
		goto out;
	}
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if ((r = destroy_class(c, &p.tok, s, classes[i], id, idlen,
		    n)) != 0)
			goto out;
	r = 0;
 out:
	if (have_s)
		(void)p.tok.mod->f->C_CloseSession(s);
	if (uri != NULL)
		p11_kit_uri_free(uri);
	return r;
}
