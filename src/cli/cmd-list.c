/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys list: token keys as authorized_keys lines, ssh-keygen -l
 * fingerprints or JSON.  Everything is gathered before anything is
 * printed, so a failure never leaves a half-written listing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

enum { COMMENT_URI, COMMENT_LABEL, COMMENT_NONE };
enum { OPT_MODULE = 256, OPT_COMMENT, OPT_FORMAT, OPT_LOGIN, OPT_CERTS,
	OPT_CERT };

struct listopts {
	int	comment;
	int	fingerprint;
	int	fpalg;
	int	json;
	int	login;
	char	**mods;		/* --module paths, loaded after -v is known */
	size_t	nmods;
	int	certs;		/* --certs */
	char	**certpaths;	/* --cert */
	size_t	ncertpaths;
	struct cli_certs *certset;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: tokenkeys list [-lv] [-E md5|sha256] "
	    "[--module PATH] [--comment uri|label|none]\n"
	    "                      [--format text|json] [--login] "
	    "[--certs] [--cert PATH] [URI ...]\n"
	    "Print the public key of every key pair on every token matching "
	    "the pkcs11:\nURIs (default: all) as authorized_keys lines.  "
	    "--certs: after each key, its\ncertificates the agent would "
	    "serve now (~/.config/tokenkeys/certs/ and each\n--cert file or "
	    "directory); in JSON, each key's \"certificates\".\n");
}

static const char *
comment_of(const struct tk_key *k, const struct listopts *o, char *buf,
    size_t bufsz)
{
	const char	*c = "";

	if (o->comment == COMMENT_URI)
		c = tk_key_uri(k);
	else if (o->comment == COMMENT_LABEL) {
		tk_str_sanitize(tk_key_label(k), buf, bufsz);
		c = buf;
	}
	return c;
}

static int
print_text(const struct tk_key *k, const struct listopts *o)
{
	char		*line = NULL, fp[128], cbuf[1024];
	const char	*c;
	int		 r;

	c = comment_of(k, o, cbuf, sizeof(cbuf));
	if (o->fingerprint) {
		if ((r = tk_key_fingerprint(k, o->fpalg, fp, sizeof(fp))) != 0)
			goto out;
		printf("%u %s %s (%s)\n", tk_key_bits(k), fp,
		    *c != '\0' ? c : "no comment", tk_key_type_short(k));
	} else {
		if ((r = cli_key_line(k, c, &line)) != 0)
			goto out;
		printf("%s\n", line);
	}
	if (o->certs)
		r = cli_certs_print(o->certset, k, c, o->fingerprint,
		    o->fpalg);
 out:
	free(line);
	return r;
}

static int
print_json(const struct tk_key *k, const struct listopts *o, int first)
{
	const char	*c;
	char		 cbuf[1024];
	int		 r;

	c = comment_of(k, o, cbuf, sizeof(cbuf));
	if (!o->certs)
		return cli_key_json(k, o->fpalg, c, first);
	if ((r = cli_key_json_open(k, o->fpalg, c, first)) == 0 &&
	    (r = cli_certs_json(o->certset, k, c, o->fpalg)) == 0)
		printf("}");
	return r;
}

