/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Running a helper program (pinentry, askpass) as a child and collecting
 * it.  The caller must not ignore SIGCHLD nor reap with waitpid(-1, ...):
 * the exit status of the child is read here.
 */
#ifndef TK_SPAWN_H
#define TK_SPAWN_H

#include <sys/types.h>

#include <stddef.h>

/* How long a child that should be exiting gets before SIGTERM, SIGKILL. */
#define TK_REAP_TERM_MS	1000

/*
 * Find an executable regular file into buf: name itself if it holds a
 * '/', else along $PATH, skipping empty entries (the working directory is
 * no place to pick programs from).  0 or TK_ERR_NOT_FOUND (buf is "").
 */
int	tk_spawn_find(const char *name, char *buf, size_t bufsz);

/*
 * fork and exec path with in_fd as stdin and out_fd as stdout, with the
 * signals a daemon may ignore set back to their defaults.  Between fork
 * and exec the child does only async-signal-safe things, so the caller may
 * be threaded.  0 and *pidp, TK_ERR_NO_PROMPT if the program could not be
 * executed, TK_ERR_SYSTEM.
 */
int	tk_spawn(const char *path, char *const argv[], char *const envp[],
	    int in_fd, int out_fd, pid_t *pidp);

/* The same with err_fd as stderr too (-1: stderr is left alone). */
int	tk_spawn_err(const char *path, char *const argv[], char *const envp[],
	    int in_fd, int out_fd, int err_fd, pid_t *pidp);

/*
 * Collect the child so no zombie is left.  One that does not exit within
 * grace_ms gets SIGTERM (pinentry-curses then restores the terminal), then
 * after TK_REAP_TERM_MS SIGKILL.  *status as from waitpid().  1 if it
 * exited by itself, 0 if it had to be killed, TK_ERR_SYSTEM.
 */
int	tk_spawn_reap(pid_t pid, int grace_ms, int *status);

#endif /* TK_SPAWN_H */
