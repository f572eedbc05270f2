/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The self-signed certificate of keygen --cert (x509gen.h).  OpenSSL
 * builds the to-be-signed part; the token signs it; the certificate is
 * put together here (SEQUENCE of tbs, algorithm, signature) and parsed
 * back and verified before anyone sees it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tokenkeys.h"
#include "pkcs11/sign.h"
#include "pkcs11/x509gen.h"

#define CERT_DAYS	(20 * 365)	/* the key's lifetime is the token's */

static int
pkey_of(const struct tk_pubkey *k, EVP_PKEY **pk)
{
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	BIGNUM		*n = NULL, *e = NULL;
	const char	*alg = "EC", *group = NULL;
	int		 r = TK_ERR_INTERNAL;

	*pk = NULL;
	if (k->type == TK_KEY_ED25519) {
		*pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k->q,
		    k->qlen);
		r = *pk != NULL ? 0 : TK_ERR_BAD_KEY;
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (k->type == TK_KEY_RSA) {
		alg = "RSA";
		if ((n = BN_bin2bn(k->n, k->nlen, NULL)) == NULL ||
		    (e = BN_bin2bn(k->e, k->elen, NULL)) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
	} else {
		group = k->type == TK_KEY_ECDSA_P256 ? "prime256v1" :
		    k->type == TK_KEY_ECDSA_P384 ? "secp384r1" : "secp521r1";
		if (!OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, k->q, k->qlen))
			goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		r = TK_ERR_BAD_KEY;
		goto out;
	}
	r = 0;
 out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return r;
}

/* The signature algorithm and the hash the token signs over. */
static int
sigalg_of(int type, int *nid, int *hash)
{
	switch (type) {
	case TK_KEY_RSA:
		*nid = NID_sha256WithRSAEncryption;
		*hash = TK_HASH_SHA256;
		return 0;
	case TK_KEY_ECDSA_P256:
		*nid = NID_ecdsa_with_SHA256;
		*hash = TK_HASH_SHA256;
		return 0;
	case TK_KEY_ECDSA_P384:
		*nid = NID_ecdsa_with_SHA384;
		*hash = TK_HASH_SHA384;
		return 0;
	case TK_KEY_ECDSA_P521:
		*nid = NID_ecdsa_with_SHA512;
		*hash = TK_HASH_SHA512;
		return 0;
	case TK_KEY_ED25519:
		*nid = NID_ED25519;
		*hash = TK_HASH_NONE;
		return 0;
	}
	return TK_ERR_UNSUPPORTED;
}

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509_EXTENSION	*ext;
	X509V3_CTX	 v3;
	int		 ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* The tbs part, with the signature algorithm set in it. */
static int
tbs_make(X509 *x, EVP_PKEY *pk, const char *cn, int nid)
{
	X509_NAME	*name;
	X509_ALGOR	*alg;
	ASN1_INTEGER	*sn;
	uint8_t		 serial[16];
	int		 ptype = nid == NID_sha256WithRSAEncryption ?
			    V_ASN1_NULL : V_ASN1_UNDEF;

	if (RAND_bytes(serial, sizeof(serial)) != 1)
		return 0;
	serial[0] &= 0x7f;	/* a positive INTEGER */
	serial[0] |= 0x40;
	name = X509_get_subject_name(x);
	sn = X509_get_serialNumber(x);
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_STRING_set(sn, serial, sizeof(serial)) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0,
	    NULL) == NULL ||
	    X509_set_pubkey(x, pk) != 1 ||
	    !add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, NID_key_usage, "critical,digitalSignature"))
		return 0;
	/* OpenSSL sets it only when it signs itself; we sign on the token */
	alg = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
	return X509_ALGOR_set0(alg, OBJ_nid2obj(nid), ptype, NULL) == 1;
}

/* The token's raw signature as X.509 wants it (ECDSA: DER r, s). */
static int
sig_der(int type, const uint8_t *raw, size_t rawlen, uint8_t **out,
    size_t *outlen)
{
	ECDSA_SIG	*es = NULL;
	BIGNUM		*r = NULL, *s = NULL;
	unsigned char	*p = NULL;
	int		 n;

	*out = NULL;
	if (type == TK_KEY_RSA || type == TK_KEY_ED25519) {
		if ((*out = OPENSSL_malloc(rawlen)) == NULL)
			return TK_ERR_NOMEM;
		memcpy(*out, raw, rawlen);
		*outlen = rawlen;
		return 0;
	}
	if (rawlen == 0 || rawlen % 2 != 0 || (es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, rawlen / 2, NULL)) == NULL ||
	    (s = BN_bin2bn(raw + rawlen / 2, rawlen / 2, NULL)) == NULL ||
	    ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return TK_ERR_SIGNATURE;
	}
	n = i2d_ECDSA_SIG(es, &p);
	ECDSA_SIG_free(es);
	if (n <= 0)
		return TK_ERR_INTERNAL;
	*out = p;
	*outlen = n;
	return 0;
}

