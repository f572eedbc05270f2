/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reading p11-kit's registry: a digest of every place p11-kit reads its
 * module configs from (names, sizes and times: cheap enough to take once
 * a second), and the module list itself, which a short-lived helper asks
 * p11-kit for, so p11-kit alone decides what is in it.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "common/util.h"

#ifndef TK_P11_PACKAGE_MODULES
#define TK_P11_PACKAGE_MODULES	"/usr/share/p11-kit/modules"
#endif
#ifndef TK_P11_SYSTEM_DIR
#define TK_P11_SYSTEM_DIR	"/etc/pkcs11"
#endif
#define TK_P11_USER_DIR		"/.config/pkcs11"

static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
	return (h ^ tk_hash64(p, n)) * 0x100000001b3ULL;
}

/* What a path is now: absent, or its identity, size and times. */
static uint64_t
stat_sig(const char *path, int follow)
{
	struct stat	st;
	int64_t		v[7];

	memset(v, 0, sizeof(v));
	if ((follow ? stat(path, &st) : lstat(path, &st)) == 0) {
		v[0] = 1;
		v[1] = (int64_t)st.st_ino;
		v[2] = (int64_t)st.st_size;
		v[3] = (int64_t)st.st_mtim.tv_sec;
		v[4] = (int64_t)st.st_mtim.tv_nsec;
		v[5] = (int64_t)st.st_ctim.tv_sec;
		v[6] = (int64_t)st.st_ctim.tv_nsec;
	}
	return tk_hash64((const uint8_t *)v, sizeof(v));
}

/* A directory: itself and every entry, in whatever order readdir gives. */
static uint64_t
dir_sig(const char *dir)
{
	struct dirent	*e;
	DIR		*d;
	char		 path[PATH_MAX];
	uint64_t	 h, sum = 0;

	h = stat_sig(dir, 1);
	if ((d = opendir(dir)) == NULL)
		goto out;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;	/* ".", "..", editors' temp files */
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
		    (int)sizeof(path))
			continue;
		/* summed: the order of entries does not matter */
		sum += mix(stat_sig(path, 1), e->d_name, strlen(e->d_name));
	}
	closedir(d);
 out:
	return mix(h, &sum, sizeof(sum));
}

uint64_t
agent_registry_sig(void)
{
	struct passwd	*pw;
	const char	*home;
	char		 path[PATH_MAX];
	uint64_t	 h = 0;

	h = mix(h, "p", 1) ^ dir_sig(TK_P11_PACKAGE_MODULES);
	h = mix(h, "s", 1) ^ dir_sig(TK_P11_SYSTEM_DIR "/modules");
	h = mix(h, "c", 1) ^ stat_sig(TK_P11_SYSTEM_DIR "/pkcs11.conf", 1);
	/* p11-kit's ~ is $HOME, else the password database's */
	if ((home = getenv("HOME")) == NULL || *home == '\0')
		home = (pw = getpwuid(getuid())) != NULL ? pw->pw_dir : NULL;
	if (home == NULL)
		goto out;
	if (snprintf(path, sizeof(path), "%s%s/modules", home,
	    TK_P11_USER_DIR) < (int)sizeof(path))
		h = mix(h, "u", 1) ^ dir_sig(path);
	if (snprintf(path, sizeof(path), "%s%s/pkcs11.conf", home,
	    TK_P11_USER_DIR) < (int)sizeof(path))
		h = mix(h, "U", 1) ^ stat_sig(path, 1);
 out:
	return h;
}

/*
 * The registry's module paths, each by its real path where it has one:
 * p11-kit names modules by the path its config gives (often a symlink such
 * as .../pkcs11/opensc-pkcs11.so), an allowlisted module-path URI by its
 * realpath; one module must get one helper, whichever way it was named.
 */
int
agent_registry_read(struct agent *a, char ***paths, size_t *n)
{
	char	 rp[PATH_MAX], *dup;
	size_t	 i;
	int	 r;

	if ((r = a->ops->registry(paths, n)) != 0)
		goto out;
	for (i = 0; i < *n; i++) {
		if ((*paths)[i][0] != '/' ||
		    realpath((*paths)[i], rp) == NULL ||
		    strcmp(rp, (*paths)[i]) == 0 ||
		    (dup = strdup(rp)) == NULL)
			continue;
		free((*paths)[i]);
		(*paths)[i] = dup;
	}
 out:
	return r;
}

