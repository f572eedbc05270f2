/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The stub other agent: see agent-stub.h.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "agent-stub.h"
#include "agent/agent.h"

struct stub_up	U;

struct upc {
	int	id;
};

void
stub_up_reset(void)
{
	size_t	i;

	for (i = 0; i < U.nkeys; i++) {
		free(U.keys[i].blob);
		free(U.keys[i].uri);
	}
	memset(&U, 0, sizeof(U));
}

int
stub_up_key_add(const uint8_t *blob, size_t len, const char *comment)
{
	struct stub_key	*k;

	if (U.nkeys >= STUBUP_MAX_KEYS || len == 0)
		return TK_ERR_RANGE;
	k = &U.keys[U.nkeys];
	if ((k->blob = malloc(len)) == NULL ||
	    (k->uri = strdup(comment)) == NULL) {
		free(k->blob);
		k->blob = NULL;
		return TK_ERR_NOMEM;
	}
	memcpy(k->blob, blob, len);
	k->bloblen = len;
	U.nkeys++;
	return 0;
}

static int
find(const uint8_t *blob, size_t len)
{
	size_t	i;

	for (i = 0; i < U.nkeys; i++)
		if (agent_blob_eq(U.keys[i].blob, U.keys[i].bloblen, blob,
		    len))
			return (int)i;
	return -1;
}

static int
up_open(void *arg, void **uc)
{
	struct upc	*c;

	(void)arg;
	if ((c = malloc(sizeof(*c))) == NULL)
		return TK_ERR_NOMEM;
	c->id = ++U.nopen;
	*uc = c;
	return 0;
}

static void
up_close(void *arg, void *uc)
{
	(void)arg;
	if (uc != NULL)
		U.nclose++;
	free(uc);
}

static int
answer(struct tk_buf *m, uint8_t type, struct tk_buf *reply)
{
	const uint8_t	*blob, *data;
	size_t		 len, dlen, i;
	uint32_t	 flags;
	char		 name[64];
	int		 k;

	switch (type) {
	case SSH_AGENTC_REQUEST_IDENTITIES:
		if (U.garbage)
			return tk_buf_put_u8(reply, SSH_AGENT_IDENTITIES_ANSWER)
			    || tk_buf_put_u32(reply, 3);
		if (tk_buf_put_u8(reply, SSH_AGENT_IDENTITIES_ANSWER) != 0 ||
		    tk_buf_put_u32(reply, U.locked ? 0 :
		    (uint32_t)U.nkeys) != 0)
			return TK_ERR_NOMEM;
		for (i = 0; !U.locked && i < U.nkeys; i++)
			if (tk_buf_put_string(reply, U.keys[i].blob,
			    U.keys[i].bloblen) != 0 ||
			    tk_buf_put_cstring(reply, U.keys[i].uri) != 0)
				return TK_ERR_NOMEM;
		return 0;
	case SSH_AGENTC_SIGN_REQUEST:
		if (tk_buf_get_string(m, &blob, &len) != 0 ||
		    tk_buf_get_string(m, &data, &dlen) != 0 ||
		    tk_buf_get_u32(m, &flags) != 0)
			break;
		U.last_flags = flags;
		if (U.locked || find(blob, len) < 0)
			break;
		return tk_buf_put_u8(reply, SSH_AGENT_SIGN_RESPONSE) ||
		    tk_buf_put_cstring(reply, "upsig");
	case SSH_AGENTC_ADD_IDENTITY:
	case SSH_AGENTC_ADD_ID_CONSTRAINED:
		/* a key it holds already is replaced, as in ssh-agent */
		if (U.locked || tk_buf_get_string(m, &blob, &len) != 0 ||
		    (find(blob, len) < 0 &&
		    stub_up_key_add(blob, len, "added") != 0))
			break;
		return tk_buf_put_u8(reply, SSH_AGENT_SUCCESS);
	case SSH_AGENTC_REMOVE_IDENTITY:
		if (tk_buf_get_string(m, &blob, &len) != 0 ||
		    (k = find(blob, len)) < 0)
			break;
		free(U.keys[k].blob);
		free(U.keys[k].uri);
		U.keys[k] = U.keys[--U.nkeys];
		return tk_buf_put_u8(reply, SSH_AGENT_SUCCESS);
	case SSH_AGENTC_REMOVE_ALL_IDENTITIES:
		while (U.nkeys > 0) {
			U.nkeys--;
			free(U.keys[U.nkeys].blob);
			free(U.keys[U.nkeys].uri);
		}
		return tk_buf_put_u8(reply, SSH_AGENT_SUCCESS);
	case SSH_AGENTC_LOCK:
	case SSH_AGENTC_UNLOCK:
		if (U.locked == (type == SSH_AGENTC_LOCK))
			break;
		U.locked = type == SSH_AGENTC_LOCK;
		return tk_buf_put_u8(reply, SSH_AGENT_SUCCESS);
	case SSH_AGENTC_EXTENSION:
		if (tk_buf_get_cstring(m, name, sizeof(name)) != 0)
			break;
		if (strcmp(name, "query") == 0)
			return tk_buf_put_u8(reply,
			    SSH_AGENT_EXTENSION_RESPONSE) ||
			    tk_buf_put_cstring(reply, "query") ||
			    tk_buf_put_cstring(reply, "query") ||
			    tk_buf_put_cstring(reply,
			    "session-bind@openssh.com") ||
			    tk_buf_put_cstring(reply, "stub@example.com");
		if (strcmp(name, "session-bind@openssh.com") != 0)
			break;
		U.nbinds++;
		return tk_buf_put_u8(reply, SSH_AGENT_SUCCESS);
	default:
		break;
	}
	return tk_buf_put_u8(reply, SSH_AGENT_FAILURE);
}

static int
up_call(void *arg, void *uc, const uint8_t *req, size_t len,
    struct tk_buf *reply, int timeout_ms)
{
	struct upc	*c = uc;
	struct tk_buf	 m;
	uint8_t		 type;

	(void)arg;
	(void)timeout_ms;
	U.ncall++;
	U.last_conn = c->id;
	if (U.fail != 0)
		return U.fail;
	if (U.fail_every > 0 && U.ncall % U.fail_every == 0)
		return TK_ERR_TIMEOUT;
	tk_buf_init_ro(&m, req, len);
	if (tk_buf_get_u8(&m, &type) != 0)
		return TK_ERR_FORMAT;
	U.last_type = type;
	return answer(&m, type, reply) != 0 ? TK_ERR_NOMEM : 0;
}

const struct agent_upstream stub_upstream = {
	up_open, up_call, up_close, NULL
};
