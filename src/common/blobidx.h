/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An index over byte strings (SSH key blobs) kept in the caller's own
 * array: open addressing, each slot holding an array index + 1 (0: empty),
 * entries told apart by hash, length and bytes.
 */
#ifndef TK_BLOBIDX_H
#define TK_BLOBIDX_H

#include <stddef.h>
#include <stdint.h>

struct tk_blobidx {
	size_t	*slots;
	size_t	 nslots;
};

/* Entry i of the caller's array: its blob (*len bytes) and *hash. */
typedef const uint8_t *tk_blobidx_entry_fn(const void *arg, size_t i,
	    size_t *len, uint64_t *hash);

/*
 * Room for one more than the n entries indexed now (the table is kept at
 * most half full).  On failure the index is as it was.
 */
int	tk_blobidx_reserve(struct tk_blobidx *, size_t n,
	    tk_blobidx_entry_fn *, const void *arg);
/*
 * The slot for blob (hash h), either empty or holding blob's index + 1.
 * An empty index (nothing reserved yet) has no slot: NULL.
 */
size_t	*tk_blobidx_slot(const struct tk_blobidx *, const uint8_t *blob,
	    size_t len, uint64_t h, tk_blobidx_entry_fn *, const void *arg);
void	tk_blobidx_free(struct tk_blobidx *);

#endif
