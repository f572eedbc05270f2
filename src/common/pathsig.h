/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What a file or directory is now, as one number, to notice changes
 * without reading contents: p11-kit's registry, the certificates
 * directory.
 */
#ifndef TK_PATHSIG_H
#define TK_PATHSIG_H

#include <stddef.h>
#include <stdint.h>

/* Fold n bytes at p into h (order matters). */
uint64_t	tk_hash_mix(uint64_t h, const void *p, size_t n);
/*
 * path (links followed): absent, or its inode, size, times, mode and
 * owner.  For a directory also every entry not starting with a dot
 * (names and the same facts), in any order.
 */
uint64_t	tk_path_sig(const char *path);

#endif /* TK_PATHSIG_H */
