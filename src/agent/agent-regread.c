/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reading p11-kit's registry: a digest of every place p11-kit reads its
 * module configs from (names, sizes and times: cheap enough to take once
 * a second), and the module list itself, which a short-lived helper asks
 * p11-kit for, so p11-kit alone decides what is in it.
 */
#include <sys/types.h>

#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "common/pathsig.h"

#ifndef TK_P11_PACKAGE_MODULES
#define TK_P11_PACKAGE_MODULES	"/usr/share/p11-kit/modules"
#endif
#ifndef TK_P11_SYSTEM_DIR
#define TK_P11_SYSTEM_DIR	"/etc/pkcs11"
#endif
#define TK_P11_USER_DIR		"/.config/pkcs11"

uint64_t
agent_registry_sig(void)
{
	struct passwd	*pw;
	const char	*home;
	char		 path[PATH_MAX];
	uint64_t	 h = 0;

	h = tk_hash_mix(h, "p", 1) ^ tk_path_sig(TK_P11_PACKAGE_MODULES);
	h = tk_hash_mix(h, "s", 1) ^ tk_path_sig(TK_P11_SYSTEM_DIR "/modules");
	h = tk_hash_mix(h, "c", 1) ^
	    tk_path_sig(TK_P11_SYSTEM_DIR "/pkcs11.conf");
	/* p11-kit's ~ is $HOME, else the password database's */
	if ((home = getenv("HOME")) == NULL || *home == '\0')
		home = (pw = getpwuid(getuid())) != NULL ? pw->pw_dir : NULL;
	if (home == NULL)
		goto out;
	if (snprintf(path, sizeof(path), "%s%s/modules", home,
	    TK_P11_USER_DIR) < (int)sizeof(path))
		h = tk_hash_mix(h, "u", 1) ^ tk_path_sig(path);
	if (snprintf(path, sizeof(path), "%s%s/pkcs11.conf", home,
	    TK_P11_USER_DIR) < (int)sizeof(path))
		h = tk_hash_mix(h, "U", 1) ^ tk_path_sig(path);
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

