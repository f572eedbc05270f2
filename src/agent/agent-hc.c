/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The agent's real keystore: helper processes through src/helper/hclient.h, and
 * prompts through src/prompt/prompt.c.
 */
#include "tokenkeys.h"
#include "agent/agent.h"
#include "pkcs11/registry.h"

static int
hc_new(const char *path, int registry, void **mod)
{
	struct tk_hclient	*h = NULL;
	int			 r;

	/* else the helper looks: the path may still be a registry one */
	r = tk_hclient_start(path, registry ? 1 : -1, &h);
	*mod = h;
	return r;
}

static void
hc_free(void *mod)
{
	tk_hclient_free(mod);
}

static int
hc_list(void *mod, const char *uri, struct tk_hkey **keys, size_t *n)
{
	return tk_hclient_list(mod, uri, keys, n);
}

static int
hc_sign(void *mod, const uint8_t *blob, size_t bloblen, const uint8_t *data,
    size_t datalen, int alg, const char *ctx_pin, size_t ctx_pinlen,
    uint8_t *sig, size_t sigsz, size_t *siglen, struct tk_htoken *tok,
    int timeout_ms)
{
	return tk_hclient_sign(mod, blob, bloblen, data, datalen, alg,
	    ctx_pin, ctx_pinlen, sig, sigsz, siglen, tok, timeout_ms);
}

static int
hc_login(void *mod, const uint8_t *blob, size_t bloblen, const char *pin,
    size_t pinlen, struct tk_htoken *tok, int timeout_ms)
{
	return tk_hclient_login(mod, blob, bloblen, pin, pinlen, tok,
	    timeout_ms);
}

static int
hc_token(void *mod, const uint8_t *blob, size_t bloblen,
    struct tk_htoken *tok)
{
	return tk_hclient_token(mod, blob, bloblen, tok);
}

static int
hc_presence(void *mod, uint64_t *digest)
{
	return tk_hclient_presence(mod, digest);
}

static int
hc_logout(void *mod, const uint8_t *blob, size_t bloblen, unsigned int *n)
{
	return tk_hclient_logout(mod, blob, bloblen, n);
}

static int
hc_events(void *mod)
{
	return tk_hclient_events_fd(mod);
}

static const struct agent_ops hc_ops = {
	.registry = tk_hclient_registry,
	.paths_free = tk_p11_paths_free,
	.mod_new = hc_new,
	.mod_free = hc_free,
	.list = hc_list,
	.keys_free = tk_hkeys_free,
	.sign = hc_sign,
	.login = hc_login,
	.token = hc_token,
	.presence = hc_presence,
	.events = hc_events,
	.prompt_pin = tk_prompt_pin,
	.prompt_confirm = tk_prompt_confirm,
	.logout = hc_logout,
};

int
agent_hclient_ops(const struct agent_ops **ops)
{
	*ops = &hc_ops;
	return 0;
}
