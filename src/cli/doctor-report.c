/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * doctor's report: one line per check, "ok", "warn" or "FAIL", each
 * non-ok line with what to do; or the same as one JSON document.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/doctor.h"

#define DR_MAX_LINES	4096

struct dr_line {
	int	 level;
	char	*check;
	char	*msg;
	char	*fix;
};

struct dr_report {
	int		 json;
	struct dr_line	*lines;
	size_t		 n;
	size_t		 count[3];
};

static const char *levels[] = { "ok", "warn", "FAIL" };

int
dr_new(struct dr_report **out, int json)
{
	struct dr_report	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return TK_ERR_NOMEM;
	r->json = json;
	*out = r;
	return 0;
}

void
dr_free(struct dr_report *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->lines[i].check);
		free(r->lines[i].msg);
		free(r->lines[i].fix);
	}
	free(r->lines);
	free(r);
}

void
dr_add(struct dr_report *r, int level, const char *check, const char *fix,
    const char *fmt, ...)
{
	struct dr_line	*l;
	va_list		 ap;
	char		*msg = NULL;

	if (level < DR_OK || level > DR_FAIL)
		level = DR_FAIL;
	r->count[level]++;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (!r->json) {
		printf("%-4s  %s: %s", levels[level], check,
		    msg != NULL ? msg : "(out of memory)");
		if (level != DR_OK && fix != NULL && *fix != '\0')
			printf("; %s", fix);
		printf("\n");
		fflush(stdout);
		free(msg);
		return;
	}
	if (r->n >= DR_MAX_LINES || msg == NULL ||
	    (l = reallocarray(r->lines, r->n + 1, sizeof(*l))) == NULL) {
		free(msg);
		return;
	}
	r->lines = l;
	l = &r->lines[r->n];
	l->level = level;
	l->msg = msg;
	l->check = strdup(check);
	l->fix = strdup(fix != NULL && level != DR_OK ? fix : "");
	if (l->check == NULL || l->fix == NULL) {
		free(l->check);
		free(l->fix);
		free(l->msg);
		return;
	}
	r->n++;
}

int
dr_finish(struct dr_report *r)
{
	size_t	i;
	int	ex;

	ex = r->count[DR_FAIL] > 0 ? 1 : 0;
	if (!r->json) {
		printf("%zu ok, %zu warn, %zu FAIL\n", r->count[DR_OK],
		    r->count[DR_WARN], r->count[DR_FAIL]);
	} else {
		printf("{\"checks\": [");
		for (i = 0; i < r->n; i++) {
			printf("%s\n  {\"status\": \"%s\"", i > 0 ? "," : "",
			    levels[r->lines[i].level]);
			json_field(stdout, "check", r->lines[i].check);
			json_field(stdout, "message", r->lines[i].msg);
			if (r->lines[i].fix[0] != '\0')
				json_field(stdout, "fix", r->lines[i].fix);
			printf("}");
		}
		printf("%s], \"ok\": %zu, \"warn\": %zu, \"fail\": %zu}\n",
		    r->n > 0 ? "\n" : "", r->count[DR_OK],
		    r->count[DR_WARN], r->count[DR_FAIL]);
	}
	if (cli_flush_stdout() != 0)
		ex = 1;
	return ex;
}
