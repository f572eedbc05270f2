/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Decoding of token attributes a hostile or broken token might hand us:
 * everything out of bounds is refused with an error, never a crash.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "decode-vectors.h"
#include "pkcs11/p11.h"
#include "ssh/sshkey.h"
#include "sshkey-vectors.h"
#include "tap.h"

static const uint8_t p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};
static const uint8_t ed_oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const uint8_t ed_str[] = {
	0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'
};
static const uint8_t brainpool[] = {
	0x06, 0x09, 0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07
};

static const struct vec *
find(int type)
{
	size_t	i;

	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++)
		if (vecs[i].type == type)
			return &vecs[i];
	return NULL;
}

static void
rsa_tests(void)
{
	const struct vec	*v = find(TK_KEY_RSA);
	struct tk_pubkey	 k;
	uint8_t			 n[TK_RSA_MAX_BITS / 8 + 2], e[3];

	memcpy(e, v->b, 3);
	is_int(tk_decode_rsa(v->a, v->alen, e, 3, &k), 0, "RSA-2048 accepted");
	memset(n, 0xff, sizeof(n));
	is_int(tk_decode_rsa(n, 64, e, 3, &k), TK_ERR_BAD_KEY,
	    "RSA-512 refused");
	is_int(tk_decode_rsa(n, TK_RSA_MAX_BITS / 8, e, 3, &k), 0,
	    "RSA-16384 accepted");
	is_int(tk_decode_rsa(n, TK_RSA_MAX_BITS / 8 + 1, e, 3, &k),
	    TK_ERR_BAD_KEY, "RSA-16392 refused");
	n[0] = 0;
	is_int(tk_decode_rsa(n, TK_RSA_MAX_BITS / 8 + 1, e, 3, &k), 0,
	    "leading zero bytes of a modulus ignored");
	n[255] = 0xfe;
	is_int(tk_decode_rsa(n, 256, e, 3, &k), TK_ERR_BAD_KEY,
	    "even modulus refused");
	is_int(tk_decode_rsa(v->a, v->alen, e, 0, &k), TK_ERR_BAD_KEY,
	    "empty exponent refused");
	e[2] = 2;
	is_int(tk_decode_rsa(v->a, v->alen, e, 3, &k), TK_ERR_BAD_KEY,
	    "even exponent refused");
	is_int(tk_decode_rsa(v->a, v->alen, (const uint8_t *)"\1", 1, &k),
	    TK_ERR_BAD_KEY, "exponent 1 refused");
	is_int(tk_decode_rsa(v->a, 0, v->b, 3, &k), TK_ERR_BAD_KEY,
	    "empty modulus refused");
}

static void
ec_tests(void)
{
	const struct vec	*v = find(TK_KEY_ECDSA_P256);
	const struct vec	*ed = find(TK_KEY_ED25519);
	struct tk_pubkey	 k;
	uint8_t			 der[80], q[65];

	der[0] = 0x04;
	der[1] = 65;
	memcpy(der + 2, v->a, 65);
	is_int(tk_decode_ec(p256, sizeof(p256), der, 67, &k), 0,
	    "P-256, DER-wrapped point");
	is_int(tk_decode_ec(p256, sizeof(p256), v->a, 65, &k), 0,
	    "P-256, raw point");
	memcpy(q, v->a, 65);
	q[64] ^= 1;
	is_int(tk_decode_ec(p256, sizeof(p256), q, 65, &k), TK_ERR_BAD_KEY,
	    "point off the curve refused");
	der[1] = 66;
	is_int(tk_decode_ec(p256, sizeof(p256), der, 67, &k), TK_ERR_FORMAT,
	    "DER length that lies refused");
	der[1] = 65;
	is_int(tk_decode_ec(p256, sizeof(p256), der, 66, &k), TK_ERR_FORMAT,
	    "truncated point refused");
	q[0] = 0x02;
	is_int(tk_decode_ec(p256, sizeof(p256), q, 33, &k), TK_ERR_FORMAT,
	    "compressed point refused");
	is_int(tk_decode_ec(brainpool, sizeof(brainpool), v->a, 65, &k),
	    TK_ERR_UNSUPPORTED, "unknown curve skipped");
	is_int(tk_decode_ec(p256, 3, v->a, 65, &k), TK_ERR_UNSUPPORTED,
	    "truncated OID skipped");
	is_int(tk_decode_ec(p256, sizeof(p256), v->a, 0, &k), TK_ERR_FORMAT,
	    "empty point refused");
	memset(q, 0, sizeof(q));
	q[0] = 0x04;
	is_int(tk_decode_ec(p256, sizeof(p256), q, 65, &k), TK_ERR_BAD_KEY,
	    "all-zero point refused");

	der[0] = 0x04;
	der[1] = 32;
	memcpy(der + 2, ed->a, 32);
	ok(tk_decode_ec(ed_str, sizeof(ed_str), der, 34, &k) == 0 &&
	    k.type == TK_KEY_ED25519 && memcmp(k.q, ed->a, 32) == 0,
	    "Ed25519 as PrintableString + DER point (pkcs11-tool keygen)");
	ok(tk_decode_ec(ed_oid, sizeof(ed_oid), ed->a, 32, &k) == 0 &&
	    k.type == TK_KEY_ED25519 && memcmp(k.q, ed->a, 32) == 0,
	    "Ed25519 as OID + raw point (softhsm2-util --import)");
	is_int(tk_decode_ec(ed_oid, sizeof(ed_oid), ed->a, 31, &k),
	    TK_ERR_FORMAT, "short Ed25519 key refused");
}

