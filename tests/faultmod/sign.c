/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: the sign family: corrupt_sig, the always_auth context
 * login, and finishing the real operation when a fault ends it.
 */

#include <stdlib.h>

#include "faultmod.h"

/*
 * Ends the real sign operation when the wrapper fails it, as a real token
 * would: any error but a length query ends the operation, and a session
 * left in CKR_OPERATION_ACTIVE is not what is being tested.
 */
static void
finish_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, int final)
{
	unsigned char *sig = NULL;
	CK_ULONG siglen = 0;
	CK_RV rv;

	rv = final ? g_real->C_SignFinal(s, NULL, &siglen) :
	    g_real->C_Sign(s, data, len, NULL, &siglen);
	if (rv != CKR_OK)
		goto out;
	if ((sig = malloc(siglen ? siglen : 1)) == NULL)
		goto out;
	if (final)
		g_real->C_SignFinal(s, sig, &siglen);
	else
		g_real->C_Sign(s, data, len, sig, &siglen);
 out:
	free(sig);
}

static void
corrupt(const struct call *c, CK_BYTE_PTR sig, CK_ULONG len)
{
	/* The last byte: still a number below an RSA modulus, still wrong. */
	if (c->ctl->corrupt_sig && sig != NULL && len > 0)
		sig[len - 1] ^= 0x01;
}

static CK_RV
w_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_SignInit, K_SESSION, &s)) != CKR_OK ||
	    (rv = untag(&c, &k, CKR_KEY_HANDLE_INVALID)) != CKR_OK)
		goto out;
	if (login_stale(&c)) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	if ((rv = g_real->C_SignInit(s, m, k)) != CKR_OK)
		goto out;
	sess_set(s, c.ctl->always_auth && is_private_key(s, k), 0);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR sig,
    CK_ULONG_PTR siglen)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_Sign, K_SESSION, &s)) != CKR_OK) {
		if (c.injected)
			finish_sign(s, d, dl, 0);
		goto done;
	}
	if (sess_needs_auth(s)) {
		finish_sign(s, d, dl, 0);
		rv = CKR_USER_NOT_LOGGED_IN;
		goto done;
	}
	rv = g_real->C_Sign(s, d, dl, sig, siglen);
	if (rv == CKR_OK && sig != NULL)
		corrupt(&c, sig, *siglen);
	/* A length query or a short buffer leaves the operation going. */
	if ((rv == CKR_OK && sig == NULL) || rv == CKR_BUFFER_TOO_SMALL)
		goto out;
 done:
	sess_set(s, 0, 0);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_SignUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_SignUpdate, K_SESSION, &s)) != CKR_OK) {
		if (c.injected)
			finish_sign(s, NULL, 0, 1);
		goto done;
	}
	if (sess_needs_auth(s)) {
		finish_sign(s, NULL, 0, 1);
		rv = CKR_USER_NOT_LOGGED_IN;
		goto done;
	}
	if ((rv = g_real->C_SignUpdate(s, d, dl)) == CKR_OK)
		goto out;
 done:
	sess_set(s, 0, 0);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_SignFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR sig, CK_ULONG_PTR siglen)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_SignFinal, K_SESSION, &s)) != CKR_OK) {
		if (c.injected)
			finish_sign(s, NULL, 0, 1);
		goto done;
	}
	if (sess_needs_auth(s)) {
		finish_sign(s, NULL, 0, 1);
		rv = CKR_USER_NOT_LOGGED_IN;
		goto done;
	}
	rv = g_real->C_SignFinal(s, sig, siglen);
	if (rv == CKR_OK && sig != NULL)
		corrupt(&c, sig, *siglen);
	if ((rv == CKR_OK && sig == NULL) || rv == CKR_BUFFER_TOO_SMALL)
		goto out;
 done:
	sess_set(s, 0, 0);
 out:
	call_leave(&c);
	return rv;
}

void
wrap_sign(CK_FUNCTION_LIST *l)
{
	FM_SET(l, SignInit);
	FM_SET(l, Sign);
	FM_SET(l, SignUpdate);
	FM_SET(l, SignFinal);
}
