/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The agent's --config file of pkcs11: URIs (src/cli/cli-urifile.c),
 * which an administrator edits for root's agent.  The file is the input.
 *
 * Checked: on success at least one URI and at most 256, each starting
 * with "pkcs11:", printable ASCII only (no blank, control character,
 * NUL or byte over 0x7e: what reaches logs), within a line's bound; on
 * failure as on success, what was added is freed by the caller (the
 * list is left consistent).  Each URI then goes through the
 * URI codec, which must not crash on it.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "fuzz.h"
#include "cli/cli.h"
#include "pkcs11/p11.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		**uris = NULL;
	size_t		  n = 0, i, k, len;
	P11KitUri	 *u;
	int		  r;

	if (size > 1024 * 1024)
		return 0;
	r = cli_urifile_read(fz_file(data, size), &uris, &n);
	if (n > 256 || (r == 0 && n == 0))
		abort();
	for (i = 0; i < n; i++) {
		len = strlen(uris[i]);
		if (len < 7 || len > 8192 || strncmp(uris[i], "pkcs11:",
		    7) != 0)
			abort();
		for (k = 0; k < len; k++)
			if ((unsigned char)uris[i][k] <= 0x20 ||
			    (unsigned char)uris[i][k] >= 0x7f)
				abort();
		if (tk_uri_parse(uris[i], &u) == 0)
			p11_kit_uri_free(u);
	}
	cli_urifile_free(uris, n);
	return 0;
}
