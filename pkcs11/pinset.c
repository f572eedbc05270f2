/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Changing and unblocking PINs (pinset.h).
 */
#include "pkcs11/ctx.h"
#include "pkcs11/pingate.h"
#include "pkcs11/pinset.h"

unsigned int
tk_pin_state(const struct tk_p11_token *t, int so, size_t *min, size_t *max)
{
	CK_FLAGS	f = t->tinfo.flags;
	unsigned int	r;

	r = tk_p11_token_flags(f & ~(CK_FLAGS)(CKF_USER_PIN_COUNT_LOW |
	    CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED));
	if (so ? (f & CKF_SO_PIN_COUNT_LOW) : (f & CKF_USER_PIN_COUNT_LOW))
		r |= TK_TOKEN_PIN_COUNT_LOW;
	if (so ? (f & CKF_SO_PIN_FINAL_TRY) : (f & CKF_USER_PIN_FINAL_TRY))
		r |= TK_TOKEN_PIN_FINAL_TRY;
	if (so ? (f & CKF_SO_PIN_LOCKED) : (f & CKF_USER_PIN_LOCKED))
		r |= TK_TOKEN_PIN_LOCKED;
	*min = t->tinfo.ulMinPinLen;
	*max = t->tinfo.ulMaxPinLen;
	/* "no bound" as some modules say it */
	if (*max == 0 || *max == CK_UNAVAILABLE_INFORMATION || *max > 4096)
		*max = 0;
	if (*min == CK_UNAVAILABLE_INFORMATION || *min > 4096)
		*min = 0;
	return r;
}

static const char *
why(CK_RV rv)
{
	switch (rv) {
	case CKR_PIN_INCORRECT:
		return "wrong PIN";
	case CKR_PIN_LOCKED:
		return "the PIN is locked";
	case CKR_PIN_LEN_RANGE:
	case CKR_PIN_INVALID:
		return "the token refused the new PIN (length or characters)";
	case CKR_TOKEN_WRITE_PROTECTED:
		return "the token is read-only";
	case CKR_FUNCTION_NOT_SUPPORTED:
		return "the token (or its middleware) cannot do this";
	case CKR_GENERAL_ERROR:
		/* OpenSC says a wrong PIN so, and a card that cannot too */
		return "the token failed (a wrong PIN, or a token that "
		    "cannot do this)";
	default:
		return p11_kit_strerror(rv);
	}
}

static int
open_rw(struct tk_ctx *c, const struct tk_p11_token *t, const char *name,
    CK_SESSION_HANDLE *s)
{
	CK_RV	rv;

	rv = t->mod->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION |
	    CKF_RW_SESSION, NULL, NULL, s);
	if (rv != CKR_OK)
		tk_modset_report(&c->ms, tk_p11_rv(rv), "token \"%s\": cannot "
		    "open a session to write: %s", name, why(rv));
	return rv == CKR_OK ? 0 : tk_p11_rv(rv);
}

int
tk_pin_change(struct tk_ctx *c, const struct tk_p11_token *t, int so,
    const char *old, size_t oldlen, const char *new, size_t newlen)
{
	CK_FUNCTION_LIST	*f = t->mod->f;
	CK_SESSION_HANDLE	 s;
	char			 name[32 * 4 + 1];
	const char		*what = so ? "SO PIN" : "PIN";
	CK_RV			 rv;
	int			 r;

	tk_p11_token_label(t, name, sizeof(name));
	if ((r = open_rw(c, t, name, &s)) != 0)
		goto out;
	rv = CKR_OK;
	if (so)
		rv = f->C_Login(s, CKU_SO, (CK_UTF8CHAR *)old,
		    old != NULL ? oldlen : 0);
	if (rv == CKR_OK)
		rv = f->C_SetPIN(s, (CK_UTF8CHAR *)old,
		    old != NULL ? oldlen : 0, (CK_UTF8CHAR *)new,
		    new != NULL ? newlen : 0);
	if (so)
		(void)f->C_Logout(s);
	(void)f->C_CloseSession(s);
	r = rv == CKR_OK ? 0 : tk_p11_rv(rv);
	if (rv != CKR_OK)
		tk_modset_report(&c->ms, r, "token \"%s\": the %s was not "
		    "changed: %s", name, what, why(rv));
 out:
	return r;
}

int
tk_pin_unblock(struct tk_ctx *c, const struct tk_p11_token *t,
    const char *sopin, size_t solen, const char *new, size_t newlen)
{
	CK_FUNCTION_LIST	*f = t->mod->f;
	CK_SESSION_HANDLE	 s;
	char			 name[32 * 4 + 1];
	CK_RV			 rv;
	int			 r, in = 0;

	tk_p11_token_label(t, name, sizeof(name));
	if ((r = open_rw(c, t, name, &s)) != 0)
		goto out;
	rv = f->C_Login(s, CKU_SO, (CK_UTF8CHAR *)sopin,
	    sopin != NULL ? solen : 0);
	if (rv != CKR_OK)
		tk_modset_report(&c->ms, tk_p11_rv(rv), "token \"%s\": SO "
		    "login failed: %s", name, why(rv));
	else {
		in = 1;
		rv = f->C_InitPIN(s, (CK_UTF8CHAR *)new,
		    new != NULL ? newlen : 0);
		if (rv != CKR_OK)
			tk_modset_report(&c->ms, tk_p11_rv(rv), "token \"%s\": "
			    "the user PIN was not set: %s", name, why(rv));
	}
	if (in)
		(void)f->C_Logout(s);
	(void)f->C_CloseSession(s);
	r = rv == CKR_OK ? 0 : tk_p11_rv(rv);
 out:
	return r;
}
