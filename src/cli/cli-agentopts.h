/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys agent's command line: ssh-agent's options and ours.
 */
#ifndef TK_CLI_AGENTOPTS_H
#define TK_CLI_AGENTOPTS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_OPT_DESTS	16

struct agent_opts {
	const char	*sock;
	int		 foreground;
	int		 debug;
	int		 csh;		/* -1: from $SHELL */
	int		 kill;
	uint32_t	 life;
	const char	*allow;
	const char	*upstream;	/* -A */
	char		 updir[PATH_MAX];	/* -A auto: private dir */
	int		 empty;		/* --empty */
	char		*dest[AGENT_OPT_DESTS];	/* --dest */
	size_t		 ndest;
	char		*khfile[AGENT_OPT_DESTS];	/* --known-hosts */
	size_t		 nkhfile;
	char		**certs;	/* --cert, in order */
	size_t		 ncerts;
	uint32_t	 pin_timeout;	/* --pin-timeout */
	uint32_t	 pin_max_age;	/* --pin-max-age */
	int		 keep_pin_on;	/* --keep-pin-on: AGENT_KEEP_* */
	char		**uris;		/* to serve: --config's, then argv's */
	int		 nuris;
	char		**uv;		/* owned: --config's URIs and argv's */
	size_t		 nuv;
};

/*
 * Parse argv into *o (zeroed first).  -1: go on; else the exit status
 * (0 after --help).  Call agent_opts_free either way.
 */
int	agent_opts_parse(int argc, char **argv, struct agent_opts *o);
void	agent_opts_free(struct agent_opts *);

#endif
