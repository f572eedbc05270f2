/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: logins and PIN changes.  The emulated user PIN counter
 * (pin_tries, login_error), the PIN pad (protected_auth, so_pin, pad_new),
 * the SO login of so_keygen, and the context-specific login of always_auth
 * keys, checked against the last PIN that worked.
 */

#include <string.h>

#include "faultmod.h"

/* Guarded by g_mtx; wiped on C_Finalize and before each change. */
static unsigned char	 g_goodpin[MAX_STR];
static size_t		 g_goodpinlen;
static int		 g_have_goodpin;

/* What C_Finalize does to the remembered PIN; g_mtx held. */
void
pin_forget_locked(void)
{
	explicit_bzero(g_goodpin, sizeof(g_goodpin));
	g_have_goodpin = 0;
}

static void
remember_pin(const unsigned char *pin, CK_ULONG len)
{
	pthread_mutex_lock(&g_mtx);
	pin_forget_locked();
	if (pin != NULL && len <= sizeof(g_goodpin)) {
		memcpy(g_goodpin, pin, len);
		g_goodpinlen = len;
		g_have_goodpin = 1;
	}
	pthread_mutex_unlock(&g_mtx);
}

static int	wrong_pin(CK_RV);

static CK_RV
w_InitPIN(CK_SESSION_HANDLE s, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_InitPIN, K_SESSION, &s)) != CKR_OK)
		goto out;
	if (pin == NULL && c.ctl->protected_auth) {
		/* The PIN pad: the new PIN is what the user types there. */
		if (!c.ctl->has_pad_new) {
			rv = CKR_PIN_INVALID;
			goto out;
		}
		pin = c.ctl->pad_new;
		len = c.ctl->pad_newlen;
	}
	if ((rv = g_real->C_InitPIN(s, pin, len)) == CKR_OK) {
		remember_pin(pin, len);
		/* a PIN the SO sets unblocks, as on a card */
		c.pin_hash = hash_bytes(pin, len);
		state_txn(&c, -1, PIN_CHANGED);
	}
 out:
	call_leave(&c);
	return rv;
}

/* Logged in as SO on s (really, or as so_keygen emulates it)? */
static int
so_session(CK_SESSION_HANDLE s)
{
	CK_SESSION_INFO si;

	return login_is_so() || (g_real->C_GetSessionInfo(s, &si) == CKR_OK &&
	    si.state == CKS_RW_SO_FUNCTIONS);
}

static CK_RV
w_SetPIN(CK_SESSION_HANDLE s, CK_UTF8CHAR_PTR old, CK_ULONG oldlen,
    CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	struct call c;
	CK_RV rv;
	int so;

	if ((rv = call_enter(&c, F_SetPIN, K_SESSION, &s)) != CKR_OK)
		goto out;
	if (c.pin_max > 0 && c.pin_left <= 0) {
		rv = CKR_PIN_LOCKED;
		goto out;
	}
	so = so_session(s);
	if (old == NULL && pin == NULL && c.ctl->protected_auth) {
		/* The PIN pad: both PINs are typed there. */
		if (!c.ctl->has_pad_new ||
		    !(so ? c.ctl->has_so_pin : c.ctl->has_pin)) {
			rv = CKR_PIN_INCORRECT;
			goto counted;
		}
		old = so ? c.ctl->so_pin : c.ctl->pin;
		oldlen = so ? c.ctl->so_pinlen : c.ctl->pinlen;
		pin = c.ctl->pad_new;
		len = c.ctl->pad_newlen;
	}
	if ((rv = g_real->C_SetPIN(s, old, oldlen, pin, len)) == CKR_OK &&
	    !so)
		remember_pin(pin, len);
 counted:
	/* the old PIN is verified: a try on the counter, as on a card */
	if (rv == CKR_OK && !so) {
		c.pin_hash = hash_bytes(pin, len);
		state_txn(&c, -1, PIN_CHANGED);
	} else if (rv == CKR_OK && c.pin_max > 0)
		state_txn(&c, -1, PIN_GOOD);
	else if (c.pin_max > 0 && wrong_pin(rv))
		state_txn(&c, -1, PIN_BAD);
 out:
	call_leave(&c);
	return rv;
}

static int
wrong_pin(CK_RV rv)
{
	return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID ||
	    rv == CKR_PIN_LEN_RANGE;
}

/*
 * The context-specific login of an always-authenticate key, emulated since
 * the real key does not have the attribute: the PIN is checked against the
 * "pin" directive or the last PIN that worked for CKU_USER.
 */
