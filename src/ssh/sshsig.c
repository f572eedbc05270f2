/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * OpenSSH signature blobs from raw token signatures, verified with
 * OpenSSL: see sshsig.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "tokenkeys.h"
#include "ssh/sshkey.h"
#include "ssh/sshsig.h"

struct tk_sshsig_key {
	int		 type;
	size_t		 siglen;	/* RSA modulus / EC field bytes */
	uint8_t		*blob;
	size_t		 bloblen;
	EVP_PKEY	*pk;
	/*
	 * Verification contexts set up once per hash the key signs with
	 * and copied for each signature: the setup (provider and digest
	 * look-ups by name) costs more than the copy.  Read only after
	 * tk_sshsig_key_new, so threads may share them.
	 */
	EVP_MD_CTX	*vctx[TK_SSHSIG_SHA512 + 1];
};

static const struct {
	int		 type;
	const char	*group;
	size_t		 flen;
	int		 hash;
} ecs[] = {
	{ TK_KEY_ECDSA_P256, "prime256v1", 32, TK_SSHSIG_SHA256 },
	{ TK_KEY_ECDSA_P384, "secp384r1", 48, TK_SSHSIG_SHA384 },
	{ TK_KEY_ECDSA_P521, "secp521r1", 66, TK_SSHSIG_SHA512 },
};
#define NECS	(sizeof(ecs) / sizeof(ecs[0]))
/* SEQUENCE of two INTEGERs of up to 66 + 1 bytes (P-521) */
#define ECDSA_DER_MAX	(3 + 2 * (2 + 67))

static int
ec_index(int type)
{
	size_t	i;

	for (i = 0; i < NECS; i++)
		if (ecs[i].type == type)
			return (int)i;
	return -1;
}

int
tk_sshsig_alg(int keytype, int alg, const char **name, int *hash)
{
	int	i, r = 0;

	switch (keytype) {
	case TK_KEY_RSA:
		/* as OpenSSH's agent: SHA-256 wins when both are asked */
		if (alg & TK_SIG_RSA_SHA256) {
			*name = "rsa-sha2-256";
			*hash = TK_SSHSIG_SHA256;
		} else if (alg & TK_SIG_RSA_SHA512) {
			*name = "rsa-sha2-512";
			*hash = TK_SSHSIG_SHA512;
		} else {
			*name = "ssh-rsa";
			*hash = TK_SSHSIG_SHA1;
		}
		break;
	case TK_KEY_ED25519:
		*name = "ssh-ed25519";
		*hash = TK_SSHSIG_MSG;
		break;
	default:
		if ((i = ec_index(keytype)) < 0) {
			r = TK_ERR_UNSUPPORTED;
			break;
		}
		*name = tk_ssh_type_name(keytype);
		*hash = ecs[i].hash;
		break;
	}
	return r;
}

static const char *
md_name(int hash)
{
	switch (hash) {
	case TK_SSHSIG_SHA1:
		return "SHA1";
	case TK_SSHSIG_SHA256:
		return "SHA256";
	case TK_SSHSIG_SHA384:
		return "SHA384";
	case TK_SSHSIG_SHA512:
		return "SHA512";
	default:
		return NULL;
	}
}

static int
pkey_from(const char *alg, OSSL_PARAM_BLD *bld, EVP_PKEY **pk)
{
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	int		 r = TK_ERR_BAD_KEY;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	r = 0;
 out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return r;
}

static int
pkey_rsa(const struct tk_pubkey *k, EVP_PKEY **pk)
{
	OSSL_PARAM_BLD	*bld = NULL;
	BIGNUM		*n = NULL, *e = NULL;
	int		 r = TK_ERR_NOMEM;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    (n = BN_bin2bn(k->n, (int)k->nlen, NULL)) == NULL ||
	    (e = BN_bin2bn(k->e, (int)k->elen, NULL)) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
		goto out;
	r = pkey_from("RSA", bld, pk);
 out:
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static int
pkey_ec(const struct tk_pubkey *k, const char *group, EVP_PKEY **pk)
{
	OSSL_PARAM_BLD	*bld = NULL;
	int		 r = TK_ERR_NOMEM;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    k->q, k->qlen) != 1)
		goto out;
	r = pkey_from("EC", bld, pk);
 out:
	OSSL_PARAM_BLD_free(bld);
	return r;
}

/*
 * The verification contexts of the hashes this type of key signs with.
 * One that cannot be made is left out: tk_sshsig_verify then sets up its
 * own, and reports the error there.
 */
