/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one token a URI selects, for the verbs that change a token
 * (keygen, passwd, unblock).
 */
#ifndef TK_ONETOKEN_H
#define TK_ONETOKEN_H

#include "pkcs11/p11.h"

/*
 * The one present token uri selects, in *t (its module stays loaded in
 * the context).  TK_ERR_NOT_FOUND if none; TK_ERR_RANGE if several,
 * after saying so with each candidate's URI through the context's log.
 */
int	tk_one_token(struct tk_ctx *, const char *uri, struct tk_p11_token *t);

#endif /* TK_ONETOKEN_H */
