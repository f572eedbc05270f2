/*
 * tokenkeys list: token keys as authorized_keys lines, ssh-keygen -l
 * fingerprints or JSON.  Everything is gathered before anything is
 * printed, so a failure never leaves a half-written listing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { COMMENT_URI, COMMENT_LABEL, COMMENT_NONE };
enum { OPT_MODULE = 256, OPT_COMMENT, OPT_FORMAT, OPT_LOGIN };

struct listopts {
	int	comment;
	int	fingerprint;
	int	fpalg;
	int	json;
	int	login;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: tokenkeys list [-l] [-E md5|sha256] "
	    "[--module PATH] [--comment uri|label|none]\n"
	    "                      [--format text|json] [--login] "
	    "[URI ...]\n"
	    "Print the public key of every key pair on every token matching "
	    "the pkcs11:\nURIs (default: all) as authorized_keys lines.\n");
}

static const char *
comment_of(const struct tk_key *k, const struct listopts *o, char *buf,
    size_t bufsz)
{
	switch (o->comment) {
	case COMMENT_URI:
		return tk_key_uri(k);
	case COMMENT_LABEL:
		tk_str_sanitize(tk_key_label(k), buf, bufsz);
		return buf;
	default:
		return "";
	}
}

static int
print_text(const struct tk_key *k, const struct listopts *o)
{
	const uint8_t	*blob;
	char		*b64 = NULL, fp[128], cbuf[1024];
	const char	*c;
	size_t		 len;
	int		 r;

	c = comment_of(k, o, cbuf, sizeof(cbuf));
	blob = tk_key_blob(k, &len);
	if (o->fingerprint) {
		if ((r = tk_key_fingerprint(k, o->fpalg, fp, sizeof(fp))) != 0)
			goto out;
		printf("%u %s %s (%s)\n", tk_key_bits(k), fp,
		    *c != '\0' ? c : "no comment", tk_key_type_short(k));
		goto out;
	}
	if ((b64 = malloc(len / 3 * 4 + 8)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if ((r = tk_blob_base64(blob, len, b64, len / 3 * 4 + 8)) != 0)
		goto out;
	printf("%s %s%s%s\n", tk_key_type_name(k), b64, *c != '\0' ? " " : "",
	    c);
 out:
	free(b64);
	return r;
}

static int
print_json(const struct tk_key *k, const struct listopts *o, int first)
{
	const uint8_t	*blob, *id;
	char		*b64 = NULL, *line = NULL, fp[128], cbuf[1024];
	const char	*c;
	size_t		 len, idlen;
	int		 r;

	if ((r = tk_key_fingerprint(k, o->fpalg, fp, sizeof(fp))) != 0)
		goto out;
	blob = tk_key_blob(k, &len);
	id = tk_key_id(k, &idlen);
	if ((b64 = malloc(len / 3 * 4 + 8)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if ((r = tk_blob_base64(blob, len, b64, len / 3 * 4 + 8)) != 0)
		goto out;
	c = comment_of(k, o, cbuf, sizeof(cbuf));
	printf("%s\n  {\"type\": \"%s\", \"bits\": %u, \"fingerprint\": ",
	    first ? "" : ",", tk_key_type_name(k), tk_key_bits(k));
	json_string(stdout, fp);
	printf(", \"label\": ");
	json_string(stdout, tk_key_label(k));
	printf(", \"id\": ");
	json_hex(stdout, id, idlen);
	printf(", \"uri\": ");
	json_string(stdout, tk_key_uri(k));
	printf(", \"token\": {\"label\": ");
	json_string(stdout, tk_key_token_label(k));
	printf(", \"serial\": ");
	json_string(stdout, tk_key_token_serial(k));
	printf(", \"manufacturer\": ");
	json_string(stdout, tk_key_token_manufacturer(k));
	printf(", \"model\": ");
	json_string(stdout, tk_key_token_model(k));
	printf("}, \"module\": ");
	json_string(stdout, tk_key_module_path(k));
	if (asprintf(&line, "%s %s%s%s", tk_key_type_name(k), b64,
	    *c != '\0' ? " " : "", c) == -1) {
		line = NULL;
		r = TK_ERR_NOMEM;
		goto out;
	}
	printf(", \"line\": ");
	json_string(stdout, line);
	printf("}");
 out:
	free(line);
	free(b64);
	return r;
}

static int
parse_opts(int argc, char **argv, struct listopts *o, struct tk_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "comment", required_argument, NULL, OPT_COMMENT },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "login", no_argument, NULL, OPT_LOGIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch, r;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+:lE:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			o->fingerprint = 1;
			break;
		case 'E':
			if (strcmp(optarg, "sha256") == 0)
				o->fpalg = TK_FP_SHA256;
			else if (strcmp(optarg, "md5") == 0)
				o->fpalg = TK_FP_MD5;
			else {
				cli_warnx("-E: unknown hash \"%s\" (md5 or "
				    "sha256)", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_MODULE:
			if ((r = tk_ctx_add_module(ctx, optarg)) != 0)
				return 1;	/* reported by the library */
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
				return EXIT_USAGE;
			}
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") == 0)
				o->json = 1;
			else if (strcmp(optarg, "text") != 0) {
				cli_warnx("--format: expected text or json, "
				    "not \"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_LOGIN:
			o->login = 1;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			return cli_bad_option("list", ch, argv[optind - 1]);
		}
	}
	return 0;
}

/* Does the command line name a module with --module? */
static int
has_module_opt(int argc, char **argv)
{
	int	i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--module") == 0 ||
		    strncmp(argv[i], "--module=", 9) == 0)
			return 1;
	}
	return 0;
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
	if (tk_ctx_new(&ctx, has_module_opt(argc, argv) ?
	    TK_CTX_NO_REGISTRY : 0) != 0) {
		cli_warnx("out of memory");
		return 1;
	}
	tk_ctx_set_log(ctx, cli_log, NULL);
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
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_warnx("write error on standard output");
		ex = 1;
	}
 out:
	tk_keylist_free(list);
	tk_ctx_free(ctx);
	return ex;
}
