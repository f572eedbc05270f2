/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * agent-poke: speak raw agent protocol to a socket, for the security
 * tests.  The steps run in order on one connection; each prints one line
 * with what came back:
 *
 *	"success", "failure", "type N" (another reply), "keys N" (an
 *	identities answer), "closed" (the agent closed the connection
 *	without a reply), "timeout" (no answer within 20 s).
 *
 *	agent-poke SOCKET STEP...
 *
 * Steps:
 *	list			request identities
 *	bind KEY.pem FWD	session-bind@openssh.com signed by the Ed25519
 *				key in KEY.pem (PKCS#8) over a random session
 *				id; FWD (1 or 0) is is_forwarding
 *	badbind KEY.pem		the same with a signature that does not verify
 *	sign KEY.pub		sign "poke" with the key of that OpenSSH
 *				public key line ("type 14" is a signature)
 *	add READER PIN		SSH_AGENTC_ADD_SMARTCARD_KEY
 *	remove READER		SSH_AGENTC_REMOVE_SMARTCARD_KEY
 *	unlock PASSWORD		SSH_AGENTC_UNLOCK
 *	ext NAME		SSH_AGENTC_EXTENSION NAME, nothing after it
 *	zero			a frame of length 0
 *	oversize		a length of 256 KiB + 1, then that many bytes
 *	truncated		a length of 100, 10 bytes, then end of writing
 *	garbage			a well-framed sign request whose fields lie
 *				about their lengths
 *	noise			bytes that are not a frame at all (an HTTP
 *				request line)
 *	raw HEX			these bytes, as they are
 *	certs READER ONLY FILES MODE
 *				SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED with
 *				associated-certs-v00@openssh.com (certs_only
 *				ONLY, 0 or 1) carrying the certificates of
 *				FILES (comma-separated .pub files), as
 *				OpenSSH 9.6's ssh-add -s sends it.  MODE:
 *				ok; confirm (a confirm constraint first);
 *				flat (the certificates not nested in their
 *				list string); many (1025 entries: the first
 *				and 1024 empty strings, as 1025 real ones do
 *				not fit a frame); trailing (a byte after the
 *				list);
 *				inner (a cut-short string inside the list);
 *				twice (the constraint given twice); other
 *				(an extension named other@example.com);
 *				dest=HEX (restrict-destination-v00@openssh.com
 *				first, its nested body HEX, in the order
 *				OpenSSH 9.6+'s ssh-add -h -s sends both)
 *
 * Exit 0 when every step could be sent (whatever the answers), 2 on a
 * usage or setup error.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "sockio.h"

#define POKE_MAX	(1024 * 1024)
#define TIMEOUT_MS	20000

struct msg {
	uint8_t	*d;
	size_t	 len;
};

static void
put(struct msg *m, const void *p, size_t n)
{
	if (m->len + n > POKE_MAX) {
		fprintf(stderr, "agent-poke: message too large\n");
		exit(2);
	}
	memcpy(m->d + m->len, p, n);
	m->len += n;
}

static void
put_u32(struct msg *m, uint32_t v)
{
	uint8_t	b[4] = { v >> 24, v >> 16, v >> 8, v };

	put(m, b, 4);
}

static void
put_u8(struct msg *m, uint8_t v)
{
	put(m, &v, 1);
}

static void
put_str(struct msg *m, const void *p, size_t n)
{
	put_u32(m, (uint32_t)n);
	put(m, p, n);
}

static void
put_cstr(struct msg *m, const char *s)
{
	put_str(m, s, strlen(s));
}

/* Send m as one frame (length prefixed). */
static int
send_frame(int fd, const struct msg *m)
{
	uint8_t	hdr[4] = { m->len >> 24, m->len >> 16, m->len >> 8, m->len };
	int	r;

	if ((r = sio_write(fd, hdr, 4)) == 0)
		r = sio_write(fd, m->d, m->len);
	return r;
}

/* Read one reply and print what it was. */
static void
report(int fd)
{
	uint8_t		 hdr[4], *body = NULL;
	uint32_t	 len;
	int		 r;

	if ((r = sio_read(fd, hdr, 4, TIMEOUT_MS)) != 0) {
		printf("%s\n", r == SIO_TIMEOUT ? "timeout" : "closed");
		goto out;
	}
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > POKE_MAX || (body = malloc(len)) == NULL ||
	    sio_read(fd, body, len, TIMEOUT_MS) != 0) {
		printf("bad reply\n");
		goto out;
	}
	if (body[0] == 6)
		printf("success\n");
	else if (body[0] == 5)
		printf("failure\n");
	else if (body[0] == 12 && len >= 5)
		printf("keys %u\n", (unsigned)body[1] << 24 |
		    (unsigned)body[2] << 16 | (unsigned)body[3] << 8 | body[4]);
	else
		printf("type %u\n", body[0]);
 out:
	fflush(stdout);
	free(body);
}

static EVP_PKEY *
load_key(const char *path)
{
	EVP_PKEY	*k = NULL;
	FILE		*f;

	if ((f = fopen(path, "r")) == NULL ||
	    (k = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL ||
	    EVP_PKEY_id(k) != EVP_PKEY_ED25519) {
		fprintf(stderr, "agent-poke: %s: not an Ed25519 PEM key\n",
		    path);
		exit(2);
	}
	fclose(f);
	return k;
}

/* session-bind@openssh.com with a real (or spoiled) host signature. */
static void
build_bind(struct msg *m, const char *keyfile, int fwd, int spoil)
{
	struct msg	 blob = { NULL, 0 }, sigb = { NULL, 0 };
	EVP_MD_CTX	*ctx;
	EVP_PKEY	*k = load_key(keyfile);
	uint8_t		 sid[32], pub[32], sig[64], b1[256], b2[256];
	size_t		 publen = sizeof(pub), siglen = sizeof(sig);

	blob.d = b1;
	sigb.d = b2;
	if (RAND_bytes(sid, sizeof(sid)) != 1 ||
	    EVP_PKEY_get_raw_public_key(k, pub, &publen) != 1 ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, sid, sizeof(sid)) != 1) {
		fprintf(stderr, "agent-poke: signing the session id failed\n");
		exit(2);
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	if (spoil)
		sig[5] ^= 0x40;
	put_cstr(&blob, "ssh-ed25519");
	put_str(&blob, pub, publen);
	put_cstr(&sigb, "ssh-ed25519");
	put_str(&sigb, sig, siglen);
	put_u8(m, 27);
	put_cstr(m, "session-bind@openssh.com");
	put_str(m, blob.d, blob.len);
	put_str(m, sid, sizeof(sid));
	put_str(m, sigb.d, sigb.len);
	put_u8(m, fwd ? 1 : 0);
}

/* The key blob of an OpenSSH public key line. */
static void
put_pubblob(struct msg *m, const char *path)
{
	char		 line[16384], *b64, *end;
	uint8_t		*blob;
	FILE		*f;
	int		 n = -1;

	if ((f = fopen(path, "r")) != NULL &&
	    fgets(line, sizeof(line), f) != NULL &&
	    (b64 = strchr(line, ' ')) != NULL) {
		b64++;
		if ((end = strchr(b64, ' ')) != NULL)
			*end = '\0';
		b64[strcspn(b64, "\n")] = '\0';
		if ((blob = malloc(strlen(b64))) != NULL) {
			n = EVP_DecodeBlock(blob, (uint8_t *)b64,
			    (int)strlen(b64));
			/* EVP_DecodeBlock counts the padding as bytes */
			if (n > 0 && b64[strlen(b64) - 1] == '=')
				n -= b64[strlen(b64) - 2] == '=' ? 2 : 1;
			if (n > 0)
				put_str(m, blob, (size_t)n);
			free(blob);
		}
	}
	if (f != NULL)
		fclose(f);
	if (n <= 0) {
		fprintf(stderr, "agent-poke: %s: not a public key line\n",
		    path);
		exit(2);
	}
}

static int	hexval(int);

/* The bytes of the hex string s, appended to m. */
static void
put_hex(struct msg *m, const char *s)
{
	size_t	j;

	for (j = 0; s[j] != '\0' && s[j + 1] != '\0'; j += 2) {
		if (hexval(s[j]) < 0 || hexval(s[j + 1]) < 0) {
			fprintf(stderr, "agent-poke: bad hex\n");
			exit(2);
		}
		put_u8(m, (uint8_t)(hexval(s[j]) << 4 | hexval(s[j + 1])));
	}
}

/* The certs step: see the top of the file. */
static void
build_certs(struct msg *m, const char *reader, int only, char *files,
    const char *mode)
{
	struct msg	 list, dest;
	char		*f, *save = NULL;
	size_t		 i;

	if ((list.d = malloc(POKE_MAX)) == NULL ||
	    (dest.d = malloc(POKE_MAX)) == NULL)
		exit(2);
	list.len = 0;
	for (f = strtok_r(files, ",", &save); f != NULL;
	    f = strtok_r(NULL, ",", &save)) {
		put_pubblob(&list, f);
	}
	if (strcmp(mode, "many") == 0)
		for (i = 1; i < 1025; i++)
			put_u32(&list, 0);
	if (strcmp(mode, "inner") == 0)
		put_u32(&list, 1000);
	put_u8(m, 26);
	put_cstr(m, reader);
	put_cstr(m, "");
	if (strcmp(mode, "confirm") == 0)
		put_u8(m, 2);
	if (strncmp(mode, "dest=", 5) == 0) {
		put_u8(m, 255);
		put_cstr(m, "restrict-destination-v00@openssh.com");
		dest.len = 0;
		put_hex(&dest, mode + 5);
		put_str(m, dest.d, dest.len);
	}
	put_u8(m, 255);
	put_cstr(m, strcmp(mode, "other") == 0 ? "other@example.com" :
	    "associated-certs-v00@openssh.com");
	put_u8(m, (uint8_t)only);
	if (strcmp(mode, "flat") == 0)
		put(m, list.d, list.len);
	else
		put_str(m, list.d, list.len);
	if (strcmp(mode, "trailing") == 0)
		put_u8(m, 0);
	if (strcmp(mode, "twice") == 0) {
		put_u8(m, 255);
		put_cstr(m, "associated-certs-v00@openssh.com");
		put_u8(m, (uint8_t)only);
		put_str(m, list.d, list.len);
	}
	free(list.d);
	free(dest.d);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
need(int i, int n, int argc, const char *step)
{
	if (i + n >= argc) {
		fprintf(stderr, "agent-poke: %s: missing argument\n", step);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_un	 sun;
	struct msg		 m;
	const char		*s;
	size_t			 n;
	int			 fd, i, fwd;

	if (argc < 3) {
		fprintf(stderr, "usage: agent-poke SOCKET STEP...\n");
		return 2;
	}
	if ((m.d = malloc(POKE_MAX)) == NULL)
		return 2;
	if (strlen(argv[1]) >= sizeof(sun.sun_path))
		return 2;
	if ((fd = sio_connect(argv[1])) < 0) {
		printf("refused\n");
		free(m.d);
		return 0;
	}
	for (i = 2; i < argc; i++) {
		s = argv[i];
		m.len = 0;
		if (strcmp(s, "list") == 0) {
			put_u8(&m, 11);
		} else if (strcmp(s, "bind") == 0) {
			need(i, 2, argc, s);
			fwd = strcmp(argv[i + 2], "0") != 0;
			build_bind(&m, argv[i + 1], fwd, 0);
			i += 2;
		} else if (strcmp(s, "badbind") == 0) {
			need(i, 1, argc, s);
			build_bind(&m, argv[i + 1], 1, 1);
			i++;
		} else if (strcmp(s, "sign") == 0) {
			need(i, 1, argc, s);
			put_u8(&m, 13);
			put_pubblob(&m, argv[i + 1]);
			put_cstr(&m, "poke");
			put_u32(&m, 0);
			i++;
		} else if (strcmp(s, "add") == 0) {
			need(i, 2, argc, s);
			put_u8(&m, 20);
			put_cstr(&m, argv[i + 1]);
			put_cstr(&m, argv[i + 2]);
			i += 2;
		} else if (strcmp(s, "certs") == 0) {
			need(i, 4, argc, s);
			build_certs(&m, argv[i + 1], atoi(argv[i + 2]),
			    argv[i + 3], argv[i + 4]);
			i += 4;
		} else if (strcmp(s, "remove") == 0) {
			need(i, 1, argc, s);
			put_u8(&m, 21);
			put_cstr(&m, argv[i + 1]);
			put_cstr(&m, "");
			i++;
		} else if (strcmp(s, "ext") == 0) {
			need(i, 1, argc, s);
			put_u8(&m, 27);
			put_cstr(&m, argv[i + 1]);
			i++;
		} else if (strcmp(s, "unlock") == 0) {
			need(i, 1, argc, s);
			put_u8(&m, 23);
			put_cstr(&m, argv[i + 1]);
			i++;
		} else if (strcmp(s, "zero") == 0) {
			if (sio_write(fd, (const uint8_t *)"\0\0\0\0", 4) != 0)
				goto gone;
			report(fd);
			continue;
		} else if (strcmp(s, "oversize") == 0) {
			n = 256 * 1024 + 1;
			put_u32(&m, (uint32_t)n);
			memset(m.d + m.len, 11, n);
			m.len += n;
			/* the agent may close before it has read it all */
			(void)sio_write(fd, m.d, m.len);
			report(fd);
			continue;
		} else if (strcmp(s, "truncated") == 0) {
			put_u32(&m, 100);
			put_u8(&m, 13);
			put_str(&m, "short", 5);
			if (sio_write(fd, m.d, m.len) != 0)
				goto gone;
			(void)shutdown(fd, SHUT_WR);
			report(fd);
			continue;
		} else if (strcmp(s, "garbage") == 0) {
			put_u8(&m, 13);
			put_u32(&m, 0x7fffffff);
			put(&m, "ssh-ed25519", 11);
			put_u32(&m, 0xffffffff);
		} else if (strcmp(s, "noise") == 0) {
			if (sio_write(fd, (const uint8_t *)
			    "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27) != 0)
				goto gone;
			report(fd);
			continue;
		} else if (strcmp(s, "raw") == 0) {
			need(i, 1, argc, s);
			put_hex(&m, argv[++i]);
			if (sio_write(fd, m.d, m.len) != 0)
				goto gone;
			report(fd);
			continue;
		} else {
			fprintf(stderr, "agent-poke: unknown step %s\n", s);
			return 2;
		}
		if (send_frame(fd, &m) != 0)
			goto gone;
		report(fd);
		continue;
 gone:
		printf("closed\n");
		fflush(stdout);
	}
	close(fd);
	free(m.d);
	return 0;
}
