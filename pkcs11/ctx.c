/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The library context and the walk it drives, with an optional login
 * before objects are searched (for tokens that hide keys until then).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/pinsrc.h"
#include "common/secret.h"
#include "pkcs11/ctx.h"
#include "pkcs11/pingate.h"

struct walkarg {
	struct tk_ctx	*ctx;
	P11KitUri	*uri;
	const char	*uristr;
	tk_token_cb	*tokfn;
	tk_object_cb	*objfn;
	void		*arg;
	size_t		 matched;
};

int
tk_ctx_new(struct tk_ctx **out, int flags)
{
	struct tk_ctx	*c;
	int		 r = TK_ERR_NOMEM;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto out;
	c->flags = flags;
	tk_modset_init(&c->ms, NULL, NULL);
	c->ms.capture = (flags & TK_CTX_CAPTURE_STDERR) != 0;
	*out = c;
	r = 0;
 out:
	return r;
}

void
tk_ctx_free(struct tk_ctx *c)
{
	if (c != NULL) {
		tk_modset_free(&c->ms);
		free(c);
	}
}

void
tk_ctx_set_log(struct tk_ctx *c, tk_log_fn *fn, void *arg)
{
	c->ms.log = fn;
	c->ms.logarg = arg;
}

void
tk_ctx_set_pin_fn(struct tk_ctx *c, tk_pin_fn *fn, void *arg)
{
	c->pinfn = fn;
	c->pinarg = arg;
}

unsigned int
tk_ctx_errors(const struct tk_ctx *c)
{
	return c->ms.errors;
}

int
tk_ctx_add_module(struct tk_ctx *c, const char *path)
{
	return tk_modset_load_path(&c->ms, path, NULL);
}

/*
 * The first line of the URI's pin-source file, straight into the caller's
 * buffer; the file must be ours and private (pinsrc.c), as for the agent.
 */
static int
pin_from_source(struct tk_ctx *c, const char *uri, const char *name,
    char *pin, size_t pinsz, size_t *len)
{
	struct tk_fileid	 id;
	char			*path = NULL;
	char			 why[256];
	int			 r;

	if ((r = tk_pinsrc_from_uri(uri, &path)) != 0 || path == NULL) {
		r = r != 0 ? r : TK_ERR_INVAL;
		tk_modset_report(&c->ms, r, "token \"%s\": %s", name,
		    tk_pinsrc_uri_error(r));
		goto out;
	}
	if ((r = tk_pinsrc_read(path, pin, pinsz, len, &id, why,
	    sizeof(why))) != 0)
		tk_modset_report(&c->ms, r, "token \"%s\": pin-source %s "
		    "refused: %s", name, path, why);
 out:
	free(path);
	return r;
}

