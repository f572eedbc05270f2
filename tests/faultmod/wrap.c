/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: wrappers for the calls with nothing to emulate beyond
 * call_enter(): counting, faults, absence and session handle epochs.
 */


#include "faultmod.h"

/* The wrappers. */

/*
 * Session calls with nothing to emulate beyond call_enter(): PARAMS is the
 * parameter list, with the session named s (and the key, if any, named k),
 * ARGS what is forwarded.
 */
#define WRAP_SESSION(name, params, args)				\
static CK_RV								\
w_##name params								\
{									\
	struct call c;							\
	CK_RV rv;							\
									\
	if ((rv = call_enter(&c, F_##name, K_SESSION, &s)) == CKR_OK)	\
		rv = g_real->C_##name args;				\
	call_leave(&c);							\
	return rv;							\
}

#define WRAP_SESSION_KEY(name, params, args, bad)			\
static CK_RV								\
w_##name params								\
{									\
	struct call c;							\
	CK_RV rv;							\
									\
	if ((rv = call_enter(&c, F_##name, K_SESSION, &s)) == CKR_OK &&	\
	    (rv = untag(&c, &k, bad)) == CKR_OK)			\
		rv = g_real->C_##name args;				\
	call_leave(&c);							\
	return rv;							\
}

/* Calls on a slot or none; absence is emulated by KIND. */
#define WRAP_PLAIN(name, kind, params, args)				\
static CK_RV								\
w_##name params								\
{									\
	struct call c;							\
	CK_RV rv;							\
									\
	if ((rv = call_enter(&c, F_##name, kind, NULL)) == CKR_OK)	\
		rv = g_real->C_##name args;				\
	call_leave(&c);							\
	return rv;							\
}

WRAP_PLAIN(GetInfo, K_PLAIN, (CK_INFO_PTR p), (p))
WRAP_PLAIN(InitToken, K_SLOT,
    (CK_SLOT_ID id, CK_UTF8CHAR_PTR pin, CK_ULONG len, CK_UTF8CHAR_PTR l),
    (id, pin, len, l))

WRAP_SESSION(GetOperationState,
    (CK_SESSION_HANDLE s, CK_BYTE_PTR p, CK_ULONG_PTR n), (s, p, n))
WRAP_SESSION(FindObjectsInit,
    (CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n), (s, t, n))
WRAP_SESSION(FindObjectsFinal, (CK_SESSION_HANDLE s), (s))
WRAP_SESSION(Encrypt, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl,
    CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(EncryptUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d,
    CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(EncryptFinal, (CK_SESSION_HANDLE s, CK_BYTE_PTR o,
    CK_ULONG_PTR ol), (s, o, ol))
WRAP_SESSION(Decrypt, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl,
    CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(DecryptUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d,
    CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(DecryptFinal, (CK_SESSION_HANDLE s, CK_BYTE_PTR o,
    CK_ULONG_PTR ol), (s, o, ol))
WRAP_SESSION(DigestInit, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m), (s, m))
WRAP_SESSION(Digest, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl,
    CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(DigestUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl),
    (s, d, dl))
WRAP_SESSION(DigestFinal, (CK_SESSION_HANDLE s, CK_BYTE_PTR o,
    CK_ULONG_PTR ol), (s, o, ol))
WRAP_SESSION(SignRecover, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl,
    CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(Verify, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl,
    CK_BYTE_PTR g, CK_ULONG gl), (s, d, dl, g, gl))
WRAP_SESSION(VerifyUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl),
    (s, d, dl))
WRAP_SESSION(VerifyFinal, (CK_SESSION_HANDLE s, CK_BYTE_PTR g, CK_ULONG gl),
    (s, g, gl))
WRAP_SESSION(VerifyRecover, (CK_SESSION_HANDLE s, CK_BYTE_PTR g,
    CK_ULONG gl, CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, g, gl, o, ol))
WRAP_SESSION(DigestEncryptUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d,
    CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(DecryptDigestUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d,
    CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(SignEncryptUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d,
    CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(DecryptVerifyUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d,
    CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(SeedRandom, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl),
    (s, d, dl))
WRAP_SESSION(GenerateRandom, (CK_SESSION_HANDLE s, CK_BYTE_PTR d,
    CK_ULONG dl), (s, d, dl))
WRAP_SESSION(GetFunctionStatus, (CK_SESSION_HANDLE s), (s))
WRAP_SESSION(CancelFunction, (CK_SESSION_HANDLE s), (s))

WRAP_SESSION_KEY(EncryptInit, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k), (s, m, k), CKR_KEY_HANDLE_INVALID)
WRAP_SESSION_KEY(DecryptInit, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k), (s, m, k), CKR_KEY_HANDLE_INVALID)
WRAP_SESSION_KEY(SignRecoverInit, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k), (s, m, k), CKR_KEY_HANDLE_INVALID)
WRAP_SESSION_KEY(VerifyInit, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k), (s, m, k), CKR_KEY_HANDLE_INVALID)
WRAP_SESSION_KEY(VerifyRecoverInit, (CK_SESSION_HANDLE s,
    CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), (s, m, k), CKR_KEY_HANDLE_INVALID)
WRAP_SESSION_KEY(DigestKey, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k),
    (s, k), CKR_KEY_HANDLE_INVALID)
WRAP_SESSION_KEY(DestroyObject, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k),
    (s, k), CKR_OBJECT_HANDLE_INVALID)
WRAP_SESSION_KEY(GetObjectSize, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k,
    CK_ULONG_PTR n), (s, k, n), CKR_OBJECT_HANDLE_INVALID)
WRAP_SESSION_KEY(SetAttributeValue, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k,
    CK_ATTRIBUTE_PTR t, CK_ULONG n), (s, k, t, n), CKR_OBJECT_HANDLE_INVALID)

void
wrap_plain(CK_FUNCTION_LIST *l)
{
	FM_SET(l, GetInfo);
	FM_SET(l, InitToken);
	FM_SET(l, GetOperationState);
	FM_SET(l, FindObjectsInit);
	FM_SET(l, FindObjectsFinal);
	FM_SET(l, Encrypt);
	FM_SET(l, EncryptUpdate);
	FM_SET(l, EncryptFinal);
	FM_SET(l, Decrypt);
	FM_SET(l, DecryptUpdate);
	FM_SET(l, DecryptFinal);
	FM_SET(l, DigestInit);
	FM_SET(l, Digest);
	FM_SET(l, DigestUpdate);
	FM_SET(l, DigestFinal);
	FM_SET(l, SignRecover);
	FM_SET(l, Verify);
	FM_SET(l, VerifyUpdate);
	FM_SET(l, VerifyFinal);
	FM_SET(l, VerifyRecover);
	FM_SET(l, DigestEncryptUpdate);
	FM_SET(l, DecryptDigestUpdate);
	FM_SET(l, SignEncryptUpdate);
	FM_SET(l, DecryptVerifyUpdate);
	FM_SET(l, SeedRandom);
	FM_SET(l, GenerateRandom);
	FM_SET(l, GetFunctionStatus);
	FM_SET(l, CancelFunction);
	FM_SET(l, EncryptInit);
	FM_SET(l, DecryptInit);
	FM_SET(l, SignRecoverInit);
	FM_SET(l, VerifyInit);
	FM_SET(l, VerifyRecoverInit);
	FM_SET(l, DigestKey);
	FM_SET(l, DestroyObject);
	FM_SET(l, GetObjectSize);
	FM_SET(l, SetAttributeValue);
}
