/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Finding the private half of a key pair: the private key object with
 * the CKA_ID of the public object we know, that the token lets us prove
 * is the pair of our public key.  Where the private object shows its
 * public components (CKA_MODULUS, CKA_EC_POINT) they must equal ours;
 * where it does not, a public key object with the same CKA_ID must decode
 * to our key (a token showing only a certificate is taken on its CKA_ID).
 * Either way the agent verifies every signature before using it.
 */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/signer.h"

#define FIND_MAX	16

enum { P_TYPE, P_MODULUS, P_EXPONENT, P_PARAMS, P_POINT, P_SIGN, P_ALWAYS,
    P_N };

struct pattrs {
	CK_ATTRIBUTE	a[P_N];
	CK_KEY_TYPE	ktype;
	uint8_t		modulus[TK_RSA_MAX_BITS / 8 + 1];
	uint8_t		exponent[64];
	uint8_t		params[64];
	uint8_t		point[TK_EC_POINT_MAX + 8];
	CK_BBOOL	sign, always;
};

/* Read what a key object shows; unreadable attributes stay unavailable. */
static int
pattrs_read(struct tk_signer *sg, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
    struct pattrs *p)
{
	CK_ULONG	cap[P_N];
	CK_RV		rv;
	size_t		i;

	memset(p, 0, sizeof(*p));
	p->a[P_TYPE] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &p->ktype,
	    sizeof(p->ktype) };
	p->a[P_MODULUS] = (CK_ATTRIBUTE){ CKA_MODULUS, p->modulus,
	    sizeof(p->modulus) };
	p->a[P_EXPONENT] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, p->exponent,
	    sizeof(p->exponent) };
	p->a[P_PARAMS] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, p->params,
	    sizeof(p->params) };
	p->a[P_POINT] = (CK_ATTRIBUTE){ CKA_EC_POINT, p->point,
	    sizeof(p->point) };
	p->a[P_SIGN] = (CK_ATTRIBUTE){ CKA_SIGN, &p->sign, sizeof(p->sign) };
	p->a[P_ALWAYS] = (CK_ATTRIBUTE){ CKA_ALWAYS_AUTHENTICATE, &p->always,
	    sizeof(p->always) };
	for (i = 0; i < P_N; i++)
		cap[i] = p->a[i].ulValueLen;
	rv = sg->f->C_GetAttributeValue(s, h, p->a, P_N);
	if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID &&
	    rv != CKR_ATTRIBUTE_SENSITIVE && rv != CKR_BUFFER_TOO_SMALL) {
		if (tk_rv_session_lost(rv) || rv == CKR_OBJECT_HANDLE_INVALID)
			return tk_p11_rv(rv);
		/* an odd module: one attribute at a time */
		for (i = 0; i < P_N; i++) {
			p->a[i].ulValueLen = cap[i];
			if (sg->f->C_GetAttributeValue(s, h, &p->a[i], 1) !=
			    CKR_OK)
				p->a[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
		}
	}
	for (i = 0; i < P_N; i++)
		if (!tk_attr_ok(&p->a[i], cap[i]))
			p->a[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
	return 0;
}

static int
ktype_matches(CK_KEY_TYPE kt, int type)
{
	switch (type) {
	case TK_KEY_RSA:
		return kt == CKK_RSA;
	case TK_KEY_ED25519:
		return kt == CKK_EC_EDWARDS;
	default:
		return kt == CKK_EC;
	}
}

/*
 * Decode what the object shows into a public key.  0: decoded into k;
 * TK_ERR_NOT_FOUND: the components are not readable.
 */
static int
pattrs_pubkey(struct pattrs *p, const struct tk_pubkey *ours,
    struct tk_pubkey *k)
{
	CK_ATTRIBUTE	*a = p->a;
	int		 r = TK_ERR_NOT_FOUND;

	if (ours->type == TK_KEY_RSA) {
		if (a[P_MODULUS].ulValueLen == CK_UNAVAILABLE_INFORMATION)
			goto out;
		if (a[P_EXPONENT].ulValueLen == CK_UNAVAILABLE_INFORMATION) {
			/* compare the modulus alone */
			r = tk_decode_rsa(p->modulus, a[P_MODULUS].ulValueLen,
			    ours->e, ours->elen, k);
			goto out;
		}
		r = tk_decode_rsa(p->modulus, a[P_MODULUS].ulValueLen,
		    p->exponent, a[P_EXPONENT].ulValueLen, k);
		goto out;
	}
	if (a[P_PARAMS].ulValueLen == CK_UNAVAILABLE_INFORMATION)
		goto out;
	if (a[P_POINT].ulValueLen == CK_UNAVAILABLE_INFORMATION) {
		/* the curve alone: decode with our own point */
		r = tk_decode_ec(p->params, a[P_PARAMS].ulValueLen, ours->q,
		    ours->qlen, k);
		if (r == 0)
			r = k->type == ours->type ? TK_ERR_NOT_FOUND :
			    TK_ERR_BAD_KEY;
		goto out;
	}
	r = tk_decode_ec(p->params, a[P_PARAMS].ulValueLen, p->point,
	    a[P_POINT].ulValueLen, k);
 out:
	return r;
}

/*
 * How well the private object h fits our key: 2 proven (components
 * equal), 1 plausible (type and curve fit, components hidden), 0 not.
 */
static int
priv_fit(struct tk_signer *sg, const struct tk_skey *key, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE h, int *always, int *err)
{
	struct pattrs		*p;
	struct tk_pubkey	 k;
	int			 fit = 0, r;

	*err = 0;
	if ((p = malloc(sizeof(*p))) == NULL) {
		*err = TK_ERR_NOMEM;
		return 0;
	}
	if ((*err = pattrs_read(sg, s, h, p)) != 0)
		goto out;
	if (p->a[P_TYPE].ulValueLen != sizeof(CK_KEY_TYPE) ||
	    !ktype_matches(p->ktype, key->pub.type))
		goto out;
	if (p->a[P_SIGN].ulValueLen == sizeof(CK_BBOOL) && !p->sign)
		goto out;
	*always = p->a[P_ALWAYS].ulValueLen == sizeof(CK_BBOOL) && p->always;
	memset(&k, 0, sizeof(k));
	r = pattrs_pubkey(p, &key->pub, &k);
	if (r == TK_ERR_NOT_FOUND)
		fit = 1;
	else if (r == 0 && tk_pubkey_equal(&k, &key->pub))
		fit = 2;
 out:
	free(p);
	return fit;
}

static int
find(struct tk_signer *sg, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    const struct tk_skey *key, CK_OBJECT_HANDLE *hs, CK_ULONG *n)
{
	CK_ATTRIBUTE	tmpl[2];
	CK_RV		rv;

	*n = 0;
	tmpl[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	tmpl[1] = (CK_ATTRIBUTE){ CKA_ID, (void *)key->id, key->idlen };
	if ((rv = sg->f->C_FindObjectsInit(s, tmpl, 2)) != CKR_OK)
		return tk_p11_rv(rv);
	rv = sg->f->C_FindObjects(s, hs, FIND_MAX, n);
	(void)sg->f->C_FindObjectsFinal(s);
	if (rv != CKR_OK || *n > FIND_MAX) {
		*n = 0;
		return rv != CKR_OK ? tk_p11_rv(rv) : TK_ERR_TOKEN;
	}
	return 0;
}

/* Does a public key object with the key's CKA_ID show our key (or none)? */
static int
public_pairs(struct tk_signer *sg, const struct tk_skey *key,
    CK_SESSION_HANDLE s, int *err)
{
	CK_OBJECT_HANDLE	 hs[FIND_MAX];
	CK_ULONG		 n = 0, i;
	struct pattrs		*p = NULL;
	struct tk_pubkey	 k;
	int			 ok = 0;

	if ((*err = find(sg, s, CKO_PUBLIC_KEY, key, hs, &n)) != 0)
		goto out;
	if (n == 0) {
		ok = 1;		/* certificate-only: the CKA_ID is all */
		goto out;
	}
	if ((p = malloc(sizeof(*p))) == NULL) {
		*err = TK_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n && !ok; i++) {
		if ((*err = pattrs_read(sg, s, hs[i], p)) != 0)
			goto out;
		memset(&k, 0, sizeof(k));
		if (p->a[P_TYPE].ulValueLen == sizeof(CK_KEY_TYPE) &&
		    ktype_matches(p->ktype, key->pub.type) &&
		    pattrs_pubkey(p, &key->pub, &k) == 0 &&
		    tk_pubkey_equal(&k, &key->pub))
			ok = 1;
	}
 out:
	free(p);
	return ok;
}

int
tk_privkey_find(struct tk_signer *sg, struct tk_skey *key,
    CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *out, int *always_auth)
{
	CK_OBJECT_HANDLE	hs[FIND_MAX];
	CK_ULONG		n = 0, i;
	int			fit, best = 0, always = 0, balways = 0, r;
	int			err = 0;

	if ((r = find(sg, s, CKO_PRIVATE_KEY, key, hs, &n)) != 0)
		goto out;
	for (i = 0; i < n && best < 2; i++) {
		fit = priv_fit(sg, key, s, hs[i], &always, &err);
		if (err != 0) {
			r = err;
			goto out;
		}
		if (fit > best) {
			best = fit;
			*out = hs[i];
			balways = always;
		}
	}
	if (best == 1 && !public_pairs(sg, key, s, &err))
		best = 0;
	if (err != 0 && best == 0) {
		r = err;
		goto out;
	}
	r = best > 0 ? 0 : TK_ERR_NOT_FOUND;
	*always_auth = balways;
 out:
	return r;
}
