/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys: keys on PKCS#11 tokens as SSH identities.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*what;
} cmds[] = {
	{ "list", list_main, "print the SSH public keys of token keys" },
	{ "tokens", tokens_main, "show modules, slots and tokens" },
	{ "keygen", keygen_main, "make a key pair on a token" },
	{ "delete", delete_main, "destroy key pairs on a token" },
	{ "passwd", passwd_main, "change a token's PIN" },
	{ "unblock", unblock_main, "set a new PIN with the SO PIN (PUK)" },
	{ "agent", agent_main, "run an SSH agent that signs on tokens" },
	{ "doctor", doctor_main, "check why a token login does not work" },
	{ "ssh-config", ssh_config_main, "ssh_config lines for token keys" },
	{ "git-signing", git_signing_main,
	    "sign git commits with a token key" },
	{ "__helper", helper_main, NULL },	/* started by the agent */
};

static void
usage(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: tokenkeys COMMAND [options] [URI ...]\n\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (cmds[i].what != NULL)
			fprintf(f, "  %-11s %s\n", cmds[i].name, cmds[i].what);
	fprintf(f, "\n'tokenkeys COMMAND --help' for a command's options; "
	    "tokenkeys(1) for more.\n");
}

int
main(int argc, char **argv)
{
	size_t	i;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("tokenkeys %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	cli_warnx("unknown command \"%s\"; try 'tokenkeys --help'", argv[1]);
	return EXIT_USAGE;
}