static void
cert_tests(void)
{
	struct tk_pubkey	 k;
	struct tk_buf		 b;
	char			 b64[256];
	uint8_t			*junk;
	int			 ca;

	memset(&k, 0, sizeof(k));
	tk_buf_init(&b, 4096, 0);
	ok(tk_decode_cert(cert_leaf, sizeof(cert_leaf), &k) == 0 &&
	    tk_ssh_blob(&k, &b) == 0 &&
	    tk_blob_base64(tk_buf_ptr(&b), tk_buf_avail(&b), b64,
	    sizeof(b64)) == 0 && strcmp(b64, cert_leaf_b64) == 0,
	    "leaf certificate gives the key ssh-keygen -i gives");
	tk_pubkey_clear(&k);
	is_int(tk_decode_cert(cert_ca, sizeof(cert_ca), &k), TK_ERR_DENIED,
	    "CA certificate is not a key");
	ca = -1;
	ok(tk_decode_cert_ca(cert_ca, sizeof(cert_ca), &k, &ca) == 0 &&
	    ca == 1 && k.type == TK_KEY_RSA,
	    "a CA certificate's key decodes when the caller decides, marked CA");
	tk_pubkey_clear(&k);
	ca = -1;
	tk_buf_reset(&b);
	ok(tk_decode_cert_ca(cert_leaf, sizeof(cert_leaf), &k, &ca) == 0 &&
	    ca == 0 && tk_ssh_blob(&k, &b) == 0 &&
	    tk_blob_base64(tk_buf_ptr(&b), tk_buf_avail(&b), b64,
	    sizeof(b64)) == 0 && strcmp(b64, cert_leaf_b64) == 0,
	    "a leaf certificate decodes the same, not marked CA");
	tk_pubkey_clear(&k);
	is_int(tk_decode_cert_ca(cert_leaf, sizeof(cert_leaf) - 1, &k, &ca),
	    TK_ERR_FORMAT, "truncated certificate refused when CAs decode too");
	ok(tk_decode_cert(cert_edc, sizeof(cert_edc), &k) == 0 &&
	    k.type == TK_KEY_ED25519, "Ed25519 certificate");
	is_int(tk_decode_cert(cert_leaf, sizeof(cert_leaf) - 1, &k),
	    TK_ERR_FORMAT, "truncated certificate refused");
	junk = malloc(sizeof(cert_leaf) + 1);
	memcpy(junk, cert_leaf, sizeof(cert_leaf));
	junk[sizeof(cert_leaf)] = 0;
	is_int(tk_decode_cert(junk, sizeof(cert_leaf) + 1, &k), TK_ERR_FORMAT,
	    "trailing bytes after a certificate refused");
	memset(junk, 0x30, sizeof(cert_leaf));
	is_int(tk_decode_cert(junk, sizeof(cert_leaf), &k), TK_ERR_FORMAT,
	    "garbage DER refused");
	is_int(tk_decode_cert(junk, 0, &k), TK_ERR_FORMAT,
	    "empty certificate refused");
	free(junk);
	tk_buf_free(&b);
}

int
main(void)
{
	rsa_tests();
	ec_tests();
	cert_tests();
	return tap_done();
}
