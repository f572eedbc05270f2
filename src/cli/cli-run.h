/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Running a program (ssh, sshd, git) for a verb: cli-run.c.
 */
#ifndef TK_CLI_RUN_H
#define TK_CLI_RUN_H

#include <stddef.h>

struct cli_run {
	char	*out;		/* stdout, NUL-terminated, at most max bytes */
	size_t	 outlen;
	char	*err;		/* stderr, the same */
	size_t	 errlen;
	int	 status;	/* as from waitpid() */
	int	 timed_out;	/* ended at the deadline */
};

/*
 * Run argv (argv[0] found along $PATH) with stdin from /dev/null and this
 * environment; collect its output until it exits or timeout_ms pass.
 * 0 (whatever the program's exit status), TK_ERR_NOT_FOUND when it is not
 * installed, TK_ERR_SYSTEM.  Free res with cli_run_free().
 */
int	cli_run(char *const argv[], int timeout_ms, size_t max,
	    struct cli_run *res);
/* The exit status, or -1 when it was killed or timed out. */
int	cli_run_exit(const struct cli_run *);
void	cli_run_free(struct cli_run *);

#endif /* TK_CLI_RUN_H */
