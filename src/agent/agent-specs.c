/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Registry-wide requests: a URI without module-path (from the command
 * line, the no-URI default or ssh-add -s) is remembered, so that a module
 * joining p11-kit's registry later gets a source for it too
 * (agent-registry.c).  Every function here wants a->lock held.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "agent/agent.h"

void
agent_spec_clear(struct agent_spec *sp)
{
	free(sp->uri);
	free(sp->reader);
	agent_dests_unref(sp->dests);
	memset(sp, 0, sizeof(*sp));
}

/* Forget registry-wide requests: reader's (NULL: all); a->lock held. */
void
agent_specs_remove(struct agent *a, const char *reader, int expired)
{
	time_t	now = expired ? agent_now(a) : 0;
	size_t	i;

	for (i = a->nspecs; i > 0; i--) {
		struct agent_spec *sp = &a->specs[i - 1];

		if (expired ? (sp->deadline == 0 || sp->deadline > now) :
		    (reader != NULL && strcmp(sp->reader, reader) != 0))
			continue;
		agent_spec_clear(sp);
		a->specs[i - 1] = a->specs[--a->nspecs];
	}
}

/* Remember a registry-wide request (replacing the reader's); lock held. */
int
agent_spec_add(struct agent *a, const char *uri, const char *reader,
    time_t deadline, int confirm, struct agent_dests *dests)
{
	struct agent_spec	*ns, sp;
	int			 r = TK_ERR_NOMEM;

	memset(&sp, 0, sizeof(sp));
	if (reader[0] != '\0')
		agent_specs_remove(a, reader, 0);
	if (a->nspecs >= AGENT_MAX_SOURCES) {
		r = TK_ERR_RANGE;
		goto out;
	}
	if ((sp.uri = strdup(uri)) == NULL ||
	    (sp.reader = strdup(reader)) == NULL)
		goto out;
	if ((ns = reallocarray(a->specs, a->nspecs + 1, sizeof(*ns))) == NULL)
		goto out;
	a->specs = ns;
	sp.deadline = deadline;
	sp.confirm = confirm;
	sp.dests = agent_dests_ref(dests);
	a->specs[a->nspecs++] = sp;
	memset(&sp, 0, sizeof(sp));
	r = 0;
 out:
	agent_spec_clear(&sp);
	return r;
}

void
agent_specs_free(struct agent *a)
{
	agent_specs_remove(a, NULL, 0);
	free(a->specs);
	a->specs = NULL;
}
