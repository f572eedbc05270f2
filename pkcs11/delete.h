/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Destroying a key pair on its token (tokenkeys delete): its private key,
 * public key and certificate objects, found by the pair's CKA_ID.
 */
#ifndef TK_DELETE_H
#define TK_DELETE_H

#include <stddef.h>
#include <stdint.h>

#include "tokenkeys.h"

/*
 * On the token keyuri names, log in (the PIN gate, as tk_ctx_login) and
 * destroy every private key, public key and certificate object with this
 * CKA_ID; *n counts them.  A token this process is already logged in to
 * is not asked for the PIN again.  0, or an error after saying why
 * through the context's log (with what was destroyed so far).
 */
int	tk_delete_pair(struct tk_ctx *, const char *keyuri, const uint8_t *id,
	    size_t idlen, size_t *n);
/*
 * Can the token keyuri names have objects deleted, as far as it says
 * before any login?  TK_ERR_DENIED after saying why (read-only).
 */
int	tk_delete_check(struct tk_ctx *, const char *keyuri);

#endif /* TK_DELETE_H */
