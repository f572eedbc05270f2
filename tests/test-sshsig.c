/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * OpenSSH signature blobs (src/ssh/sshsig.c): raw signatures made with
 * OpenSSL the way a token makes them (RSA PKCS#1 v1.5 over SHA-1/256/512,
 * ECDSA r||s over the curve's hash, Ed25519) are encoded and verified;
 * the RFC 8032 Ed25519 vector is checked byte for byte; corrupted,
 * mislabelled and malformed signatures are refused.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "helper/hclient.h"
#include "ssh/sshkey.h"
#include "ssh/sshsig.h"
#include "tap.h"

static const uint8_t	msg[] = "SSH_MSG_USERAUTH_REQUEST, more or less";

struct kp {
	const char		*what;
	int			 type;
	size_t			 flen;		/* EC field bytes */
	EVP_PKEY		*pk;
	struct tk_sshsig_key	*key;
	uint8_t			 blob[2048];
	size_t			 bloblen;
};

static int
hexdec(const char *h, uint8_t *out, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (sscanf(h + 2 * i, "%2hhx", &out[i]) != 1)
			return -1;
	return 0;
}

/* The OpenSSH public key blob of an OpenSSL key. */
static int
make_blob(struct kp *k)
{
	struct tk_pubkey	 pub;
	struct tk_buf		 b;
	BIGNUM			*n = NULL, *e = NULL;
	uint8_t			 nb[1024], eb[16];
	size_t			 ql;
	int			 r = -1;

	memset(&pub, 0, sizeof(pub));
	pub.type = k->type;
	switch (k->type) {
	case TK_KEY_RSA:
		if (!EVP_PKEY_get_bn_param(k->pk, OSSL_PKEY_PARAM_RSA_N, &n) ||
		    !EVP_PKEY_get_bn_param(k->pk, OSSL_PKEY_PARAM_RSA_E, &e))
			goto out;
		pub.nlen = BN_bn2bin(n, nb);
		pub.elen = BN_bn2bin(e, eb);
		pub.n = nb;
		pub.e = eb;
		break;
	case TK_KEY_ED25519:
		ql = 32;
		if (EVP_PKEY_get_raw_public_key(k->pk, pub.q, &ql) != 1)
			goto out;
		pub.qlen = ql;
		break;
	default:
		if (!EVP_PKEY_get_octet_string_param(k->pk,
		    OSSL_PKEY_PARAM_PUB_KEY, pub.q, sizeof(pub.q), &ql))
			goto out;
		pub.qlen = ql;
		break;
	}
	tk_buf_init(&b, sizeof(k->blob), 0);
	if (tk_ssh_blob(&pub, &b) == 0) {
		memcpy(k->blob, tk_buf_ptr(&b), tk_buf_avail(&b));
		k->bloblen = tk_buf_avail(&b);
		r = 0;
	}
	tk_buf_free(&b);
 out:
	BN_free(n);
	BN_free(e);
	return r;
}

static int
keygen(struct kp *k)
{
	switch (k->type) {
	case TK_KEY_RSA:
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case TK_KEY_ED25519:
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
		    k->type == TK_KEY_ECDSA_P256 ? "P-256" :
		    k->type == TK_KEY_ECDSA_P384 ? "P-384" : "P-521");
		break;
	}
	if (k->pk == NULL || make_blob(k) != 0)
		return -1;
	return tk_sshsig_key_new(k->blob, k->bloblen, &k->key);
}

/*
 * What a token returns: RSA s (leading zeros stripped, as some tokens
 * do, when strip is set), ECDSA r||s each flen bytes, Ed25519 64 bytes.
 */
static int
raw_sign(struct kp *k, const char *md, const uint8_t *m, size_t mlen,
    uint8_t *raw, size_t *rawlen, int strip)
{
	EVP_MD_CTX	*c = EVP_MD_CTX_new();
	uint8_t		 der[8192], *p;
	const uint8_t	*dp;
	size_t		 len = sizeof(der);
	ECDSA_SIG	*es = NULL;
	int		 r = -1;

	if (EVP_DigestSignInit_ex(c, NULL, md, NULL, NULL, k->pk, NULL) != 1 ||
	    EVP_DigestSign(c, der, &len, m, mlen) != 1)
		goto out;
	if (k->type == TK_KEY_RSA || k->type == TK_KEY_ED25519) {
		p = der;
		if (strip)
			while (len > 0 && *p == 0) {
				p++;
				len--;
			}
		memcpy(raw, p, len);
		*rawlen = len;
		r = 0;
		goto out;
	}
	dp = der;
	if ((es = d2i_ECDSA_SIG(NULL, &dp, (long)len)) == NULL)
		goto out;
	if (BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)k->flen) < 0 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + k->flen, (int)k->flen) < 0)
		goto out;
	*rawlen = 2 * k->flen;
	r = 0;
 out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(c);
	return r;
}

