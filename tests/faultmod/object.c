/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: calls that hand out or take object handles, which carry
 * the epoch (see "Handles" in faultmod.h).
 */


#include "faultmod.h"

static CK_RV
w_SetOperationState(CK_SESSION_HANDLE s, CK_BYTE_PTR st, CK_ULONG len,
    CK_OBJECT_HANDLE ek, CK_OBJECT_HANDLE ak)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_SetOperationState, K_SESSION, &s)) ==
	    CKR_OK &&
	    (rv = untag(&c, &ek, CKR_KEY_HANDLE_INVALID)) == CKR_OK &&
	    (rv = untag(&c, &ak, CKR_KEY_HANDLE_INVALID)) == CKR_OK)
		rv = g_real->C_SetOperationState(s, st, len, ek, ak);
	call_leave(&c);
	return rv;
}

static CK_RV
w_CreateObject(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n,
    CK_OBJECT_HANDLE_PTR po)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_CreateObject, K_SESSION, &s)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_CreateObject(s, t, n, po)) == CKR_OK)
		*po = tag(&c, *po);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_CopyObject(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t,
    CK_ULONG n, CK_OBJECT_HANDLE_PTR po)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_CopyObject, K_SESSION, &s)) != CKR_OK ||
	    (rv = untag(&c, &o, CKR_OBJECT_HANDLE_INVALID)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_CopyObject(s, o, t, n, po)) == CKR_OK)
		*po = tag(&c, *po);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_FindObjects(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE_PTR po, CK_ULONG max,
    CK_ULONG_PTR count)
{
	struct call c;
	CK_ULONG i;
	CK_RV rv;

	if ((rv = call_enter(&c, F_FindObjects, K_SESSION, &s)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_FindObjects(s, po, max, count)) != CKR_OK)
		goto out;
	for (i = 0; i < *count && i < max; i++)
		po[i] = tag(&c, po[i]);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_GenerateKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t,
    CK_ULONG n, CK_OBJECT_HANDLE_PTR pk)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GenerateKey, K_SESSION, &s)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_GenerateKey(s, m, t, n, pk)) == CKR_OK)
		*pk = tag(&c, *pk);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_GenerateKeyPair(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m,
    CK_ATTRIBUTE_PTR pubt, CK_ULONG pubn, CK_ATTRIBUTE_PTR privt,
    CK_ULONG privn, CK_OBJECT_HANDLE_PTR ppub, CK_OBJECT_HANDLE_PTR ppriv)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GenerateKeyPair, K_SESSION, &s)) != CKR_OK)
		goto out;
	if (c.ctl->so_keygen && !login_is_so()) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	rv = g_real->C_GenerateKeyPair(s, m, pubt, pubn, privt, privn, ppub,
	    ppriv);
	if (rv == CKR_OK) {
		*ppub = tag(&c, *ppub);
		*ppriv = tag(&c, *ppriv);
	}
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_WrapKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE wk,
    CK_OBJECT_HANDLE k, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_WrapKey, K_SESSION, &s)) == CKR_OK &&
	    (rv = untag(&c, &wk, CKR_WRAPPING_KEY_HANDLE_INVALID)) == CKR_OK &&
	    (rv = untag(&c, &k, CKR_KEY_HANDLE_INVALID)) == CKR_OK)
		rv = g_real->C_WrapKey(s, m, wk, k, out, outlen);
	call_leave(&c);
	return rv;
}

static CK_RV
w_UnwrapKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE uk,
    CK_BYTE_PTR in, CK_ULONG inlen, CK_ATTRIBUTE_PTR t, CK_ULONG n,
    CK_OBJECT_HANDLE_PTR pk)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_UnwrapKey, K_SESSION, &s)) != CKR_OK ||
	    (rv = untag(&c, &uk, CKR_UNWRAPPING_KEY_HANDLE_INVALID)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_UnwrapKey(s, m, uk, in, inlen, t, n, pk)) ==
	    CKR_OK)
		*pk = tag(&c, *pk);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_DeriveKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE bk,
    CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR pk)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_DeriveKey, K_SESSION, &s)) != CKR_OK ||
	    (rv = untag(&c, &bk, CKR_KEY_HANDLE_INVALID)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_DeriveKey(s, m, bk, t, n, pk)) == CKR_OK)
		*pk = tag(&c, *pk);
 out:
	call_leave(&c);
	return rv;
}

void
wrap_object(CK_FUNCTION_LIST *l)
{
	FM_SET(l, SetOperationState);
	FM_SET(l, CreateObject);
	FM_SET(l, CopyObject);
	FM_SET(l, FindObjects);
	FM_SET(l, GenerateKey);
	FM_SET(l, GenerateKeyPair);
	FM_SET(l, WrapKey);
	FM_SET(l, UnwrapKey);
	FM_SET(l, DeriveKey);
}
