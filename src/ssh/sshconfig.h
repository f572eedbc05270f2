/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Names from an ssh_config(5) file: what the user calls their hosts, to
 * tell which host a hashed known_hosts line stands for.
 */
#ifndef TK_SSHCONFIG_H
#define TK_SSHCONFIG_H

#include <stddef.h>

#define TK_SSHCONFIG_NAMES_MAX	256

/*
 * The literal names of path's Host and HostName lines (no pattern, no
 * negation, no %-token), each once, at most TK_SSHCONFIG_NAMES_MAX;
 * Include lines are not followed.  0 (also for a file that does not
 * exist: *n 0) with *names to free with tk_ssh_config_names_free;
 * TK_ERR_NOMEM, TK_ERR_SYSTEM.
 */
int	tk_ssh_config_names(const char *path, char ***names, size_t *n);
void	tk_ssh_config_names_free(char **, size_t);

#endif /* TK_SSHCONFIG_H */
