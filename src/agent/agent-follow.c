/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Following tokens as cards come and go.  Every module is asked which
 * tokens it holds (slot and token information, no session and no object:
 * as cheap on a token with a thousand keys as on an empty one); a module
 * whose answer changed is listed again at once, so a card put back is
 * served, and a card pulled stops being listed, within about a second,
 * not at the next full re-list.  The full re-list (agent.c) still finds
 * keys made or deleted on a token that stayed in.
 */
#include <stdlib.h>

#include "tokenkeys.h"
#include "agent/agent.h"

void
agent_follow_tokens(struct agent *a)
{
	struct agent_module	*mods[AGENT_MAX_MODULES];
	uint64_t		 digest;
	size_t			 n = 0, i;
	int			 changed, known, r;

	if (a->ops->presence == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->nmods && n < AGENT_MAX_MODULES; i++) {
		a->mods[i]->refs++;
		mods[n++] = a->mods[i];
	}
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < n; i++) {
		if ((r = a->ops->presence(mods[i]->h, &digest)) != 0) {
			/* no verdict: the next look or re-list will tell */
			agent_log(a, AGENT_LOG_DEBUG, "module %s: cannot "
			    "tell which tokens are present: %s",
			    mods[i]->path, tk_strerror(r));
			continue;
		}
		/*
		 * The first answer is compared with nothing: the listing
		 * before it may be older than a card pulled meanwhile.
		 */
		pthread_mutex_lock(&a->lock);
		known = mods[i]->presence_known;
		changed = !known || mods[i]->presence != digest;
		mods[i]->presence = digest;
		mods[i]->presence_known = 1;
		pthread_mutex_unlock(&a->lock);
		if (!changed)
			continue;
		if (known)
			agent_log(a, AGENT_LOG_DEBUG, "module %s: a token was "
			    "put in, pulled or changed: listing its keys "
			    "again", mods[i]->path);
		else
			agent_log(a, AGENT_LOG_DEBUG, "module %s: first look "
			    "at its tokens since it was started: listing its "
			    "keys again, in case one changed meanwhile",
			    mods[i]->path);
		if ((r = agent_refresh_module(a, mods[i])) != 0)
			agent_log(a, AGENT_LOG_ERR, "module %s: listing keys "
			    "failed: %s", mods[i]->path, tk_strerror(r));
	}
	for (i = 0; i < n; i++)
		agent_module_release(a, mods[i]);
}
