/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Key decoding: the attribute bytes a token hands us and the key blobs an
 * agent client sends.  Input (fuzz.h framing): one selector byte, then
 *	0  RSA	field CKA_MODULUS, rest CKA_PUBLIC_EXPONENT
 *	1  EC	field CKA_EC_PARAMS, rest CKA_EC_POINT
 *	2  cert	rest: CKA_VALUE of an X.509 certificate
 *	3  blob	rest: an OpenSSH public key blob
 * Beyond not crashing: a key that decodes must encode to a blob that
 * parses back to the same key, and a blob that parses must encode to
 * exactly the same bytes -- otherwise one key would have two names, and
 * the agent would answer for a blob it never listed.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "fuzz.h"
#include "pkcs11/p11.h"
#include "ssh/sshkey.h"

#define BLOB_MAX	(1024 * 1024)

/* The printable forms of a blob: sized exactly, so ASan sees overflows. */
static void
blob_text(const uint8_t *blob, size_t len)
{
	char	*s;
	size_t	 sz;

	sz = 4 * ((len + 2) / 3) + 1;
	if ((s = malloc(sz)) == NULL)
		abort();
	if (tk_blob_base64(blob, len, s, sz) != 0 || strlen(s) != sz - 1)
		abort();
	free(s);

	sz = strlen("SHA256:") + 43 + 1;
	if ((s = malloc(sz)) == NULL)
		abort();
	if (tk_blob_fingerprint(blob, len, TK_FP_SHA256, s, sz) != 0 ||
	    strlen(s) != sz - 1)
		abort();
	free(s);

	sz = strlen("MD5:") + 16 * 3;
	if ((s = malloc(sz)) == NULL)
		abort();
	if (tk_blob_fingerprint(blob, len, TK_FP_MD5, s, sz) != 0 ||
	    strlen(s) != sz - 1)
		abort();
	free(s);
}

/* A blob that parses is canonical: re-encoding gives the same bytes. */
static void
blob_roundtrip(const uint8_t *blob, size_t len)
{
	struct tk_pubkey	k;
	struct tk_buf		store, out;

	tk_buf_init(&store, BLOB_MAX, 0);
	tk_buf_init(&out, BLOB_MAX, 0);
	if (tk_ssh_blob_parse(blob, len, &k, &store) == 0) {
		if (tk_ssh_blob(&k, &out) != 0 ||
		    tk_buf_avail(&out) != len ||
		    memcmp(tk_buf_ptr(&out), blob, len) != 0)
			abort();
		blob_text(blob, len);
	}
	tk_buf_free(&out);
	tk_buf_free(&store);
}

/* A decoded key encodes, and its blob parses back to the same key. */
static void
key_roundtrip(const struct tk_pubkey *k)
{
	struct tk_pubkey	back;
	struct tk_buf		store, out;
	uint8_t			*blob;
	size_t			 len;

	tk_buf_init(&store, BLOB_MAX, 0);
	tk_buf_init(&out, BLOB_MAX, 0);
	if (tk_ssh_blob(k, &out) != 0)
		abort();
	len = tk_buf_avail(&out);
	blob = fz_dup(tk_buf_ptr(&out), len);
	if (tk_ssh_blob_parse(blob, len, &back, &store) != 0 ||
	    !tk_pubkey_equal(k, &back))
		abort();
	blob_roundtrip(blob, len);
	free(blob);
	tk_buf_free(&out);
	tk_buf_free(&store);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz		 f = { data, size };
	struct tk_pubkey	 k, k2;
	const uint8_t		*a, *b;
	uint8_t			*ca, *cb;
	size_t			 alen, blen;
	int			 op, r, isca;

	memset(&k, 0, sizeof(k));
	memset(&k2, 0, sizeof(k2));
	op = fz_u8(&f) % 4;
	a = op < 2 ? fz_field(&f, &alen) : NULL;
	if (a == NULL)
		alen = 0;
	b = fz_rest(&f, &blen);
	ca = fz_dup(a, alen);
	cb = fz_dup(b, blen);

	switch (op) {
	case 0:
		r = tk_decode_rsa(ca, alen, cb, blen, &k);
		break;
	case 1:
		r = tk_decode_ec(ca, alen, cb, blen, &k);
		break;
	case 2:
		r = tk_decode_cert_ca(cb, blen, &k, &isca);
		/* the two decoders agree but for CA certificates */
		if (isca) {
			if (tk_decode_cert(cb, blen, &k2) != TK_ERR_DENIED)
				abort();
		} else if (tk_decode_cert(cb, blen, &k2) != r ||
		    (r == 0 && !tk_pubkey_equal(&k, &k2)))
			abort();
		tk_pubkey_clear(&k2);
		break;
	default:
		blob_roundtrip(cb, blen);
		r = -1;
		break;
	}
	if (r == 0) {
		if (k.type < TK_KEY_RSA || k.type > TK_KEY_ED25519 ||
		    k.bits == 0 || k.qlen > sizeof(k.q))
			abort();
		key_roundtrip(&k);
	}
	tk_pubkey_clear(&k);
	free(ca);
	free(cb);
	return 0;
}
