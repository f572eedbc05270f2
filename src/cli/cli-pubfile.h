/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Token keys' public halves as files (cli-pubfile.c): the directory of
 * ssh-config, used by git-signing and doctor too.
 */
#ifndef TK_CLI_PUBFILE_H
#define TK_CLI_PUBFILE_H

#include <stddef.h>

#include "tokenkeys.h"

#define CLI_PUB_SAME	0	/* the file already held this key */
#define CLI_PUB_NEW	1	/* a new file */
#define CLI_PUB_CHANGED	2	/* the file held another key: rewritten */

/* $HOME/.ssh/tokenkeys into buf: 0, TK_ERR_NOT_FOUND (no $HOME). */
int	cli_pubdir_default(char *buf, size_t bufsz);
/* path with the account's home shown as "~" (as ssh expands it). */
void	cli_path_tilde(const char *path, char *buf, size_t bufsz);
/* k's file name without ".pub": TOKEN_KEY, in [A-Za-z0-9._-] only. */
void	cli_pubfile_base(const struct tk_key *, char *buf, size_t bufsz);
/* The comment of an authorized_keys line ("TYPE BASE64 COMMENT"). */
const char *cli_publine_comment(const char *line);
/* mkdir dir 0700 (and its parent, ~/.ssh, when missing). */
int	cli_pubdir_make(const char *dir);
/*
 * k's file in dir: the one whose comment is k's URI, else a new unique
 * name; written (dir made 0700) unless it already holds k's line or
 * dry_run.  Its path into path, what happened in *state (CLI_PUB_*).
 */
int	cli_pubfile_write(const char *dir, const struct tk_key *k,
	    int dry_run, char *path, size_t pathsz, int *state);
/* fn(arg, path, uri) for each .pub file in dir with a pkcs11: comment. */
int	cli_pubdir_each(const char *dir,
	    int (*fn)(void *, const char *path, const char *uri), void *arg);

#endif /* TK_CLI_PUBFILE_H */
