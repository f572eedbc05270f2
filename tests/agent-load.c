/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * agent-load: load an SSH agent with well-formed signing clients while
 * hostile clients throw malformed frames and abrupt disconnects at it.
 *
 * Well-formed: C worker threads, each sending N SIGN_REQUESTs (plus a
 * REQUEST_IDENTITIES every so often, and a fresh connection every so
 * often), cycling through the key types the agent lists: ECDSA P-256,
 * RSA with rsa-sha2-256 and rsa-sha2-512, Ed25519.  Every signature is
 * verified with OpenSSL against the public key the agent listed, so a
 * wrong signature counts as a failure just like a refusal or a hang.
 *
 * Hostile: H threads opening connection after connection until the
 * workers are done, each one of: an oversized length, a zero length, a
 * truncated frame then close, unknown message types, garbage payloads
 * for known types, valid requests then close before the reply (half of
 * them with a reset), a valid request dribbled a byte at a time, and
 * half-written frames left hanging (a few held open at any time).  The
 * agent may answer garbage with a failure or close that connection; a
 * connection it keeps must still answer a listing.  Anything else (a
 * success to garbage, no answer in time) counts as unexpected.
 *
 * usage: agent-load [-a socket] [-c clients] [-n signatures]
 *            [-H hostile-threads] [-i hostile-interval-ms] [-k kind,...]
 *
 * -k limits the hostile connections to the kinds named (oversize, zero,
 * truncated, badtype, garbage, sign_close, dribble, hang); -i 0 sends
 * them as fast as they go.
 *
 * Prints one "agent-load:" result line; exits 0 when every well-formed
 * request succeeded and no hostile connection saw anything unexpected,
 * 1 when some did not, 2 when it could not run.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#define MAX_CLIENTS		64
#define MAX_HOSTILE		16
#define MAX_FRAME		(256 * 1024)	/* OpenSSH's AGENT_MAX_LEN */
#define IO_TIMEOUT_SECS		30
#define HOSTILE_TIMEOUT_SECS	10
#define LIST_EVERY		64	/* a listing per this many signatures */
#define RECONNECT_EVERY		100	/* a fresh connection this often */
#define HANG_HELD		16	/* hanging connections per thread */

#define AGENT_FAILURE		5
#define AGENT_SUCCESS		6
#define AGENTC_REQUEST_IDENTITIES 11
#define AGENT_IDENTITIES_ANSWER	12
#define AGENTC_SIGN_REQUEST	13
#define AGENT_SIGN_RESPONSE	14
#define AGENTC_ADD_IDENTITY	17
#define AGENTC_ADD_ID_CONSTRAINED 25
#define AGENTC_EXTENSION	27
#define AGENT_EXTENSION_FAILURE	28
#define RSA_SHA2_256		2
#define RSA_SHA2_512		4

/* What a worker signs with. */
enum kind { K_EC256, K_RSA256, K_RSA512, K_ED25519, NKINDS };

static const char *const kind_names[NKINDS] = {
	"ecdsa-sha2-nistp256", "rsa-sha2-256", "rsa-sha2-512", "ssh-ed25519"
};

enum hostile {
	H_OVERSIZE, H_ZERO, H_TRUNCATED, H_BADTYPE, H_GARBAGE,
	H_SIGN_CLOSE, H_DRIBBLE, H_HANG, NHOSTILE
};

static const char *const hostile_names[NHOSTILE] = {
	"oversize", "zero", "truncated", "badtype", "garbage", "sign_close",
	"dribble", "hang"
};

struct key {
	uint8_t		*blob;
	size_t		 bloblen;
	EVP_PKEY	*pk;		/* shared read-only by the threads */
};

struct buf {
	uint8_t		*d;
	size_t		 len;
	size_t		 cap;
};

struct rd {
	const uint8_t	*p;
	size_t		 left;
};

struct worker {
	pthread_t	 tid;
	unsigned int	 index;
	uint64_t	 rng;
	unsigned long	 ok, failed, lists;
	char		 error[200];	/* the first failure */
};

struct hostile_thr {
	pthread_t	 tid;
	uint64_t	 rng;
	unsigned long	 tried[NHOSTILE];
	unsigned long	 unexpected;
	char		 error[200];
};

