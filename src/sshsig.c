/*
 * OpenSSH signature blobs from raw token signatures, verified with
 * OpenSSL: see sshsig.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "tokenkeys.h"
#include "hclient.h"
#include "sshkey.h"
#include "sshsig.h"

struct tk_sshsig_key {
	int		 type;
	size_t		 siglen;	/* RSA modulus / EC field bytes */
	uint8_t		*blob;
	size_t		 bloblen;
	EVP_PKEY	*pk;
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

void
tk_sshsig_key_free(struct tk_sshsig_key *key)
{
	if (key == NULL)
		return;
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

/* A positive, minimally encoded mpint of at most max magnitude bytes. */
static int
get_posint(struct tk_buf *b, size_t max, BIGNUM **bn)
{
	const uint8_t	*p;
	size_t		 n;
	int		 r;

	if ((r = tk_buf_get_string(b, &p, &n)) != 0)
		return r;
	if (n == 0 || (p[0] & 0x80) != 0 ||
	    (p[0] == 0 && (n < 2 || (p[1] & 0x80) == 0)))
		return TK_ERR_FORMAT;
	if (p[0] == 0) {
		p++;
		n--;
	}
	if (n > max)
		return TK_ERR_FORMAT;
	if ((*bn = BN_bin2bn(p, (int)n, NULL)) == NULL)
		return TK_ERR_NOMEM;
	return 0;
}

/* The inner ECDSA signature blob as the DER OpenSSL verifies. */
static int
ecdsa_der(const struct tk_sshsig_key *key, const uint8_t *p, size_t n,
    uint8_t **der, size_t *derlen)
{
	struct tk_buf	 b;
	ECDSA_SIG	*es = NULL;
	BIGNUM		*br = NULL, *bs = NULL;
	unsigned char	*d = NULL;
	int		 len, r;

	*der = NULL;
	tk_buf_init_ro(&b, p, n);
	if ((r = get_posint(&b, key->siglen, &br)) != 0 ||
	    (r = get_posint(&b, key->siglen, &bs)) != 0 ||
	    (r = tk_buf_end(&b)) != 0)
		goto out;
	if ((es = ECDSA_SIG_new()) == NULL ||
	    ECDSA_SIG_set0(es, br, bs) != 1) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	br = bs = NULL;
	if ((len = i2d_ECDSA_SIG(es, &d)) <= 0) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	*der = d;
	*derlen = (size_t)len;
 out:
	ECDSA_SIG_free(es);
	BN_free(br);
	BN_free(bs);
	return r;
}

int
tk_sshsig_verify(const struct tk_sshsig_key *key, int alg,
    const uint8_t *data, size_t datalen, const uint8_t *sig, size_t siglen)
{
	struct tk_buf	 b;
	EVP_MD_CTX	*mctx = NULL;
	const char	*name;
	const uint8_t	*gotname, *s;
	uint8_t		*der = NULL;
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
		if ((r = ecdsa_der(key, s, slen, &der, &slen)) != 0)
			goto out;
		s = der;
		break;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	r = TK_ERR_SIGNATURE;
	if (EVP_DigestVerifyInit_ex(mctx, NULL, md_name(hash), NULL, NULL,
	    key->pk, NULL) != 1 ||
	    EVP_DigestVerify(mctx, s, slen, data, datalen) != 1)
		goto out;
	r = 0;
 out:
	EVP_MD_CTX_free(mctx);
	OPENSSL_free(der);
	return r;
}
