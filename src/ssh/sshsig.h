/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * OpenSSH signature blobs made from what a token signs, and their
 * verification with OpenSSL.  Pure: no I/O, no token.
 *
 *	ssh-rsa, rsa-sha2-256/512:	string alg, string s (left-padded to
 *					the modulus length)
 *	ecdsa-sha2-nistp256/384/521:	string name, string (mpint r, mpint s)
 *	ssh-ed25519:			string name, string 64-byte signature
 */
#ifndef TK_SSHSIG_H
#define TK_SSHSIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/pubkey.h"

/* What the token is given to sign. */
#define TK_SSHSIG_MSG		0	/* the message itself (Ed25519) */
#define TK_SSHSIG_SHA1		1
#define TK_SSHSIG_SHA256	2
#define TK_SSHSIG_SHA384	3
#define TK_SSHSIG_SHA512	4

/* Signature algorithms (the agent protocol's flags map onto these). */
#define TK_SIG_DEFAULT		0	/* ssh-rsa (SHA-1), ECDSA, Ed25519 */
#define TK_SIG_RSA_SHA256	2	/* rsa-sha2-256 */
#define TK_SIG_RSA_SHA512	4	/* rsa-sha2-512 */

#define TK_SSHSIG_MAX		(16 + 4 + 4 + 16384 / 8 + 64)

/*
 * The signature algorithm for a key type (TK_KEY_*) and the agent's
 * request (TK_SIG_*: RSA only; ignored for other keys), and
 * the hash the token must sign over.
 */
int	tk_sshsig_alg(int keytype, int alg, const char **name, int *hash);

/* A public key ready to verify with: parse once, use from any thread. */
struct tk_sshsig_key;

int	tk_sshsig_key_new(const uint8_t *blob, size_t bloblen,
	    struct tk_sshsig_key **);
void	tk_sshsig_key_free(struct tk_sshsig_key *);
int	tk_sshsig_key_type(const struct tk_sshsig_key *);
/* The key's blob, as given. */
const uint8_t *tk_sshsig_key_blob(const struct tk_sshsig_key *, size_t *);

/*
 * Append the OpenSSH signature blob for the token's raw signature (RSA:
 * s, at most the modulus length; ECDSA: r||s, each the curve's length;
 * Ed25519: 64 bytes).  TK_ERR_SIGNATURE if raw has the wrong shape.
 */
int	tk_sshsig_encode(const struct tk_sshsig_key *, int alg,
	    const uint8_t *raw, size_t rawlen, struct tk_buf *out);

/*
 * Verify an OpenSSH signature blob over data.  The blob must use the
 * algorithm alg asks for.  0 or TK_ERR_SIGNATURE (TK_ERR_FORMAT for a
 * malformed blob).
 */
int	tk_sshsig_verify(const struct tk_sshsig_key *, int alg,
	    const uint8_t *data, size_t datalen, const uint8_t *sig,
	    size_t siglen);

#endif /* TK_SSHSIG_H */
