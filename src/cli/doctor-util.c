/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What several doctor checks share: file modes as sshd's StrictModes
 * judges them, and token keys by name and by blob.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <string.h>

#include "cli/doctor.h"

int
dr_mode_bad(const char *path, uid_t uid, int dir, char *why, size_t whysz)
{
	struct stat	st;

	if (stat(path, &st) != 0) {
		snprintf(why, whysz, "missing");
		return 1;
	}
	if (dir && !S_ISDIR(st.st_mode)) {
		snprintf(why, whysz, "not a directory");
		return 1;
	}
	if (!dir && !S_ISREG(st.st_mode)) {
		snprintf(why, whysz, "not a regular file");
		return 1;
	}
	if (st.st_uid != uid && st.st_uid != 0) {
		snprintf(why, whysz, "owned by uid %lu, not by the user or "
		    "root", (unsigned long)st.st_uid);
		return 1;
	}
	if (st.st_mode & 022) {
		snprintf(why, whysz, "mode %04o: writable by %s",
		    (unsigned int)(st.st_mode & 07777),
		    (st.st_mode & 020) ? "the group" : "others");
		return 1;
	}
	return 0;
}

void
dr_key_name(const struct tk_key *k, char *buf, size_t bufsz)
{
	char	label[256], tok[256];

	tk_str_sanitize(tk_key_label(k), label, sizeof(label));
	tk_str_sanitize(tk_key_token_label(k), tok, sizeof(tok));
	snprintf(buf, bufsz, "%s key \"%s\" on \"%s\"", tk_key_type_short(k),
	    label, tok);
}

const struct tk_key *
dr_token_key(const struct dr_opts *o, const uint8_t *blob, size_t bloblen)
{
	const struct tk_key	*k;
	const uint8_t		*b;
	size_t			 i, n, bl;

	n = tk_keylist_count(o->keys);
	for (i = 0; i < n; i++) {
		k = tk_keylist_get(o->keys, i);
		b = tk_key_blob(k, &bl);
		if (bl == bloblen && memcmp(b, blob, bl) == 0)
			return k;
	}
	return NULL;
}
