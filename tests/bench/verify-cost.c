/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-cost: the agent's own work per signature, for callgrind.
 *
 * What tk_hclient_sign does with a token's raw signature before handing
 * it out -- encode it as an OpenSSH signature blob and verify it against
 * the cached public key (src/ssh/sshsig.c) -- repeated count times on one
 * key of the given type, in verify_loop() alone, so that
 *
 *   valgrind --tool=callgrind --toggle-collect=verify_loop \
 *       tests/bench/verify-cost ec256 1000
 *
 * counts the instructions of count verifications and nothing else.  The
 * key and the raw signature come from OpenSSL, made the way a token
 * makes them (ECDSA r||s, RSA PKCS#1 v1.5 over SHA-256, Ed25519).
 *
 * It also prints the wall time per verification (the clock read outside
 * verify_loop), which make bench uses for the hop's floor.
 *
 * usage: verify-cost ec256|rsa2048|ed25519 count
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "helper/hclient.h"
#include "ssh/sshkey.h"
#include "ssh/sshsig.h"

static const uint8_t	msg[] = "a session id and a userauth request, "
    "about as long as the one ssh sends for a login";

/* The OpenSSH public key blob of an OpenSSL key. */
static int
blob_of(EVP_PKEY *pk, int type, struct tk_buf *out)
{
	struct tk_pubkey	 pub;
	BIGNUM			*n = NULL, *e = NULL;
	uint8_t			 nb[1024], eb[16];
	size_t			 ql;
	int			 r = -1;

	memset(&pub, 0, sizeof(pub));
	pub.type = type;
	switch (type) {
	case TK_KEY_RSA:
		if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) ||
		    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e))
			goto out;
		pub.nlen = BN_bn2bin(n, nb);
		pub.elen = BN_bn2bin(e, eb);
		pub.n = nb;
		pub.e = eb;
		break;
	case TK_KEY_ED25519:
		ql = 32;
		if (EVP_PKEY_get_raw_public_key(pk, pub.q, &ql) != 1)
			goto out;
		pub.qlen = ql;
		break;
	default:
		if (!EVP_PKEY_get_octet_string_param(pk,
		    OSSL_PKEY_PARAM_PUB_KEY, pub.q, sizeof(pub.q), &ql))
			goto out;
		pub.qlen = ql;
		break;
	}
	r = tk_ssh_blob(&pub, out);
 out:
	BN_free(n);
	BN_free(e);
	return r;
}

/* The raw signature a token returns. */
static int
raw_sign(EVP_PKEY *pk, int type, uint8_t *raw, size_t *rawlen)
{
	EVP_MD_CTX	*c = EVP_MD_CTX_new();
	ECDSA_SIG	*es = NULL;
	uint8_t		 der[1024];
	const uint8_t	*dp = der;
	size_t		 len = sizeof(der);
	int		 r = -1;

	if (c == NULL || EVP_DigestSignInit_ex(c, NULL,
	    type == TK_KEY_ED25519 ? NULL : "SHA256", NULL, NULL, pk,
	    NULL) != 1 || EVP_DigestSign(c, der, &len, msg, sizeof(msg)) != 1)
		goto out;
	if (type != TK_KEY_ECDSA_P256) {
		memcpy(raw, der, len);
		*rawlen = len;
		r = 0;
		goto out;
	}
	if ((es = d2i_ECDSA_SIG(NULL, &dp, (long)len)) == NULL ||
	    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32) < 0 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32) < 0)
		goto out;
	*rawlen = 64;
	r = 0;
 out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(c);
	return r;
}

/* As tk_hclient_sign, after the helper's reply: encode, verify. */
__attribute__((noinline)) static int
verify_loop(const struct tk_sshsig_key *k, int alg, const uint8_t *raw,
    size_t rawlen, unsigned long count)
{
	struct tk_buf	out;
	unsigned long	i;
	int		r = 0;

	for (i = 0; i < count && r == 0; i++) {
		tk_buf_init(&out, TK_SSHSIG_MAX, 0);
		if ((r = tk_sshsig_encode(k, alg, raw, rawlen, &out)) == 0)
			r = tk_sshsig_verify(k, alg, msg, sizeof(msg),
			    tk_buf_ptr(&out), tk_buf_avail(&out));
		tk_buf_free(&out);
	}
	return r;
}

int
main(int argc, char **argv)
{
	struct tk_sshsig_key	*k = NULL;
	struct tk_buf		 blob;
	EVP_PKEY		*pk = NULL;
	uint8_t			 raw[512];
	size_t			 rawlen = 0;
	unsigned long		 count;
	struct timespec		 t0, t1;
	double			 us;
	char			*end;
	int			 type, alg = 0, ret = 1;

	tk_buf_init(&blob, 4096, 0);
	if (argc != 3) {
		fprintf(stderr, "usage: verify-cost ec256|rsa2048|ed25519 "
		    "count\n");
		goto out;
	}
	count = strtoul(argv[2], &end, 10);
	if (*argv[2] == '\0' || *end != '\0' || count > 100000000UL) {
		fprintf(stderr, "verify-cost: bad count \"%s\"\n", argv[2]);
		goto out;
	}
	if (strcmp(argv[1], "ec256") == 0) {
		type = TK_KEY_ECDSA_P256;
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	} else if (strcmp(argv[1], "rsa2048") == 0) {
		type = TK_KEY_RSA;
		alg = TK_SIG_RSA_SHA256;
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	} else if (strcmp(argv[1], "ed25519") == 0) {
		type = TK_KEY_ED25519;
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	} else {
		fprintf(stderr, "verify-cost: unknown key type \"%s\"\n",
		    argv[1]);
		goto out;
	}
	if (pk == NULL || blob_of(pk, type, &blob) != 0 ||
	    tk_sshsig_key_new(tk_buf_ptr(&blob), tk_buf_avail(&blob),
	    &k) != 0 || raw_sign(pk, type, raw, &rawlen) != 0) {
		fprintf(stderr, "verify-cost: cannot make the key\n");
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (verify_loop(k, alg, raw, rawlen, count) != 0) {
		fprintf(stderr, "verify-cost: a verification failed\n");
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	    (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3;
	printf("verify-cost: %s: %lu verifications us_each=%.1f\n", argv[1],
	    count, count > 0 ? us / (double)count : 0.0);
	ret = 0;
 out:
	tk_sshsig_key_free(k);
	EVP_PKEY_free(pk);
	tk_buf_free(&blob);
	return ret;
}