/* Encode raw and verify it; returns the verdict, sig left in out. */
static int
encode_verify(struct kp *k, int alg, const uint8_t *raw, size_t rawlen,
    struct tk_buf *out)
{
	int	r;

	tk_buf_reset(out);
	if ((r = tk_sshsig_encode(k->key, alg, raw, rawlen, out)) != 0)
		return r;
	return tk_sshsig_verify(k->key, alg, msg, sizeof(msg),
	    tk_buf_ptr(out), tk_buf_avail(out));
}

static int
name_is(const struct tk_buf *sig, const char *name)
{
	const uint8_t	*p = tk_buf_ptr(sig);
	size_t		 n = strlen(name);

	return tk_buf_avail(sig) > 4 + n && p[0] == 0 && p[1] == 0 &&
	    p[2] == 0 && p[3] == n && memcmp(p + 4, name, n) == 0;
}

static void
test_rsa(struct kp *k)
{
	static const struct {
		int		 alg;
		const char	*md, *name;
	} algs[] = {
		{ TK_SIG_DEFAULT, "SHA1", "ssh-rsa" },
		{ TK_SIG_RSA_SHA256, "SHA256", "rsa-sha2-256" },
		{ TK_SIG_RSA_SHA512, "SHA512", "rsa-sha2-512" },
	};
	struct tk_buf	out;
	uint8_t		raw[1024], m[64];
	size_t		rawlen, i;
	int		found = 0, r;

	tk_buf_init(&out, TK_SSHSIG_MAX, 0);
	for (i = 0; i < 3; i++) {
		raw_sign(k, algs[i].md, msg, sizeof(msg), raw, &rawlen, 0);
		r = encode_verify(k, algs[i].alg, raw, rawlen, &out);
		ok(r == 0 && name_is(&out, algs[i].name) &&
		    tk_buf_avail(&out) == 4 + strlen(algs[i].name) + 4 + 256,
		    "RSA-2048 %s: encoded (s 256 bytes) and verified",
		    algs[i].name);
	}
	/* rsa-sha2-256 signature presented as rsa-sha2-512 */
	raw_sign(k, "SHA256", msg, sizeof(msg), raw, &rawlen, 0);
	tk_buf_reset(&out);
	tk_sshsig_encode(k->key, TK_SIG_RSA_SHA256, raw, rawlen, &out);
	is_int(tk_sshsig_verify(k->key, TK_SIG_RSA_SHA512, msg, sizeof(msg),
	    tk_buf_ptr(&out), tk_buf_avail(&out)), TK_ERR_SIGNATURE,
	    "an rsa-sha2-256 signature does not pass for rsa-sha2-512");
	/* a SHA-256 signature labelled rsa-sha2-512 by the encoder */
	is_int(encode_verify(k, TK_SIG_RSA_SHA512, raw, rawlen, &out),
	    TK_ERR_SIGNATURE, "a token signing the wrong hash is caught");

	/* a signature with a leading zero byte, stripped by the token */
	for (i = 0; i < 4000 && !found; i++) {
		memset(m, 0, sizeof(m));
		memcpy(m, &i, sizeof(i));
		raw_sign(k, "SHA256", m, sizeof(m), raw, &rawlen, 0);
		found = raw[0] == 0;
	}
	if (found) {
		raw_sign(k, "SHA256", m, sizeof(m), raw, &rawlen, 1);
		tk_buf_reset(&out);
		r = tk_sshsig_encode(k->key, TK_SIG_RSA_SHA256, raw, rawlen,
		    &out);
		ok(r == 0 && rawlen < 256 && tk_buf_avail(&out) ==
		    4 + 12 + 4 + 256 && tk_sshsig_verify(k->key,
		    TK_SIG_RSA_SHA256, m, sizeof(m), tk_buf_ptr(&out),
		    tk_buf_avail(&out)) == 0, "a %zu-byte s is left-padded to "
		    "the modulus length and verifies", rawlen);
	} else
		ok(1, "# SKIP no signature with a leading zero found");

	memset(raw, 0xff, sizeof(raw));
	is_int(tk_sshsig_encode(k->key, 0, raw, 257, &out), TK_ERR_SIGNATURE,
	    "an s longer than the modulus is refused");
	tk_buf_free(&out);
}

