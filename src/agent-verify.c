/*
 * session-bind@openssh.com: the client proves which server it talks to by
 * passing the server's host key and its signature over the session id.
 * We check that signature before believing the binding.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "tokenkeys.h"
#include "agent.h"
#include "sshkey.h"

static EVP_PKEY *
pkey_from(const struct tk_pubkey *k)
{
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pk = NULL;
	BIGNUM		*n = NULL, *e = NULL;
	const char	*group = NULL, *alg = "EC";

	switch (k->type) {
	case TK_KEY_ED25519:
		pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k->q,
		    k->qlen);
		goto out;
	case TK_KEY_ECDSA_P256:
		group = "P-256";
		break;
	case TK_KEY_ECDSA_P384:
		group = "P-384";
		break;
	case TK_KEY_ECDSA_P521:
		group = "P-521";
		break;
	case TK_KEY_RSA:
		alg = "RSA";
		break;
	default:
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (group != NULL) {
		if (!OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, k->q, k->qlen))
			goto out;
	} else {
		if (k->nlen * 8 < 1024 || k->nlen * 8 > 16384 ||
		    (n = BN_bin2bn(k->n, (int)k->nlen, NULL)) == NULL ||
		    (e = BN_bin2bn(k->e, (int)k->elen, NULL)) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
 out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pk;
}

static int
name_is(const uint8_t *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

/* string(mpint r, mpint s) -> DER ECDSA-Sig-Value into der. */
static int
ecdsa_der(const uint8_t *p, size_t n, uint8_t *der, size_t dersz,
    size_t *derlen)
{
	struct tk_buf	 b;
	const uint8_t	*rp, *sp;
	size_t		 rn, sn;
	ECDSA_SIG	*es = NULL;
	BIGNUM		*r = NULL, *s = NULL;
	unsigned char	*o = der;
	int		 len, ret = TK_ERR_FORMAT;

	tk_buf_init_ro(&b, p, n);
	if (tk_buf_get_string(&b, &rp, &rn) != 0 ||
	    tk_buf_get_string(&b, &sp, &sn) != 0 || tk_buf_end(&b) != 0 ||
	    rn > 67 || sn > 67 || rn == 0 || sn == 0 ||
	    (rp[0] & 0x80) || (sp[0] & 0x80))
		goto out;
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(rp, (int)rn, NULL)) == NULL ||
	    (s = BN_bin2bn(sp, (int)sn, NULL)) == NULL ||
	    ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;
	if ((len = i2d_ECDSA_SIG(es, NULL)) <= 0 || (size_t)len > dersz ||
	    i2d_ECDSA_SIG(es, &o) != len)
		goto out;
	*derlen = (size_t)len;
	ret = 0;
 out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return ret;
}

int
agent_verify_hostsig(const uint8_t *key, size_t keylen, const uint8_t *sig,
    size_t siglen, const uint8_t *data, size_t datalen)
{
	struct tk_pubkey k;
	struct tk_buf	 store, b;
	EVP_MD_CTX	*md = NULL;
	EVP_PKEY	*pk = NULL;
	const EVP_MD	*hash = NULL;
	const uint8_t	*alg, *s;
	size_t		 alglen, slen, derlen;
	uint8_t		 der[160], rsasig[2048];
	int		 r;

	tk_buf_init(&store, 8192, 0);
	if ((r = tk_ssh_blob_parse(key, keylen, &k, &store)) != 0)
		goto out;
	tk_buf_init_ro(&b, sig, siglen);
	r = TK_ERR_FORMAT;
	if (tk_buf_get_string(&b, &alg, &alglen) != 0 ||
	    tk_buf_get_string(&b, &s, &slen) != 0 || tk_buf_end(&b) != 0)
		goto out;
	r = TK_ERR_SIGNATURE;
	switch (k.type) {
	case TK_KEY_ED25519:
		if (!name_is(alg, alglen, "ssh-ed25519") || slen != 64)
			goto out;
		break;
	case TK_KEY_RSA:
		if (name_is(alg, alglen, "rsa-sha2-256"))
			hash = EVP_sha256();
		else if (name_is(alg, alglen, "rsa-sha2-512"))
			hash = EVP_sha512();
		else if (name_is(alg, alglen, "ssh-rsa"))
			hash = EVP_sha1();
		else
			goto out;
		/* OpenSSL wants exactly the modulus length. */
		if (slen > k.nlen || k.nlen > sizeof(rsasig))
			goto out;
		memset(rsasig, 0, k.nlen - slen);
		memcpy(rsasig + (k.nlen - slen), s, slen);
		s = rsasig;
		slen = k.nlen;
		break;
	default:
		if (!name_is(alg, alglen, tk_ssh_type_name(k.type)))
			goto out;
		hash = k.type == TK_KEY_ECDSA_P256 ? EVP_sha256() :
		    k.type == TK_KEY_ECDSA_P384 ? EVP_sha384() : EVP_sha512();
		if (ecdsa_der(s, slen, der, sizeof(der), &derlen) != 0)
			goto out;
		s = der;
		slen = derlen;
		break;
	}
	if ((pk = pkey_from(&k)) == NULL || (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, hash, NULL, pk) != 1 ||
	    EVP_DigestVerify(md, s, slen, data, datalen) != 1)
		goto out;
	r = 0;
 out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	tk_buf_free(&store);
	return r;
}
