/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Known answers from ssh-keygen: public key blobs, base64 and both kinds
 * of fingerprint, for every key type.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "pkcs11/p11.h"
#include "ssh/sshkey.h"
#include "sshkey-vectors.h"
#include "tap.h"

static void
check(const struct vec *v)
{
	struct tk_pubkey	 k, back;
	struct tk_buf		 b, store;
	char			 b64[2048], fp[128];
	const char		*name;
	int			 r;

	memset(&k, 0, sizeof(k));
	if (v->type == TK_KEY_RSA)
		r = tk_decode_rsa(v->a, v->alen, v->b, v->blen, &k);
	else {
		/* the token layer's view: params OID + DER-wrapped point */
		static const uint8_t p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48,
		    0xce, 0x3d, 0x03, 0x01, 0x07 };
		static const uint8_t p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04,
		    0x00, 0x22 };
		static const uint8_t p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04,
		    0x00, 0x23 };
		static const uint8_t ed[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
		const uint8_t	*params = v->type == TK_KEY_ECDSA_P256 ? p256 :
		    v->type == TK_KEY_ECDSA_P384 ? p384 :
		    v->type == TK_KEY_ECDSA_P521 ? p521 : ed;
		size_t		 plen = v->type == TK_KEY_ECDSA_P256 ?
		    sizeof(p256) : v->type == TK_KEY_ED25519 ? sizeof(ed) : 7;
		uint8_t		 der[200];
		size_t		 dlen = 0;

		der[dlen++] = 0x04;
		if (v->alen >= 0x80)
			der[dlen++] = 0x81;
		der[dlen++] = (uint8_t)v->alen;
		memcpy(der + dlen, v->a, v->alen);
		dlen += v->alen;
		r = tk_decode_ec(params, plen, der, dlen, &k);
	}
	name = tk_ssh_type_name(v->type);
	is_int(r, 0, "%s: decodes", name);
	is_int(k.bits, v->bits, "%s: %u bits", name, v->bits);
	tk_buf_init(&b, 1 << 16, 0);
	is_int(tk_ssh_blob(&k, &b), 0, "%s: encodes", name);
	tk_blob_base64(tk_buf_ptr(&b), tk_buf_avail(&b), b64, sizeof(b64));
	is_str(b64, v->b64, "%s: blob equals ssh-keygen's", name);
	tk_blob_fingerprint(tk_buf_ptr(&b), tk_buf_avail(&b), TK_FP_SHA256, fp,
	    sizeof(fp));
	is_str(fp, v->sha256, "%s: SHA256 fingerprint", name);
	tk_blob_fingerprint(tk_buf_ptr(&b), tk_buf_avail(&b), TK_FP_MD5, fp,
	    sizeof(fp));
	is_str(fp, v->md5, "%s: MD5 fingerprint", name);
	tk_buf_init(&store, 1 << 16, 0);
	r = tk_ssh_blob_parse(tk_buf_ptr(&b), tk_buf_avail(&b), &back, &store);
	ok(r == 0 && back.type == v->type, "%s: blob parses back", name);
	/* every truncation of the blob is refused */
	{
		size_t	n;
		int	bad = 0;

		for (n = 0; n < tk_buf_avail(&b); n++)
			if (tk_ssh_blob_parse(tk_buf_ptr(&b), n, &back,
			    &store) == 0)
				bad++;
		is_int(bad, 0, "%s: no truncated blob parses", name);
	}
	tk_buf_free(&store);
	tk_buf_free(&b);
	tk_pubkey_clear(&k);
}

int
main(void)
{
	size_t	i;

	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++)
		check(&vecs[i]);
	return tap_done();
}
