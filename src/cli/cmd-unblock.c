/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys unblock: log in as security officer (SO PIN or PUK) and set a
 * new user PIN, typed twice, on the one token a URI selects.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/secret.h"
#include "pkcs11/pingate.h"
#include "pkcs11/pinset.h"
#include "prompt/prompt-text.h"

#define PIN_BUF		256

enum { OPT_MODULE = 256 };

static void
usage(FILE *f)
{
	fprintf(f, "usage: tokenkeys unblock [-v] [--module PATH] URI\n"
	    "Set a new user PIN on the token the pkcs11: URI selects, after "
	    "a login with\nthe SO PIN (PUK).\n");
}

static int
unblock(struct tk_ctx *ctx, const struct tk_p11_token *t)
{
	char		 name[32 * 4 + 1], msg[256], *so = NULL, *new = NULL;
	size_t		 min, max, solen = 0, newlen = 0, umin, umax;
	unsigned int	 flags;
	int		 r, ex = 1;

	tk_p11_token_label(t, name, sizeof(name));
	if (t->tinfo.flags & CKF_WRITE_PROTECTED) {
		cli_warnx("token \"%s\" is read-only: tokenkeys cannot "
		    "set its PIN", name);
		goto out;
	}
	flags = tk_pin_state(t, 1, &min, &max);
	(void)tk_pin_state(t, 0, &umin, &umax);
	switch (tk_pin_gate(flags, TK_PIN_FROM_PROMPT)) {
	case TK_PIN_REFUSE_LOCKED:
		cli_warnx("token \"%s\": the SO PIN is locked too; the token "
		    "cannot be unblocked", name);
		goto out;
	case TK_PIN_USE_PAD:
		tk_ptext_pinpad_set(msg, sizeof(msg), name,
		    "the SO PIN and the new PIN");
		fprintf(stderr, "%s\n", msg);
		if (tk_pin_unblock(ctx, t, NULL, 0, NULL, 0) == 0)
			ex = 0;
		goto out;
	case TK_PIN_USE_LOW:
		cli_warnx("token \"%s\": few SO PIN tries left", name);
		break;
	default:
		break;
	}
	if ((r = tk_secret_alloc((void **)&so, PIN_BUF)) != 0 ||
	    (r = tk_secret_alloc((void **)&new, PIN_BUF)) != 0) {
		cli_warnx("%s", tk_strerror(r));
		goto out;
	}
	r = cli_pin_what("SO PIN", name,
	    (flags & TK_TOKEN_PIN_FINAL_TRY) ? 1 : -1, 0, 0, so, PIN_BUF,
	    &solen);
	if (r == 0)
		r = cli_new_pin("New PIN", name, umin, umax, new, PIN_BUF,
		    &newlen);
	if (r != 0) {
		cli_pin_failed(name, r, umin, umax, "PIN");
		goto out;
	}
	if (tk_pin_unblock(ctx, t, so, solen, new, newlen) != 0)
		goto out;
	fprintf(stderr, "token \"%s\": new PIN set\n", name);
	ex = 0;
 out:
	tk_secret_free(so, PIN_BUF);
	tk_secret_free(new, PIN_BUF);
	return ex;
}

int
unblock_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct tk_p11_token	 t;
	struct tk_ctx		*ctx = NULL;
	const char		*module = NULL;
	int			 ch, ex = 0;

	opterr = 0;
	optind = 1;
	while (ex == 0 &&
	    (ch = getopt_long(argc, argv, "+:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			cli_set_verbose(1);
			break;
		case OPT_MODULE:
			module = optarg;
			break;
		case 'h':
			usage(stdout);
			goto out;
		default:
			ex = cli_bad_option("unblock", ch, argv[optind - 1]);
			break;
		}
	}
	if (ex == 0 && argc - optind != 1) {
		cli_warnx("unblock: one URI; see 'tokenkeys unblock --help'");
		ex = EXIT_USAGE;
	}
	if (ex != 0 || (ex = cli_ctx_new(&ctx, module != NULL)) != 0)
		goto out;
	if ((ex = cli_one_token(ctx, module, argv[optind], &t)) != 0)
		goto out;
	ex = unblock(ctx, &t);
 out:
	tk_ctx_free(ctx);
	return ex;
}
