/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Certificate files (src/ssh/certfile.c): what the agent serves from its
 * certs directory and --cert, and `tokenkeys list --certs` prints.  The
 * file is the input, as a user or a tool wrote it ("TYPE BASE64
 * [comment]" lines; anything else).
 *
 * Checked: each certificate handed out parsed, is no bigger than
 * TK_SSHCERT_MAX, lies inside its own blob, and is of the type its line
 * names; every log line is printable UTF-8 and bounded; the read returns
 * 0 (the file itself is ours and fine: only lines are refused).
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "fuzz.h"
#include "ssh/certfile.h"

static void
got_cert(void *arg, const char *path, const struct tk_sshcert *c)
{
	size_t	*n = arg;

	(void)path;
	if (c->certlen == 0 || c->certlen > TK_SSHCERT_MAX ||
	    (c->type != TK_SSHCERT_USER && c->type != TK_SSHCERT_HOST) ||
	    c->key == NULL || c->keylen == 0 || c->ca == NULL ||
	    c->nprincipals > TK_SSHCERT_MAX_PRINCIPALS ||
	    c->signedlen > c->certlen)
		abort();
	(*n)++;
}

static void
got_log(void *arg, const char *msg)
{
	size_t	len = strlen(msg);

	(void)arg;
	if (len == 0 || len > 8192 ||
	    !fz_utf8_printable((const uint8_t *)msg, len))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	n = 0;

	if (size > TK_CERTFILE_MAX)
		return 0;
	if (tk_certfile_read(fz_file(data, size), got_cert, got_log, &n) != 0)
		abort();
	return 0;
}
