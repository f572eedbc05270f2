/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The per-token prompt locks: one entry per token seen signing (module,
 * label, serial), with the mutex that lets one prompt at a time ask for
 * that token's PIN and what its last login told us (agent-login.c,
 * agent-sign.c).  The table has its own lock, a->tokens_mu, never held
 * across a token call, which also guards the entries' login-policy fields
 * (agent-policy.c); the entries of a module are dropped when the module
 * is freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "agent/agent.h"

struct agent_token *
agent_token_get(struct agent *a, struct agent_module *mod, const char *label,
    const char *serial)
{
	struct agent_token	*t = NULL;
	size_t			 i;

	pthread_mutex_lock(&a->tokens_mu);
	for (i = 0; i < a->ntokens; i++) {
		if (a->tokens[i]->mod == mod &&
		    strcmp(a->tokens[i]->label, label) == 0 &&
		    strcmp(a->tokens[i]->serial, serial) == 0) {
			t = a->tokens[i];
			goto out;
		}
	}
	/* A full table shares the last slot: still serialised, just wider. */
	if (a->ntokens == AGENT_MAX_TOKENS) {
		t = a->tokens[a->ntokens - 1];
		goto out;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto out;
	t->mod = mod;
	snprintf(t->label, sizeof(t->label), "%s", label);
	snprintf(t->serial, sizeof(t->serial), "%s", serial);
	pthread_mutex_init(&t->mu, NULL);
	a->tokens[a->ntokens++] = t;
 out:
	pthread_mutex_unlock(&a->tokens_mu);
	return t;
}

void
agent_tokens_forget(struct agent *a, const struct agent_module *mod)
{
	size_t	i;

	pthread_mutex_lock(&a->tokens_mu);
	for (i = a->ntokens; i > 0; i--) {
		if (a->tokens[i - 1]->mod != mod)
			continue;
		pthread_mutex_destroy(&a->tokens[i - 1]->mu);
		free(a->tokens[i - 1]->pol_blob);
		free(a->tokens[i - 1]);
		a->tokens[i - 1] = a->tokens[--a->ntokens];
	}
	pthread_mutex_unlock(&a->tokens_mu);
}

void
agent_tokens_free(struct agent *a)
{
	size_t	i;

	for (i = 0; i < a->ntokens; i++) {
		pthread_mutex_destroy(&a->tokens[i]->mu);
		free(a->tokens[i]->pol_blob);
		free(a->tokens[i]);
	}
	a->ntokens = 0;
}