/* DER header (tag, length) for a body of len bytes, in h; its size. */
static size_t
der_head(uint8_t tag, size_t len, uint8_t h[6])
{
	size_t	n = 0, i;

	h[n++] = tag;
	if (len < 0x80)
		h[n++] = (uint8_t)len;
	else {
		for (i = 4; i > 0 && ((len >> ((i - 1) * 8)) & 0xff) == 0; i--)
			;
		h[n++] = (uint8_t)(0x80 | i);
		for (; i > 0; i--)
			h[n++] = (uint8_t)(len >> ((i - 1) * 8));
	}
	return n;
}

/* SEQUENCE { tbs, alg, BIT STRING { 0, sig } } */
static int
cert_join(const uint8_t *tbs, size_t tbslen, const uint8_t *alg,
    size_t alglen, const uint8_t *sig, size_t siglen, uint8_t **der,
    size_t *derlen)
{
	uint8_t	hs[6], hb[6], *p;
	size_t	nb, ns, body;

	nb = der_head(0x03, siglen + 1, hb);
	body = tbslen + alglen + nb + 1 + siglen;
	ns = der_head(0x30, body, hs);
	if ((p = malloc(ns + body)) == NULL)
		return TK_ERR_NOMEM;
	*der = p;
	*derlen = ns + body;
	memcpy(p, hs, ns);
	p += ns;
	memcpy(p, tbs, tbslen);
	p += tbslen;
	memcpy(p, alg, alglen);
	p += alglen;
	memcpy(p, hb, nb);
	p += nb;
	*p++ = 0;
	memcpy(p, sig, siglen);
	return 0;
}

int
tk_x509_selfsigned(const struct tk_pubkey *k, const char *cn,
    tk_x509_sign_fn *sign, void *arg, uint8_t **der, size_t *derlen,
    uint8_t **subj, size_t *subjlen)
{
	EVP_PKEY	*pk = NULL;
	X509		*x = NULL, *back = NULL;
	unsigned char	*tbs = NULL, *alg = NULL, *sn = NULL, *sig = NULL;
	const unsigned char *p;
	uint8_t		 raw[TK_SIGN_MAX];
	size_t		 rawlen = 0, siglen = 0;
	int		 r, nid, hash, tbslen, alglen, snlen;

	*der = *subj = NULL;
	if ((r = sigalg_of(k->type, &nid, &hash)) != 0 ||
	    (r = pkey_of(k, &pk)) != 0)
		goto out;
	r = TK_ERR_INTERNAL;
	if ((x = X509_new()) == NULL || !tbs_make(x, pk, cn, nid) ||
	    (tbslen = i2d_re_X509_tbs(x, &tbs)) <= 0 ||
	    (alglen = i2d_X509_ALGOR(X509_get0_tbs_sigalg(x), &alg)) <= 0 ||
	    (snlen = i2d_X509_NAME(X509_get_subject_name(x), &sn)) <= 0)
		goto out;
	if ((r = sign(arg, hash, tbs, tbslen, raw, sizeof(raw),
	    &rawlen)) != 0 ||
	    (r = sig_der(k->type, raw, rawlen, &sig, &siglen)) != 0 ||
	    (r = cert_join(tbs, tbslen, alg, alglen, sig, siglen, der,
	    derlen)) != 0)
		goto out;
	p = *der;
	if ((back = d2i_X509(NULL, &p, *derlen)) == NULL ||
	    p != *der + *derlen) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	if (X509_verify(back, pk) != 1) {
		r = TK_ERR_SIGNATURE;
		goto out;
	}
	if ((*subj = malloc(snlen)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	memcpy(*subj, sn, snlen);
	*subjlen = snlen;
	r = 0;
 out:
	if (r != 0) {
		free(*der);
		*der = NULL;
	}
	OPENSSL_free(tbs);
	OPENSSL_free(alg);
	OPENSSL_free(sn);
	OPENSSL_free(sig);
	X509_free(back);
	X509_free(x);
	EVP_PKEY_free(pk);
	return r;
}
