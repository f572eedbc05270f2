/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A client of an SSH agent for the verbs (doctor, ssh-config, keygen,
 * delete): the identities it serves, whether it is a tokenkeys agent, one
 * signature, listing the tokens again after a write.
 * cli-agent.c, over the agent's own socket client (agent-upstream.c).
 */
#ifndef TK_CLI_AGENT_H
#define TK_CLI_AGENT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define CLI_AGENT_MAX_IDS	4096

struct cli_agent;

struct cli_agent_id {
	uint8_t	*blob;
	size_t	 bloblen;
	char	*comment;	/* raw: sanitise before showing */
};

/*
 * Connect to the agent at path (a socket owned by us): 0,
 * TK_ERR_NOT_FOUND (no such file), TK_ERR_DENIED (not a socket of ours),
 * TK_ERR_CONNECTION (nothing listens).
 */
int	cli_agent_open(const char *path, struct cli_agent **);
void	cli_agent_close(struct cli_agent *);
/* The identities it lists, in its order. */
int	cli_agent_ids(struct cli_agent *, struct cli_agent_id **, size_t *);
void	cli_agent_ids_free(struct cli_agent_id *, size_t);
/*
 * The query extension: 1 if answered (its names, space-separated and
 * sanitised, in names), 0 if the agent does not know it, or TK_ERR_*.
 */
int	cli_agent_query(struct cli_agent *, char *names, size_t namesz);
/*
 * relist@tokenkeys: 0 once the agent has listed its tokens again (its
 * next listing shows a key just made or deleted), TK_ERR_DENIED when it
 * refused or does not know the extension (any other agent), or TK_ERR_*.
 */
int	cli_agent_relist(struct cli_agent *, int timeout_ms);
/*
 * A verb wrote to a token: have the agent at $SSH_AUTH_SOCK, if it is
 * ours, list its tokens again before the verb exits.  Silent and never
 * fatal: no agent, another agent, or one that does not answer within
 * CLI_AGENT_RELIST_MS leaves the agent to find the change itself.
 */
#define CLI_AGENT_RELIST_MS	5000
void	cli_agent_tell_write(void);
/*
 * Ask for a signature over data with the key blob (RSA: rsa-sha2-256)
 * and verify it: 0, TK_ERR_DENIED (the agent refused), TK_ERR_SIGNATURE.
 */
int	cli_agent_sign_check(struct cli_agent *, const uint8_t *blob,
	    size_t bloblen, int timeout_ms);
/* The pid of the process listening on path and its program's name. */
pid_t	cli_agent_peer(const char *path, char *exe, size_t exesz);
/*
 * exe (cli_agent_peer(), "" when unknown) and cli_agent_query()'s answer:
 * 1 for a tokenkeys agent, else 0.
 */
int	cli_agent_judge(const char *exe, int query);
/*
 * Is path a tokenkeys agent?  1, 0 (another agent), or TK_ERR_* when it
 * cannot be reached.  By the program that listens, checked against the
 * query extension.
 */
int	cli_agent_is_tokenkeys(const char *path);

#endif /* TK_CLI_AGENT_H */
