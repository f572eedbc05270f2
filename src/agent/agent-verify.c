/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * session-bind@openssh.com: the client proves which server it talks to by
 * passing the server's host key and its signature over the session id.
 * We check that signature before believing the binding, with the same
 * verifier that checks every token signature (sshsig.c).  A host
 * certificate is checked against its CA's signature, then its key signs.
 */
#include <string.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "common/buf.h"
#include "helper/hclient.h"
#include "ssh/sshcert.h"
#include "ssh/sshsig.h"

/* The TK_SIG_* request that names the algorithm the signature carries. */
static int
sig_alg(const uint8_t *sig, size_t siglen)
{
	struct tk_buf	 b;
	const uint8_t	*name;
	size_t		 len;

	tk_buf_init_ro(&b, sig, siglen);
	if (tk_buf_get_string(&b, &name, &len) != 0)
		return TK_SIG_DEFAULT;
	if (len == 12 && memcmp(name, "rsa-sha2-256", 12) == 0)
		return TK_SIG_RSA_SHA256;
	if (len == 12 && memcmp(name, "rsa-sha2-512", 12) == 0)
		return TK_SIG_RSA_SHA512;
	return TK_SIG_DEFAULT;
}

int
agent_verify_hostsig(const uint8_t *key, size_t keylen, const uint8_t *sig,
    size_t siglen, const uint8_t *data, size_t datalen)
{
	struct tk_sshsig_key	*k = NULL;
	struct tk_sshcert	 c;
	struct tk_buf		 store;
	int			 r;

	tk_buf_init(&store, TK_SSHCERT_MAX, 0);
	if (tk_sshcert_is_cert(key, keylen)) {
		if ((r = tk_sshcert_parse(key, keylen, &c, &store)) != 0 ||
		    (r = tk_sshcert_verify(&c)) != 0)
			goto out;
		key = c.key;
		keylen = c.keylen;
	}
	if ((r = tk_sshsig_key_new(key, keylen, &k)) != 0)
		goto out;
	r = tk_sshsig_verify(k, sig_alg(sig, siglen), data, datalen, sig,
	    siglen);
 out:
	tk_sshsig_key_free(k);
	tk_buf_free(&store);
	return r;
}