/* 0 to go on, -1 after --help, else the exit status (after saying why). */
static int
parse_opts(int argc, char **argv, struct listopts *o, struct tk_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "comment", required_argument, NULL, OPT_COMMENT },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "login", no_argument, NULL, OPT_LOGIN },
		{ "certs", no_argument, NULL, OPT_CERTS },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	size_t	i;
	int	ch, ex = 0;

	opterr = 0;
	optind = 1;
	if ((o->mods = calloc(argc, sizeof(*o->mods))) == NULL ||
	    (o->certpaths = calloc(argc, sizeof(*o->certpaths))) == NULL) {
		cli_warnx("out of memory");
		ex = 1;
	}
	while (ex == 0 &&
	    (ch = getopt_long(argc, argv, "+:lE:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			o->fingerprint = 1;
			break;
		case 'v':
			cli_set_verbose(1);
			break;
		case 'E':
			if (strcmp(optarg, "sha256") == 0)
				o->fpalg = TK_FP_SHA256;
			else if (strcmp(optarg, "md5") == 0)
				o->fpalg = TK_FP_MD5;
			else {
				cli_warnx("-E: unknown hash \"%s\" (md5 or "
				    "sha256)", optarg);
				ex = EXIT_USAGE;
			}
			break;
		case OPT_MODULE:
			o->mods[o->nmods++] = optarg;
			break;
		case OPT_COMMENT:
			if (strcmp(optarg, "uri") == 0)
				o->comment = COMMENT_URI;
			else if (strcmp(optarg, "label") == 0)
				o->comment = COMMENT_LABEL;
			else if (strcmp(optarg, "none") == 0)
				o->comment = COMMENT_NONE;
			else {
				cli_warnx("--comment: expected uri, label or "
				    "none, not \"%s\"", optarg);
				ex = EXIT_USAGE;
			}
			break;
		case OPT_FORMAT:
			ex = cli_format(optarg, &o->json);
			break;
		case OPT_LOGIN:
			o->login = 1;
			break;
		case OPT_CERTS:
			o->certs = 1;
			break;
		case OPT_CERT:
			o->certs = 1;
			o->certpaths[o->ncertpaths++] = optarg;
			break;
		case 'h':
			usage(stdout);
			ex = -1;
			break;
		default:
			ex = cli_bad_option("list", ch, argv[optind - 1]);
			break;
		}
	}
	/* The library says why one failed. */
	for (i = 0; ex == 0 && i < o->nmods; i++)
		if (tk_ctx_add_module(ctx, o->mods[i]) != 0)
			ex = 1;
	return ex;
}

/* Does the command line name a module with --module? */
static int
has_module_opt(int argc, char **argv)
{
	int	i, found = 0;

	for (i = 1; i < argc && !found; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		found = strcmp(argv[i], "--module") == 0 ||
		    strncmp(argv[i], "--module=", 9) == 0;
	}
	return found;
}

int
list_main(int argc, char **argv)
{
	struct listopts		 o;
	struct tk_ctx		*ctx = NULL;
	struct tk_keylist	*list = NULL;
	char			*def[] = { "pkcs11:", NULL };
	char			**uris;
	size_t			 i, n;
	int			 r, ex = 0, nuris;

	memset(&o, 0, sizeof(o));
	if ((ex = cli_ctx_new(&ctx, has_module_opt(argc, argv))) != 0)
		goto out;
	tk_ctx_set_pin_fn(ctx, cli_pin, NULL);
	if ((r = parse_opts(argc, argv, &o, ctx)) != 0) {
		ex = r < 0 ? 0 : r;
		goto out;
	}
	uris = argv + optind;
	nuris = argc - optind;
	if (nuris == 0) {
		uris = def;
		nuris = 1;
	}
	for (i = 0; i < (size_t)nuris; i++) {
		r = tk_find_keys(ctx, uris[i], o.login ? TK_FIND_LOGIN : 0,
		    &list);
		if (r == TK_ERR_URI || r == TK_ERR_URI_SCHEME) {
			/* a usage error: print nothing at all */
			ex = cli_uri_error(uris[i], r);
			goto out;
		}
		if (r == TK_ERR_NOT_FOUND && nuris == 1 &&
		    strcmp(uris[i], "pkcs11:") == 0 &&
		    tk_ctx_errors(ctx) == 0) {
			cli_warnx("no keys found on any token");
			ex = 1;
		} else if (r != 0)
			ex = cli_uri_error(uris[i], r);
	}
	if (tk_ctx_errors(ctx) > 0 && ex == 0)
		ex = 1;
	if (o.certs && (r = cli_certs_load(o.certpaths, o.ncertpaths,
	    &o.certset)) != 0) {
		cli_warnx("certificates: %s", tk_strerror(r));
		ex = 1;
		goto out;
	}
	n = tk_keylist_count(list);
	if (o.json)
		printf("[");
	for (i = 0; i < n; i++) {
		r = o.json ? print_json(tk_keylist_get(list, i), &o, i == 0) :
		    print_text(tk_keylist_get(list, i), &o);
		if (r != 0) {
			cli_warnx("%s", tk_strerror(r));
			ex = 1;
		}
	}
	if (o.json)
		printf("%s]\n", n > 0 ? "\n" : "");
	if (cli_flush_stdout() != 0)
		ex = 1;
 out:
	free(o.mods);
	free(o.certpaths);
	cli_certs_free(o.certset);
	tk_keylist_free(list);
	tk_ctx_free(ctx);
	return ex;
}
