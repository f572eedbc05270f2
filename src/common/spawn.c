/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Child programs: see spawn.h.
 */
#ifndef _GNU_SOURCE	/* config.h (AC_USE_SYSTEM_EXTENSIONS) sets it */
#define _GNU_SOURCE	/* pipe2 */
#endif

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "common/deadline.h"
#include "common/spawn.h"

/* A blocking waitpid() that survives EINTR. */
static pid_t
wait_for(pid_t pid, int *status)
{
	pid_t w;

	do {
		w = waitpid(pid, status, 0);
	} while (w == -1 && errno == EINTR);
	return w;
}

int
tk_spawn_find(const char *name, char *buf, size_t bufsz)
{
	const char *path, *s, *e;
	struct stat st;
	size_t dl;
	int n, r;

	r = TK_ERR_NOT_FOUND;
	if (name == NULL || *name == '\0')
		goto out;
	if (strchr(name, '/') != NULL) {
		n = snprintf(buf, bufsz, "%s", name);
		if (n < 0 || (size_t)n >= bufsz)
			goto out;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(buf, X_OK) == 0)
			r = 0;
		goto out;
	}
	if ((path = getenv("PATH")) == NULL)
		path = "/usr/bin:/bin";
	for (s = path; ; s = e + 1) {
		if ((e = strchr(s, ':')) == NULL)
			e = s + strlen(s);
		dl = (size_t)(e - s);
		if (dl > 0 && dl < INT_MAX) {
			n = snprintf(buf, bufsz, "%.*s/%s", (int)dl, s, name);
			if (n > 0 && (size_t)n < bufsz &&
			    stat(buf, &st) == 0 && S_ISREG(st.st_mode) &&
			    access(buf, X_OK) == 0) {
				r = 0;
				goto out;
			}
		}
		if (*e == '\0')
			break;
	}
 out:
	if (r != 0 && bufsz > 0)
		buf[0] = '\0';
	return r;
}

int
tk_spawn(const char *path, char *const argv[], char *const envp[],
    int in_fd, int out_fd, pid_t *pidp)
{
	return tk_spawn_err(path, argv, envp, in_fd, out_fd, -1, pidp);
}

int
tk_spawn_err(const char *path, char *const argv[], char *const envp[],
    int in_fd, int out_fd, int err_fd, pid_t *pidp)
{
	/* Signals a daemon may ignore that a prompt program must not. */
	static const int sigs[] = {
		SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT
	};
	struct sigaction dfl;
	sigset_t none;
	pid_t pid;
	size_t i;
	ssize_t n;
	int ep[2] = { -1, -1 };
	int err, in, out, efd = -1, r;

	*pidp = -1;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigemptyset(&none);

	if (pipe2(ep, O_CLOEXEC) == -1) {
		r = TK_ERR_SYSTEM;
		goto out;
	}
	if ((pid = fork()) == -1) {
		r = TK_ERR_SYSTEM;
		goto out;
	}
	if (pid == 0) {
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			(void)sigaction(sigs[i], &dfl, NULL);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		/*
		 * Move everything above 2 first: any may be 0 or 1 already
		 * if the caller runs with stdin/stdout closed.
		 */
		if ((err = fcntl(ep[1], F_DUPFD_CLOEXEC, 3)) != -1)
			ep[1] = err;
		if ((in = fcntl(in_fd, F_DUPFD_CLOEXEC, 3)) != -1 &&
		    (out = fcntl(out_fd, F_DUPFD_CLOEXEC, 3)) != -1 &&
		    (err_fd < 0 ||
		    (efd = fcntl(err_fd, F_DUPFD_CLOEXEC, 3)) != -1) &&
		    dup2(in, STDIN_FILENO) != -1 &&
		    dup2(out, STDOUT_FILENO) != -1 &&
		    (efd < 0 || dup2(efd, STDERR_FILENO) != -1))
			execve(path, argv, envp);
		err = errno;
		n = write(ep[1], &err, sizeof(err));
		_exit(127);
	}
	close(ep[1]);
	ep[1] = -1;
	do {
		n = read(ep[0], &err, sizeof(err));
	} while (n == -1 && errno == EINTR);
	if (n != 0) {
		/* It exits at once; collect it here. */
		(void)wait_for(pid, NULL);
		r = TK_ERR_NO_PROMPT;
		goto out;
	}
	*pidp = pid;
	r = 0;
 out:
	if (ep[0] != -1)
		close(ep[0]);
	if (ep[1] != -1)
		close(ep[1]);
	return r;
}

/* One waitpid(WNOHANG) pass that survives EINTR: 1 reaped, 0 still there. */
static int
reap_try(pid_t pid, int *status)
{
	pid_t w;
	int r;

	do {
		w = waitpid(pid, status, WNOHANG);
	} while (w == -1 && errno == EINTR);
	if (w == -1)
		r = TK_ERR_SYSTEM;
	else
		r = (w == pid);
	return r;
}

/* Poll for the child's exit for up to ms milliseconds. */
static int
reap_wait(pid_t pid, int *status, int ms)
{
	struct timespec d, tick = { 0, 10 * 1000000L };
	int r;

	tk_deadline_set(&d, (unsigned int)ms);
	while ((r = reap_try(pid, status)) == 0 && tk_deadline_left(&d) > 0)
		nanosleep(&tick, NULL);
	return r;
}

int
tk_spawn_reap(pid_t pid, int grace_ms, int *status)
{
	int r;

	*status = 0;
	if ((r = reap_wait(pid, status, grace_ms)) != 0)
		goto out;
	(void)kill(pid, SIGTERM);
	if ((r = reap_wait(pid, status, TK_REAP_TERM_MS)) != 0) {
		r = (r == 1) ? 0 : r;
		goto out;
	}
	(void)kill(pid, SIGKILL);
	r = (wait_for(pid, status) == pid) ? 0 : TK_ERR_SYSTEM;
 out:
	return r;
}

