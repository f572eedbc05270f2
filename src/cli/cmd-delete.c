/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys delete: destroy the key pairs a URI selects (private key,
 * public key and certificate objects), after showing them and asking.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli-agent.h"
#include "pkcs11/delete.h"
#include "prompt/prompt.h"
#include "prompt/prompt-text.h"

enum { OPT_MODULE = 256, OPT_YES, OPT_ALL };

#define SHOWN_MAX	8192	/* of the key listing in the question */

static void
usage(FILE *f)
{
	fprintf(f, "usage: tokenkeys delete [-v] [--yes] [--all] "
	    "[--module PATH] URI\n"
	    "Destroy the key pairs the pkcs11: URI selects, after showing "
	    "them and asking.\n");
}

/* Does the URI name nothing but (maybe) a module: "pkcs11:" alone? */
static int
selects_all(const char *uri)
{
	return strncasecmp(uri, "pkcs11:", 7) == 0 &&
	    (uri[7] == '\0' || uri[7] == '?');
}

/* "ECDSA 256 SHA256:... pkcs11:..." for k, appended to buf. */
static void
show(const struct tk_key *k, char *buf, size_t bufsz)
{
	char	fp[128], safe[1024];
	size_t	n = strlen(buf);

	if (tk_key_fingerprint(k, TK_FP_SHA256, fp, sizeof(fp)) != 0)
		snprintf(fp, sizeof(fp), "?");
	tk_str_sanitize(tk_key_uri(k), safe, sizeof(safe));
	if (n < bufsz)
		snprintf(buf + n, bufsz - n, "%s%s %u %s %s", n > 0 ? "\n" : "",
		    tk_key_type_short(k), tk_key_bits(k), fp, safe);
}

static int
ask(size_t n, const char *keys)
{
	struct tk_prompt	p = { 0 };
	char			text[SHOWN_MAX + 128];
	int			r;

	tk_ptext_delete_confirm(text, sizeof(text), n, keys);
	p.title = "tokenkeys";
	p.desc = text;
	p.ttyname = isatty(STDIN_FILENO) ? ttyname(STDIN_FILENO) : NULL;
	p.display = getenv("WAYLAND_DISPLAY") != NULL ?
	    getenv("WAYLAND_DISPLAY") : getenv("DISPLAY");
	p.flags = TK_PROMPT_TTY_OK;
	if ((r = tk_prompt_confirm(&p)) == TK_ERR_CANCELLED)
		cli_warnx("nothing deleted");
	else if (r != 0)
		cli_warnx("cannot ask before deleting (%s); nothing deleted "
		    "(--yes deletes without asking)", tk_strerror(r));
	return r;
}

int
delete_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "yes", no_argument, NULL, OPT_YES },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct tk_ctx		*ctx = NULL;
	struct tk_keylist	*list = NULL;
	const struct tk_key	*k;
	const uint8_t		*id;
	const char		*module = NULL, *uri;
	char			*keys = NULL, safe[1024];
	size_t			 i, n, idlen, nobj;
	int			 ch, ex = 0, yes = 0, all = 0, wrote = 0, r;

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
		case OPT_YES:
			yes = 1;
			break;
		case OPT_ALL:
			all = 1;
			break;
		case 'h':
			usage(stdout);
			goto out;
		default:
			ex = cli_bad_option("delete", ch, argv[optind - 1]);
			break;
		}
	}
	if (ex == 0 && argc - optind != 1) {
		cli_warnx("delete: one URI; see 'tokenkeys delete --help'");
		ex = EXIT_USAGE;
	}
	if (ex != 0)
		goto out;
	uri = argv[optind];
	if (selects_all(uri)) {
		cli_warnx("delete: the URI must name the keys to delete "
		    "(token, id or object), not every key on every token");
		ex = EXIT_USAGE;
		goto out;
	}
	if ((ex = cli_ctx_new(&ctx, module != NULL)) != 0)
		goto out;
	tk_ctx_set_pin_fn(ctx, cli_pin, NULL);
	ex = 1;
	if (module != NULL && tk_ctx_add_module(ctx, module) != 0)
		goto out;
	if ((r = tk_find_keys(ctx, uri, 0, &list)) != 0) {
		ex = cli_uri_error(uri, r);
		goto out;
	}
	if ((keys = calloc(1, SHOWN_MAX)) == NULL) {
		cli_warnx("out of memory");
		goto out;
	}
	n = tk_keylist_count(list);
	for (i = 0; i < n; i++)
		show(tk_keylist_get(list, i), keys, SHOWN_MAX);
	fprintf(stderr, "%s\n", keys);
	if (n > 1 && !all) {
		tk_str_sanitize(uri, safe, sizeof(safe));
		cli_warnx("URI %s selects %zu keys; nothing deleted (--all "
		    "deletes them all)", safe, n);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (tk_delete_check(ctx, tk_key_uri(tk_keylist_get(list,
		    i))) != 0)
			goto out;
	if (!yes && ask(n, keys) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		k = tk_keylist_get(list, i);
		id = tk_key_id(k, &idlen);
		tk_str_sanitize(tk_key_uri(k), safe, sizeof(safe));
		r = tk_delete_pair(ctx, tk_key_uri(k), id, idlen, &nobj);
		if (nobj > 0)
			wrote = 1;
		if (r == TK_ERR_NOT_FOUND) {
			cli_warnx("%s: the key has no id; not deleted", safe);
			goto out;
		}
		if (r != 0) {
			if (nobj > 0)
				cli_warnx("%s: %zu objects destroyed before "
				    "the failure", safe, nobj);
			goto out;
		}
		cli_warnx("deleted %s (%zu object%s)", safe, nobj,
		    nobj == 1 ? "" : "s");
	}
	ex = 0;
 out:
	free(keys);
	tk_keylist_free(list);
	tk_ctx_free(ctx);
	/* a key the agent may serve is gone, or half gone */
	if (wrote)
		cli_agent_tell_write();
	return ex;
}
