/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Memory for secrets (PINs, passphrases): page-aligned, locked when
 * RLIMIT_MEMLOCK allows, kept out of core dumps and (where the kernel can)
 * zeroed in forked children; tk_secret_free() wipes it.
 */
#ifndef TK_SECRET_H
#define TK_SECRET_H

#include <stddef.h>

/* *p = n zeroed bytes (n > 0); TK_ERR_INVAL, TK_ERR_NOMEM. */
int	tk_secret_alloc(void **p, size_t n);
/* Wipe and release p; n is the size given to tk_secret_alloc(). */
void	tk_secret_free(void *p, size_t n);

#endif /* TK_SECRET_H */
