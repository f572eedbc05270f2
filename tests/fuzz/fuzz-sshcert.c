/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The certificate parser (src/ssh/sshcert.c) over any bytes.  The whole
 * input is one certificate blob.  Beyond memory safety, the invariants:
 * a parsed certificate's fields all lie inside the input, its key blob
 * parses as a plain key of the type the certificate names and is not
 * itself a certificate, its principal list has as many entries as
 * counted and each is found by name, the signed part ends before the
 * signature, the validity window is ordered; a refused input leaves the
 * result zeroed and the store empty.  The CA signature check runs too
 * (it must refuse, not crash, on whatever the input holds).
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "common/pubkey.h"
#include "ssh/sshcert.h"
#include "ssh/sshkey.h"
#include "fuzz.h"

static int
inside(const uint8_t *p, size_t n, const uint8_t *base, size_t len)
{
	return p >= base && n <= len && (size_t)(p - base) <= len - n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tk_sshcert	 c;
	struct tk_buf		 store, ks, pl;
	struct tk_pubkey	 pk;
	const uint8_t		*p;
	char			*joined;
	size_t			 n, count = 0;
	int			 r, w;

	tk_buf_init(&store, TK_SSHCERT_MAX, 0);
	tk_buf_init(&ks, TK_SSHCERT_MAX, 0);
	r = tk_sshcert_parse(data, size, &c, &store);
	if (r != 0) {
		if (c.key != NULL || c.cert != NULL || c.keytype != 0 ||
		    tk_buf_avail(&store) != 0 || r > 0)
			abort();
		goto out;
	}
	if (c.cert != data || c.certlen != size ||
	    !tk_sshcert_is_cert(data, size) ||
	    !inside(c.key_id, c.key_idlen, data, size) ||
	    !inside(c.principals, c.principalslen, data, size) ||
	    !inside(c.ca, c.calen, data, c.signedlen) ||
	    !inside(c.sig, c.siglen, data, size) ||
	    c.sig < data + c.signedlen || c.sig + c.siglen != data + size ||
	    (c.type != TK_SSHCERT_USER && c.type != TK_SSHCERT_HOST) ||
	    c.valid_after > c.valid_before ||
	    c.nprincipals > TK_SSHCERT_MAX_PRINCIPALS)
		abort();
	if (c.key != tk_buf_ptr(&store) || c.keylen != tk_buf_avail(&store) ||
	    tk_sshcert_is_cert(c.key, c.keylen) ||
	    tk_ssh_blob_parse(c.key, c.keylen, &pk, &ks) != 0 ||
	    pk.type != c.keytype || tk_sshcert_is_cert(c.ca, c.calen))
		abort();
	tk_buf_init_ro(&pl, c.principals, c.principalslen);
	while (tk_buf_get_string(&pl, &p, &n) == 0) {
		count++;
		if (!tk_sshcert_has_principal(&c, (const char *)p, n))
			abort();
	}
	if (count != c.nprincipals || tk_buf_end(&pl) != 0)
		abort();
	if ((joined = malloc(c.principalslen + 1)) == NULL)
		abort();
	/* n principals of total length L join into L - 4n + (n - 1) bytes */
	if (tk_sshcert_principals(&c, joined, c.principalslen + 1) != 0 ||
	    strlen(joined) + 3 * count + (count > 0) != c.principalslen)
		abort();
	free(joined);
	w = tk_sshcert_when(&c, c.valid_after);
	if ((w != 0 && c.valid_after != c.valid_before) ||
	    (c.valid_after > 0 && tk_sshcert_when(&c, 0) != -1))
		abort();
	r = tk_sshcert_verify(&c);
	if (r != 0 && r != TK_ERR_SIGNATURE && r != TK_ERR_UNSUPPORTED &&
	    r != TK_ERR_FORMAT && r != TK_ERR_NOMEM)
		abort();
 out:
	tk_buf_free(&store);
	tk_buf_free(&ks);
	return 0;
}