static CK_RV
login_context(const struct call *c, CK_SESSION_HANDLE s,
    const unsigned char *pin, CK_ULONG len)
{
	const unsigned char *want = NULL;
	struct sess *ss;
	size_t wantlen = 0;
	CK_RV rv;

	pthread_mutex_lock(&g_mtx);
	if ((ss = sess_find(s, 0)) == NULL || !ss->pending) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	if (c->ctl->has_pin) {
		want = c->ctl->pin;
		wantlen = c->ctl->pinlen;
	} else if (g_have_goodpin) {
		want = g_goodpin;
		wantlen = g_goodpinlen;
	}
	if (want == NULL || pin == NULL || len != wantlen ||
	    memcmp(pin, want, wantlen) != 0) {
		rv = CKR_PIN_INCORRECT;
		goto out;
	}
	ss->authed = 1;
	rv = CKR_OK;
 out:
	pthread_mutex_unlock(&g_mtx);
	return rv;
}

/*
 * so_keygen: a good SO PIN (checked by a real SO login) leaves the process
 * logged in as the user, since SoftHSM's SO makes no private objects.
 */
static CK_RV
login_so_keygen(const struct call *c, CK_SESSION_HANDLE s,
    const unsigned char *pin, CK_ULONG len)
{
	CK_RV rv;

	if (!c->ctl->has_pin)
		return CKR_GENERAL_ERROR;
	if ((rv = g_real->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)pin,
	    len)) != CKR_OK)
		return rv;
	(void)g_real->C_Logout(s);
	rv = g_real->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)c->ctl->pin,
	    c->ctl->pinlen);
	if (rv == CKR_OK)
		login_so();
	return rv;
}

static CK_RV
w_Login(CK_SESSION_HANDLE s, CK_USER_TYPE ut, CK_UTF8CHAR_PTR pin,
    CK_ULONG len)
{
	struct call c;
	const unsigned char *p = pin;
	CK_ULONG plen = len;
	CK_RV rv;
	int user = ut == CKU_USER || ut == CKU_CONTEXT_SPECIFIC, moved = 0;

	if ((rv = call_enter(&c, F_Login, K_SESSION, &s)) != CKR_OK)
		goto out;
	if (user && c.pin_max > 0 && c.pin_left <= 0) {
		rv = CKR_PIN_LOCKED;
		goto out;
	}
	if (pin == NULL && c.ctl->protected_auth) {
		/* The PIN pad: "pin" (or "so_pin") is what the user types. */
		if (ut == CKU_SO ? !c.ctl->has_so_pin : !c.ctl->has_pin) {
			rv = CKR_PIN_INCORRECT;
			goto checked;
		}
		p = ut == CKU_SO ? c.ctl->so_pin : c.ctl->pin;
		plen = ut == CKU_SO ? c.ctl->so_pinlen : c.ctl->pinlen;
	}
	if (ut == CKU_CONTEXT_SPECIFIC && c.ctl->always_auth)
		rv = login_context(&c, s, p, plen);
	else if (ut == CKU_SO && c.ctl->so_keygen)
		rv = login_so_keygen(&c, s, p, plen);
	else {
		if (ut == CKU_USER && login_stale(&c)) {
			/* the card forgot it; a new login starts afresh */
			(void)g_real->C_Logout(s);
			pthread_mutex_lock(&g_mtx);
			login_forget_locked();
			pthread_mutex_unlock(&g_mtx);
		}
		if (ut != CKU_USER ||
		    !(moved = login_moved(&c, p, plen, &rv, s)))
			rv = g_real->C_Login(s, ut, (CK_UTF8CHAR_PTR)p, plen);
	}
 checked:
	if (!user)
		goto out;
	if (rv == CKR_OK) {
		if (ut == CKU_USER) {
			remember_pin(p, plen);
			if (!moved)
				login_user(&c, p, plen);
		}
		if (c.pin_max > 0)
			state_txn(&c, -1, PIN_GOOD);
	} else if (wrong_pin(rv)) {
		/* Real cards count every failed verify, whatever they say. */
		if (c.pin_max > 0)
			state_txn(&c, -1, PIN_BAD);
		rv = c.ctl->has_login_error ? c.ctl->login_error :
		    CKR_PIN_INCORRECT;
	}
 out:
	call_leave(&c);
	return rv;
}

void
wrap_pin(CK_FUNCTION_LIST *l)
{
	FM_SET(l, InitPIN);
	FM_SET(l, SetPIN);
	FM_SET(l, Login);
}