static void
key_prepare(struct tk_sshsig_key *key)
{
	static const int	 rsa[] = { TK_SSHSIG_SHA1, TK_SSHSIG_SHA256,
				    TK_SSHSIG_SHA512 };
	EVP_MD_CTX		*c;
	const int		*h, *end;
	int			 one;

	switch (key->type) {
	case TK_KEY_RSA:
		h = rsa;
		end = rsa + sizeof(rsa) / sizeof(rsa[0]);
		break;
	case TK_KEY_ED25519:
		one = TK_SSHSIG_MSG;
		h = &one;
		end = h + 1;
		break;
	default:
		one = ecs[ec_index(key->type)].hash;
		h = &one;
		end = h + 1;
		break;
	}
	for (; h < end; h++) {
		if ((c = EVP_MD_CTX_new()) == NULL)
			continue;
		if (EVP_DigestVerifyInit_ex(c, NULL, md_name(*h), NULL, NULL,
		    key->pk, NULL) != 1) {
			EVP_MD_CTX_free(c);
			continue;
		}
		key->vctx[*h] = c;
	}
}

void
tk_sshsig_key_free(struct tk_sshsig_key *key)
{
	size_t	i;

	if (key == NULL)
		return;
	for (i = 0; i < sizeof(key->vctx) / sizeof(key->vctx[0]); i++)
		EVP_MD_CTX_free(key->vctx[i]);
	EVP_PKEY_free(key->pk);
	free(key->blob);
	free(key);
}

int
tk_sshsig_key_new(const uint8_t *blob, size_t bloblen,
    struct tk_sshsig_key **out)
{
	struct tk_sshsig_key	*key = NULL;
	struct tk_pubkey	 k;
	struct tk_buf		 store;
	int			 i, r;

