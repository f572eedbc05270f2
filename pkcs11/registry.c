/* SPDX-License-Identifier: BSD-2-Clause */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "pkcs11/registry.h"

int
tk_p11_is_trust_policy(CK_FUNCTION_LIST *f)
{
	char	*opt;
	int	 trust = 0;

	if ((opt = p11_kit_config_option(f, "trust-policy")) != NULL) {
		trust = strcmp(opt, "yes") == 0 || strcmp(opt, "true") == 0;
		free(opt);
	}
	return trust;
}

void
tk_p11_paths_free(char **paths, size_t n)
{
	size_t	i;

	if (paths == NULL)
		return;
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

int
tk_p11_registry_paths(CK_FUNCTION_LIST **list, int flags, char ***pathsp,
    size_t *np)
{
	CK_FUNCTION_LIST	**own = NULL;
	char			**paths = NULL, **nps, *fn, *rp;
	size_t			  i, n = 0;
	int			  r = 0;

	*pathsp = NULL;
	*np = 0;
	if (list == NULL) {
		p11_kit_be_quiet();
		if ((own = p11_kit_modules_load(NULL, 0)) == NULL) {
			r = TK_ERR_MODULE;
			goto out;
		}
		list = own;
	}
	if ((paths = calloc(1, sizeof(*paths))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	for (i = 0; list[i] != NULL; i++) {
		if ((flags & TK_REG_SKIP_TRUST) &&
		    tk_p11_is_trust_policy(list[i]))
			continue;
		if ((fn = p11_kit_module_get_filename(list[i])) == NULL)
			continue;
		if (flags & TK_REG_REALPATH) {
			rp = realpath(fn, NULL);
			free(fn);
			if ((fn = rp) == NULL)
				continue;
		}
		if ((nps = reallocarray(paths, n + 2, sizeof(*nps))) == NULL) {
			free(fn);
			r = TK_ERR_NOMEM;
			goto out;
		}
		paths = nps;
		paths[n++] = fn;
		paths[n] = NULL;
	}
	*pathsp = paths;
	*np = n;
	paths = NULL;
 out:
	tk_p11_paths_free(paths, n);
	if (own != NULL)
		p11_kit_modules_release(own);
	return r;
}
