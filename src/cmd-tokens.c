/*
 * tokenkeys tokens: every module, slot and token, with its state.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	unsigned int	 flag;
	const char	*name;
} flagnames[] = {
	{ TK_TOKEN_LOGIN_REQUIRED, "login-required" },
	{ TK_TOKEN_PROTECTED_AUTH, "pin-pad" },
	{ TK_TOKEN_PIN_COUNT_LOW, "pin-count-low" },
	{ TK_TOKEN_PIN_FINAL_TRY, "pin-final-try" },
	{ TK_TOKEN_PIN_LOCKED, "pin-locked" },
	{ TK_TOKEN_NOT_INITIALIZED, "not-initialized" },
	{ TK_TOKEN_TRUST_MODULE, "trust-module" },
};
#define NFLAGS	(sizeof(flagnames) / sizeof(flagnames[0]))

static void
usage(FILE *f)
{
	fprintf(f, "usage: tokenkeys tokens [--module PATH] "
	    "[--format text|json] [URI]\n"
	    "Show every PKCS#11 module, slot and token with its state.\n");
}

static void
field(const char *name, const char *val)
{
	char	safe[1024];

	if (*val == '\0')
		return;
	tk_str_sanitize(val, safe, sizeof(safe));
	printf("  %-13s %s\n", name, safe);
}

static void
print_text(const struct tk_token *t, const char *lastmod)
{
	unsigned int	f = tk_token_flags(t);
	size_t		i;
	int		any = 0;

	if (lastmod == NULL || strcmp(lastmod, tk_token_module_path(t)) != 0)
		printf("module %s (%s)\n", tk_token_module_path(t),
		    tk_token_module_name(t));
	if (f & TK_TOKEN_NO_SLOT) {
		printf("  (no slots)\n");
		return;
	}
	printf("slot %lu", tk_token_slot_id(t));
	if (!(f & TK_TOKEN_PRESENT)) {
		printf(": no token\n");
		field("description", tk_token_slot_description(t));
		return;
	}
	printf("\n");
	field("uri", tk_token_uri(t));
	field("label", tk_token_label(t));
	field("manufacturer", tk_token_manufacturer(t));
	field("model", tk_token_model(t));
	field("serial", tk_token_serial(t));
	printf("  %-13s", "flags");
	for (i = 0; i < NFLAGS; i++) {
		if (f & flagnames[i].flag) {
			printf(" %s", flagnames[i].name);
			any = 1;
		}
	}
	printf("%s\n", any ? "" : " none");
	printf("  %-13s %zu\n", "keys", tk_token_nkeys(t));
}

static void
print_json(const struct tk_token *t, int first)
{
	unsigned int	f = tk_token_flags(t);
	size_t		i;
	int		n = 0;

	printf("%s\n  {\"module\": ", first ? "" : ",");
	json_string(stdout, tk_token_module_path(t));
	printf(", \"module_name\": ");
	json_string(stdout, tk_token_module_name(t));
	if (f & TK_TOKEN_NO_SLOT) {
		printf(", \"slot\": null}");
		return;
	}
	printf(", \"slot\": %lu, \"slot_description\": ", tk_token_slot_id(t));
	json_string(stdout, tk_token_slot_description(t));
	printf(", \"present\": %s", (f & TK_TOKEN_PRESENT) ? "true" : "false");
	printf(", \"uri\": ");
	json_string(stdout, tk_token_uri(t));
	printf(", \"label\": ");
	json_string(stdout, tk_token_label(t));
	printf(", \"manufacturer\": ");
	json_string(stdout, tk_token_manufacturer(t));
	printf(", \"model\": ");
	json_string(stdout, tk_token_model(t));
	printf(", \"serial\": ");
	json_string(stdout, tk_token_serial(t));
	printf(", \"flags\": [");
	for (i = 0; i < NFLAGS; i++)
		if (f & flagnames[i].flag)
			printf("%s\"%s\"", n++ ? ", " : "", flagnames[i].name);
	printf("], \"keys\": %zu}", tk_token_nkeys(t));
}

int
tokens_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "module", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct tk_ctx		*ctx = NULL;
	struct tk_tokenlist	*list = NULL;
	const char		*uri = "pkcs11:", *lastmod = NULL;
	const char		*modpath = NULL;
	size_t			 i, n;
	int			 ch, json = 0, ex = 0, r;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			modpath = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = 1;
			else if (strcmp(optarg, "text") != 0) {
				cli_warnx("--format: expected text or json, "
				    "not \"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return cli_bad_option("tokens", ch, argv[optind - 1]);
		}
	}
	if (argc - optind > 1) {
		cli_warnx("tokens: takes at most one URI; see 'tokenkeys "
		    "tokens --help'");
		return EXIT_USAGE;
	}
	if (argc - optind == 1)
		uri = argv[optind];
	if (tk_ctx_new(&ctx, modpath != NULL ? TK_CTX_NO_REGISTRY : 0) != 0) {
		cli_warnx("out of memory");
		return 1;
	}
	tk_ctx_set_log(ctx, cli_log, NULL);
	if (modpath != NULL && tk_ctx_add_module(ctx, modpath) != 0) {
		ex = 1;
		goto out;
	}
	if ((r = tk_find_tokens(ctx, uri, &list)) != 0) {
		ex = cli_uri_error(uri, r);
		goto out;
	}
	n = tk_tokenlist_count(list);
	if (json)
		printf("[");
	for (i = 0; i < n; i++) {
		if (json)
			print_json(tk_tokenlist_get(list, i), i == 0);
		else
			print_text(tk_tokenlist_get(list, i), lastmod);
		lastmod = tk_token_module_path(tk_tokenlist_get(list, i));
	}
	if (json)
		printf("%s]\n", n > 0 ? "\n" : "");
	if (tk_ctx_errors(ctx) > 0)
		ex = 1;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_warnx("write error on standard output");
		ex = 1;
	}
 out:
	tk_tokenlist_free(list);
	tk_ctx_free(ctx);
	return ex;
}
