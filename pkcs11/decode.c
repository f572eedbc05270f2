/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Decoding of public key attributes a token hands us.  Every input is
 * untrusted: lengths are bounded, DER is parsed strictly, EC points must
 * lie on their curve and RSA moduli must be of a sane size.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pkcs11/p11.h"

struct curve {
	int		 type;
	int		 nid;
	unsigned int	 bits;
	size_t		 flen;		/* field element bytes */
	const uint8_t	*oid;		/* DER incl. tag and length */
	size_t		 oidlen;
};

static const uint8_t oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t oid_p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
static const uint8_t oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const uint8_t str_ed25519[] = {
	0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'
};

static const struct curve curves[] = {
	{ TK_KEY_ECDSA_P256, NID_X9_62_prime256v1, 256, 32,
	    oid_p256, sizeof(oid_p256) },
	{ TK_KEY_ECDSA_P384, NID_secp384r1, 384, 48,
	    oid_p384, sizeof(oid_p384) },
	{ TK_KEY_ECDSA_P521, NID_secp521r1, 521, 66,
	    oid_p521, sizeof(oid_p521) },
	{ TK_KEY_ED25519, NID_ED25519, 256, 32,
	    oid_ed25519, sizeof(oid_ed25519) },
	{ TK_KEY_ED25519, NID_ED25519, 256, 32,
	    str_ed25519, sizeof(str_ed25519) },
};

void
tk_pubkey_clear(struct tk_pubkey *k)
{
	free(k->owned);
	memset(k, 0, sizeof(*k));
}

int
tk_pubkey_equal(const struct tk_pubkey *a, const struct tk_pubkey *b)
{
	int	eq;

	if (a->type != b->type)
		eq = 0;
	else if (a->type == TK_KEY_RSA)
		eq = a->nlen == b->nlen && a->elen == b->elen &&
		    memcmp(a->n, b->n, a->nlen) == 0 &&
		    memcmp(a->e, b->e, a->elen) == 0;
	else
		eq = a->qlen == b->qlen && memcmp(a->q, b->q, a->qlen) == 0;
	return eq;
}

static unsigned int
bitlen(const uint8_t *p, size_t n)
{
	unsigned int	bits = 0;
	uint8_t		c;

	if (n > 0) {
		bits = (unsigned int)(n - 1) * 8;
		for (c = p[0]; c != 0; c >>= 1)
			bits++;
	}
	return bits;
}

int
tk_decode_rsa(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen,
    struct tk_pubkey *k)
{
	unsigned int	bits;
	int		r = TK_ERR_BAD_KEY;

	while (nlen > 0 && *n == 0) {
		n++;
		nlen--;
	}
	while (elen > 0 && *e == 0) {
		e++;
		elen--;
	}
	if (nlen > TK_RSA_MAX_BITS / 8)
		goto out;
	bits = bitlen(n, nlen);
	if (bits < TK_RSA_MIN_BITS || bits > TK_RSA_MAX_BITS)
		goto out;
	/* an even modulus or exponent is not an RSA key */
	if (elen == 0 || elen > 64 || (e[elen - 1] & 1) == 0 ||
	    (n[nlen - 1] & 1) == 0 || (elen == 1 && e[0] == 1))
		goto out;
	memset(k, 0, sizeof(*k));
	k->type = TK_KEY_RSA;
	k->bits = bits;
	k->n = n;
	k->nlen = nlen;
	k->e = e;
	k->elen = elen;
	r = 0;
 out:
	return r;
}

/*
 * CKA_EC_POINT is a DER OCTET STRING around the point, or (some modules)
 * the bare point.  want is the length of the bare point.
 */
static int
unwrap_point(const uint8_t *p, size_t n, size_t want, const uint8_t **q)
{
	size_t	hdr;
	int	r = TK_ERR_FORMAT;

	if (n == want)
		hdr = 0;
	else if (n < 2 || p[0] != 0x04)
		goto out;
	else if (p[1] < 0x80)
		hdr = 2;
	else if (p[1] == 0x81 && n >= 3 && p[2] >= 0x80)
		hdr = 3;
	else
		goto out;
	if (hdr != 0 && (n - hdr != want || (hdr == 2 ? p[1] : p[2]) != want))
		goto out;
	*q = p + hdr;
	r = 0;
 out:
	return r;
}

/*
 * Decode the ECDSA point q (qlen bytes, any encoding OpenSSL reads) on
 * curve c, check that it lies on the curve and is not the point at
 * infinity, and set k to it, uncompressed.
 */
static int
ec_point_set(const struct curve *c, const uint8_t *q, size_t qlen,
    struct tk_pubkey *k)
{
	EC_GROUP	*g = NULL;
	EC_POINT	*pt = NULL;
	uint8_t		 u[TK_EC_POINT_MAX];
	size_t		 ulen;
	int		 r = TK_ERR_BAD_KEY;

