/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * OpenSSH certificates (PROTOCOL.certkeys) for the key types we serve:
 *
 *	string	"<keytype>-cert-v01@openssh.com"
 *	string	nonce
 *	...	the key's public fields (as in its plain blob, minus the name)
 *	uint64	serial
 *	uint32	type			1 user, 2 host
 *	string	key id
 *	string	valid principals	(string principal)*
 *	uint64	valid after, valid before
 *	string	critical options	(string name, string data)*
 *	string	extensions		(string name, string data)*
 *	string	reserved
 *	string	signature key		the CA's public key blob
 *	string	signature		over everything before it
 *
 * The parser is pure and bounded: every length is checked against the
 * blob, counts are capped, trailing bytes are an error.  Strings it
 * returns (key id, principals) are raw: sanitise before showing them.
 */
#ifndef TK_SSHCERT_H
#define TK_SSHCERT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define TK_SSHCERT_USER		1
#define TK_SSHCERT_HOST		2

#define TK_SSHCERT_MAX		(32 * 1024)	/* bytes of one certificate */
#define TK_SSHCERT_MAX_PRINCIPALS 256
#define TK_SSHCERT_MAX_OPTIONS	64	/* critical options; extensions */
#define TK_SSHCERT_FOREVER	UINT64_MAX	/* valid_before: no end */

struct tk_sshcert {
	int		 keytype;	/* TK_KEY_* of the certified key */
	uint32_t	 type;		/* TK_SSHCERT_USER or _HOST */
	uint64_t	 serial;
	uint64_t	 valid_after;	/* seconds since the epoch */
	uint64_t	 valid_before;
	const uint8_t	*key_id;	/* raw, not NUL-terminated */
	size_t		 key_idlen;
	const uint8_t	*principals;	/* the packed list */
	size_t		 principalslen;
	size_t		 nprincipals;
	const uint8_t	*ca;		/* the signature key's blob */
	size_t		 calen;
	const uint8_t	*sig;		/* the CA's signature blob */
	size_t		 siglen;
	size_t		 signedlen;	/* bytes the signature covers */
	const uint8_t	*cert;		/* the certificate blob, as given */
	size_t		 certlen;
	const uint8_t	*key;		/* the certified key's plain blob */
	size_t		 keylen;
};

/*
 * 1 if blob's type name is one of "*-cert-v01@openssh.com" (any key type,
 * served or not), else 0.  Looks at the name only.
 */
int	tk_sshcert_is_cert(const uint8_t *blob, size_t len);

/*
 * Parse a certificate blob.  c borrows from blob (which must outlive it)
 * and from store, which receives the certified key's plain public key
 * blob (reset first; the caller frees it).  TK_ERR_UNSUPPORTED for a
 * certificate of a key type we do not serve or of a type other than user
 * or host, TK_ERR_FORMAT for malformed bytes, TK_ERR_RANGE for a blob or
 * list over the bounds above.  The signature is not checked here.
 */
int	tk_sshcert_parse(const uint8_t *blob, size_t len,
	    struct tk_sshcert *c, struct tk_buf *store);

/*
 * Check the CA's signature.  0, TK_ERR_SIGNATURE, TK_ERR_UNSUPPORTED (a
 * CA key type we cannot verify: not RSA, ECDSA or Ed25519).
 */
int	tk_sshcert_verify(const struct tk_sshcert *);

/*
 * Where now (seconds since the epoch) falls: -1 before valid_after, 0
 * inside the window, 1 at or after valid_before.
 */
int	tk_sshcert_when(const struct tk_sshcert *, uint64_t now);

/* 1 if name (len bytes) is one of the principals, else 0. */
int	tk_sshcert_has_principal(const struct tk_sshcert *, const char *name,
	    size_t len);

/*
 * The principals joined with "," into buf (NUL-terminated, raw bytes: a
 * principal holds no NUL), "" for none.  TK_ERR_RANGE if they do not fit.
 */
int	tk_sshcert_principals(const struct tk_sshcert *, char *buf,
	    size_t bufsz);

/*
 * A validity bound as shown to a person: "2026-12-07T02:10:00Z" (UTC), or
 * "forever" for TK_SSHCERT_FOREVER and times past what the clock holds.
 */
void	tk_sshcert_time(uint64_t t, char *buf, size_t bufsz);

#endif /* TK_SSHCERT_H */
