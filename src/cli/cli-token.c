/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What passwd and unblock share: the one token a URI selects, and the
 * one line for a PIN prompt that did not give a PIN.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "pkcs11/onetoken.h"

int
cli_one_token(struct tk_ctx *ctx, const char *module, const char *uri,
    struct tk_p11_token *t)
{
	char	safe[1024];
	int	r, ex = 1;

	if (module != NULL && tk_ctx_add_module(ctx, module) != 0)
		goto out;
	if ((r = tk_one_token(ctx, uri, t)) == 0)
		ex = 0;
	else if (r == TK_ERR_NOT_FOUND) {
		tk_str_sanitize(uri, safe, sizeof(safe));
		cli_warnx("no token matches URI %s", safe);
	} else if (r != TK_ERR_RANGE)
		ex = cli_uri_error(uri, r);
 out:
	return ex;
}

void
cli_pin_failed(const char *name, int err, size_t min, size_t max,
    const char *what)
{
	if (err == TK_ERR_CANCELLED)
		cli_warnx("token \"%s\": cancelled; the %s was not changed",
		    name, what);
	else if (err == TK_ERR_INVAL)
		cli_warnx("token \"%s\": the two new PINs differ; the %s was "
		    "not changed", name, what);
	else if (err == TK_ERR_PIN_INVALID)
		cli_warnx("token \"%s\": the new PIN must be %zu to %zu "
		    "characters; the %s was not changed", name, min,
		    max > 0 ? max : (size_t)255, what);
	else
		cli_warnx("token \"%s\": no PIN: %s; the %s was not changed",
		    name, tk_strerror(err), what);
}
