/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The verbs' client of an SSH agent.  Frames go through the agent's own
 * socket client (agent-upstream.c): bounded, with deadlines.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "cli/cli-agent.h"
#include "ssh/sshsig.h"

#define CALL_MS		5000

struct cli_agent {
	struct agent_upstream	*up;
	void			*uc;
};

int
cli_agent_open(const char *path, struct cli_agent **out)
{
	struct cli_agent	*a = NULL;
	int			 r;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if ((r = agent_upstream_socket(path, NULL, &a->up)) != 0)
		goto out;
	if ((r = a->up->open(a->up->arg, &a->uc)) != 0) {
		r = TK_ERR_CONNECTION;
		goto out;
	}
	*out = a;
	a = NULL;
 out:
	cli_agent_close(a);
	return r;
}

void
cli_agent_close(struct cli_agent *a)
{
	if (a == NULL)
		return;
	if (a->uc != NULL)
		a->up->close(a->up->arg, a->uc);
	agent_upstream_free(a->up);
	free(a);
}

void
cli_agent_ids_free(struct cli_agent_id *ids, size_t n)
{
	size_t	i;

	for (i = 0; ids != NULL && i < n; i++) {
		free(ids[i].blob);
		free(ids[i].comment);
	}
	free(ids);
}

int
cli_agent_ids(struct cli_agent *a, struct cli_agent_id **out, size_t *np)
{
	struct cli_agent_id	*ids = NULL;
	struct tk_buf		 reply;
	const uint8_t		*b, *c;
	uint8_t			 req = SSH_AGENTC_REQUEST_IDENTITIES, t;
	uint32_t		 n = 0, i;
	size_t			 bl, cl;
	int			 r;

	*out = NULL;
	*np = 0;
	tk_buf_init(&reply, AGENT_MAX_FRAME, 0);
	if ((r = a->up->call(a->up->arg, a->uc, &req, 1, &reply,
	    CALL_MS)) != 0)
		goto out;
	if ((r = tk_buf_get_u8(&reply, &t)) != 0 ||
	    (r = tk_buf_get_u32(&reply, &n)) != 0)
		goto out;
	if (t != SSH_AGENT_IDENTITIES_ANSWER || n > CLI_AGENT_MAX_IDS) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	if ((ids = calloc(n + 1, sizeof(*ids))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = tk_buf_get_string(&reply, &b, &bl)) != 0 ||
		    (r = tk_buf_get_string(&reply, &c, &cl)) != 0)
			goto out;
		if ((ids[i].blob = malloc(bl + 1)) == NULL ||
		    (ids[i].comment = malloc(cl + 1)) == NULL) {
			r = TK_ERR_NOMEM;
			goto out;
		}
		memcpy(ids[i].blob, b, bl);
		ids[i].bloblen = bl;
		memcpy(ids[i].comment, c, cl);
		ids[i].comment[cl] = '\0';
	}
	if ((r = tk_buf_end(&reply)) != 0)
		goto out;
	*out = ids;
	*np = n;
	ids = NULL;
 out:
	cli_agent_ids_free(ids, n);
	tk_buf_free(&reply);
	return r;
}

int
cli_agent_query(struct cli_agent *a, char *names, size_t namesz)
{
	struct tk_buf	 req, reply;
	const uint8_t	*s;
	char		 one[128], safe[256];
	size_t		 n;
	uint8_t		 t;
	int		 r;

	names[0] = '\0';
	tk_buf_init(&req, 256, 0);
	tk_buf_init(&reply, AGENT_MAX_FRAME, 0);
	if ((r = tk_buf_put_u8(&req, SSH_AGENTC_EXTENSION)) != 0 ||
	    (r = tk_buf_put_cstring(&req, "query")) != 0)
		goto out;
	if ((r = a->up->call(a->up->arg, a->uc, tk_buf_ptr(&req),
	    tk_buf_avail(&req), &reply, CALL_MS)) != 0 ||
	    (r = tk_buf_get_u8(&reply, &t)) != 0)
		goto out;
	if (t != SSH_AGENT_EXTENSION_RESPONSE) {
		r = 0;
		goto out;
	}
	if ((r = tk_buf_get_string(&reply, &s, &n)) != 0)
		goto out;
	while (tk_buf_avail(&reply) > 0) {
		if ((r = tk_buf_get_string(&reply, &s, &n)) != 0)
			goto out;
		if (n >= sizeof(one))
			n = sizeof(one) - 1;
		memcpy(one, s, n);
		one[n] = '\0';
		tk_str_sanitize(one, safe, sizeof(safe));
		if (strlen(names) + strlen(safe) + 2 < namesz) {
			if (names[0] != '\0')
				strcat(names, " ");
			strcat(names, safe);
		}
	}
	r = 1;
 out:
	tk_buf_free(&req);
	tk_buf_free(&reply);
	return r;
}

