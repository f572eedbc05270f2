/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * OpenSSH encodings of public keys and signatures.
 */
#ifndef TK_SSHKEY_H
#define TK_SSHKEY_H

#include "common/buf.h"
#include "common/pubkey.h"

/* "ssh-rsa", "ecdsa-sha2-nistp256", ... for a TK_KEY_* type. */
const char	*tk_ssh_type_name(int type);
/* "RSA", "ECDSA", "ED25519" as ssh-keygen -l prints them. */
const char	*tk_ssh_type_short(int type);
/* Append the public key blob. */
int		 tk_ssh_blob(const struct tk_pubkey *, struct tk_buf *);
/* Parse a public key blob back (for SSH_AGENTC_* requests). */
int		 tk_ssh_blob_parse(const uint8_t *, size_t, struct tk_pubkey *,
		    struct tk_buf *store);

#endif /* TK_SSHKEY_H */