static void
test_ec(struct kp *k, const char *md)
{
	struct tk_buf	out, in;
	uint8_t		raw[256];
	const uint8_t	*name, *inner, *ir, *is;
	size_t		rawlen, nlen, ilen, rl, sl;
	char		tn[64];
	int		r;

	tk_buf_init(&out, TK_SSHSIG_MAX, 0);
	raw_sign(k, md, msg, sizeof(msg), raw, &rawlen, 0);
	r = encode_verify(k, 0, raw, rawlen, &out);
	snprintf(tn, sizeof(tn), "%s", tk_ssh_type_name(k->type));
	ok(r == 0 && name_is(&out, tn), "%s: r||s encoded and verified",
	    k->what);
	/* the inner blob: two positive mpints */
	tk_buf_init_ro(&in, tk_buf_ptr(&out), tk_buf_avail(&out));
	ok(tk_buf_get_string(&in, &name, &nlen) == 0 &&
	    tk_buf_get_string(&in, &inner, &ilen) == 0 &&
	    tk_buf_end(&in) == 0, "%s: string name, string inner", k->what);
	tk_buf_init_ro(&in, inner, ilen);
	ok(tk_buf_get_string(&in, &ir, &rl) == 0 &&
	    tk_buf_get_string(&in, &is, &sl) == 0 && tk_buf_end(&in) == 0 &&
	    rl > 0 && sl > 0 && !(ir[0] & 0x80) && !(is[0] & 0x80) &&
	    rl <= k->flen + 1 && sl <= k->flen + 1,
	    "%s: inner is mpint r, mpint s (positive, minimal)", k->what);

	raw[3] ^= 0x10;
	is_int(encode_verify(k, 0, raw, rawlen, &out), TK_ERR_SIGNATURE,
	    "%s: a corrupted r is refused", k->what);
	raw[3] ^= 0x10;
	is_int(tk_sshsig_encode(k->key, 0, raw, rawlen - 1, &out),
	    TK_ERR_SIGNATURE, "%s: r||s of the wrong length is refused",
	    k->what);
	memset(raw, 0, rawlen);
	is_int(encode_verify(k, 0, raw, rawlen, &out), TK_ERR_FORMAT,
	    "%s: r = s = 0 is refused", k->what);
	tk_buf_free(&out);
}

static void
test_ed25519(struct kp *k)
{
	struct tk_buf	out;
	uint8_t		raw[64];
	size_t		rawlen;

	tk_buf_init(&out, TK_SSHSIG_MAX, 0);
	raw_sign(k, NULL, msg, sizeof(msg), raw, &rawlen, 0);
	ok(rawlen == 64 && encode_verify(k, 0, raw, rawlen, &out) == 0 &&
	    name_is(&out, "ssh-ed25519") &&
	    tk_buf_avail(&out) == 4 + 11 + 4 + 64,
	    "Ed25519: encoded and verified");
	raw[63] ^= 1;
	is_int(encode_verify(k, 0, raw, rawlen, &out), TK_ERR_SIGNATURE,
	    "Ed25519: a corrupted signature is refused");
	tk_buf_free(&out);
}

/* RFC 8032 section 7.1, test 1: a known key, message and signature. */
static void
test_ed25519_vector(void)
{
	static const char sk_hex[] =
	    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
	static const char pk_hex[] =
	    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
	static const char sig_hex[] =
	    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
	struct tk_sshsig_key	*key = NULL;
	struct tk_buf		 b, out;
	EVP_PKEY		*pk;
	EVP_MD_CTX		*c;
	uint8_t			 sk[32], pub[32], want[64], got[64];
	size_t			 glen = sizeof(got);

	hexdec(sk_hex, sk, 32);
	hexdec(pk_hex, pub, 32);
	hexdec(sig_hex, want, 64);
	tk_buf_init(&b, 256, 0);
	tk_buf_init(&out, TK_SSHSIG_MAX, 0);
	tk_buf_put_cstring(&b, "ssh-ed25519");
	tk_buf_put_string(&b, pub, 32);
	ok(tk_sshsig_key_new(tk_buf_ptr(&b), tk_buf_avail(&b), &key) == 0,
	    "RFC 8032 test 1 public key parses");
	ok(tk_sshsig_encode(key, 0, want, 64, &out) == 0 &&
	    tk_sshsig_verify(key, 0, (const uint8_t *)"", 0, tk_buf_ptr(&out),
	    tk_buf_avail(&out)) == 0, "RFC 8032 test 1 signature verifies");
	/* and OpenSSL signing with the secret key makes exactly that */
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, 32);
	c = EVP_MD_CTX_new();
	ok(pk != NULL && EVP_DigestSignInit(c, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestSign(c, got, &glen, (const uint8_t *)"", 0) == 1 &&
	    glen == 64 && memcmp(got, want, 64) == 0,
	    "OpenSSL reproduces the RFC 8032 signature");
	is_int(tk_sshsig_verify(key, 0, (const uint8_t *)"x", 1,
	    tk_buf_ptr(&out), tk_buf_avail(&out)), TK_ERR_SIGNATURE,
	    "the signature does not verify over another message");
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(pk);
	tk_sshsig_key_free(key);
	tk_buf_free(&b);
	tk_buf_free(&out);
}