	if ((g = EC_GROUP_new_by_curve_name(c->nid)) == NULL ||
	    (pt = EC_POINT_new(g)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if (EC_POINT_oct2point(g, pt, q, qlen, NULL) != 1 ||
	    EC_POINT_is_at_infinity(g, pt) ||
	    EC_POINT_is_on_curve(g, pt, NULL) != 1)
		goto out;
	ulen = EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, u,
	    sizeof(u), NULL);
	if (ulen != 1 + 2 * c->flen)
		goto out;
	memset(k, 0, sizeof(*k));
	k->type = c->type;
	k->bits = c->bits;
	memcpy(k->q, u, ulen);
	k->qlen = ulen;
	r = 0;
 out:
	EC_POINT_free(pt);
	EC_GROUP_free(g);
	return r;
}

int
tk_decode_ec(const uint8_t *params, size_t plen, const uint8_t *point,
    size_t qlen, struct tk_pubkey *k)
{
	const struct curve	*c = NULL;
	const uint8_t		*q;
	size_t			 i, want;
	int			 r;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]) && c == NULL; i++)
		if (curves[i].oidlen == plen &&
		    memcmp(curves[i].oid, params, plen) == 0)
			c = &curves[i];
	if (c == NULL) {
		r = TK_ERR_UNSUPPORTED;
		goto out;
	}
	want = c->type == TK_KEY_ED25519 ? 32 : 1 + 2 * c->flen;
	if ((r = unwrap_point(point, qlen, want, &q)) != 0)
		goto out;
	if (c->type == TK_KEY_ED25519) {
		memset(k, 0, sizeof(*k));
		k->type = c->type;
		k->bits = c->bits;
		memcpy(k->q, q, want);
		k->qlen = want;
	} else if (q[0] != 0x04)
		r = TK_ERR_BAD_KEY;	/* only uncompressed */
	else
		r = ec_point_set(c, q, want, k);
 out:
	return r;
}

static int
cert_rsa(EVP_PKEY *pk, struct tk_pubkey *k)
{
	BIGNUM		*n = NULL, *e = NULL;
	uint8_t		*buf = NULL;
	size_t		 nlen, elen;
	int		 r = TK_ERR_BAD_KEY;

	if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e))
		goto out;
	nlen = BN_num_bytes(n);
	elen = BN_num_bytes(e);
	if (nlen > TK_RSA_MAX_BITS / 8 || elen > 64)
		goto out;
	if ((buf = malloc(nlen + elen + 1)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	BN_bn2bin(n, buf);
	BN_bn2bin(e, buf + nlen);
	if ((r = tk_decode_rsa(buf, nlen, buf + nlen, elen, k)) != 0)
		goto out;
	k->owned = buf;
	buf = NULL;
 out:
	free(buf);
	BN_free(n);
	BN_free(e);
	return r;
}

static int
cert_ec(EVP_PKEY *pk, struct tk_pubkey *k)
{
	const struct curve	*c = NULL;
	char			 gname[64];
	uint8_t			 q[TK_EC_POINT_MAX + 8];
	size_t			 i, qlen;
	int			 nid, r = TK_ERR_UNSUPPORTED;

	if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
	    gname, sizeof(gname), NULL))
		goto out;
	nid = OBJ_sn2nid(gname);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(gname);
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].nid == nid && curves[i].type != TK_KEY_ED25519)
			c = &curves[i];
	if (c == NULL)
		goto out;
	r = TK_ERR_BAD_KEY;
	if (!EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY,
	    q, sizeof(q), &qlen))
		goto out;
	/* The certificate may hold a compressed point: re-encoded. */
	r = ec_point_set(c, q, qlen, k);
 out:
	return r;
}

/* With ca NULL, a CA certificate is TK_ERR_DENIED; else *ca tells. */
static int
cert_decode(const uint8_t *der, size_t len, struct tk_pubkey *k, int *ca)
{
	const unsigned char	*p = der;
	X509			*x = NULL;
	EVP_PKEY		*pk;
	size_t			 qlen = 32;
	int			 r = TK_ERR_FORMAT, isca;

	if (len == 0 || len > TK_ATTR_MAX || len > LONG_MAX)
		goto out;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len)
		goto out;
	isca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
	if (isca && ca == NULL) {
		r = TK_ERR_DENIED;
		goto out;
	}
	if (ca != NULL)
		*ca = isca;
	if ((pk = X509_get0_pubkey(x)) == NULL)
		goto out;
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		r = cert_rsa(pk, k);
		break;
	case EVP_PKEY_EC:
		r = cert_ec(pk, k);
		break;
	case EVP_PKEY_ED25519:
		memset(k, 0, sizeof(*k));
		if (EVP_PKEY_get_raw_public_key(pk, k->q, &qlen) != 1 ||
		    qlen != 32) {
			r = TK_ERR_BAD_KEY;
			break;
		}
		k->type = TK_KEY_ED25519;
		k->bits = 256;
		k->qlen = 32;
		r = 0;
		break;
	default:
		r = TK_ERR_UNSUPPORTED;
		break;
	}
 out:
	X509_free(x);
	return r;
}

int
tk_decode_cert(const uint8_t *der, size_t len, struct tk_pubkey *k)
{
	return cert_decode(der, len, k, NULL);
}

int
tk_decode_cert_ca(const uint8_t *der, size_t len, struct tk_pubkey *k,
    int *ca)
{
	*ca = 0;
	return cert_decode(der, len, k, ca);
}
