/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What an SSH client asks an agent to sign when it logs in with a public
 * key (RFC 4252 section 7, and OpenSSH's publickey-hostbound-v00 method,
 * which adds the server's host key):
 *
 *	string	session id
 *	byte	50 (SSH_MSG_USERAUTH_REQUEST)
 *	string	user name
 *	string	"ssh-connection"
 *	string	"publickey" | "publickey-hostbound-v00@openssh.com"
 *	bool	TRUE (a signature follows)
 *	string	public key algorithm name
 *	string	public key blob
 *	[string	server host key blob]	(hostbound only)
 *
 * Pure: the parsed fields point into the caller's bytes.
 */
#ifndef TK_USERAUTH_H
#define TK_USERAUTH_H

#include <stddef.h>
#include <stdint.h>

#define TK_USERAUTH_USER_MAX	1024

struct tk_userauth {
	const uint8_t	*sid;
	size_t		 sidlen;
	char		 user[TK_USERAUTH_USER_MAX + 1];
	const uint8_t	*key;
	size_t		 keylen;
	const uint8_t	*hostkey;	/* NULL: plain publickey method */
	size_t		 hostkeylen;
};

/*
 * 0 if data is exactly one such request (no byte more), else
 * TK_ERR_FORMAT: it is something else (an SSHSIG, a certificate, ...).
 */
int	tk_userauth_parse(const uint8_t *data, size_t len,
	    struct tk_userauth *out);

#endif /* TK_USERAUTH_H */
