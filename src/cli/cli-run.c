/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Running a program the verbs ask (ssh -G, sshd -T, git config): no
 * shell, an argv array, stdin from /dev/null, stdout and stderr each
 * kept up to a bound, and a deadline after which the program is ended.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli-run.h"
#include "common/deadline.h"
#include "common/spawn.h"

extern char **environ;

/* Append what fd has to *s (kept to max bytes); 1 at end of file. */
static int
drain(int fd, char **s, size_t *len, size_t max)
{
	char	 tmp[4096], *n;
	ssize_t	 got;
	size_t	 keep;

	do {
		got = read(fd, tmp, sizeof(tmp));
	} while (got == -1 && errno == EINTR);
	if (got <= 0)
		return got == 0 || errno != EAGAIN;
	keep = (size_t)got;
	if (*len + keep > max)
		keep = max - *len;
	if (keep > 0) {
		if ((n = realloc(*s, *len + keep + 1)) == NULL)
			return 1;
		memcpy(n + *len, tmp, keep);
		*len += keep;
		n[*len] = '\0';
		*s = n;
	}
	return 0;
}

int
cli_run(char *const argv[], int timeout_ms, size_t max, struct cli_run *res)
{
	struct pollfd	 pfd[2];
	struct timespec	 d;
	char		 path[4096];
	pid_t		 pid = -1;
	int		 op[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int		 nul = -1, open_fds, i, left, r;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	if ((r = tk_spawn_find(argv[0], path, sizeof(path))) != 0)
		goto out;
	if (pipe2(op, O_CLOEXEC) != 0 || pipe2(ep, O_CLOEXEC) != 0 ||
	    (nul = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		r = TK_ERR_SYSTEM;
		goto out;
	}
	if ((r = tk_spawn_err(path, argv, environ, nul, op[1], ep[1],
	    &pid)) != 0) {
		r = r == TK_ERR_NO_PROMPT ? TK_ERR_NOT_FOUND : r;
		goto out;
	}
	close(op[1]);
	close(ep[1]);
	op[1] = ep[1] = -1;
	(void)fcntl(op[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(ep[0], F_SETFL, O_NONBLOCK);
	tk_deadline_set(&d, (unsigned int)timeout_ms);
	open_fds = 2;
	while (open_fds > 0 && (left = tk_deadline_left(&d)) > 0) {
		pfd[0].fd = op[0];
		pfd[1].fd = ep[0];
		pfd[0].events = pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, left) < 0 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			if (drain(pfd[i].fd, i == 0 ? &res->out : &res->err,
			    i == 0 ? &res->outlen : &res->errlen, max)) {
				close(pfd[i].fd);
				if (i == 0)
					op[0] = -1;
				else
					ep[0] = -1;
				open_fds--;
			}
		}
	}
	res->timed_out = open_fds > 0;
	if (tk_spawn_reap(pid, res->timed_out ? 0 : timeout_ms,
	    &res->status) < 0) {
		r = TK_ERR_SYSTEM;
		goto out;
	}
	if (res->out == NULL)
		res->out = strdup("");
	if (res->err == NULL)
		res->err = strdup("");
	r = (res->out == NULL || res->err == NULL) ? TK_ERR_NOMEM : 0;
 out:
	for (i = 0; i < 2; i++) {
		if (op[i] >= 0)
			close(op[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	if (nul >= 0)
		close(nul);
	if (r != 0)
		cli_run_free(res);
	return r;
}

int
cli_run_exit(const struct cli_run *res)
{
	if (res->timed_out || !WIFEXITED(res->status))
		return -1;
	return WEXITSTATUS(res->status);
}

void
cli_run_free(struct cli_run *res)
{
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
	res->outlen = res->errlen = 0;
}
