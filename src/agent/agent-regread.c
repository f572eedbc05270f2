/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reading p11-kit's registry: the places p11-kit reads its module
 * configs from, a digest of them (names, sizes and times: cheap enough
 * to take whenever they may have changed), and the module list itself,
 * which a short-lived helper asks p11-kit for, so p11-kit alone decides
 * what is in it.
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

int
agent_registry_paths(char paths[][PATH_MAX], size_t max)
{
	static const char *const sys[] = {
		TK_P11_PACKAGE_MODULES,
		TK_P11_SYSTEM_DIR "/modules",
		TK_P11_SYSTEM_DIR "/pkcs11.conf",
	};
	static const char *const user[] = { "/modules", "/pkcs11.conf" };
	struct passwd	*pw;
	const char	*home;
	size_t		 i, n = 0;

	for (i = 0; i < sizeof(sys) / sizeof(sys[0]) && n < max; i++)
		if (snprintf(paths[n], PATH_MAX, "%s", sys[i]) < PATH_MAX)
			n++;
	/* p11-kit's ~ is $HOME, else the password database's */
	if ((home = getenv("HOME")) == NULL || *home == '\0')
		home = (pw = getpwuid(getuid())) != NULL ? pw->pw_dir : NULL;
	for (i = 0; home != NULL && i < sizeof(user) / sizeof(user[0]) &&
	    n < max; i++)
		if (snprintf(paths[n], PATH_MAX, "%s%s%s", home,
		    TK_P11_USER_DIR, user[i]) < PATH_MAX)
			n++;
	return (int)n;
}

uint64_t
agent_registry_sig(void)
{
	char		paths[AGENT_REG_PATHS][PATH_MAX];
	uint64_t	h = 0;
	size_t		i, n;

	n = (size_t)agent_registry_paths(paths, AGENT_REG_PATHS);
	for (i = 0; i < n; i++)
		h = tk_hash_mix(h, paths[i], strlen(paths[i])) ^
		    tk_path_sig(paths[i]);
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

