/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Parsing the data of a public key login signature (userauth.h): the one
 * kind of data a destination-constrained key may sign.
 */
#include <string.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "ssh/userauth.h"

#define SSH_MSG_USERAUTH_REQUEST	50

static int
str_is(const uint8_t *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

int
tk_userauth_parse(const uint8_t *data, size_t len, struct tk_userauth *out)
{
	struct tk_buf	 b, kb;
	const uint8_t	*service, *method, *alg, *name;
	size_t		 slen, mlen, alen, nlen;
	uint8_t		 type, follows;
	int		 r = TK_ERR_FORMAT;

	memset(out, 0, sizeof(*out));
	tk_buf_init_ro(&b, data, len);
	if (tk_buf_get_string(&b, &out->sid, &out->sidlen) != 0 ||
	    out->sidlen == 0 ||
	    tk_buf_get_u8(&b, &type) != 0 ||
	    type != SSH_MSG_USERAUTH_REQUEST ||
	    tk_buf_get_cstring(&b, out->user, sizeof(out->user)) != 0 ||
	    tk_buf_get_string(&b, &service, &slen) != 0 ||
	    !str_is(service, slen, "ssh-connection") ||
	    tk_buf_get_string(&b, &method, &mlen) != 0 ||
	    tk_buf_get_u8(&b, &follows) != 0 || follows != 1 ||
	    tk_buf_get_string(&b, &alg, &alen) != 0 || alen == 0 ||
	    memchr(alg, '\0', alen) != NULL ||
	    tk_buf_get_string(&b, &out->key, &out->keylen) != 0)
		goto out;
	if (str_is(method, mlen, "publickey-hostbound-v00@openssh.com")) {
		if (tk_buf_get_string(&b, &out->hostkey,
		    &out->hostkeylen) != 0)
			goto out;
		/* a host key blob starts with its type name */
		tk_buf_init_ro(&kb, out->hostkey, out->hostkeylen);
		if (tk_buf_get_string(&kb, &name, &nlen) != 0 || nlen == 0)
			goto out;
	} else if (!str_is(method, mlen, "publickey"))
		goto out;
	if (tk_buf_end(&b) != 0)
		goto out;
	r = 0;
 out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}
