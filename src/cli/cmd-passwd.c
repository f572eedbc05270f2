/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys passwd: change the user PIN (or with --so the SO PIN) of the
 * one token a URI selects: old PIN once, new PIN twice, one C_SetPIN.
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

enum { OPT_MODULE = 256, OPT_SO };

static void
usage(FILE *f)
{
	fprintf(f, "usage: tokenkeys passwd [-v] [--so] [--module PATH] URI\n"
	    "Change the PIN (--so: the SO PIN) of the token the pkcs11: URI "
	    "selects.\n");
}

/* Ask the PINs and change it: the exit status. */
static int
change(struct tk_ctx *ctx, const struct tk_p11_token *t, int so)
{
	const char	*what = so ? "SO PIN" : "PIN";
	char		 name[32 * 4 + 1], msg[256], *old = NULL, *new = NULL;
	size_t		 min, max, oldlen = 0, newlen = 0;
	unsigned int	 flags;
	int		 r, ex = 1;

	tk_p11_token_label(t, name, sizeof(name));
	if (t->tinfo.flags & CKF_WRITE_PROTECTED) {
		cli_warnx("token \"%s\" is read-only: tokenkeys cannot "
		    "change its PIN", name);
		goto out;
	}
	flags = tk_pin_state(t, so, &min, &max);
	switch (tk_pin_gate(flags, TK_PIN_FROM_PROMPT)) {
	case TK_PIN_REFUSE_LOCKED:
		if (so)
			cli_warnx("token \"%s\": the SO PIN is locked; it "
			    "cannot be changed", name);
		else
			cli_warnx("token \"%s\" is locked: PIN retries "
			    "exhausted; unlock it with tokenkeys unblock",
			    name);
		goto out;
	case TK_PIN_USE_PAD:
		tk_ptext_pinpad_set(msg, sizeof(msg), name, so ?
		    "the old and the new SO PIN" : "the old and the new PIN");
		fprintf(stderr, "%s\n", msg);
		if (tk_pin_change(ctx, t, so, NULL, 0, NULL, 0) == 0)
			ex = 0;
		goto out;
	case TK_PIN_USE_LOW:
		cli_warnx("token \"%s\": few %s tries left", name, what);
		break;
	default:
		break;
	}
	if ((r = tk_secret_alloc((void **)&old, PIN_BUF)) != 0 ||
	    (r = tk_secret_alloc((void **)&new, PIN_BUF)) != 0) {
		cli_warnx("%s", tk_strerror(r));
		goto out;
	}
	r = cli_pin_what(so ? "Current SO PIN" : "Current PIN", name,
	    (flags & TK_TOKEN_PIN_FINAL_TRY) ? 1 : -1, 0, 0, old, PIN_BUF,
	    &oldlen);
	if (r == 0)
		r = cli_new_pin(so ? "New SO PIN" : "New PIN", name, min, max,
		    new, PIN_BUF, &newlen);
	if (r != 0) {
		cli_pin_failed(name, r, min, max, what);
		goto out;
	}
	if (tk_pin_change(ctx, t, so, old, oldlen, new, newlen) != 0)
		goto out;
	fprintf(stderr, "token \"%s\": %s changed\n", name, what);
	ex = 0;
 out:
	tk_secret_free(old, PIN_BUF);
	tk_secret_free(new, PIN_BUF);
	return ex;
}

int
passwd_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "so", no_argument, NULL, OPT_SO },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct tk_p11_token	 t;
	struct tk_ctx		*ctx = NULL;
	const char		*module = NULL;
	int			 ch, ex = 0, so = 0;

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
		case OPT_SO:
			so = 1;
			break;
		case 'h':
			usage(stdout);
			goto out;
		default:
			ex = cli_bad_option("passwd", ch, argv[optind - 1]);
			break;
		}
	}
	if (ex == 0 && argc - optind != 1) {
		cli_warnx("passwd: one URI; see 'tokenkeys passwd --help'");
		ex = EXIT_USAGE;
	}
	if (ex != 0 || (ex = cli_ctx_new(&ctx, module != NULL)) != 0)
		goto out;
	if ((ex = cli_one_token(ctx, module, argv[optind], &t)) != 0)
		goto out;
	ex = change(ctx, &t, so);
 out:
	tk_ctx_free(ctx);
	return ex;
}
