/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Secret memory: see secret.h.
 */
#ifndef _GNU_SOURCE	/* config.h (AC_USE_SYSTEM_EXTENSIONS) sets it */
#define _GNU_SOURCE	/* explicit_bzero */
#endif

#include <sys/types.h>
#include <sys/mman.h>

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "common/secret.h"

#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS	MAP_ANON
#endif

/* n rounded up to whole pages; 0 if that overflows. */
static size_t
secret_size(size_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t ps = pg > 0 ? (size_t)pg : 4096, sz = 0;

	if (n <= SIZE_MAX - (ps - 1))
		sz = (n + ps - 1) / ps * ps;
	return sz;
}

int
tk_secret_alloc(void **pp, size_t n)
{
	void *p;
	size_t sz;
	int r;

	if (pp == NULL) {
		r = TK_ERR_INVAL;
		goto out;
	}
	*pp = NULL;
	if (n == 0 || (sz = secret_size(n)) == 0) {
		r = TK_ERR_INVAL;
		goto out;
	}
	/* Own pages, so madvise and mlock touch nothing else. */
	p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED) {
		r = TK_ERR_NOMEM;
		goto out;
	}
#ifdef MADV_DONTDUMP
	(void)madvise(p, sz, MADV_DONTDUMP);
#endif
#ifdef MADV_WIPEONFORK
	/* A prompt child between fork and exec gets zeroes, not the PIN. */
	(void)madvise(p, sz, MADV_WIPEONFORK);
#endif
	/*
	 * Best effort: RLIMIT_MEMLOCK is often tiny in containers, and a PIN
	 * that might reach swap beats refusing to log in.
	 */
	(void)mlock(p, sz);
	*pp = p;
	r = 0;
 out:
	return r;
}

void
tk_secret_free(void *p, size_t n)
{
	size_t sz;

	if (p != NULL && n != 0 && (sz = secret_size(n)) != 0) {
		explicit_bzero(p, sz);
		(void)munlock(p, sz);
		(void)munmap(p, sz);
	}
}