int
tk_ctx_login(struct tk_ctx *c, P11KitUri *uri, const char *uristr,
    const struct tk_p11_token *t, CK_SESSION_HANDLE s)
{
	CK_FUNCTION_LIST	*f = t->mod->f;
	CK_SESSION_INFO		 si;
	char			 name[32 * 4 + 1];
	char			*pin = NULL;
	size_t			 len = 0;
	enum tk_pin_from	 from;
	enum tk_pin_gate	 g;
	CK_RV			 rv;
	int			 r = 0, tries = -1;

	if (!(t->tinfo.flags & CKF_LOGIN_REQUIRED))
		goto out;
	if (f->C_GetSessionInfo(s, &si) == CKR_OK &&
	    (si.state == CKS_RO_USER_FUNCTIONS ||
	    si.state == CKS_RW_USER_FUNCTIONS))
		goto out;
	tk_p11_token_label(t, name, sizeof(name));
	from = p11_kit_uri_get_pin_source(uri) != NULL ||
	    p11_kit_uri_get_pin_value(uri) != NULL ? TK_PIN_FROM_FILE :
	    TK_PIN_FROM_PROMPT;
	g = tk_pin_gate(tk_p11_token_flags(t->tinfo.flags), from);
	if (g == TK_PIN_REFUSE_LOCKED) {
		tk_modset_report(&c->ms, TK_ERR_PIN_LOCKED, "token \"%s\" is "
		    "locked: PIN retries exhausted; unlock it with the PUK "
		    "or SO PIN", name);
		r = -1;
		goto out;
	}
	if (g == TK_PIN_REFUSE_FINAL) {
		/* Not even read: a PIN nobody typed never gets the last try. */
		tk_modset_report(&c->ms, TK_ERR_DENIED, "token \"%s\" has one "
		    "PIN try left: the pin-source PIN is not tried (a wrong "
		    "one would lock it); log in once by typing the PIN "
		    "(tokenkeys list --login without pin-source), or unblock "
		    "the PIN", name);
		r = -1;
		goto out;
	}
	if (g == TK_PIN_USE_PAD) {
		rv = f->C_Login(s, CKU_USER, NULL, 0);
		goto done;
	}
	if ((r = tk_secret_alloc((void **)&pin, TK_PIN_MAX)) != 0)
		goto out;
	if (from == TK_PIN_FROM_FILE) {
		if ((r = pin_from_source(c, uristr, name, pin, TK_PIN_MAX,
		    &len)) != 0) {
			r = -1;
			goto out;
		}
	} else if (c->pinfn != NULL) {
		/* The person is told in the prompt; cancelling refuses. */
		if (g == TK_PIN_CONFIRM_FINAL)
			tries = 1;
		r = c->pinfn(c->pinarg, name, tries, pin, TK_PIN_MAX, &len);
	} else
		r = TK_ERR_NO_PROMPT;
	if (r != 0) {
		tk_modset_report(&c->ms, r, "token \"%s\": no PIN: %s", name,
		    tk_strerror(r));
		r = -1;
		goto out;
	}
	rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)pin, len);
 done:
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		tk_modset_report(&c->ms, tk_p11_rv(rv), "token \"%s\": login "
		    "failed: %s", name, rv == CKR_PIN_INCORRECT ?
		    "wrong PIN" : p11_kit_strerror(rv));
		r = -1;
	}
 out:
	tk_secret_free(pin, TK_PIN_MAX);
	return r;
}

static int
login_cb(void *arg, const struct tk_p11_token *t, CK_SESSION_HANDLE s)
{
	struct walkarg	*wa = arg;

	return tk_ctx_login(wa->ctx, wa->uri, wa->uristr, t, s);
}

static int
tok_cb(void *arg, const struct tk_p11_token *t)
{
	struct walkarg	*wa = arg;

	return wa->tokfn(wa->arg, t);
}

static int
obj_cb(void *arg, const struct tk_p11_token *t, const struct tk_p11_object *o)
{
	struct walkarg	*wa = arg;

	wa->matched++;
	return wa->objfn != NULL ? wa->objfn(wa->arg, t, o) : 0;
}

int
tk_ctx_walk(struct tk_ctx *c, const char *uristr, int findflags,
    int all_slots, tk_token_cb *tokfn, tk_object_cb *objfn, void *arg,
    size_t *matched)
{
	struct walkarg	 wa;
	struct tk_walk	 w;
	P11KitUri	*uri = NULL;
	const char	*mp;
	int		 r;

	memset(&wa, 0, sizeof(wa));
	if ((r = tk_uri_parse(uristr, &uri)) != 0)
		goto out;
	if ((mp = p11_kit_uri_get_module_path(uri)) != NULL) {
		if (c->flags & TK_CTX_NO_URI_MODULES) {
			r = TK_ERR_DENIED;
			goto out;
		}
		if ((r = tk_modset_load_path(&c->ms, mp, NULL)) != 0)
			goto out;
	} else if (!(c->flags & TK_CTX_NO_REGISTRY) && !c->registry) {
		c->registry = 1;
		(void)tk_modset_load_registry(&c->ms);
	}
	wa.ctx = c;
	wa.uri = uri;
	wa.uristr = uristr != NULL ? uristr : "pkcs11:";
	wa.tokfn = tokfn;
	wa.objfn = objfn;
	wa.arg = arg;
	memset(&w, 0, sizeof(w));
	w.uri = uri;
	w.all_slots = all_slots;
	w.tokfn = tokfn != NULL ? tok_cb : NULL;
	w.objfn = objfn != NULL ? obj_cb : NULL;
	w.loginfn = (findflags & TK_FIND_LOGIN) ? login_cb : NULL;
	w.arg = &wa;
	r = tk_p11_walk(&c->ms, &w);
 out:
	if (matched != NULL)
		*matched = wa.matched;
	if (uri != NULL)
		p11_kit_uri_free(uri);
	return r;
}
