/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * p11-kit's registry of modules, read in one place: which modules it
 * names, by file, and which of them are trust-policy modules (they hold
 * CA certificates for p11-kit's trust store, never a key).
 */
#ifndef TK_REGISTRY_H
#define TK_REGISTRY_H

#include <stddef.h>

#include <p11-kit/p11-kit.h>

/* p11-kit's trust-policy option is set on this module. */
int	tk_p11_is_trust_policy(CK_FUNCTION_LIST *);

#define TK_REG_SKIP_TRUST	0x01	/* leave trust-policy modules out */
#define TK_REG_REALPATH		0x02	/* realpath()s; unresolvable left out */

/*
 * The file names of the modules in list, or of p11-kit's registry when
 * list is NULL (loaded and released here, nothing initialised).  *paths
 * is NULL-terminated (never NULL on success); free it with
 * tk_p11_paths_free.  TK_ERR_MODULE when the registry cannot be loaded.
 */
int	tk_p11_registry_paths(CK_FUNCTION_LIST **list, int flags,
	    char ***paths, size_t *n);
void	tk_p11_paths_free(char **, size_t);

#endif /* TK_REGISTRY_H */
