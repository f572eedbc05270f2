/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * known_hosts files (src/ssh/knownhosts.c), as tokenkeys agent --dest
 * reads them: hashed names, patterns with '*', '?' and '!', markers,
 * keys of any type.  Input: a byte (bit 0: match only), the host name
 * looked up (field), then the file (or, match only, the patterns).
 *
 * Checked: every key handed out is a key blob of the type its line
 * names, and found counts them; the walk stops at the first non-zero
 * return of the callback and returns it; matching never hangs on a
 * pattern of many stars (the run is killed after a few seconds).  The
 * first key found is then named (tk_known_hosts_name, with the host as
 * the one candidate): a name is a non-empty string that fits.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "fuzz.h"
#include "ssh/knownhosts.h"

struct seen {
	size_t	 n;
	size_t	 stop;	/* return non-zero at this key (0: never) */
	uint8_t	*first;	/* a copy of the first key */
	size_t	 firstlen;
};

static int
one_key(void *arg, const uint8_t *blob, size_t len, int is_ca)
{
	struct seen	*s = arg;
	uint32_t	 tl;

	if (len < 5 || (is_ca != 0 && is_ca != 1))
		abort();
	tl = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 |
	    (uint32_t)blob[2] << 8 | blob[3];
	if (tl == 0 || tl > len - 4 || memchr(blob + 4, '\0', tl) != NULL)
		abort();
	if (s->first == NULL && (s->first = malloc(len)) != NULL) {
		memcpy(s->first, blob, len);
		s->firstlen = len;
	}
	s->n++;
	return s->n == s->stop ? -9999 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz	 f = { data, size };
	struct seen	 s = { 0, 0, NULL, 0 };
	const uint8_t	*p;
	const char	*path;
	const char	*cand[1];
	char		*host, *pats, name[64];
	size_t		 n, found;
	uint8_t		 mode;
	int		 r;

	mode = fz_u8(&f);
	p = fz_field(&f, &n);
	host = fz_strdup(p, n);
	p = fz_rest(&f, &n);
	if (mode & 1) {
		pats = fz_strdup(p, n);
		r = tk_known_hosts_match(pats, host);
		if (r != 0 && r != 1)
			abort();
		free(pats);
		goto out;
	}
	s.stop = mode >> 1;
	path = fz_file(p, n);
	r = tk_known_hosts_find(path, host, one_key, &s, &found);
	if (found != s.n || (s.stop != 0 && s.n > s.stop) ||
	    (r == -9999) != (s.stop != 0 && s.n == s.stop) ||
	    (r != 0 && r != -9999))
		abort();
	if (s.first != NULL) {
		cand[0] = host;
		r = tk_known_hosts_name(path, s.first, s.firstlen, cand, 1,
		    name, sizeof(name));
		if (r == 0 && (name[0] == '\0' ||
		    memchr(name, '\0', sizeof(name)) == NULL))
			abort();
		if (r != 0 && r != TK_ERR_NOT_FOUND && r != TK_ERR_NOMEM &&
		    r != TK_ERR_SYSTEM)
			abort();
	}
 out:
	free(s.first);
	free(host);
	return 0;
}