static const char	*sock_path;
static unsigned long	 nsigs = 300;
static unsigned int	 interval_ms = 2;
static unsigned int	 hostile_mask = (1U << NHOSTILE) - 1;
static struct key	 keys[NKINDS];	/* RSA twice: K_RSA256, K_RSA512 */
static int		 workers_done;
static pthread_mutex_t	 done_mu = PTHREAD_MUTEX_INITIALIZER;

static void
usage(void)
{
	fprintf(stderr, "usage: agent-load [-a socket] [-c clients] "
	    "[-n signatures] [-H hostile-threads]\n"
	    "                  [-i hostile-interval-ms] [-k kind,...]\n");
}

/* xorshift64*: reproducible, per thread, no locks. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void
rnd_bytes(uint64_t *s, uint8_t *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd(s) >> 32);
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
sleep_ms(unsigned int ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---------------------------------------------------------- buffers */

static int
buf_reserve(struct buf *b, size_t n)
{
	uint8_t	*nd;
	size_t	 ncap;

	if (n > 4 * MAX_FRAME || b->len > 4 * MAX_FRAME)
		return -1;
	if (b->len + n > b->cap) {
		ncap = b->cap == 0 ? 512 : b->cap;
		while (ncap < b->len + n)
			ncap *= 2;
		if ((nd = realloc(b->d, ncap)) == NULL)
			return -1;
		b->d = nd;
		b->cap = ncap;
	}
	return 0;
}

static int
buf_put(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->d + b->len, p, n);
	b->len += n;
	return 0;
}

static void
put_u32_at(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int
buf_put_u32(struct buf *b, uint32_t v)
{
	uint8_t	p[4];

	put_u32_at(p, v);
	return buf_put(b, p, 4);
}

static int
buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_put(b, &v, 1);
}

static int
buf_put_string(struct buf *b, const void *p, size_t n)
{
	if (n > UINT32_MAX || buf_put_u32(b, (uint32_t)n) != 0)
		return -1;
	return buf_put(b, p, n);
}

