/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The askpass method: $SSH_ASKPASS (default "ssh-askpass") with the text
 * as argv[1]; it answers on its stdout, or with its exit status for a
 * confirmation (SSH_ASKPASS_PROMPT=confirm).
 *
 * A PIN passes only through the caller's buffer; what askpass writes
 * past the first line goes to a scratch buffer wiped before we return.
 */
#ifndef _GNU_SOURCE	/* config.h (AC_USE_SYSTEM_EXTENSIONS) sets it */
#define _GNU_SOURCE	/* explicit_bzero, pipe2 */
#endif

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "common/deadline.h"
#include "common/spawn.h"
#include "prompt/prompt-int.h"

/* Askpass output we drain before calling it hostile. */
#define ASKPASS_DRAIN_MAX	65536

extern char **environ;

/*
 * The child's environment: ours without SSH_ASKPASS_PROMPT (an inherited
 * "confirm" would turn a PIN prompt into a yes/no box), plus add.  The
 * strings are borrowed from environ; only the array is allocated.
 */
static int
child_env(char *add, char ***envp)
{
	static const char drop[] = "SSH_ASKPASS_PROMPT=";
	char **e;
	size_t i, n;
	int r;

	*envp = NULL;
	for (n = 0; environ != NULL && environ[n] != NULL; n++)
		;
	if ((e = calloc(n + 2, sizeof(*e))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	n = 0;
	for (i = 0; environ != NULL && environ[i] != NULL; i++) {
		if (strncmp(environ[i], drop, sizeof(drop) - 1) != 0)
			e[n++] = environ[i];
	}
	if (add != NULL)
		e[n++] = add;
	e[n] = NULL;
	*envp = e;
	r = 0;
 out:
	return r;
}

/*
 * Read askpass's stdout until EOF: the first line into pin, the rest
 * drained into a wiped scratch buffer so the child can finish writing.
 * For a confirmation (pin == NULL) everything is drained.
 */
static int
askpass_read(int fd, const struct timespec *deadline, char *pin,
    size_t pinsz, size_t *pinlen)
{
	char scratch[256], *dst;
	size_t cap, i, off = 0, drained = 0;
	int line_done = (pin == NULL), r;
	ssize_t n;

	for (;;) {
		if (!line_done && off < pinsz - 1) {
			dst = pin + off;
			cap = pinsz - 1 - off;
		} else {
			dst = scratch;
			cap = sizeof(scratch);
		}
		if ((r = tk_deadline_wait_fd(fd, POLLIN, deadline)) != 0)
			goto out;
		n = read(fd, dst, cap);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			r = TK_ERR_SYSTEM;
			goto out;
		}
		if (n == 0)
			break;
		if (dst != scratch) {
			for (i = 0; i < (size_t)n && dst[i] != '\n' &&
			    dst[i] != '\r'; i++)
				;
			if (i < (size_t)n) {
				explicit_bzero(dst + i, (size_t)n - i);
				line_done = 1;
			}
			off += i;
		} else {
			drained += (size_t)n;
			if (!line_done && scratch[0] != '\n' &&
			    scratch[0] != '\r') {
				r = TK_ERR_RANGE;	/* no room for it */
				goto out;
			}
			line_done = 1;
			if (drained > ASKPASS_DRAIN_MAX) {
				r = TK_ERR_RANGE;
				goto out;
			}
		}
	}
	if (pin != NULL) {
		pin[off] = '\0';
		if (memchr(pin, '\0', off) != NULL) {
			r = TK_ERR_FORMAT;	/* would shorten the PIN */
			goto out;
		}
		*pinlen = off;
	}
	r = 0;
 out:
	explicit_bzero(scratch, sizeof(scratch));
	return r;
}

int
tk_prompt_askpass(const struct tk_prompt *p, const struct timespec *deadline,
    int confirm, char *pin, size_t pinsz, size_t *pinlen)
{
	static char confirm_env[] = "SSH_ASKPASS_PROMPT=confirm";
	char path[PATH_MAX], *argv[3], *text = NULL, **envp = NULL;
	const char *prog;
	int pfd[2] = { -1, -1 };
	int devnull = -1, r, rr, status = 0;
	pid_t pid = -1;

	if ((prog = getenv("SSH_ASKPASS")) == NULL || *prog == '\0')
		prog = "ssh-askpass";
	if (tk_spawn_find(prog, path, sizeof(path)) != 0) {
		r = TK_ERR_NO_PROMPT;
		goto out;
	}
	if ((text = tk_prompt_text(p, confirm)) == NULL ||
	    (r = child_env(confirm ? confirm_env : NULL, &envp)) != 0) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC) == -1 ||
	    (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		r = TK_ERR_SYSTEM;
		goto out;
	}
	argv[0] = path;
	argv[1] = text;
	argv[2] = NULL;
	if ((r = tk_spawn(path, argv, envp, devnull, pfd[1], &pid)) != 0)
		goto out;
	close(pfd[1]);
	pfd[1] = -1;
	r = askpass_read(pfd[0], deadline, confirm ? NULL : pin, pinsz,
	    pinlen);
 out:
	if (pfd[0] != -1)
		close(pfd[0]);
	if (pfd[1] != -1)
		close(pfd[1]);
	if (devnull != -1)
		close(devnull);
	if (pid != -1) {
		/* EOF usually means it exited; it may still be on its way. */
		rr = tk_spawn_reap(pid, r == 0 ? tk_deadline_left(deadline) :
		    0, &status);
		if (rr < 0 && r == 0)
			r = rr;
		else if (rr == 0 && r == 0)
			r = TK_ERR_TIMEOUT;
		else if (r == 0 && (!WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0))
			r = TK_ERR_CANCELLED;
	}
	free(envp);
	free(text);
	return r;
}
