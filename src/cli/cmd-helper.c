/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys __helper: the per-module helper process the agent starts.
 *
 *	tokenkeys __helper MODULE_PATH	load that module and serve it
 *	tokenkeys __helper --registry	answer with p11-kit's registry
 *
 * With --events last, fd 4 is the write end of a pipe on which the
 * helper tells the agent that the module's tokens may have changed.
 *
 * The helper protocol (src/helper/hproto.h) runs on fd 3, one end of a
 * socketpair the agent made; the helper ends when the agent closes it.
 * Without a socket on fd 3, --registry prints the module paths, one per
 * line (for debugging); a module helper refuses to start.
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <malloc.h>
#include <signal.h>
#include <string.h>

#include "cli/cli.h"
#include "helper/helper.h"

static int
fd_is_socket(int fd)
{
	struct stat	st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int
fd_is_pipe(int fd)
{
	struct stat	st;

	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

int
helper_main(int argc, char **argv)
{
	int	sock, r, reg = TK_MODSET_REG_LOOK, evfd = -1;

	/* PINs pass through here: no core dumps, no ptrace by the user */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
#ifdef M_ARENA_MAX
	/*
	 * glibc gives each thread that allocates its own malloc arena, each
	 * keeping what it once held: the workers share two (as many as run
	 * at once on a small machine), so the helper's memory stays flat.
	 */
	(void)mallopt(M_ARENA_MAX, 2);
#endif
	if (argc >= 3 && strcmp(argv[argc - 1], "--events") == 0) {
		if (!fd_is_pipe(TK_HELPER_EVENTS_FD)) {
			cli_warnx("__helper: fd %d is not a pipe",
			    TK_HELPER_EVENTS_FD);
			return EXIT_USAGE;
		}
		evfd = TK_HELPER_EVENTS_FD;
		argv[--argc] = NULL;
	}
	if (argc == 3 && strcmp(argv[1], "--registered") == 0)
		reg = TK_MODSET_REG_YES;
	else if (argc == 3 && strcmp(argv[1], "--unregistered") == 0)
		reg = TK_MODSET_REG_NO;
	if (reg != TK_MODSET_REG_LOOK) {
		argc--;
		argv++;
	}
	if (argc != 2 || argv[1][0] == '\0') {
		cli_warnx("usage: tokenkeys __helper [--registered | "
		    "--unregistered] MODULE_PATH [--events] | --registry "
		    "(started by the agent)");
		return EXIT_USAGE;
	}
	sock = fd_is_socket(TK_HELPER_FD);
	if (strcmp(argv[1], "--registry") == 0) {
		r = tk_helper_registry(sock ? TK_HELPER_FD : -1);
		if (r != 0)
			cli_warnx("__helper: cannot read the p11-kit registry: "
			    "%s", tk_strerror(r));
		return r == 0 ? 0 : 1;
	}
	if (!sock) {
		cli_warnx("__helper: fd %d is not a socket; the helper is "
		    "started by 'tokenkeys agent'", TK_HELPER_FD);
		return EXIT_USAGE;
	}
	r = tk_helper_run(TK_HELPER_FD, argv[1], reg, evfd);
	return r == 0 ? 0 : 1;
}