static int
rd_u32(struct rd *r, uint32_t *v)
{
	if (r->left < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return 0;
}

static int
rd_string(struct rd *r, const uint8_t **p, size_t *n)
{
	uint32_t	len;

	if (rd_u32(r, &len) != 0 || len > r->left)
		return -1;
	*p = r->p;
	*n = len;
	r->p += len;
	r->left -= len;
	return 0;
}

static int
bytes_eq(const uint8_t *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

/* ------------------------------------------------------------ sockets */

static int
agent_connect(int timeout_secs)
{
	struct sockaddr_un	sun;
	struct timeval		tv;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return -1;
	/* A hung agent must end the run as failures, not freeze it. */
	tv.tv_sec = timeout_secs;
	tv.tv_usec = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* 0, or -1 with errno (0 for end of file, EAGAIN for a timeout). */
static int
read_all(int fd, uint8_t *p, size_t n)
{
	ssize_t	got;

	while (n > 0) {
		if ((got = read(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (got == 0) {
			errno = 0;
			return -1;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

static const char *
read_error(void)
{
	if (errno == 0)
		return "the agent closed the connection";
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return "no answer within the timeout";
	return strerror(errno);
}

/* Read one reply frame (type byte first) into resp. */
static int
read_frame(int fd, struct buf *resp, char *err, size_t errlen)
{
	uint8_t		hdr[4];
	uint32_t	len;

	resp->len = 0;
	if (read_all(fd, hdr, 4) != 0) {
		snprintf(err, errlen, "reading a reply: %s", read_error());
		return -1;
	}
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > MAX_FRAME) {
		snprintf(err, errlen, "the agent sent a frame of %lu bytes",
		    (unsigned long)len);
		return -1;
	}
	if (buf_reserve(resp, len) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (read_all(fd, resp->d, len) != 0) {
		snprintf(err, errlen, "reading a reply body: %s",
		    read_error());
		return -1;
	}
	resp->len = len;
	return 0;
}

static int
transact(int fd, const struct buf *req, struct buf *resp, char *err,
    size_t errlen)
{
	if (write_all(fd, req->d, req->len) != 0) {
		snprintf(err, errlen, "writing a request: %s",
		    strerror(errno));
		return -1;
	}
	return read_frame(fd, resp, err, errlen);
}

/* ------------------------------------------------------------ keys */

static int
pkey_fromdata(const char *alg, OSSL_PARAM_BLD *bld, EVP_PKEY **pk)
{
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	int		 r = -1;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	r = 0;
 out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return r;
}

/* An EVP_PKEY from an OpenSSH public key blob (the three types we use). */
static int
key_from_blob(const uint8_t *blob, size_t len, EVP_PKEY **pk)
{
	struct rd	 rd = { blob, len };
	OSSL_PARAM_BLD	*bld = NULL;
	BIGNUM		*n = NULL, *e = NULL;
	const uint8_t	*type, *a, *b;
	size_t		 typelen, alen, blen;
	int		 r = -1;

	*pk = NULL;
	if (rd_string(&rd, &type, &typelen) != 0 ||
	    rd_string(&rd, &a, &alen) != 0)
		goto out;
	if (bytes_eq(type, typelen, "ssh-ed25519")) {
		if (alen != 32 || rd.left != 0)
			goto out;
		*pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, a,
		    alen);
		r = *pk == NULL ? -1 : 0;
		goto out;
	}
	if (rd_string(&rd, &b, &blen) != 0 || rd.left != 0 ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (bytes_eq(type, typelen, "ssh-rsa")) {
		/* mpint e, mpint n */
		if ((e = BN_bin2bn(a, (int)alen, NULL)) == NULL ||
		    (n = BN_bin2bn(b, (int)blen, NULL)) == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N,
		    n) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E,
		    e) != 1)
			goto out;
		r = pkey_fromdata("RSA", bld, pk);
	} else if (bytes_eq(type, typelen, "ecdsa-sha2-nistp256")) {
		/* string "nistp256", string Q */
		if (!bytes_eq(a, alen, "nistp256") ||
		    OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) != 1 ||
		    OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, b, blen) != 1)
			goto out;
		r = pkey_fromdata("EC", bld, pk);
	}
 out:
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

/* Pick the first identity of each type from an IDENTITIES_ANSWER. */
static int
pick_keys(const struct buf *resp, unsigned long *nids)
{
	static const char *const want[NKINDS] = {
		"ecdsa-sha2-nistp256", "ssh-rsa", "ssh-rsa", "ssh-ed25519"
	};
	struct rd	 rd, in;
	const uint8_t	*blob, *comment, *type;
	size_t		 bloblen, commentlen, typelen;
	uint32_t	 n, i;
	int		 k;

	rd.p = resp->d + 1;
	rd.left = resp->len - 1;
	if (resp->d[0] != AGENT_IDENTITIES_ANSWER || rd_u32(&rd, &n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (rd_string(&rd, &blob, &bloblen) != 0 ||
		    rd_string(&rd, &comment, &commentlen) != 0)
			return -1;
		in.p = blob;
		in.left = bloblen;
		if (rd_string(&in, &type, &typelen) != 0)
			return -1;
		for (k = 0; k < NKINDS; k++) {
			if (keys[k].blob != NULL ||
			    !bytes_eq(type, typelen, want[k]))
				continue;
			if ((keys[k].blob = malloc(bloblen)) == NULL)
				return -1;
			memcpy(keys[k].blob, blob, bloblen);
			keys[k].bloblen = bloblen;
			if (key_from_blob(blob, bloblen, &keys[k].pk) != 0) {
				fprintf(stderr, "agent-load: OpenSSL cannot "
				    "read the agent's %s key\n", want[k]);
				return -1;
			}
		}
	}
	*nids = n;
	return rd.left == 0 ? 0 : -1;
}

/* ------------------------------------------------------- signatures */

/* A SIGN_REQUEST shaped like ssh's publickey userauth, random session. */
static int
build_sign(struct buf *req, enum kind k, uint64_t *rng)
{
	struct buf	 data = { NULL, 0, 0 };
	const char	*alg = kind_names[k];
	uint8_t		 sid[32];
	char		 user[24];
	size_t		 ulen;
	int		 r = -1;

	rnd_bytes(rng, sid, sizeof(sid));
	ulen = 1 + rnd(rng) % (sizeof(user) - 1);
	snprintf(user, sizeof(user), "%016llx%07x",
	    (unsigned long long)rnd(rng), (unsigned int)(rnd(rng) >> 40));
	req->len = 0;
	if (buf_put_string(&data, sid, sizeof(sid)) != 0 ||
	    buf_put_u8(&data, 50) != 0 ||
	    buf_put_string(&data, user, ulen) != 0 ||
	    buf_put_string(&data, "ssh-connection", 14) != 0 ||
	    buf_put_string(&data, "publickey", 9) != 0 ||
	    buf_put_u8(&data, 1) != 0 ||
	    buf_put_string(&data, alg, strlen(alg)) != 0 ||
	    buf_put_string(&data, keys[k].blob, keys[k].bloblen) != 0)
		goto out;
	if (buf_put_u32(req, 0) != 0 ||
	    buf_put_u8(req, AGENTC_SIGN_REQUEST) != 0 ||
	    buf_put_string(req, keys[k].blob, keys[k].bloblen) != 0 ||
	    buf_put_string(req, data.d, data.len) != 0 ||
	    buf_put_u32(req, k == K_RSA256 ? RSA_SHA2_256 :
	    k == K_RSA512 ? RSA_SHA2_512 : 0) != 0)
		goto out;
	put_u32_at(req->d, (uint32_t)(req->len - 4));
	r = 0;
 out:
	free(data.d);
	return r;
}

/* ECDSA (mpint r, mpint s) to the DER OpenSSL verifies. */
static int
ecdsa_der(const uint8_t *p, size_t n, uint8_t **der, int *derlen)
{
	struct rd	 rd = { p, n };
	ECDSA_SIG	*es = NULL;
	BIGNUM		*br = NULL, *bs = NULL;
	const uint8_t	*rp, *sp;
	size_t		 rlen, slen;
	int		 r = -1;

	*der = NULL;
	if (rd_string(&rd, &rp, &rlen) != 0 ||
	    rd_string(&rd, &sp, &slen) != 0 || rd.left != 0 ||
	    rlen == 0 || slen == 0 || rlen > 33 || slen > 33 ||
	    (rp[0] & 0x80) || (sp[0] & 0x80))
		goto out;
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (br = BN_bin2bn(rp, (int)rlen, NULL)) == NULL ||
	    (bs = BN_bin2bn(sp, (int)slen, NULL)) == NULL ||
	    ECDSA_SIG_set0(es, br, bs) != 1)
		goto out;
	br = bs = NULL;
	if ((*derlen = i2d_ECDSA_SIG(es, der)) <= 0)
		goto out;
	r = 0;
 out:
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return r;
}

/* Check a SIGN_RESPONSE: the algorithm asked for, a valid signature. */
static int
verify_reply(enum kind k, const struct buf *req, const struct buf *resp,
    char *err, size_t errlen)
{
	struct rd	 rd, in;
	EVP_MD_CTX	*mctx = NULL;
	const uint8_t	*sig, *alg, *body, *data, *s;
	size_t		 siglen, alglen, bodylen, datalen, slen;
	uint8_t		*der = NULL;
	const char	*md;
	int		 derlen = 0, r = -1;

	if (resp->d[0] != AGENT_SIGN_RESPONSE) {
		snprintf(err, errlen, "%s: the agent answered type %u%s",
		    kind_names[k], resp->d[0], resp->d[0] == AGENT_FAILURE ?
		    " (SSH_AGENT_FAILURE)" : "");
		goto out;
	}
	rd.p = resp->d + 1;
	rd.left = resp->len - 1;
	if (rd_string(&rd, &sig, &siglen) != 0 || rd.left != 0) {
		snprintf(err, errlen, "%s: malformed SIGN_RESPONSE",
		    kind_names[k]);
		goto out;
	}
	in.p = sig;
	in.left = siglen;
	if (rd_string(&in, &alg, &alglen) != 0 ||
	    rd_string(&in, &body, &bodylen) != 0 || in.left != 0) {
		snprintf(err, errlen, "%s: malformed signature blob",
		    kind_names[k]);
		goto out;
	}
	if (!bytes_eq(alg, alglen, kind_names[k])) {
		snprintf(err, errlen, "%s: the signature has another "
		    "algorithm", kind_names[k]);
		goto out;
	}
	/* The signed data, back out of our own request. */
	rd.p = req->d + 5;
	rd.left = req->len - 5;
	if (rd_string(&rd, &data, &datalen) != 0 ||
	    rd_string(&rd, &data, &datalen) != 0) {
		snprintf(err, errlen, "internal: cannot reparse the request");
		goto out;
	}
	s = body;
	slen = bodylen;
	md = k == K_RSA512 ? "SHA512" : k == K_ED25519 ? NULL : "SHA256";
	if (k == K_EC256) {
		if (ecdsa_der(body, bodylen, &der, &derlen) != 0) {
			snprintf(err, errlen, "%s: malformed r, s",
			    kind_names[k]);
			goto out;
		}
		s = der;
		slen = (size_t)derlen;
	} else if ((k == K_RSA256 || k == K_RSA512) &&
	    bodylen != (size_t)EVP_PKEY_get_size(keys[k].pk)) {
		snprintf(err, errlen, "%s: signature of %zu bytes for a "
		    "%d-byte modulus", kind_names[k], bodylen,
		    EVP_PKEY_get_size(keys[k].pk));
		goto out;
	} else if (k == K_ED25519 && bodylen != 64) {
		snprintf(err, errlen, "%s: signature of %zu bytes",
		    kind_names[k], bodylen);
		goto out;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(mctx, NULL, md, NULL, NULL, keys[k].pk,
	    NULL) != 1) {
		snprintf(err, errlen, "internal: OpenSSL verify setup failed");
		goto out;
	}
	if (EVP_DigestVerify(mctx, s, slen, data, datalen) != 1) {
		snprintf(err, errlen, "%s: the signature does not verify",
		    kind_names[k]);
		goto out;
	}
	r = 0;
 out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(mctx);
	return r;
}

/* ---------------------------------------------------------- workers */

static void
worker_fail(struct worker *w, const char *err)
{
	if (w->failed++ == 0)
		snprintf(w->error, sizeof(w->error), "%s", err);
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	struct buf	 req = { NULL, 0, 0 }, resp = { NULL, 0, 0 };
	struct buf	 lreq = { NULL, 0, 0 };
	char		 err[sizeof(w->error)];
	unsigned long	 i;
	enum kind	 k;
	int		 fd = -1;

	if (buf_put_u32(&lreq, 1) != 0 ||
	    buf_put_u8(&lreq, AGENTC_REQUEST_IDENTITIES) != 0) {
		worker_fail(w, "out of memory");
		goto out;
	}
	for (i = 0; i < nsigs; i++) {
		if (fd >= 0 && i % RECONNECT_EVERY == 0) {
			close(fd);
			fd = -1;
		}
		if (fd < 0 && (fd = agent_connect(IO_TIMEOUT_SECS)) < 0) {
			snprintf(err, sizeof(err), "cannot connect: %s",
			    strerror(errno));
			worker_fail(w, err);
			continue;
		}
		if (i % LIST_EVERY == LIST_EVERY - 1) {
			if (transact(fd, &lreq, &resp, err, sizeof(err)) != 0)
				goto lost;
			if (resp.d[0] != AGENT_IDENTITIES_ANSWER) {
				snprintf(err, sizeof(err), "listing answered "
				    "with type %u", resp.d[0]);
				worker_fail(w, err);
			} else
				w->lists++;
		}
		k = (enum kind)((i + w->index) % NKINDS);
		if (build_sign(&req, k, &w->rng) != 0) {
			worker_fail(w, "out of memory");
			continue;
		}
		if (transact(fd, &req, &resp, err, sizeof(err)) != 0)
			goto lost;
		if (verify_reply(k, &req, &resp, err, sizeof(err)) != 0)
			worker_fail(w, err);
		else
			w->ok++;
		continue;
 lost:
		/* The stream is gone: count it and start a new one. */
		worker_fail(w, err);
		close(fd);
		fd = -1;
	}
 out:
	if (fd >= 0)
		close(fd);
	free(req.d);
	free(resp.d);
	free(lreq.d);
	return NULL;
}

/* ---------------------------------------------------------- hostile */

static void
unexpected(struct hostile_thr *h, enum hostile kind, const char *what)
{
	if (h->unexpected++ == 0)
		snprintf(h->error, sizeof(h->error), "%s: %s",
		    hostile_names[kind], what);
}

/* The agent must close this connection: EOF or a reset, no reply. */
static void
expect_close(struct hostile_thr *h, enum hostile kind, int fd)
{
	uint8_t	c;
	ssize_t	n;

	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	if (n > 0)
		unexpected(h, kind, "the agent answered instead of closing");
	else if (n < 0 && errno != ECONNRESET)
		unexpected(h, kind, errno == EAGAIN ? "the agent neither "
		    "answered nor closed" : strerror(errno));
}

/*
 * After garbage the agent answers a failure and carries on, or closes the
 * connection; one it keeps must still answer a listing.
 */
static void
expect_failure_or_close(struct hostile_thr *h, enum hostile kind, int fd)
{
	struct buf	 resp = { NULL, 0, 0 }, lreq = { NULL, 0, 0 };
	char		 err[160];

	if (read_frame(fd, &resp, err, sizeof(err)) != 0) {
		if (errno != 0 && errno != ECONNRESET)
			unexpected(h, kind, err);
		goto out;
	}
	if (resp.d[0] != AGENT_FAILURE &&
	    resp.d[0] != AGENT_EXTENSION_FAILURE) {
		snprintf(err, sizeof(err), "garbage answered with type %u",
		    resp.d[0]);
		unexpected(h, kind, err);
		goto out;
	}
	if (buf_put_u32(&lreq, 1) != 0 ||
	    buf_put_u8(&lreq, AGENTC_REQUEST_IDENTITIES) != 0)
		goto out;
	if (transact(fd, &lreq, &resp, err, sizeof(err)) != 0)
		unexpected(h, kind, "the connection it kept lost its listing");
	else if (resp.d[0] != AGENT_IDENTITIES_ANSWER)
		unexpected(h, kind, "the connection it kept cannot list");
 out:
	free(resp.d);
	free(lreq.d);
}

/* Types that change nothing whatever their payload (no remove/lock). */
static const uint8_t garbage_types[] = {
	AGENTC_REQUEST_IDENTITIES, AGENTC_SIGN_REQUEST, AGENTC_ADD_IDENTITY,
	AGENTC_ADD_ID_CONSTRAINED, AGENTC_EXTENSION
};

static uint8_t
unknown_type(uint64_t *rng)
{
	static const uint8_t known[] = { 5, 6, 11, 12, 13, 14, 17, 18, 19, 20,
	    21, 22, 23, 25, 26, 27, 28, 29 };
	uint8_t	t;
	size_t	i;

 again:
	t = (uint8_t)(rnd(rng) >> 56);
	for (i = 0; i < sizeof(known); i++)
		if (t == known[i])
			goto again;
	return t;
}

static void
hostile_one(struct hostile_thr *h, enum hostile kind, int *held,
    size_t *nheld)
{
	static const struct linger rst = { 1, 0 };
	struct buf	 req = { NULL, 0, 0 };
	uint8_t		 junk[2048];
	char		 err[160];
	uint32_t	 len;
	size_t		 n, i;
	int		 fd;

	if ((fd = agent_connect(HOSTILE_TIMEOUT_SECS)) < 0) {
		unexpected(h, kind, "cannot connect");
		return;
	}
	h->tried[kind]++;
	rnd_bytes(&h->rng, junk, sizeof(junk));
	switch (kind) {
	case H_OVERSIZE:
		/* just over the limit, or anything up to 4 GiB */
		len = rnd(&h->rng) & 1 ? MAX_FRAME + 1 :
		    (uint32_t)(rnd(&h->rng) >> 32) | 0x01000000;
		put_u32_at(junk, len);
		if (write_all(fd, junk, 64) == 0)
			expect_close(h, kind, fd);
		break;
	case H_ZERO:
		put_u32_at(junk, 0);
		if (write_all(fd, junk, 4) == 0)
			expect_close(h, kind, fd);
		break;
	case H_TRUNCATED:
		/* a frame promised, half of it sent, gone */
		len = 8 + (uint32_t)(rnd(&h->rng) % (sizeof(junk) - 8));
		put_u32_at(junk, len);
		junk[4] = AGENTC_SIGN_REQUEST;
		(void)write_all(fd, junk, 4 + len / 2);
		break;
	case H_BADTYPE:
		n = rnd(&h->rng) % 64;
		put_u32_at(junk, (uint32_t)(n + 1));
		junk[4] = unknown_type(&h->rng);
		if (write_all(fd, junk, 5 + n) == 0)
			expect_failure_or_close(h, kind, fd);
		break;
	case H_GARBAGE:
		n = 1 + rnd(&h->rng) % (sizeof(junk) - 5);
		put_u32_at(junk, (uint32_t)(n + 1));
		junk[4] = garbage_types[rnd(&h->rng) % sizeof(garbage_types)];
		if (write_all(fd, junk, 5 + n) == 0)
			expect_failure_or_close(h, kind, fd);
		break;
	case H_SIGN_CLOSE:
		/* one to three requests, gone before any reply */
		n = 1 + rnd(&h->rng) % 3;
		for (i = 0; i < n; i++)
			if (build_sign(&req, (enum kind)(rnd(&h->rng) %
			    NKINDS), &h->rng) != 0 ||
			    write_all(fd, req.d, req.len) != 0)
				break;
		if (rnd(&h->rng) & 1)
			(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst,
			    sizeof(rst));
		break;
	case H_DRIBBLE:
		/* a valid listing, one byte per write: must be answered */
		put_u32_at(junk, 1);
		junk[4] = AGENTC_REQUEST_IDENTITIES;
		for (i = 0; i < 5; i++)
			if (write_all(fd, junk + i, 1) != 0)
				break;
		if (i == 5 && read_frame(fd, &req, err, sizeof(err)) != 0)
			unexpected(h, kind, err);
		else if (i == 5 && req.d[0] != AGENT_IDENTITIES_ANSWER)
			unexpected(h, kind, "dribbled listing not answered");
		break;
	case H_HANG:
		/* half a frame (or half a header), left open for a while */
		n = rnd(&h->rng) & 1 ? 2 : 4 + 1 + rnd(&h->rng) % 100;
		put_u32_at(junk, 200);
		junk[4] = AGENTC_SIGN_REQUEST;
		if (write_all(fd, junk, n) != 0)
			break;
		if (*nheld == HANG_HELD) {
			close(held[0]);
			memmove(held, held + 1,
			    (HANG_HELD - 1) * sizeof(*held));
			(*nheld)--;
		}
		held[(*nheld)++] = fd;
		fd = -1;
		break;
	case NHOSTILE:
		break;
	}
	if (fd >= 0)
		close(fd);
	free(req.d);
}

static int
done(void)
{
	int	d;

	pthread_mutex_lock(&done_mu);
	d = workers_done;
	pthread_mutex_unlock(&done_mu);
	return d;
}

static void *
hostile_main(void *arg)
{
	struct hostile_thr	*h = arg;
	int			 held[HANG_HELD];
	size_t			 nheld = 0, i;
	unsigned long		 round = 0;

	while (!done()) {
		while (!(hostile_mask & 1U << (round % NHOSTILE)))
			round++;
		hostile_one(h, (enum hostile)(round++ % NHOSTILE), held,
		    &nheld);
		if (interval_ms > 0)
			sleep_ms(interval_ms);
	}
	for (i = 0; i < nheld; i++)
		close(held[i]);
	return NULL;
}

/* ------------------------------------------------------------- main */

/* "-k sign_close,hang": the hostile kinds to run. */
static int
parse_kinds(char *s)
{
	char	*tok, *save = NULL;
	int	 k;

	hostile_mask = 0;
	for (tok = strtok_r(s, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < NHOSTILE; k++)
			if (strcmp(tok, hostile_names[k]) == 0)
				break;
		if (k == NHOSTILE) {
			fprintf(stderr, "agent-load: -k %s: not a hostile "
			    "kind\n", tok);
			return -1;
		}
		hostile_mask |= 1U << k;
	}
	if (hostile_mask == 0) {
		fprintf(stderr, "agent-load: -k names no kind\n");
		return -1;
	}
	return 0;
}

static int
parse_num(const char *what, const char *s, unsigned long min,
    unsigned long max, unsigned long *out)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < min ||
	    v > max) {
		fprintf(stderr, "agent-load: %s %s: want a number in "
		    "%lu..%lu\n", what, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct worker	 w[MAX_CLIENTS];
	static struct hostile_thr h[MAX_HOSTILE];
	struct sockaddr_un	 sun;
	struct buf		 lreq = { NULL, 0, 0 }, resp = { NULL, 0, 0 };
	unsigned long		 nclients = 8, nhostile = 2, v, nids = 0;
	unsigned long		 ok = 0, failed = 0, lists = 0, hunexp = 0;
	unsigned long		 tried[NHOSTILE], htotal = 0;
	unsigned int		 i, nw = 0, nh = 0;
	uint64_t		 t0, t1;
	char			 err[160];
	int			 ch, fd = -1, k, ret = 2;

	memset(tried, 0, sizeof(tried));
	/* A closed connection must be an error to count, not a kill. */
	(void)signal(SIGPIPE, SIG_IGN);
	sock_path = getenv("SSH_AUTH_SOCK");
	while ((ch = getopt(argc, argv, "a:c:H:i:k:n:")) != -1) {
		switch (ch) {
		case 'a':
			sock_path = optarg;
			break;
		case 'c':
			if (parse_num("-c", optarg, 1, MAX_CLIENTS,
			    &nclients) != 0)
				goto out;
			break;
		case 'H':
			if (parse_num("-H", optarg, 0, MAX_HOSTILE,
			    &nhostile) != 0)
				goto out;
			break;
		case 'i':
			if (parse_num("-i", optarg, 0, 10000, &v) != 0)
				goto out;
			interval_ms = (unsigned int)v;
			break;
		case 'k':
			if (parse_kinds(optarg) != 0)
				goto out;
			break;
		case 'n':
			if (parse_num("-n", optarg, 1, 100000000, &nsigs) != 0)
				goto out;
			break;
		default:
			usage();
			goto out;
		}
	}
	if (optind != argc) {
		usage();
		goto out;
	}
	if (sock_path == NULL || *sock_path == '\0' ||
	    strlen(sock_path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "agent-load: no usable agent socket (-a or "
		    "SSH_AUTH_SOCK)\n");
		goto out;
	}

	if ((fd = agent_connect(IO_TIMEOUT_SECS)) < 0) {
		fprintf(stderr, "agent-load: cannot connect to %s: %s\n",
		    sock_path, strerror(errno));
		goto out;
	}
	if (buf_put_u32(&lreq, 1) != 0 ||
	    buf_put_u8(&lreq, AGENTC_REQUEST_IDENTITIES) != 0 ||
	    transact(fd, &lreq, &resp, err, sizeof(err)) != 0) {
		fprintf(stderr, "agent-load: listing: %s\n", err);
		goto out;
	}
	if (pick_keys(&resp, &nids) != 0) {
		fprintf(stderr, "agent-load: malformed IDENTITIES_ANSWER\n");
		goto out;
	}
	for (k = 0; k < NKINDS; k++)
		if (keys[k].pk == NULL) {
			fprintf(stderr, "agent-load: the agent lists no %s "
			    "key (it lists %lu)\n", kind_names[k], nids);
			goto out;
		}
	close(fd);
	fd = -1;

	t0 = now_ns();
	for (i = 0; i < nclients; i++) {
		w[i].index = i;
		w[i].rng = 0x9e3779b97f4a7c15ULL * (i + 1);
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0)
			break;
		nw++;
	}
	for (i = 0; i < nhostile && nw == nclients; i++) {
		h[i].rng = 0xc2b2ae3d27d4eb4fULL * (i + 7);
		if (pthread_create(&h[i].tid, NULL, hostile_main, &h[i]) != 0)
			break;
		nh++;
	}
	for (i = 0; i < nw; i++) {
		pthread_join(w[i].tid, NULL);
		ok += w[i].ok;
		failed += w[i].failed;
		lists += w[i].lists;
		if (w[i].failed > 0)
			fprintf(stderr, "agent-load: client %u: %lu failed, "
			    "first: %s\n", i, w[i].failed, w[i].error);
	}
	t1 = now_ns();
	pthread_mutex_lock(&done_mu);
	workers_done = 1;
	pthread_mutex_unlock(&done_mu);
	for (i = 0; i < nh; i++) {
		pthread_join(h[i].tid, NULL);
		for (k = 0; k < NHOSTILE; k++) {
			tried[k] += h[i].tried[k];
			htotal += h[i].tried[k];
		}
		hunexp += h[i].unexpected;
		if (h[i].unexpected > 0)
			fprintf(stderr, "agent-load: hostile %u: %lu "
			    "unexpected, first: %s\n", i, h[i].unexpected,
			    h[i].error);
	}
	if (nw != nclients || nh != nhostile) {
		fprintf(stderr, "agent-load: cannot start threads\n");
		goto out;
	}

	printf("agent-load: clients=%lu sigs=%lu ok=%lu failed=%lu "
	    "lists=%lu secs=%.2f sigs_per_s=%.1f hostile=%lu "
	    "hostile_unexpected=%lu\n", nclients, nclients * nsigs, ok,
	    failed, lists, (double)(t1 - t0) / 1e9,
	    t1 > t0 ? (double)ok * 1e9 / (double)(t1 - t0) : 0.0, htotal,
	    hunexp);
	printf("agent-load: hostile");
	for (k = 0; k < NHOSTILE; k++)
		printf(" %s=%lu", hostile_names[k], tried[k]);
	printf("\n");
	ret = failed == 0 && ok == nclients * nsigs && hunexp == 0 ? 0 : 1;
 out:
	if (fd >= 0)
		close(fd);
	for (k = 0; k < NKINDS; k++) {
		free(keys[k].blob);
		EVP_PKEY_free(keys[k].pk);
	}
	free(lreq.d);
	free(resp.d);
	return ret;
}
