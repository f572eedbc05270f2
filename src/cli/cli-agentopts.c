/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys agent's command line: ssh-agent's options (-a, -c, -s, -D,
 * -d, -k, -t, -P) and ours, checked together before anything starts.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "cli/cli.h"
#include "cli/cli-agentopts.h"

/* long options without a letter */
#define OPT_CERT	256
#define OPT_PIN_TIMEOUT	257
#define OPT_PIN_MAX_AGE	258
#define OPT_KEEP_PIN_ON	259
#define OPT_DEST	260
#define OPT_KNOWN_HOSTS	261
#define OPT_EMPTY	262

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: tokenkeys agent [-cDdks] [-A socket] [-a socket] "
	    "[-P allowlist]\n                       [-t life] [--config FILE] "
	    "[--dest DEST]\n                       [--known-hosts FILE] "
	    "[--cert PATH] [--pin-timeout time]\n"
	    "                       [--pin-max-age time] "
	    "[--keep-pin-on suspend,lock]\n"
	    "                       [--empty | URI ...]\n"
	    "\n"
	    "An SSH agent for keys on PKCS#11 tokens.  With no URI it serves "
	    "every key\nof every token p11-kit knows; with URIs, the keys "
	    "matching them.\n"
	    "\n"
	    "  -A socket     pass what is not a token key (ssh-add keyfile) "
	    "to the agent\n                at this socket (OpenSSH's "
	    "ssh-agent); auto: our own ssh-agent\n"
	    "  -a socket     bind the agent to this socket path\n"
	    "  -c, -s        print C-shell / Bourne shell commands\n"
	    "  -D            stay in the foreground\n"
	    "  -d            debug: foreground, log requests to stderr\n"
	    "  -k            kill the agent named by $SSH_AGENT_PID\n"
	    "  -P allowlist  module paths ssh-add -s and module-path= may "
	    "use\n                (default %s)\n"
	    "  -t life       lifetime of served keys (seconds, or 1h30m...)\n"
	    "  --config FILE serve the URIs in FILE too (one a line, "
	    "# comments)\n"
	    "  --dest DEST   use the keys served from the start only to log "
	    "in to DEST,\n                as ssh-add -h: host, user@host, "
	    "hostA>hostB (repeatable)\n"
	    "  --known-hosts FILE\n                host keys for --dest from "
	    "FILE (repeatable; default\n                ~/.ssh/known_hosts and "
	    "/etc/ssh/ssh_known_hosts)\n"
	    "  --empty       serve nothing until ssh-add -s asks\n"
	    "  --cert PATH   serve the certificates in this file or directory "
	    "with their\n                keys (repeatable; and always "
	    "~/.config/tokenkeys/certs/)\n"
	    "  --pin-timeout time\n"
	    "                log a token out after this long without a "
	    "signature\n"
	    "  --pin-max-age time\n"
	    "                log a token out this long after its login\n"
	    "  --keep-pin-on suspend,lock\n"
	    "                stay logged in when the system sleeps / the "
	    "screen locks\n"
	    "                (default: log every token out then)\n"
	    "  -h, --help    this help\n"
	    "\nSee tokenkeys-agent(1).\n", AGENT_ALLOWLIST_DEFAULT);
}

/* --keep-pin-on: a comma-separated list of suspend and lock. */
static int
parse_keep(const char *s, int *out)
{
	char	*copy, *p, *save = NULL;
	int	 r = 0;

	*out = 0;
	if ((copy = strdup(s)) == NULL)
		return TK_ERR_NOMEM;
	for (p = strtok_r(copy, ",", &save); p != NULL && r == 0;
	    p = strtok_r(NULL, ",", &save)) {
		if (strcmp(p, "suspend") == 0)
			*out |= AGENT_KEEP_SUSPEND;
		else if (strcmp(p, "lock") == 0)
			*out |= AGENT_KEEP_LOCK;
		else
			r = TK_ERR_INVAL;
	}
	if (*out == 0)
		r = TK_ERR_INVAL;
	free(copy);
	return r;
}

/* ssh-agent's time format: 90, 90s, 10m, 1h30m, 2d, 1w. */
static int
parse_life(const char *s, uint32_t *out)
{
	unsigned long long	 total = 0, v;
	char			*end;
	int			 r = TK_ERR_RANGE;

	if (*s == '\0')
		goto out;
	while (*s != '\0') {
		if (*s < '0' || *s > '9')
			goto out;
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno != 0 || v > UINT32_MAX)
			goto out;
		switch (*end) {
		case '\0':
		case 's': case 'S':
			break;
		case 'm': case 'M':
			v *= 60;
			break;
		case 'h': case 'H':
			v *= 3600;
			break;
		case 'd': case 'D':
			v *= 86400;
			break;
		case 'w': case 'W':
			v *= 604800;
			break;
		default:
			goto out;
		}
		total += v;
		if (total > UINT32_MAX)
			goto out;
		s = *end == '\0' ? end : end + 1;
	}
	*out = (uint32_t)total;
	r = 0;
 out:
	return r;
}


static int
add_cert_path(struct agent_opts *o, char *path)
{
	char	**nv;

	if ((nv = reallocarray(o->certs, o->ncerts + 1, sizeof(*nv))) == NULL) {
		cli_warnx("agent: out of memory");
		return -1;
	}
	o->certs = nv;
	o->certs[o->ncerts++] = path;
	return 0;
}

