/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Change signatures of paths: stat(2) facts hashed, a directory summed
 * over its entries so that readdir's order does not matter.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/pathsig.h"
#include "common/util.h"

uint64_t
tk_hash_mix(uint64_t h, const void *p, size_t n)
{
	return (h ^ tk_hash64(p, n)) * 0x100000001b3ULL;
}

static uint64_t
stat_sig(const char *path)
{
	struct stat	st;
	int64_t		v[8];

	memset(v, 0, sizeof(v));
	if (stat(path, &st) == 0) {
		v[0] = 1;
		v[1] = (int64_t)st.st_ino;
		v[2] = (int64_t)st.st_size;
		v[3] = (int64_t)st.st_mtim.tv_sec;
		v[4] = (int64_t)st.st_mtim.tv_nsec;
		v[5] = (int64_t)st.st_ctim.tv_sec;
		v[6] = (int64_t)st.st_ctim.tv_nsec;
		v[7] = (int64_t)st.st_mode ^ (int64_t)st.st_uid << 32;
	}
	return tk_hash64((const uint8_t *)v, sizeof(v));
}

uint64_t
tk_path_sig(const char *path)
{
	struct dirent	*e;
	DIR		*d;
	char		 sub[PATH_MAX];
	uint64_t	 h, sum = 0;

	h = stat_sig(path);
	if ((d = opendir(path)) == NULL)
		goto out;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;	/* ".", "..", editors' temp files */
		if (snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >=
		    (int)sizeof(sub))
			continue;
		sum += tk_hash_mix(stat_sig(sub), e->d_name, strlen(e->d_name));
	}
	closedir(d);
	h = tk_hash_mix(h, &sum, sizeof(sum));
 out:
	return h;
}
