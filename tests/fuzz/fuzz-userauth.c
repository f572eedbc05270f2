/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The data of a login signature (src/ssh/userauth.c): what a forwarded
 * host asks a destination-constrained key to sign.  Input: the data, as
 * it arrives in SSH_AGENTC_SIGN_REQUEST.
 *
 * Checked on success: every field lies inside the input, the session id
 * is not empty, the user name holds no NUL and fits, a host key is
 * given exactly for the hostbound method and starts with its type name;
 * the request re-encodes to the same bytes given the algorithm name the
 * parser skipped.  On failure the result is all zero.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "fuzz.h"
#include "common/buf.h"
#include "ssh/userauth.h"

#define HB	"publickey-hostbound-v00@openssh.com"

static int
inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
	return p != NULL && p >= data && n <= size &&
	    (size_t)(p - data) <= size - n;
}

/* The algorithm name: skip sid, byte, user, service, method, bool. */
static void
alg_of(const uint8_t *data, size_t size, const uint8_t **alg, size_t *alen)
{
	struct tk_buf	 b;
	const uint8_t	*p;
	size_t		 n;
	uint8_t		 u;
	int		 i;

	tk_buf_init_ro(&b, data, size);
	if (tk_buf_get_string(&b, &p, &n) != 0 || tk_buf_get_u8(&b, &u) != 0)
		abort();
	for (i = 0; i < 3; i++)
		if (tk_buf_get_string(&b, &p, &n) != 0)
			abort();
	if (tk_buf_get_u8(&b, &u) != 0 || tk_buf_get_string(&b, alg,
	    alen) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tk_userauth	 ua;
	struct tk_buf		 out;
	const uint8_t		*alg;
	size_t			 alen, i, ulen;

	if (tk_userauth_parse(data, size, &ua) != 0) {
		for (i = 0; i < sizeof(ua); i++)
			if (((const uint8_t *)&ua)[i] != 0)
				abort();
		return 0;
	}
	ulen = strlen(ua.user);
	if (!inside(ua.sid, ua.sidlen, data, size) || ua.sidlen == 0 ||
	    !inside(ua.key, ua.keylen, data, size) ||
	    ulen > TK_USERAUTH_USER_MAX ||
	    (ua.hostkey != NULL && (!inside(ua.hostkey, ua.hostkeylen, data,
	    size) || ua.hostkeylen < 5)))
		abort();
	alg_of(data, size, &alg, &alen);
	tk_buf_init(&out, size + 64, 0);
	if (tk_buf_put_string(&out, ua.sid, ua.sidlen) != 0 ||
	    tk_buf_put_u8(&out, 50) != 0 ||
	    tk_buf_put_string(&out, ua.user, ulen) != 0 ||
	    tk_buf_put_cstring(&out, "ssh-connection") != 0 ||
	    tk_buf_put_cstring(&out, ua.hostkey != NULL ? HB :
	    "publickey") != 0 ||
	    tk_buf_put_u8(&out, 1) != 0 ||
	    tk_buf_put_string(&out, alg, alen) != 0 ||
	    tk_buf_put_string(&out, ua.key, ua.keylen) != 0 ||
	    (ua.hostkey != NULL && tk_buf_put_string(&out, ua.hostkey,
	    ua.hostkeylen) != 0))
		abort();
	if (tk_buf_avail(&out) != size ||
	    memcmp(tk_buf_ptr(&out), data, size) != 0)
		abort();
	tk_buf_free(&out);
	return 0;
}
