/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared pieces of the command-line programs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

void
cli_warnx(const char *fmt, ...)
{
	va_list	ap;

	fputs("tokenkeys: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_bad_option(const char *cmd, int ch, const char *arg)
{
	char	safe[256];

	tk_str_sanitize(arg, safe, sizeof(safe));
	if (ch == ':')
		cli_warnx("%s: option %s needs an argument; see 'tokenkeys %s "
		    "--help'", cmd, safe, cmd);
	else
		cli_warnx("%s: unknown option %s; see 'tokenkeys %s --help'",
		    cmd, safe, cmd);
	return EXIT_USAGE;
}

static int	cli_verbose;

void
cli_set_verbose(int v)
{
	cli_verbose = v;
}

void
cli_log(void *arg, int err, const char *msg)
{
	(void)arg;
	/* err 0: a module's own stderr, caught; shown with -v only */
	if (err != 0 || cli_verbose)
		cli_warnx("%s", msg);
}

int
cli_uri_error(const char *uri, int err)
{
	char	safe[1024];
	int	ex = 1;

	tk_str_sanitize(uri, safe, sizeof(safe));
	switch (err) {
	case TK_ERR_URI_SCHEME:
		cli_warnx("not a pkcs11: URI: \"%s\" (expected pkcs11:...)",
		    safe);
		ex = EXIT_USAGE;
		break;
	case TK_ERR_URI:
		cli_warnx("malformed pkcs11: URI \"%s\": bad percent-encoding "
		    "or an attribute RFC 7512 does not define", safe);
		ex = EXIT_USAGE;
		break;
	case TK_ERR_NOT_FOUND:
		cli_warnx("no key matches URI %s", safe);
		break;
	case TK_ERR_DENIED:
		cli_warnx("URI %s: module-path is not allowed here", safe);
		break;
	default:
		cli_warnx("URI %s: %s", safe, tk_strerror(err));
		break;
	}
	return ex;
}

int
cli_ctx_new(struct tk_ctx **ctx, int by_path)
{
	int	ex = 0;

	if (tk_ctx_new(ctx, TK_CTX_CAPTURE_STDERR |
	    (by_path ? TK_CTX_NO_REGISTRY : 0)) != 0) {
		cli_warnx("out of memory");
		ex = 1;
	} else
		tk_ctx_set_log(*ctx, cli_log, NULL);
	return ex;
}

int
cli_format(const char *arg, int *json)
{
	int	ex = 0;

	if (strcmp(arg, "json") == 0)
		*json = 1;
	else if (strcmp(arg, "text") == 0)
		*json = 0;
	else {
		cli_warnx("--format: expected text or json, not \"%s\"", arg);
		ex = EXIT_USAGE;
	}
	return ex;
}

int
cli_flush_stdout(void)
{
	int	ex = 0;

	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_warnx("write error on standard output");
		ex = 1;
	}
	return ex;
}

void
json_string(FILE *f, const char *s)
{
	char		 safe[4096];
	const char	*p;

	tk_str_sanitize(s, safe, sizeof(safe));
	fputc('"', f);
	for (p = safe; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void
json_hex(FILE *f, const uint8_t *p, size_t n)
{
	size_t	i;

	fputc('"', f);
	for (i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('"', f);
}

void
json_field(FILE *f, const char *name, const char *value)
{
	fprintf(f, ", \"%s\": ", name);
	json_string(f, value);
}
