/*
 * Shared pieces of the command-line programs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

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

void
cli_log(void *arg, int err, const char *msg)
{
	(void)arg;
	(void)err;
	cli_warnx("%s", msg);
}

int
cli_uri_error(const char *uri, int err)
{
	char	safe[1024];

	tk_str_sanitize(uri, safe, sizeof(safe));
	switch (err) {
	case TK_ERR_URI_SCHEME:
		cli_warnx("not a pkcs11: URI: \"%s\" (expected pkcs11:...)",
		    safe);
		return EXIT_USAGE;
	case TK_ERR_URI:
		cli_warnx("malformed pkcs11: URI \"%s\": bad percent-encoding "
		    "or an attribute RFC 7512 does not define", safe);
		return EXIT_USAGE;
	case TK_ERR_NOT_FOUND:
		cli_warnx("no key matches URI %s", safe);
		return 1;
	case TK_ERR_DENIED:
		cli_warnx("URI %s: module-path is not allowed here", safe);
		return 1;
	default:
		cli_warnx("URI %s: %s", safe, tk_strerror(err));
		return 1;
	}
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
