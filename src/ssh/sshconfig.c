/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The host names an ssh_config(5) file mentions (sshconfig.h).  Only the
 * keywords matter here: "Host a b" and "HostName c", any case, with
 * "=" or blanks between keyword and arguments, "#" comments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tokenkeys.h"
#include "ssh/sshconfig.h"

#define LINE_MAX_LEN	4096
#define NAME_MAX_LEN	255

static int
literal(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '*' || s[i] == '?' || s[i] == '!' ||
		    s[i] == '%' || s[i] == '"' || (unsigned char)s[i] < 0x21 ||
		    (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static int
add(char ***names, size_t *n, const char *s, size_t len)
{
	char	**nv;
	size_t	  i;

	for (i = 0; i < *n; i++)
		if (strlen((*names)[i]) == len &&
		    strncasecmp((*names)[i], s, len) == 0)
			return 0;
	if (*n >= TK_SSHCONFIG_NAMES_MAX)
		return 0;
	if ((nv = reallocarray(*names, *n + 1, sizeof(*nv))) == NULL)
		return TK_ERR_NOMEM;
	*names = nv;
	if ((nv[*n] = strndup(s, len)) == NULL)
		return TK_ERR_NOMEM;
	(*n)++;
	return 0;
}

int
tk_ssh_config_names(const char *path, char ***names, size_t *n)
{
	FILE		*f;
	char		*line = NULL, *p;
	size_t		 cap = 0, kw, w;
	ssize_t		 len;
	int		 host, r = 0;

	*names = NULL;
	*n = 0;
	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : TK_ERR_SYSTEM;
	while (r == 0 && (len = getline(&line, &cap, f)) > 0) {
		if (len > LINE_MAX_LEN)
			continue;
		p = line + strspn(line, " \t");
		kw = strcspn(p, " \t=\r\n");
		if (kw == 4 && strncasecmp(p, "host", 4) == 0)
			host = 1;
		else if (kw == 8 && strncasecmp(p, "hostname", 8) == 0)
			host = 0;
		else
			continue;
		p += kw;
		p += strspn(p, " \t");
		if (*p == '=')
			p += 1 + strspn(p + 1, " \t");
		while (r == 0 && *p != '\0' && *p != '#' && *p != '\r' &&
		    *p != '\n') {
			w = strcspn(p, " \t\r\n");
			if (literal(p, w))
				r = add(names, n, p, w);
			p += w;
			p += strspn(p, " \t");
			if (!host)
				break;	/* HostName takes one argument */
		}
	}
	if (r == 0 && ferror(f))
		r = TK_ERR_SYSTEM;
	free(line);
	fclose(f);
	if (r != 0) {
		tk_ssh_config_names_free(*names, *n);
		*names = NULL;
		*n = 0;
	}
	return r;
}

void
tk_ssh_config_names_free(char **names, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
