/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * src/ssh/knownhosts.c and sshconfig.c: which keys a known_hosts file
 * gives a host (plain, patterns, negation, hashed, @cert-authority,
 * @revoked), which name it gives a key, and the names of an ssh_config.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tokenkeys.h"
#include "ssh/knownhosts.h"
#include "ssh/sshconfig.h"
#include "tap.h"

/* Two Ed25519 public key blobs, made up (any 32 bytes will do here). */
#define ED_A "AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx" \
	"wdHh8g"
#define ED_B "AAAAC3NzaC1lZDI1NTE5AAAAICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Oz" \
	"w9Pj9A"

static uint8_t	key_a[51], key_b[51];

static void
blob(const char *b64, uint8_t *out)
{
	uint8_t	buf[64];

	if (EVP_DecodeBlock(buf, (const unsigned char *)b64,
	    (int)strlen(b64)) < 51)
		abort();
	memcpy(out, buf, 51);
}

/* |1|salt|HMAC-SHA1(salt, host), as ssh-keygen -H writes it */
static void
hashed(const char *host, char *out, size_t outsz)
{
	static const uint8_t	salt[20] = "0123456789abcdefghij";
	uint8_t			mac[20];
	unsigned int		maclen = sizeof(mac);
	char			s64[32], m64[32];

	HMAC(EVP_sha1(), salt, sizeof(salt), (const uint8_t *)host,
	    strlen(host), mac, &maclen);
	EVP_EncodeBlock((unsigned char *)s64, salt, sizeof(salt));
	EVP_EncodeBlock((unsigned char *)m64, mac, maclen);
	snprintf(out, outsz, "|1|%s|%s", s64, m64);
}

static char	path[] = "/tmp/test-knownhosts.XXXXXX";

static void
write_file(const char *text)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) != 0)
		abort();
}

struct seen {
	int	a, b, ca;
};

static int
saw(void *arg, const uint8_t *b, size_t len, int is_ca)
{
	struct seen	*s = arg;

	if (len == sizeof(key_a) && memcmp(b, key_a, len) == 0)
		s->a++;
	if (len == sizeof(key_b) && memcmp(b, key_b, len) == 0)
		s->b++;
	s->ca += is_ca;
	return 0;
}

static struct seen
find(const char *host, size_t *n)
{
	struct seen	s = { 0, 0, 0 };

	if (tk_known_hosts_find(path, host, saw, &s, n) != 0)
		s.a = -1;
	return s;
}

static void
test_find(void)
{
	char		text[2048], h[128];
	struct seen	s;
	size_t		n;

	hashed("secret.example", h, sizeof(h));
	snprintf(text, sizeof(text),
	    "# comment\n"
	    "alpha.example,beta.example ssh-ed25519 " ED_A "\n"
	    "*.wild.example,!bad.wild.example ssh-ed25519 " ED_B "\n"
	    "%s ssh-ed25519 " ED_B " a comment\n"
	    "@cert-authority *.ca.example ssh-ed25519 " ED_A "\n"
	    "@revoked alpha.example ssh-ed25519 " ED_B "\n"
	    "alpha.example ssh-rsa " ED_B "\n", h);
	write_file(text);
	s = find("BETA.example", &n);
	ok(s.a == 1 && s.b == 0 && n == 1, "a plain name, any case");
	s = find("x.wild.example", &n);
	ok(s.b == 1 && s.a == 0, "a wildcard");
	s = find("bad.wild.example", &n);
	ok(s.a == 0 && s.b == 0 && n == 0, "a negation wins");
	s = find("secret.example", &n);
	ok(s.b == 1 && n == 1, "a hashed name");
	s = find("www.ca.example", &n);
	ok(s.a == 1 && s.ca == 1, "@cert-authority: is_ca");
	s = find("alpha.example", &n);
	ok(s.a == 1 && s.b == 0,
	    "@revoked and a key whose type is not the line's are skipped");
	unlink(path);
	ok(tk_known_hosts_find(path, "alpha.example", saw, &s, &n) == 0 &&
	    n == 0, "no file: nothing, no error");
}

static void
test_name(void)
{
	const char	*cand[] = { "nothere.example", "Secret.example" };
	char		 text[2048], h[128], host[64];
	int		 r;

	hashed("secret.example", h, sizeof(h));
	snprintf(text, sizeof(text),
	    "@cert-authority ca.example ssh-ed25519 " ED_B "\n"
	    "!no.example,*.star,[port.example]:2222,other ssh-ed25519 "
	    ED_A "\n"
	    "%s ssh-ed25519 " ED_B "\n", h);
	write_file(text);
	r = tk_known_hosts_name(path, key_a, sizeof(key_a), NULL, 0, host,
	    sizeof(host));
	is_int(r, 0, "a key on a plain line is named");
	is_str(r == 0 ? host : NULL, "port.example",
	    "...by its first plain name, [host]:port without the port");
	r = tk_known_hosts_name(path, key_b, sizeof(key_b), NULL, 0, host,
	    sizeof(host));
	is_int(r, TK_ERR_NOT_FOUND,
	    "a hashed line names nothing without candidates (a CA line "
	    "never names)");
	r = tk_known_hosts_name(path, key_b, sizeof(key_b), cand, 2, host,
	    sizeof(host));
	is_int(r, 0, "...and the candidate it hashes to, with them");
	is_str(r == 0 ? host : NULL, "Secret.example", "...as it was given");
	r = tk_known_hosts_name(path, key_a, sizeof(key_a), NULL, 0, host, 5);
	is_int(r, TK_ERR_NOT_FOUND, "a name that does not fit is not cut");
	unlink(path);
}

static void
test_config(void)
{
	char	**names;
	size_t	  n, i, used = 0;
	char	  all[512] = "";

	write_file(
	    "# Host commented.example\n"
	    "Host a.example b.example *.star !neg.example\n"
	    "  HostName 192.0.2.7\n"
	    "  User someone\n"
	    "host=c.example\n"
	    "  Hostname = %h.internal\n"
	    "HOST A.example   d.example # trailing comment\n"
	    "Match host e.example\n"
	    "HostKeyAlias f.example\n");
	if (tk_ssh_config_names(path, &names, &n) != 0) {
		ok(0, "ssh_config read");
		return;
	}
	for (i = 0; i < n && used < sizeof(all); i++)
		used += (size_t)snprintf(all + used, sizeof(all) - used,
		    "%s ", names[i]);
	is_str(all, "a.example b.example 192.0.2.7 c.example d.example ",
	    "Host and HostName names: literal ones, once, no patterns, "
	    "tokens or comments");
	tk_ssh_config_names_free(names, n);
	unlink(path);
	ok(tk_ssh_config_names(path, &names, &n) == 0 && n == 0 &&
	    names == NULL, "no file: no names, no error");
}

int
main(void)
{
	int	fd;

	if ((fd = mkstemp(path)) < 0)
		abort();
	close(fd);
	blob(ED_A, key_a);
	blob(ED_B, key_b);
	test_find();
	test_name();
	test_config();
	return tap_done();
}