/* Signature blobs that are malformed rather than wrong. */
static void
test_malformed(struct kp *ed, struct kp *ec)
{
	struct tk_buf	out, b;
	uint8_t		raw[256];
	size_t		rawlen;

	tk_buf_init(&out, TK_SSHSIG_MAX, 0);
	tk_buf_init(&b, TK_SSHSIG_MAX + 16, 0);
	raw_sign(ed, NULL, msg, sizeof(msg), raw, &rawlen, 0);
	tk_sshsig_encode(ed->key, 0, raw, rawlen, &out);
	tk_buf_put(&b, tk_buf_ptr(&out), tk_buf_avail(&out));
	tk_buf_put_u8(&b, 0);
	is_int(tk_sshsig_verify(ed->key, 0, msg, sizeof(msg), tk_buf_ptr(&b),
	    tk_buf_avail(&b)), TK_ERR_FORMAT, "a trailing byte is refused");
	is_int(tk_sshsig_verify(ed->key, 0, msg, sizeof(msg), tk_buf_ptr(&out),
	    tk_buf_avail(&out) - 1), TK_ERR_FORMAT,
	    "a truncated signature is refused");
	is_int(tk_sshsig_verify(ec->key, 0, msg, sizeof(msg),
	    tk_buf_ptr(&out), tk_buf_avail(&out)), TK_ERR_SIGNATURE,
	    "an Ed25519 signature does not pass for an ECDSA key");

	/* ECDSA with a negative r */
	tk_buf_reset(&b);
	tk_buf_put_cstring(&b, "ecdsa-sha2-nistp256");
	{
		size_t	mark;

		tk_buf_open_string(&b, &mark);
		tk_buf_put_string(&b, "\x80\x01", 2);
		tk_buf_put_string(&b, "\x01", 1);
		tk_buf_close_string(&b, mark);
	}
	is_int(tk_sshsig_verify(ec->key, 0, msg, sizeof(msg), tk_buf_ptr(&b),
	    tk_buf_avail(&b)), TK_ERR_FORMAT, "a negative mpint is refused");
	tk_buf_free(&out);
	tk_buf_free(&b);
}

int
main(void)
{
	struct kp	ks[] = {
		{ "RSA-2048", TK_KEY_RSA, 0, NULL, NULL, { 0 }, 0 },
		{ "P-256", TK_KEY_ECDSA_P256, 32, NULL, NULL, { 0 }, 0 },
		{ "P-384", TK_KEY_ECDSA_P384, 48, NULL, NULL, { 0 }, 0 },
		{ "P-521", TK_KEY_ECDSA_P521, 66, NULL, NULL, { 0 }, 0 },
		{ "Ed25519", TK_KEY_ED25519, 0, NULL, NULL, { 0 }, 0 },
	};
	const char	*name;
	size_t		 i;
	int		 hash;

	for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++)
		ok(keygen(&ks[i]) == 0, "%s key made and parsed", ks[i].what);
	ok(tk_sshsig_alg(TK_KEY_RSA, TK_SIG_RSA_SHA256 | TK_SIG_RSA_SHA512,
	    &name, &hash) == 0 && strcmp(name, "rsa-sha2-256") == 0,
	    "both RSA flags: rsa-sha2-256, as OpenSSH's agent");
	ok(tk_sshsig_alg(TK_KEY_ECDSA_P384, TK_SIG_RSA_SHA512, &name,
	    &hash) == 0 && hash == TK_SSHSIG_SHA384,
	    "RSA flags do not change an ECDSA key's hash");
	test_rsa(&ks[0]);
	test_ec(&ks[1], "SHA256");
	test_ec(&ks[2], "SHA384");
	test_ec(&ks[3], "SHA512");
	test_ed25519(&ks[4]);
	test_ed25519_vector();
	test_malformed(&ks[4], &ks[1]);
	for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		tk_sshsig_key_free(ks[i].key);
		EVP_PKEY_free(ks[i].pk);
	}
	return tap_done();
}
