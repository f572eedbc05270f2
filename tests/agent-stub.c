/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The stub keystore: see agent-stub.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "agent-stub.h"
#include "agent/agent.h"

struct stub	S;

void
stub_reset(void)
{
	struct stub_key	keys[STUB_MAX_KEYS];
	size_t		n = S.nkeys;

	memcpy(keys, S.keys, sizeof(keys));
	memset(&S, 0, sizeof(S));
	memcpy(S.keys, keys, sizeof(keys));
	S.nkeys = n;
	S.prompt_pin = STUB_PIN;
}

void
stub_keys_clear(void)
{
	size_t	i;

	for (i = 0; i < S.nkeys; i++) {
		free(S.keys[i].blob);
		free(S.keys[i].uri);
	}
	memset(S.keys, 0, sizeof(S.keys));
	S.nkeys = 0;
}

int
stub_key_add(const uint8_t *blob, size_t len, const char *uri)
{
	struct stub_key	*k;

	if (S.nkeys >= STUB_MAX_KEYS)
		return TK_ERR_RANGE;
	k = &S.keys[S.nkeys];
	if ((k->blob = malloc(len == 0 ? 1 : len)) == NULL ||
	    (k->uri = strdup(uri)) == NULL) {
		free(k->blob);
		k->blob = NULL;
		return TK_ERR_NOMEM;
	}
	if (len > 0)
		memcpy(k->blob, blob, len);
	k->bloblen = len;
	S.nkeys++;
	return 0;
}

static uint64_t
fnv(uint64_t h, const uint8_t *p, size_t n)
{
	while (n-- > 0)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void
stub_sig(const uint8_t *blob, size_t bloblen, const uint8_t *data,
    size_t datalen, int alg, uint8_t sig[STUB_SIG_LEN])
{
	uint64_t	h = 0xcbf29ce484222325ULL;
	uint8_t		a = (uint8_t)alg;
	int		i;

	h = fnv(h, &a, 1);
	h = fnv(h, blob, bloblen);
	h = fnv(h, data, datalen);
	put32(sig, 4);
	memcpy(sig + 4, "stub", 4);
	put32(sig + 8, 8);
	for (i = 0; i < 8; i++)
		sig[12 + i] = (uint8_t)(h >> (56 - 8 * i));
}

static int
stub_registry(char ***paths, size_t *n)
{
	*n = 0;
	if ((*paths = calloc(1, sizeof(char *))) == NULL ||
	    ((*paths)[0] = strdup("/stub/libstub.so")) == NULL) {
		free(*paths);
		*paths = NULL;
		return TK_ERR_NOMEM;
	}
	*n = 1;
	return 0;
}

static void
stub_paths_free(char **p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(p[i]);
	free(p);
}

static int
stub_mod_new(const char *path, int registry, void **mod)
{
	(void)registry;
	snprintf(S.last_mod_path, sizeof(S.last_mod_path), "%s", path);
	S.nmod_new++;
	*mod = &S.mod_dummy;
	return 0;
}

static void
stub_mod_free(void *mod)
{
	(void)mod;
}

static void
stub_keys_free(struct tk_hkey *k, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(k[i].blob);
		free(k[i].uri);
		free(k[i].label);
		free(k[i].token_label);
		free(k[i].token_serial);
	}
	free(k);
}

static int
hkey_set(struct tk_hkey *k, const struct stub_key *sk, uint32_t flags)
{
	if ((k->blob = malloc(sk->bloblen == 0 ? 1 : sk->bloblen)) == NULL)
		return TK_ERR_NOMEM;
	if (sk->bloblen > 0)
		memcpy(k->blob, sk->blob, sk->bloblen);
	k->bloblen = sk->bloblen;
	k->uri = strdup(sk->uri);
	k->label = strdup("label");
	k->token_label = strdup("stub token");
	k->token_serial = strdup("0123");
	k->flags = flags;
	if (k->uri == NULL || k->label == NULL || k->token_label == NULL ||
	    k->token_serial == NULL)
		return TK_ERR_NOMEM;
	return 0;
}

/* The value of object= in uri (up to ; ? or the end), or NULL. */
static const char *
object_attr(const char *uri, size_t *n)
{
	const char	*p;

	for (p = uri; (p = strstr(p, "object=")) != NULL; p += 7)
		if (p > uri && (p[-1] == ':' || p[-1] == ';'))
			break;
	if (p == NULL)
		return NULL;
	p += 7;
	*n = strcspn(p, ";?");
	return p;
}

