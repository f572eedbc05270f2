/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reading known_hosts files (knownhosts.h): the host keys ssh-add -h would
 * find, for tokenkeys agent --dest; a host's name from its key, for the
 * requester a forwarded connection came through.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tokenkeys.h"
#include "common/util.h"
#include "ssh/knownhosts.h"

#define LINE_MAX_LEN	(64 * 1024)
#define HOST_MAX_LEN	1024

/* Base64 (with padding) into out; the decoded length, or -1. */
static int
unbase64(const char *s, size_t len, uint8_t *out, size_t outsz)
{
	size_t	pad = 0;
	int	n;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > outsz || len > INT32_MAX)
		return -1;
	if (s[len - 1] == '=')
		pad++;
	if (len > 1 && s[len - 2] == '=')
		pad++;
	if ((n = EVP_DecodeBlock(out, (const unsigned char *)s,
	    (int)len)) < 0 || (size_t)n < pad)
		return -1;
	return n - (int)pad;
}

/* |1|base64(salt)|base64(HMAC-SHA1(salt, host)) */
static int
hashed_match(const char *pat, size_t plen, const char *host)
{
	uint8_t		 salt[64], want[64], mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0;
	const char	*sep;
	int		 slen, wlen;

	if (plen < 3 || memcmp(pat, "|1|", 3) != 0)
		return 0;
	pat += 3;
	plen -= 3;
	if ((sep = memchr(pat, '|', plen)) == NULL)
		return 0;
	if ((slen = unbase64(pat, (size_t)(sep - pat), salt,
	    sizeof(salt))) != 20 ||
	    (wlen = unbase64(sep + 1, plen - (size_t)(sep - pat) - 1, want,
	    sizeof(want))) != 20)
		return 0;
	if (HMAC(EVP_sha1(), salt, slen, (const unsigned char *)host,
	    strlen(host), mac, &maclen) == NULL || maclen != 20)
		return 0;
	return memcmp(mac, want, 20) == 0;
}

int
tk_known_hosts_match(const char *patterns, const char *host)
{
	char		 lower[HOST_MAX_LEN + 1];
	const char	*p, *end;
	size_t		 i, n;
	int		 neg, hit = 0;

	if ((n = strlen(host)) == 0 || n > HOST_MAX_LEN)
		return 0;
	for (i = 0; i <= n; i++)
		lower[i] = (char)tolower((unsigned char)host[i]);
	if (patterns[0] == '|')
		return hashed_match(patterns, strlen(patterns), lower);
	for (p = patterns; *p != '\0'; p = *end == ',' ? end + 1 : end) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		neg = *p == '!';
		if (tk_glob_match(lower, p + neg, (size_t)(end - p) - neg, 1)) {
			if (neg)
				return 0;	/* a negation wins */
			hit = 1;
		}
	}
	return hit;
}

/* The next whitespace-separated field of *s (NUL-terminated in place). */
static char *
field(char **s)
{
	char	*p = *s, *f;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return NULL;
	f = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*s = p;
	return f;
}

/*
 * Each usable line of path: fn(arg, patterns, blob, len, is_ca) until it
 * returns non-zero.  0 also for a file that does not exist.
 */
typedef int (*line_fn)(void *arg, const char *pats, const uint8_t *blob,
    size_t len, int is_ca);

static int
walk(const char *path, line_fn fn, void *arg)
{
	FILE	*f;
	char	*line = NULL, *s, *pats, *type, *b64;
	uint8_t	*blob = NULL;
	size_t	 cap = 0;
	ssize_t	 len;
	int	 is_ca, n, r = 0;

	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : TK_ERR_SYSTEM;
	if ((blob = malloc(LINE_MAX_LEN)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	while (r == 0 && (len = getline(&line, &cap, f)) > 0) {
		if (len > LINE_MAX_LEN)
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		s = line;
		if ((pats = field(&s)) == NULL || pats[0] == '#')
			continue;
		is_ca = 0;
		if (pats[0] == '@') {
			if (strcmp(pats, "@cert-authority") != 0)
				continue;	/* @revoked, unknown */
			is_ca = 1;
			if ((pats = field(&s)) == NULL)
				continue;
		}
		if ((type = field(&s)) == NULL || (b64 = field(&s)) == NULL)
			continue;
		if ((n = unbase64(b64, strlen(b64), blob, LINE_MAX_LEN)) <= 0)
			continue;
		/* the blob must be of the type the line says */
		if ((size_t)n < 4 + strlen(type) ||
		    ((uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 |
		    (uint32_t)blob[2] << 8 | blob[3]) != strlen(type) ||
		    memcmp(blob + 4, type, strlen(type)) != 0)
			continue;
		r = fn(arg, pats, blob, (size_t)n, is_ca);
	}
	if (r == 0 && ferror(f))
		r = TK_ERR_SYSTEM;
 out:
	free(line);
	free(blob);
	fclose(f);
	return r;
}

struct find {
	const char	*host;
	tk_known_host_fn fn;
	void		*arg;
	size_t		*found;
};

static int
find_line(void *arg, const char *pats, const uint8_t *blob, size_t len,
    int is_ca)
{
	struct find	*fd = arg;

	if (!tk_known_hosts_match(pats, fd->host))
		return 0;
	(*fd->found)++;
	return fd->fn(fd->arg, blob, len, is_ca);
}

int
tk_known_hosts_find(const char *path, const char *host, tk_known_host_fn fn,
    void *arg, size_t *found)
{
	struct find	fd = { host, fn, arg, found };

	*found = 0;
	return walk(path, find_line, &fd);
}

struct name {
	const uint8_t	*key;
	size_t		 keylen;
	const char *const *cand;
	size_t		 ncand;
	char		*host;
	size_t		 hostsz;
};

/* The first plain name of a patterns field: no negation, no wildcard. */
static int
plain_name(const char *pats, char *host, size_t hostsz)
{
	const char	*p, *end;
	size_t		 n;

	for (p = pats; *p != '\0'; p = *end == ',' ? end + 1 : end) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if (*p == '!' || memchr(p, '*', n) != NULL ||
		    memchr(p, '?', n) != NULL)
			continue;
		if (*p == '[') {	/* [host]:port */
			p++;
			n = strcspn(p, "]");
			if (p + n > end)
				continue;
		}
		if (n == 0 || n >= hostsz)
			continue;
		memcpy(host, p, n);
		host[n] = '\0';
		return 1;
	}
	return 0;
}

static int
name_line(void *arg, const char *pats, const uint8_t *blob, size_t len,
    int is_ca)
{
	struct name	*nm = arg;
	size_t		 i, n;

	if (is_ca || len != nm->keylen || memcmp(blob, nm->key, len) != 0)
		return 0;
	if (pats[0] != '|')
		return plain_name(pats, nm->host, nm->hostsz);
	for (i = 0; i < nm->ncand; i++) {
		if ((n = strlen(nm->cand[i])) == 0 || n >= nm->hostsz ||
		    !tk_known_hosts_match(pats, nm->cand[i]))
			continue;
		memcpy(nm->host, nm->cand[i], n + 1);
		return 1;
	}
	return 0;
}

int
tk_known_hosts_name(const char *path, const uint8_t *key, size_t keylen,
    const char *const *cand, size_t ncand, char *host, size_t hostsz)
{
	struct name	nm = { key, keylen, cand, ncand, host, hostsz };
	int		r;

	r = walk(path, name_line, &nm);
	return r == 1 ? 0 : r == 0 ? TK_ERR_NOT_FOUND : r;
}