/* --config: the command line's URIs after the file's, in one array. */
static int
agent_args(char ***uv, size_t *nuv, int argc, char **argv)
{
	char	**nu;
	int	  i;

	if ((nu = reallocarray(*uv, *nuv + (size_t)argc + 1,
	    sizeof(*nu))) == NULL)
		goto fail;
	*uv = nu;
	for (i = 0; i < argc; i++) {
		if ((nu[*nuv] = strdup(argv[i])) == NULL)
			goto fail;
		(*nuv)++;
	}
	nu[*nuv] = NULL;
	return 0;
 fail:
	cli_warnx("agent: out of memory");
	return 1;
}

/* --dest: the restrict-destination constraint ssh-add -h would send. */

int
agent_opts_parse(int argc, char **argv, struct agent_opts *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "config", required_argument, NULL, 'f' },
		{ "dest", required_argument, NULL, OPT_DEST },
		{ "known-hosts", required_argument, NULL, OPT_KNOWN_HOSTS },
		{ "empty", no_argument, NULL, OPT_EMPTY },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "pin-timeout", required_argument, NULL, OPT_PIN_TIMEOUT },
		{ "pin-max-age", required_argument, NULL, OPT_PIN_MAX_AGE },
		{ "keep-pin-on", required_argument, NULL, OPT_KEEP_PIN_ON },
		{ NULL, 0, NULL, 0 }
	};
	const char	*config = NULL;
	int		 ch, r = -1;

	memset(o, 0, sizeof(*o));
	o->csh = -1;
	o->allow = AGENT_ALLOWLIST_DEFAULT;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":A:a:cDdksP:t:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'A':
			o->upstream = optarg;
			break;
		case 'a':
			o->sock = optarg;
			break;
		case 'c':
			o->csh = 1;
			break;
		case 's':
			o->csh = 0;
			break;
		case 'D':
			o->foreground = 1;
			break;
		case 'd':
			o->foreground = 1;
			o->debug = 1;
			break;
		case 'k':
			o->kill = 1;
			break;
		case 'P':
			o->allow = optarg;
			break;
		case 't':
			if (parse_life(optarg, &o->life) != 0) {
				cli_warnx("agent: -t %s: not a lifetime "
				    "(seconds, or e.g. 1h30m)", optarg);
				r = EXIT_USAGE;
				goto out;
			}
			break;
		case OPT_DEST:
		case OPT_KNOWN_HOSTS:
			if ((ch == OPT_DEST ? o->ndest : o->nkhfile) >=
			    AGENT_OPT_DESTS) {
				cli_warnx("agent: more than %d --%s options",
				    AGENT_OPT_DESTS, ch == OPT_DEST ? "dest" :
				    "known-hosts");
				r = EXIT_USAGE;
				goto out;
			}
			if (ch == OPT_DEST)
				o->dest[o->ndest++] = optarg;
			else
				o->khfile[o->nkhfile++] = optarg;
			break;
		case OPT_EMPTY:
			o->empty = 1;
			break;
		case OPT_CERT:
			if (add_cert_path(o, optarg) != 0) {
				r = 1;
				goto out;
			}
			break;
		case OPT_PIN_TIMEOUT:
		case OPT_PIN_MAX_AGE:
			if (parse_life(optarg, ch == OPT_PIN_TIMEOUT ?
			    &o->pin_timeout : &o->pin_max_age) != 0 ||
			    (ch == OPT_PIN_TIMEOUT ? o->pin_timeout :
			    o->pin_max_age) == 0) {
				cli_warnx("agent: --%s %s: not a duration "
				    "(seconds, or e.g. 10m, 1h30m)",
				    ch == OPT_PIN_TIMEOUT ? "pin-timeout" :
				    "pin-max-age", optarg);
				r = EXIT_USAGE;
				goto out;
			}
			break;
		case OPT_KEEP_PIN_ON:
			if (parse_keep(optarg, &o->keep_pin_on) != 0) {
				cli_warnx("agent: --keep-pin-on %s: give "
				    "suspend, lock or suspend,lock", optarg);
				r = EXIT_USAGE;
				goto out;
			}
			break;
		case 'h':
			usage(stdout);
			r = 0;
			goto out;
		case 'f':
			config = optarg;
			break;
		default:
			r = cli_bad_option("agent", ch, argv[optind - 1]);
			goto out;
		}
	}
	argc -= optind;
	argv += optind;
	if (o->kill) {
		r = -1;
		goto out;
	}
	if (config != NULL) {
		if ((r = cli_urifile_read(config, &o->uv, &o->nuv)) == 0)
			r = agent_args(&o->uv, &o->nuv, argc, argv);
		if (r != 0)
			goto out;
		argc = (int)o->nuv;
		argv = o->uv;
	}
	if (o->empty && (argc > 0 || o->ndest > 0)) {
		cli_warnx("agent: --empty serves nothing at start: %s",
		    argc > 0 ? "give no URI with it" : "--dest has no keys "
		    "to apply to (use ssh-add -h with ssh-add -s)");
		r = EXIT_USAGE;
		goto out;
	}
	if (o->nkhfile > 0 && o->ndest == 0) {
		cli_warnx("agent: --known-hosts is for --dest");
		r = EXIT_USAGE;
		goto out;
	}
	o->uris = argv;
	o->nuris = argc;
	r = -1;
 out:
	return r;
}

void
agent_opts_free(struct agent_opts *o)
{
	cli_urifile_free(o->uv, o->nuv);
	free(o->certs);
	memset(o, 0, sizeof(*o));
}
