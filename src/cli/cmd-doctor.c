/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys doctor [HOST]: why a token login does not work, one line per
 * check.  Never asks for a PIN (but with --sign) and changes nothing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli-pubfile.h"
#include "cli/doctor.h"

enum { OPT_FORMAT = 256, OPT_SIGN, OPT_SERVER, OPT_SSHD_CONFIG, OPT_MODULE,
	OPT_DIR };

static void
usage(FILE *f)
{
	fprintf(f, "usage: tokenkeys doctor [-v] [--format text|json] "
	    "[--sign] [-F SSH_CONFIG]\n"
	    "                        [--module PATH] [--dir DIR] [HOST]\n"
	    "       tokenkeys doctor --server [--sshd-config FILE] "
	    "[--format text|json]\n"
	    "                        [USER]\n"
	    "Check the tokens, the agent, ~/.ssh and, with HOST, the ssh "
	    "configuration and\none BatchMode login; with --server, this "
	    "machine's sshd for USER.  One line\nper check: ok, warn or "
	    "FAIL and what to do.  Exit 1 when a check failed.\n");
}

static int
parse(int argc, char **argv, struct dr_opts *o, int *json,
    const char **module, int *server)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "sign", no_argument, NULL, OPT_SIGN },
		{ "server", no_argument, NULL, OPT_SERVER },
		{ "sshd-config", required_argument, NULL, OPT_SSHD_CONFIG },
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch, ex = 0;

	opterr = 0;
	optind = 1;
	while (ex == 0 &&
	    (ch = getopt_long(argc, argv, ":vhF:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			cli_set_verbose(1);
			break;
		case 'F':
			o->ssh_config = optarg;
			break;
		case OPT_FORMAT:
			ex = cli_format(optarg, json);
			break;
		case OPT_SIGN:
			o->sign = 1;
			break;
		case OPT_SERVER:
			*server = 1;
			break;
		case OPT_SSHD_CONFIG:
			o->sshd_config = optarg;
			break;
		case OPT_MODULE:
			*module = optarg;
			break;
		case OPT_DIR:
			o->pubdir = optarg;
			break;
		case 'h':
			usage(stdout);
			ex = -1;
			break;
		default:
			ex = cli_bad_option("doctor", ch, argv[optind - 1]);
			break;
		}
	}
	if (ex == 0 && argc - optind > 1) {
		cli_warnx("doctor: takes at most one %s; see 'tokenkeys doctor "
		    "--help'", *server ? "USER" : "HOST");
		ex = EXIT_USAGE;
	}
	if (ex == 0 && argc - optind == 1 && argv[optind][0] == '-') {
		cli_warnx("doctor: \"%s\" is not a host name", argv[optind]);
		ex = EXIT_USAGE;
	}
	if (ex == 0 && argc - optind == 1) {
		if (*server)
			o->server_user = argv[optind];
		else
			o->host = argv[optind];
	}
	return ex;
}

int
doctor_main(int argc, char **argv)
{
	struct dr_opts		 o;
	struct dr_report	*rep = NULL;
	const char		*module = NULL;
	char			 dir[4096];
	int			 json = 0, server = 0, ex;

	memset(&o, 0, sizeof(o));
	if ((ex = parse(argc, argv, &o, &json, &module, &server)) != 0) {
		ex = ex < 0 ? 0 : ex;
		goto out;
	}
	if (o.pubdir == NULL) {
		if (cli_pubdir_default(dir, sizeof(dir)) != 0)
			snprintf(dir, sizeof(dir), ".ssh/tokenkeys");
		o.pubdir = dir;
	}
	if ((ex = cli_ctx_new(&o.ctx, module != NULL)) != 0)
		goto out;
	if (dr_new(&rep, json) != 0) {
		cli_warnx("out of memory");
		ex = 1;
		goto out;
	}
	/* the library has said why on stderr */
	if (module != NULL && tk_ctx_add_module(o.ctx, module) != 0)
		dr_add(rep, DR_FAIL, "module", "see the line above; tokenkeys "
		    "tokens -v --module PATH shows what the module says",
		    "%s does not load", module);
	else
		dr_check_tokens(rep, &o);
	dr_check_openssh(rep, &o);
	dr_check_sshdir(rep, &o);
	dr_check_agent(rep, &o);
	if (o.host != NULL)
		dr_check_host(rep, &o);
	if (server)
		dr_check_server(rep, &o);
	ex = dr_finish(rep);
 out:
	dr_free(rep);
	cli_agent_ids_free(o.ids, o.nids);
	tk_keylist_free(o.keys);
	tk_ctx_free(o.ctx);
	return ex;
}
