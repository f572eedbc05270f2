/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys tokens: every module, slot and token, with its state.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

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
	fprintf(f, "usage: tokenkeys tokens [-v] [--module PATH] "
	    "[--format text|json] [URI]\n"
	    "Show every PKCS#11 module, slot and token with its state, and "
	    "which modules\nfailed to start.\n");
}

static void
field(const char *name, const char *val)
{
	char	safe[1024];

	if (*val != '\0') {
		tk_str_sanitize(val, safe, sizeof(safe));
		printf("  %-13s %s\n", name, safe);
	}
}

static void
print_flags(unsigned int f)
{
	size_t	i;
	int	any = 0;

	printf("  %-13s", "flags");
	for (i = 0; i < NFLAGS; i++) {
		if (f & flagnames[i].flag) {
			printf(" %s", flagnames[i].name);
			any = 1;
		}
	}
	printf("%s\n", any ? "" : " none");
}

/* After the tokens: one line per module that failed to start. */
static void
print_failed(const struct tk_token *t)
{
	char	name[256], path[1024];

	tk_str_sanitize(tk_token_module_name(t), name, sizeof(name));
	tk_str_sanitize(tk_token_module_path(t), path, sizeof(path));
	printf("module %s (%s): failed to start: %s\n", name, path,
	    tk_token_module_error(t));
}

static void
print_text(const struct tk_token *t, const char *lastmod)
{
	unsigned int	f = tk_token_flags(t);

	if (lastmod == NULL || strcmp(lastmod, tk_token_module_path(t)) != 0)
		printf("module %s (%s)\n", tk_token_module_path(t),
		    tk_token_module_name(t));
	if (f & TK_TOKEN_NO_SLOT)
		printf("  (no slots)\n");
	else if (!(f & TK_TOKEN_PRESENT)) {
		printf("slot %lu: no token\n", tk_token_slot_id(t));
		field("description", tk_token_slot_description(t));
	} else {
		printf("slot %lu\n", tk_token_slot_id(t));
		field("uri", tk_token_uri(t));
		field("label", tk_token_label(t));
		field("manufacturer", tk_token_manufacturer(t));
		field("model", tk_token_model(t));
		field("serial", tk_token_serial(t));
		print_flags(f);
		printf("  %-13s %zu\n", "keys", tk_token_nkeys(t));
	}
}

/* The slot's part of a token's JSON object. */
static void
print_json_slot(const struct tk_token *t)
{
	unsigned int	f = tk_token_flags(t);
	size_t		i;
	int		n = 0;

	printf(", \"slot\": %lu", tk_token_slot_id(t));
	json_field(stdout, "slot_description", tk_token_slot_description(t));
	printf(", \"present\": %s", (f & TK_TOKEN_PRESENT) ? "true" : "false");
	json_field(stdout, "uri", tk_token_uri(t));
	json_field(stdout, "label", tk_token_label(t));
	json_field(stdout, "manufacturer", tk_token_manufacturer(t));
	json_field(stdout, "model", tk_token_model(t));
	json_field(stdout, "serial", tk_token_serial(t));
	printf(", \"flags\": [");
	for (i = 0; i < NFLAGS; i++)
		if (f & flagnames[i].flag)
			printf("%s\"%s\"", n++ ? ", " : "", flagnames[i].name);
	printf("], \"keys\": %zu", tk_token_nkeys(t));
}

static void
print_json(const struct tk_token *t, int first)
{
	printf("%s\n  {\"module\": ", first ? "" : ",");
	json_string(stdout, tk_token_module_path(t));
	json_field(stdout, "module_name", tk_token_module_name(t));
	if (tk_token_flags(t) & TK_TOKEN_MODULE_FAILED)
		json_field(stdout, "failed", tk_token_module_error(t));
	if (tk_token_flags(t) & TK_TOKEN_NO_SLOT)
		printf(", \"slot\": null");
	else
		print_json_slot(t);
	printf("}");
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
	const struct tk_token	*t;
	struct tk_ctx		*ctx = NULL;
	struct tk_tokenlist	*list = NULL;
	const char		*uri = "pkcs11:", *lastmod = NULL;
	const char		*modpath = NULL;
	size_t			 i, n;
	int			 ch, json = 0, ex = 0, r;

	opterr = 0;
	optind = 1;
	while (ex == 0 &&
	    (ch = getopt_long(argc, argv, "+:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			cli_set_verbose(1);
			break;
		case 'm':
			modpath = optarg;
			break;
		case 'f':
			ex = cli_format(optarg, &json);
			break;
		case 'h':
			usage(stdout);
			goto out;
		default:
			ex = cli_bad_option("tokens", ch, argv[optind - 1]);
			break;
		}
	}
	if (ex != 0)
		goto out;
	if (argc - optind > 1) {
		cli_warnx("tokens: takes at most one URI; see 'tokenkeys "
		    "tokens --help'");
		ex = EXIT_USAGE;
		goto out;
	}
	if (argc - optind == 1)
		uri = argv[optind];
	if ((ex = cli_ctx_new(&ctx, modpath != NULL)) != 0)
		goto out;
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
		t = tk_tokenlist_get(list, i);
		if (json)
			print_json(t, i == 0);
		else if (!(tk_token_flags(t) & TK_TOKEN_MODULE_FAILED)) {
			print_text(t, lastmod);
			lastmod = tk_token_module_path(t);
		}
	}
	if (json)
		printf("%s]\n", n > 0 ? "\n" : "");
	for (i = 0; !json && i < n; i++) {
		t = tk_tokenlist_get(list, i);
		if (tk_token_flags(t) & TK_TOKEN_MODULE_FAILED)
			print_failed(t);
	}
	if (tk_ctx_errors(ctx) > 0)
		ex = 1;
	if (cli_flush_stdout() != 0)
		ex = 1;
 out:
	tk_tokenlist_free(list);
	tk_ctx_free(ctx);
	return ex;
}