/* Keys whose URI has the same object= as the request's (all without). */
static int
stub_list(void *mod, const char *uri, struct tk_hkey **keys, size_t *n)
{
	const char	*want, *have;
	size_t		 wn, hn, i;
	int		 r = 0;

	(void)mod;
	*n = 0;
	if ((*keys = calloc(STUB_MAX_KEYS, sizeof(**keys))) == NULL)
		return TK_ERR_NOMEM;
	want = object_attr(uri, &wn);
	for (i = 0; r == 0 && i < S.nkeys; i++) {
		have = object_attr(S.keys[i].uri, &hn);
		if (want != NULL && (have == NULL || hn != wn ||
		    memcmp(want, have, wn) != 0))
			continue;
		r = hkey_set(&(*keys)[(*n)++], &S.keys[i],
		    i == 0 && S.always_auth ? TK_HKEY_ALWAYS_AUTH : 0);
	}
	if (r != 0) {
		stub_keys_free(*keys, *n);
		*keys = NULL;
		*n = 0;
	}
	return r;
}

static void
tok_fill(struct tk_htoken *tok)
{
	memset(tok, 0, sizeof(*tok));
	tok->flags = S.token_flags | TK_TOKEN_PRESENT | TK_TOKEN_LOGIN_REQUIRED;
	if (S.logged_in)
		tok->flags |= TK_HTOKEN_LOGGED_IN;
	tok->min_pin = 4;
	tok->max_pin = 8;
	snprintf(tok->label, sizeof(tok->label), "stub token");
	snprintf(tok->serial, sizeof(tok->serial), "0123");
}

static int
stub_sign(void *mod, const uint8_t *blob, size_t bloblen,
    const uint8_t *data, size_t datalen, int alg, const char *ctx_pin,
    size_t ctx_pinlen, uint8_t *sig, size_t sigsz, size_t *siglen,
    struct tk_htoken *tok, int timeout_ms)
{
	(void)mod;
	(void)ctx_pinlen;
	(void)timeout_ms;
	tok_fill(tok);
	S.nsign++;
	S.last_alg = alg;
	if (!S.logged_in)
		return TK_ERR_LOGIN_REQUIRED;
	if (S.always_auth && S.nkeys > 0 && bloblen == S.keys[0].bloblen &&
	    memcmp(blob, S.keys[0].blob, bloblen) == 0) {
		if (ctx_pin == NULL)
			return TK_ERR_LOGIN_REQUIRED;
		if (strcmp(ctx_pin, STUB_PIN) != 0)
			return TK_ERR_PIN_INCORRECT;
	}
	if (sigsz < STUB_SIG_LEN)
		return TK_ERR_RANGE;
	stub_sig(blob, bloblen, data, datalen, alg, sig);
	*siglen = STUB_SIG_LEN;
	return 0;
}

static int
stub_login(void *mod, const uint8_t *blob, size_t bloblen, const char *pin,
    size_t pinlen, struct tk_htoken *tok, int timeout_ms)
{
	(void)mod;
	(void)blob;
	(void)bloblen;
	(void)timeout_ms;
	S.nlogin++;
	tok_fill(tok);
	if (pin == NULL || pinlen != strlen(STUB_PIN) ||
	    strcmp(pin, STUB_PIN) != 0)
		return TK_ERR_PIN_INCORRECT;
	S.logged_in = 1;
	return 0;
}

static int
stub_token(void *mod, const uint8_t *blob, size_t bloblen,
    struct tk_htoken *tok)
{
	(void)mod;
	(void)blob;
	(void)bloblen;
	tok_fill(tok);
	return 0;
}

static int
stub_prompt_pin(const struct tk_prompt *p, char *pin, size_t pinsz,
    size_t *len)
{
	S.nprompt++;
	snprintf(S.last_desc, sizeof(S.last_desc), "%s", p->desc);
	snprintf(S.last_error, sizeof(S.last_error), "%s",
	    p->error ? p->error : "");
	if (S.prompt_result != 0)
		return S.prompt_result;
	snprintf(pin, pinsz, "%s", S.prompt_pin);
	*len = strlen(pin);
	return 0;
}

static int
stub_prompt_confirm(const struct tk_prompt *p)
{
	S.nconfirm++;
	snprintf(S.last_desc, sizeof(S.last_desc), "%s", p->desc);
	return S.confirm_answer;
}

const struct agent_ops stub_ops = {
	.registry = stub_registry,
	.paths_free = stub_paths_free,
	.mod_new = stub_mod_new,
	.mod_free = stub_mod_free,
	.list = stub_list,
	.keys_free = stub_keys_free,
	.sign = stub_sign,
	.login = stub_login,
	.token = stub_token,
	.prompt_pin = stub_prompt_pin,
	.prompt_confirm = stub_prompt_confirm,
};