int
cli_agent_relist(struct cli_agent *a, int timeout_ms)
{
	struct tk_buf	req, reply;
	uint8_t		t;
	int		r;

	tk_buf_init(&req, 256, 0);
	tk_buf_init(&reply, AGENT_MAX_FRAME, 0);
	if ((r = tk_buf_put_u8(&req, SSH_AGENTC_EXTENSION)) != 0 ||
	    (r = tk_buf_put_cstring(&req, AGENT_EXT_RELIST)) != 0)
		goto out;
	if ((r = a->up->call(a->up->arg, a->uc, tk_buf_ptr(&req),
	    tk_buf_avail(&req), &reply, timeout_ms)) != 0 ||
	    (r = tk_buf_get_u8(&reply, &t)) != 0)
		goto out;
	r = t == SSH_AGENT_SUCCESS ? 0 : TK_ERR_DENIED;
 out:
	tk_buf_free(&req);
	tk_buf_free(&reply);
	return r;
}

void
cli_agent_tell_write(void)
{
	struct cli_agent	*a = NULL;
	const char		*sock = getenv("SSH_AUTH_SOCK");

	if (sock == NULL || sock[0] == '\0' ||
	    cli_agent_open(sock, &a) != 0)
		return;
	/* the answer changes nothing here: the write is done either way */
	(void)cli_agent_relist(a, CLI_AGENT_RELIST_MS);
	cli_agent_close(a);
}

int
cli_agent_sign_check(struct cli_agent *a, const uint8_t *blob,
    size_t bloblen, int timeout_ms)
{
	struct tk_sshsig_key	*k = NULL;
	struct tk_buf		 req, reply;
	const uint8_t		*sig;
	uint8_t			 data[64], t;
	size_t			 siglen;
	uint32_t		 flags = 0;
	int			 alg = TK_SIG_DEFAULT, r;

	tk_buf_init(&req, AGENT_MAX_FRAME, 0);
	tk_buf_init(&reply, AGENT_MAX_FRAME, 0);
	if ((r = tk_sshsig_key_new(blob, bloblen, &k)) != 0)
		goto out;
	if (tk_sshsig_key_type(k) == TK_KEY_RSA) {
		flags = SSH_AGENT_RSA_SHA2_256;
		alg = TK_SIG_RSA_SHA256;
	}
	arc4random_buf(data, sizeof(data));
	if ((r = tk_buf_put_u8(&req, SSH_AGENTC_SIGN_REQUEST)) != 0 ||
	    (r = tk_buf_put_string(&req, blob, bloblen)) != 0 ||
	    (r = tk_buf_put_string(&req, data, sizeof(data))) != 0 ||
	    (r = tk_buf_put_u32(&req, flags)) != 0)
		goto out;
	if ((r = a->up->call(a->up->arg, a->uc, tk_buf_ptr(&req),
	    tk_buf_avail(&req), &reply, timeout_ms)) != 0 ||
	    (r = tk_buf_get_u8(&reply, &t)) != 0)
		goto out;
	if (t != SSH_AGENT_SIGN_RESPONSE) {
		r = TK_ERR_DENIED;
		goto out;
	}
	if ((r = tk_buf_get_string(&reply, &sig, &siglen)) != 0)
		goto out;
	r = tk_sshsig_verify(k, alg, data, sizeof(data), sig, siglen);
	if (r == TK_ERR_FORMAT)
		r = TK_ERR_SIGNATURE;
 out:
	tk_sshsig_key_free(k);
	tk_buf_free(&req);
	tk_buf_free(&reply);
	return r;
}

pid_t
cli_agent_peer(const char *path, char *exe, size_t exesz)
{
	struct sockaddr_un	 sun;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);
	char			 proc[64], target[PATH_MAX];
	const char		*base;
	ssize_t			 n;
	pid_t			 pid = -1;
	int			 fd = -1;

	if (exesz > 0)
		exe[0] = '\0';
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		goto out;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		goto out;
	pid = cred.pid;
	snprintf(proc, sizeof(proc), "/proc/%ld/exe", (long)pid);
	if ((n = readlink(proc, target, sizeof(target) - 1)) > 0) {
		target[n] = '\0';
		base = strrchr(target, '/');
		snprintf(exe, exesz, "%s", base != NULL ? base + 1 : target);
	}
 out:
	if (fd >= 0)
		close(fd);
	return pid;
}

int
cli_agent_judge(const char *exe, int query)
{
	/*
	 * The listener's pid is that of the process that bound the socket:
	 * gone once a daemon forked, and then only query tells.
	 */
	if (exe[0] != '\0' && strncmp(exe, "tokenkeys", 9) != 0)
		return 0;
	return query == 1;
}

int
cli_agent_is_tokenkeys(const char *path)
{
	struct cli_agent	*a = NULL;
	char			 exe[256], names[512];
	int			 r;

	if ((r = cli_agent_open(path, &a)) != 0)
		goto out;
	(void)cli_agent_peer(path, exe, sizeof(exe));
	if ((r = cli_agent_query(a, names, sizeof(names))) < 0)
		goto out;
	r = cli_agent_judge(exe, r);
 out:
	cli_agent_close(a);
	return r;
}
