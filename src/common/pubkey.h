/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The public half of a key pair as plain data: what the token layer
 * decodes and the SSH encoders consume.
 */
#ifndef TK_PUBKEY_H
#define TK_PUBKEY_H

#include <stddef.h>
#include <stdint.h>

#define TK_EC_POINT_MAX		133	/* 04 || X || Y for P-521 */

struct tk_pubkey {
	int		 type;			/* TK_KEY_* */
	unsigned int	 bits;
	const uint8_t	*n, *e;			/* RSA, big-endian, no 0 lead */
	size_t		 nlen, elen;
	uint8_t		 q[TK_EC_POINT_MAX];	/* EC: 04||X||Y; Ed25519: 32 */
	size_t		 qlen;
	uint8_t		*owned;			/* storage for n/e if copied */
};

#endif /* TK_PUBKEY_H */
