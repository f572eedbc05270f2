/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys doctor: the checks (doctor-*.c) and the report they write to
 * (doctor-report.c).  cmd-doctor.c runs them in order; no check calls
 * another.
 */
#ifndef TK_DOCTOR_H
#define TK_DOCTOR_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "tokenkeys.h"
#include "cli/cli-agent.h"

#define DR_OK		0
#define DR_WARN		1
#define DR_FAIL		2

struct dr_report;

struct dr_opts {
	struct tk_ctx	*ctx;
	int		 sign;		/* --sign: one signature per key */
	const char	*host;		/* HOST, or NULL */
	const char	*server_user;	/* --server [USER], or NULL */
	const char	*sshd_config;	/* --sshd-config FILE, or NULL */
	const char	*ssh_config;	/* -F FILE for ssh, or NULL */
	const char	*pubdir;	/* ssh-config's directory */
	/* What the local checks found, for the later ones. */
	struct tk_keylist *keys;	/* token keys, as tokenkeys list */
	int		 agent_ok;	/* SSH_AUTH_SOCK answers */
	struct cli_agent_id *ids;	/* ...with these keys */
	size_t		 nids;
};

/* doctor-report.c */
int	dr_new(struct dr_report **, int json);
void	dr_free(struct dr_report *);
/*
 * One check's line: what was checked ("agent", "token", "ssh -G"...),
 * the finding, and for warn and FAIL what to do (one sentence, with the
 * command that fixes it where there is one).  Text is printed at once;
 * JSON at dr_finish.  Strings from tokens must already be sanitised.
 */
void	dr_add(struct dr_report *, int level, const char *check,
	    const char *fix, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* Print what is left; the exit status: 0 when nothing failed, else 1. */
int	dr_finish(struct dr_report *);

/* doctor-local.c: modules and tokens, pcscd, OpenSSH's version. */
void	dr_check_tokens(struct dr_report *, struct dr_opts *);
void	dr_check_openssh(struct dr_report *, struct dr_opts *);
/* doctor-files.c: ~/.ssh and the files in it, as ssh reads them. */
void	dr_check_sshdir(struct dr_report *, struct dr_opts *);
/* doctor-agent.c: SSH_AUTH_SOCK, its keys against the tokens', --sign. */
void	dr_check_agent(struct dr_report *, struct dr_opts *);
/* doctor-host.c: ssh -G HOST and one BatchMode login. */
void	dr_check_host(struct dr_report *, struct dr_opts *);
/* doctor-server.c: --server: this machine's sshd for one account. */
void	dr_check_server(struct dr_report *, struct dr_opts *);

/*
 * doctor-util.c, shared by the checks: the path of an account file as
 * sshd's StrictModes judges it (owner uid or root, no group or other
 * write), 0 when fine, else a reason into why.
 */
int	dr_mode_bad(const char *path, uid_t uid, int dir, char *why,
	    size_t whysz);
/* A token key's display name: "LABEL" on "TOKEN" (sanitised). */
void	dr_key_name(const struct tk_key *, char *buf, size_t bufsz);
/* Is blob one of the token keys? The key or NULL. */
const struct tk_key *dr_token_key(const struct dr_opts *,
	    const uint8_t *blob, size_t bloblen);

#endif /* TK_DOCTOR_H */
