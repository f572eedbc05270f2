/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Who is asking (src/agent/agent-peer.c): what any local process puts in
 * its /proc/PID/cmdline and stat (its own argv and name: escape
 * sequences, NULs, anything), and known_hosts lines, as the agent turns
 * them into the requester every prompt, notice and log line shows.
 * Input: a selector byte, then
 *	0..3	the command lines of a chain of 1..4 processes, each a
 *		field as /proc gives it (at most CMDLINE_MAX - 1 bytes are
 *		read: longer fields are cut there, as read(2) would)
 *	4	a stat text (field), then a command line (rest)
 *	5	a key's base64 (field), then a known_hosts line (rest)
 * Checked: the requester fits AGENT_WHO_MAX, and is printable UTF-8 (no
 * control byte, no cut character) however hostile the bytes; a parent
 * pid is never negative; a host name found is non-empty and bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "fuzz.h"
#include "agent/agent.h"
#include "prompt/prompt-text.h"

#define CMDLINE_MAX	512	/* what agent-peer.c reads */
#define WHO_PROCS	4

static void
check_who(const char *who, size_t whosz)
{
	size_t	n = strlen(who);

	if (n >= whosz || !fz_utf8_printable((const uint8_t *)who, n))
		abort();
}

/* One process's command line, as proc_cmd sees what read(2) gave. */
static void
one_cmd(struct fz *f, int last, char *out, size_t outsz)
{
	const uint8_t	*p;
	char		*buf;
	size_t		 n;
	int		 shell;

	p = last ? fz_rest(f, &n) : fz_field(f, &n);
	if (n > CMDLINE_MAX - 1)
		n = CMDLINE_MAX - 1;
	buf = fz_strdup(p, n);
	agent_peer_cmdline(buf, n, out, outsz, &shell);
	if (strlen(out) >= outsz || (shell != 0 && shell != 1))
		abort();
	free(buf);
}

static void
chain(struct fz *f, size_t nprocs)
{
	char		 cmds[WHO_PROCS][CMDLINE_MAX], who[AGENT_WHO_MAX];
	const char	*procs[WHO_PROCS];
	size_t		 i;

	for (i = 0; i < nprocs; i++) {
		one_cmd(f, i == nprocs - 1, cmds[i], sizeof(cmds[i]));
		procs[i] = cmds[i];
	}
	tk_ptext_requester(who, sizeof(who), procs, nprocs);
	check_who(who, sizeof(who));
}

static void
stat_text(struct fz *f)
{
	const uint8_t	*p;
	char		*s, cmd[CMDLINE_MAX], who[AGENT_WHO_MAX];
	const char	*procs[1] = { cmd };
	size_t		 n;

	p = fz_field(f, &n);
	if (n > 511)
		n = 511;
	s = fz_strdup(p, n);
	if (agent_peer_stat_ppid(s) < 0)
		abort();
	free(s);
	one_cmd(f, 1, cmd, sizeof(cmd));
	tk_ptext_requester(who, sizeof(who), procs, 1);
	check_who(who, sizeof(who));
}

/* A host name as a forwarded request names it: any bytes. */
static void
known_host(struct fz *f)
{
	const uint8_t	*p;
	char		*host, who[AGENT_WHO_MAX];
	size_t		 n;

	p = fz_rest(f, &n);
	host = fz_strdup(p, n);
	tk_ptext_requester_host(who, sizeof(who), host,
	    "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	check_who(who, sizeof(who));
	free(host);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz	f = { data, size };
	uint8_t		op;

	op = fz_u8(&f) % 6;
	if (op < WHO_PROCS)
		chain(&f, (size_t)op + 1);
	else if (op == 4)
		stat_text(&f);
	else
		known_host(&f);
	return 0;
}
