/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host keys from OpenSSH known_hosts files (the format of sshd(8),
 * "SSH_KNOWN_HOSTS FILE FORMAT"): one key a line,
 *
 *	[@cert-authority | @revoked] patterns keytype base64-blob [comment]
 *
 * patterns: a comma-separated list of host names with '*' and '?'
 * wildcards and '!' negation, or one hashed name |1|salt|HMAC-SHA1.
 */
#ifndef TK_KNOWNHOSTS_H
#define TK_KNOWNHOSTS_H

#include <stddef.h>
#include <stdint.h>

/* One key; is_ca: an @cert-authority line.  Non-zero stops the walk. */
typedef int (*tk_known_host_fn)(void *arg, const uint8_t *blob, size_t len,
    int is_ca);

/*
 * Call fn for each key the file at path lists for host (@revoked lines
 * are skipped).  0, also for a file that does not exist (*found 0);
 * TK_ERR_SYSTEM if it cannot be read; else what fn returned.
 */
int	tk_known_hosts_find(const char *path, const char *host,
	    tk_known_host_fn fn, void *arg, size_t *found);

/*
 * A name for the host whose key is key: the first plain name (no
 * wildcard, no negation, [host]:port as host) of a line of path listing
 * that key; a hashed line names one of the ncand candidate names only
 * (say, the Host names of ~/.ssh/config).  0 with it in host;
 * TK_ERR_NOT_FOUND; TK_ERR_SYSTEM or TK_ERR_NOMEM.
 */
int	tk_known_hosts_name(const char *path, const uint8_t *key,
	    size_t keylen, const char *const *cand, size_t ncand, char *host,
	    size_t hostsz);

/* Does host match the patterns field of a line?  (Exposed for tests.) */
int	tk_known_hosts_match(const char *patterns, const char *host);

#endif /* TK_KNOWNHOSTS_H */