	*out = NULL;
	tk_buf_init(&store, 65536, 0);
	if ((r = tk_ssh_blob_parse(blob, bloblen, &k, &store)) != 0)
		goto out;
	if ((key = calloc(1, sizeof(*key))) == NULL ||
	    (key->blob = malloc(bloblen)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	memcpy(key->blob, blob, bloblen);
	key->bloblen = bloblen;
	key->type = k.type;
	switch (k.type) {
	case TK_KEY_RSA:
		if (k.nlen * 8 < 1024 || k.nlen > 16384 / 8 || k.elen == 0 ||
		    k.elen > 64) {
			r = TK_ERR_BAD_KEY;
			goto out;
		}
		key->siglen = k.nlen;
		r = pkey_rsa(&k, &key->pk);
		break;
	case TK_KEY_ED25519:
		key->siglen = 64;
		key->pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
		    k.q, k.qlen);
		r = key->pk == NULL ? TK_ERR_BAD_KEY : 0;
		break;
	default:
		if ((i = ec_index(k.type)) < 0 ||
		    k.qlen != 1 + 2 * ecs[i].flen || k.q[0] != 0x04) {
			r = TK_ERR_BAD_KEY;
			goto out;
		}
		key->siglen = ecs[i].flen;
		r = pkey_ec(&k, ecs[i].group, &key->pk);
		break;
	}
	if (r != 0)
		goto out;
	key_prepare(key);
	*out = key;
	key = NULL;
 out:
	tk_sshsig_key_free(key);
	tk_buf_free(&store);
	return r;
}

int
tk_sshsig_key_type(const struct tk_sshsig_key *key)
{
	return key->type;
}

const uint8_t *
tk_sshsig_key_blob(const struct tk_sshsig_key *key, size_t *len)
{
	*len = key->bloblen;
	return key->blob;
}

int
tk_sshsig_encode(const struct tk_sshsig_key *key, int alg,
    const uint8_t *raw, size_t rawlen, struct tk_buf *out)
{
	const char	*name;
	uint8_t		*d;
	size_t		 mark, start = out->len;
	int		 hash, r;

	if ((r = tk_sshsig_alg(key->type, alg, &name, &hash)) != 0)
		goto out;
	if ((r = tk_buf_put_cstring(out, name)) != 0)
		goto out;
	switch (key->type) {
	case TK_KEY_RSA:
		if (rawlen == 0 || rawlen > key->siglen) {
			r = TK_ERR_SIGNATURE;
			goto out;
		}
		if ((r = tk_buf_put_u32(out, (uint32_t)key->siglen)) != 0 ||
		    (r = tk_buf_reserve(out, key->siglen, &d)) != 0)
			goto out;
		memset(d, 0, key->siglen - rawlen);
		memcpy(d + key->siglen - rawlen, raw, rawlen);
		break;
	case TK_KEY_ED25519:
		if (rawlen != 64) {
			r = TK_ERR_SIGNATURE;
			goto out;
		}
		r = tk_buf_put_string(out, raw, rawlen);
		break;
	default:
		if (rawlen != 2 * key->siglen) {
			r = TK_ERR_SIGNATURE;
			goto out;
		}
		if ((r = tk_buf_open_string(out, &mark)) != 0 ||
		    (r = tk_buf_put_bignum(out, raw, key->siglen)) != 0 ||
		    (r = tk_buf_put_bignum(out, raw + key->siglen,
		    key->siglen)) != 0 ||
		    (r = tk_buf_close_string(out, mark)) != 0)
			goto out;
		break;
	}
 out:
	if (r != 0 && start <= out->len)
		out->len = start;
	return r;
}

/*
 * A positive, minimally encoded mpint of at most max magnitude bytes,
 * left in place: its bytes (with the 0x00 before a high bit) are also
 * the content of the DER INTEGER of the same number.
 */
static int
get_posint(struct tk_buf *b, size_t max, const uint8_t **v, size_t *vlen)
{
	const uint8_t	*p;
	size_t		 n;
	int		 r;

	if ((r = tk_buf_get_string(b, &p, &n)) != 0)
		return r;
	if (n == 0 || (p[0] & 0x80) != 0 ||
	    (p[0] == 0 && (n < 2 || (p[1] & 0x80) == 0)))
		return TK_ERR_FORMAT;
	if (n - (p[0] == 0) > max)
		return TK_ERR_FORMAT;
	*v = p;
	*vlen = n;
	return 0;
}

/*
 * The inner ECDSA signature blob as the DER OpenSSL verifies:
 * SEQUENCE { INTEGER r, INTEGER s }, written out directly (each integer
 * at most 67 bytes for P-521, so the sequence needs at most a one-byte
 * long-form length).
 */
static int
ecdsa_der(const struct tk_sshsig_key *key, const uint8_t *p, size_t n,
    uint8_t der[ECDSA_DER_MAX], size_t *derlen)
{
	struct tk_buf	 b;
	const uint8_t	*v[2];
	size_t		 vl[2], body, o = 0;
	int		 i, r;

	tk_buf_init_ro(&b, p, n);
	if ((r = get_posint(&b, key->siglen, &v[0], &vl[0])) != 0 ||
	    (r = get_posint(&b, key->siglen, &v[1], &vl[1])) != 0 ||
	    (r = tk_buf_end(&b)) != 0)
		return r;
	body = 2 + vl[0] + 2 + vl[1];
	if (vl[0] > 127 || vl[1] > 127 || body > 255 ||
	    body + 3 > ECDSA_DER_MAX)
		return TK_ERR_FORMAT;
	der[o++] = 0x30;
	if (body > 127)
		der[o++] = 0x81;
	der[o++] = (uint8_t)body;
	for (i = 0; i < 2; i++) {
		der[o++] = 0x02;
		der[o++] = (uint8_t)vl[i];
		memcpy(der + o, v[i], vl[i]);
		o += vl[i];
	}
	*derlen = o;
	return 0;
}

int
tk_sshsig_verify(const struct tk_sshsig_key *key, int alg,
    const uint8_t *data, size_t datalen, const uint8_t *sig, size_t siglen)
{
	struct tk_buf	 b;
	EVP_MD_CTX	*mctx = NULL;
	const char	*name;
	const uint8_t	*gotname, *s;
	uint8_t		 der[ECDSA_DER_MAX];
	size_t		 gotlen, slen;
	int		 hash, r;

	if ((r = tk_sshsig_alg(key->type, alg, &name, &hash)) != 0)
		goto out;
	tk_buf_init_ro(&b, sig, siglen);
	if ((r = tk_buf_get_string(&b, &gotname, &gotlen)) != 0 ||
	    (r = tk_buf_get_string(&b, &s, &slen)) != 0 ||
	    (r = tk_buf_end(&b)) != 0)
		goto out;
	if (gotlen != strlen(name) || memcmp(gotname, name, gotlen) != 0) {
		r = TK_ERR_SIGNATURE;
		goto out;
	}
	switch (key->type) {
	case TK_KEY_RSA:
	case TK_KEY_ED25519:
		if (slen != key->siglen) {
			r = TK_ERR_SIGNATURE;
			goto out;
		}
		break;
	default:
		if ((r = ecdsa_der(key, s, slen, der, &slen)) != 0)
			goto out;
		s = der;
		break;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	r = TK_ERR_SIGNATURE;
	if (key->vctx[hash] != NULL) {
		if (EVP_MD_CTX_copy_ex(mctx, key->vctx[hash]) != 1)
			goto out;
	} else if (EVP_DigestVerifyInit_ex(mctx, NULL, md_name(hash), NULL,
	    NULL, key->pk, NULL) != 1)
		goto out;
	if (EVP_DigestVerify(mctx, s, slen, data, datalen) != 1)
		goto out;
	r = 0;
 out:
	EVP_MD_CTX_free(mctx);
	return r;
}
