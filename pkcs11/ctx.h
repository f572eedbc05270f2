/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The library context: the modules in use and how to log in.
 */
#ifndef TK_CTX_H
#define TK_CTX_H

#include "pkcs11/p11.h"

#ifndef TK_PIN_MAX
#define TK_PIN_MAX	256	/* PIN buffer size, NUL included */
#endif

struct tk_ctx {
	struct tk_modset	 ms;
	int			 flags;
	int			 registry;	/* registry loaded */
	tk_log_fn		*log;
	void			*logarg;
	tk_pin_fn		*pinfn;
	void			*pinarg;
};

/*
 * Parse uri, load what it needs (the registry, or its module-path) and
 * walk it (see tk_p11_walk).  *matched counts the objects objfn saw.
 */
int	tk_ctx_walk(struct tk_ctx *, const char *uri, int findflags,
	    int all_slots, tk_token_cb *, tk_object_cb *, void *,
	    size_t *matched);

/*
 * Log in as the user on session s of token t, if the token wants a login
 * and s is not logged in yet: the PIN gate decides; the PIN comes from
 * uri's pin-source (uristr is uri as given) or the context's PIN
 * callback; one C_Login, never retried.  0, or -1 after saying why
 * through the modset's log.
 */
int	tk_ctx_login(struct tk_ctx *, P11KitUri *uri, const char *uristr,
	    const struct tk_p11_token *, CK_SESSION_HANDLE);

#endif /* TK_CTX_H */
