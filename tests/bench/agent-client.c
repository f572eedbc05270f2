/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * agent-client: time an SSH agent from the client side.
 *
 *   sign MATCH...  pick the first identity (from REQUEST_IDENTITIES) whose
 *                  key type or comment equals a MATCH, or whose comment
 *                  contains it, trying the MATCHes in order; then send
 *                  SIGN_REQUEST over C connections, one thread each, and
 *                  check that every answer is SIGN_RESPONSE carrying a
 *                  signature of the expected algorithm.
 *   list           time REQUEST_IDENTITIES.
 *
 * Prints requests/s, p50, p99, p99.9 and maximum latency in microseconds
 * and failures.
 * The signed data is shaped like a real publickey userauth request, so an
 * agent that inspects it sees what ssh would send.  One untimed request
 * per connection warms up (the first signature may ask for a PIN).
 *
 * usage: agent-client [-a socket] [-c connections] [-n count]
 *            [-d seconds] [-f flags] sign match ... | list
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
#include <unistd.h>

#include "bench-util.h"

#define MAX_CONNS		256
#define AGENT_MAX_FRAME		(256 * 1024)	/* OpenSSH's AGENT_MAX_LEN */
#define IO_TIMEOUT_SECS		30

#define AGENTC_REQUEST_IDENTITIES	11
#define AGENT_IDENTITIES_ANSWER		12
#define AGENTC_SIGN_REQUEST		13
#define AGENT_SIGN_RESPONSE		14
#define AGENT_FAILURE			5
#define SSH_AGENT_RSA_SHA2_256		2
#define SSH_AGENT_RSA_SHA2_512		4
#define SSH2_MSG_USERAUTH_REQUEST	50

struct buf {
	unsigned char	*d;
	size_t		 len;
	size_t		 cap;
};

/* A bounded reader over received bytes. */
struct rd {
	const unsigned char	*p;
	size_t			 left;
};

struct ident {
	const unsigned char	*blob;
	size_t			 bloblen;
	const unsigned char	*type;	/* inside blob */
	size_t			 typelen;
	const unsigned char	*comment;
	size_t			 commentlen;
};

struct job {
	const char		*sock;
	int			 sign;
	struct buf		 req;		/* framed request template */
	size_t			 nonce_off;	/* session id bytes to vary */
	unsigned char		 want_type;
	char			 want_alg[64];	/* "" = do not check */
	uint64_t		 quota;		/* requests per connection */
	uint64_t		 deadline;	/* ns; 0 = none */
	pthread_barrier_t	 start;
};

struct conn {
	struct job	*job;
	pthread_t	 tid;
	unsigned int	 index;
	int		 fd;
	struct buf	 req;
	struct buf	 resp;
	struct lat_vec	 lat;
	uint64_t	 failures;
	uint64_t	 end_ns;
	char		 error[160];	/* first failure, for the report */
};

static void
usage(void)
{
	fprintf(stderr, "usage: agent-client [-a socket] [-c connections] "
	    "[-n count] [-d seconds] [-f flags]\n"
	    "                    sign match ... | list\n");
}

static int
buf_reserve(struct buf *b, size_t more)
{
	unsigned char *nd;
	size_t ncap;
	int r = -1;

	if (more > AGENT_MAX_FRAME * 2 || b->len > AGENT_MAX_FRAME * 2)
		goto out;
	if (b->len + more > b->cap) {
		ncap = b->cap == 0 ? 256 : b->cap;
		while (ncap < b->len + more)
			ncap *= 2;
		if ((nd = realloc(b->d, ncap)) == NULL)
			goto out;
		b->d = nd;
		b->cap = ncap;
	}
	r = 0;
 out:
	return r;
}

static void
put_u32_at(unsigned char *p, uint32_t v)
{
	p[0] = (v >> 24) & 0xff;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static int
buf_put(struct buf *b, const void *p, size_t n)
{
	int r = -1;

	if (buf_reserve(b, n) != 0)
		goto out;
	if (n > 0)
		memcpy(b->d + b->len, p, n);
	b->len += n;
	r = 0;
 out:
	return r;
}

static int
buf_put_u32(struct buf *b, uint32_t v)
{
	unsigned char p[4];

	put_u32_at(p, v);
	return buf_put(b, p, sizeof(p));
}

static int
buf_put_u8(struct buf *b, unsigned char v)
{
	return buf_put(b, &v, 1);
}

static int
buf_put_string(struct buf *b, const void *p, size_t n)
{
	int r = -1;

	if (n > UINT32_MAX || buf_put_u32(b, (uint32_t)n) != 0 ||
	    buf_put(b, p, n) != 0)
		goto out;
	r = 0;
 out:
	return r;
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
rd_string(struct rd *r, const unsigned char **p, size_t *n)
{
	uint32_t len;

	if (rd_u32(r, &len) != 0 || len > r->left)
		return -1;
	*p = r->p;
	*n = len;
	r->p += len;
	r->left -= len;
	return 0;
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
	ssize_t w;
	int r = -1;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		p += w;
		n -= (size_t)w;
	}
	r = 0;
 out:
	return r;
}

/* Returns 0, or -1 with errno set (0 for end of file). */
static int
read_all(int fd, unsigned char *p, size_t n)
{
	ssize_t got;
	int r = -1;

	while (n > 0) {
		if ((got = read(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (got == 0) {
			errno = 0;
			goto out;
		}
		p += got;
		n -= (size_t)got;
	}
	r = 0;
 out:
	return r;
}

static int
agent_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct timeval tv = { IO_TIMEOUT_SECS, 0 };
	int fd = -1, r = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path longer than %zu bytes",
		    sizeof(sun.sun_path) - 1);
		goto out;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto out;
	}
	/* A hung agent must end the benchmark, not freeze it. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", path,
		    strerror(errno));
		goto out;
	}
	r = fd;
	fd = -1;
 out:
	if (fd != -1)
		close(fd);
	return r;
}

/*
 * Send one framed request and read one framed answer into resp (type byte
 * first).  Returns 0, or -1 with a reason in err.
 */
static int
transact(int fd, const struct buf *req, struct buf *resp, char *err,
    size_t errlen)
{
	unsigned char hdr[4];
	uint32_t len;
	int r = -1;

	resp->len = 0;
	if (write_all(fd, req->d, req->len) != 0) {
		snprintf(err, errlen, "write to agent: %s", strerror(errno));
		goto out;
	}
	if (read_all(fd, hdr, sizeof(hdr)) != 0) {
		snprintf(err, errlen, "read from agent: %s", errno == 0 ?
		    "agent closed the connection" : errno == EAGAIN ?
		    "no answer within timeout" : strerror(errno));
		goto out;
	}
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > AGENT_MAX_FRAME) {
		snprintf(err, errlen, "agent sent a frame of %lu bytes "
		    "(OpenSSH accepts 1..%d)", (unsigned long)len,
		    AGENT_MAX_FRAME);
		goto out;
	}
	if (buf_reserve(resp, len) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (read_all(fd, resp->d, len) != 0) {
		snprintf(err, errlen, "read from agent: %s", errno == 0 ?
		    "agent closed the connection mid-frame" : strerror(errno));
		goto out;
	}
	resp->len = len;
	r = 0;
 out:
	return r;
}

/* Check an answer: its type, and for signatures the algorithm name. */
static int
check_answer(const struct job *job, const struct buf *resp, char *err,
    size_t errlen)
{
	struct rd rd, in;
	const unsigned char *sig, *alg, *blob;
	size_t siglen, alglen, bloblen;
	int r = -1;

	if (resp->d[0] != job->want_type) {
		snprintf(err, errlen, "agent answered type %u, not %u%s",
		    resp->d[0], job->want_type, resp->d[0] == AGENT_FAILURE ?
		    " (SSH_AGENT_FAILURE)" : "");
		goto out;
	}
	if (!job->sign) {
		r = 0;
		goto out;
	}
	rd.p = resp->d + 1;
	rd.left = resp->len - 1;
	if (rd_string(&rd, &sig, &siglen) != 0 || rd.left != 0) {
		snprintf(err, errlen, "malformed SIGN_RESPONSE");
		goto out;
	}
	in.p = sig;
	in.left = siglen;
	if (rd_string(&in, &alg, &alglen) != 0 ||
	    rd_string(&in, &blob, &bloblen) != 0 || in.left != 0 ||
	    bloblen == 0) {
		snprintf(err, errlen, "malformed signature blob");
		goto out;
	}
	if (job->want_alg[0] != '\0' && (alglen != strlen(job->want_alg) ||
	    memcmp(alg, job->want_alg, alglen) != 0)) {
		snprintf(err, errlen, "signature algorithm is not %s",
		    job->want_alg);
		goto out;
	}
	r = 0;
 out:
	return r;
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	struct job *job = c->job;
	char err[sizeof(c->error)];
	uint64_t i, t0, t1;
	int warm, ok;

	c->fd = agent_connect(job->sock, err, sizeof(err));
	if (c->fd < 0 || buf_put(&c->req, job->req.d, job->req.len) != 0) {
		snprintf(c->error, sizeof(c->error), "%s", c->fd < 0 ? err :
		    "out of memory");
		c->failures++;
	}
	(void)pthread_barrier_wait(&job->start);
	for (i = 0, warm = 1; c->fd >= 0; warm = 0) {
		if (!warm && i >= job->quota)
			break;
		if (job->sign) {
			/* A fresh "session id" for every signature. */
			c->req.d[job->nonce_off] = (unsigned char)c->index;
			memcpy(c->req.d + job->nonce_off + 1, &i, sizeof(i));
		}
		t0 = bench_now_ns();
		if (!warm && job->deadline != 0 && t0 >= job->deadline)
			break;
		ok = transact(c->fd, &c->req, &c->resp, err, sizeof(err)) == 0;
		t1 = bench_now_ns();
		if (ok)
			ok = check_answer(job, &c->resp, err, sizeof(err)) == 0;
		if (!warm)
			i++;
		if (!ok) {
			if (c->failures++ == 0)
				snprintf(c->error, sizeof(c->error), "%s", err);
			if (c->resp.len == 0) {
				/* The stream is lost; stop this connection. */
				close(c->fd);
				c->fd = -1;
			}
			continue;
		}
		if (!warm && lat_push(&c->lat, t1 - t0) != 0) {
			snprintf(c->error, sizeof(c->error), "out of memory");
			c->failures++;
			break;
		}
	}
	c->end_ns = bench_now_ns();
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	return NULL;
}

/* Parse IDENTITIES_ANSWER into ids (pointing into resp). */
static int
parse_identities(const struct buf *resp, struct ident **out, size_t *nout)
{
	struct ident *ids = NULL;
	struct rd rd, in;
	uint32_t n, i;
	int r = -1;

	if (resp->len < 1 || resp->d[0] != AGENT_IDENTITIES_ANSWER) {
		fprintf(stderr, "agent-client: REQUEST_IDENTITIES answered "
		    "with type %u\n", resp->len < 1 ? 0 : resp->d[0]);
		goto out;
	}
	rd.p = resp->d + 1;
	rd.left = resp->len - 1;
	/* Each identity takes at least 8 bytes: bound n by the frame. */
	if (rd_u32(&rd, &n) != 0 || n > rd.left / 8) {
		fprintf(stderr, "agent-client: malformed IDENTITIES_ANSWER\n");
		goto out;
	}
	if (n > 0 && (ids = calloc(n, sizeof(*ids))) == NULL) {
		fprintf(stderr, "agent-client: out of memory\n");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (rd_string(&rd, &ids[i].blob, &ids[i].bloblen) != 0 ||
		    rd_string(&rd, &ids[i].comment, &ids[i].commentlen) != 0) {
			fprintf(stderr, "agent-client: malformed identity "
			    "%lu in IDENTITIES_ANSWER\n", (unsigned long)i);
			goto out;
		}
		in.p = ids[i].blob;
		in.left = ids[i].bloblen;
		if (rd_string(&in, &ids[i].type, &ids[i].typelen) != 0) {
			fprintf(stderr, "agent-client: identity %lu has a "
			    "malformed key blob\n", (unsigned long)i);
			goto out;
		}
	}
	if (rd.left != 0) {
		fprintf(stderr, "agent-client: %zu trailing bytes after "
		    "IDENTITIES_ANSWER\n", rd.left);
		goto out;
	}
	*out = ids;
	*nout = n;
	ids = NULL;
	r = 0;
 out:
	free(ids);
	return r;
}

static int
bytes_eq(const unsigned char *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

static int
bytes_contain(const unsigned char *p, size_t n, const char *s)
{
	size_t i, k = strlen(s);

	for (i = 0; k <= n && i <= n - k; i++)
		if (memcmp(p + i, s, k) == 0)
			return 1;
	return 0;
}

static const struct ident *
pick_identity(const struct ident *ids, size_t n, char **match, int nmatch)
{
	const struct ident *found = NULL;
	size_t i;
	int j;

	for (j = 0; j < nmatch && found == NULL; j++)
		for (i = 0; i < n && found == NULL; i++)
			if (bytes_eq(ids[i].type, ids[i].typelen, match[j]) ||
			    bytes_eq(ids[i].comment, ids[i].commentlen,
			    match[j]) || bytes_contain(ids[i].comment,
			    ids[i].commentlen, match[j]))
				found = &ids[i];
	return found;
}

/* Token and agent strings are untrusted: print them tamed. */
static void
print_tame(FILE *fp, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < 200; i++)
		fputc(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?', fp);
}

/*
 * Frame a SIGN_REQUEST whose data looks like ssh's publickey userauth
 * request; nonce_off marks the session id bytes varied per request.
 */
static int
build_sign_request(struct job *job, const struct ident *id,
    unsigned long flags)
{
	struct buf data = { NULL, 0, 0 };
	unsigned char sid[32];
	const char *alg;
	size_t sid_off;
	int r = -1;

	memset(sid, 0xa5, sizeof(sid));
	if (bytes_eq(id->type, id->typelen, "ssh-rsa"))
		alg = flags & SSH_AGENT_RSA_SHA2_512 ? "rsa-sha2-512" :
		    flags & SSH_AGENT_RSA_SHA2_256 ? "rsa-sha2-256" : "ssh-rsa";
	else if (id->typelen < sizeof(job->want_alg) &&
	    (bytes_eq(id->type, id->typelen, "ssh-ed25519") ||
	    bytes_contain(id->type, id->typelen, "ecdsa-sha2-nistp")) &&
	    !bytes_contain(id->type, id->typelen, "-cert-"))
		alg = NULL;	/* the key type itself */
	else
		alg = "";	/* certificates etc.: not checked */
	if (alg == NULL) {
		memcpy(job->want_alg, id->type, id->typelen);
		job->want_alg[id->typelen] = '\0';
	} else
		snprintf(job->want_alg, sizeof(job->want_alg), "%s", alg);

	if (buf_put_string(&data, sid, sizeof(sid)) != 0 ||
	    buf_put_u8(&data, SSH2_MSG_USERAUTH_REQUEST) != 0 ||
	    buf_put_string(&data, "bench", 5) != 0 ||
	    buf_put_string(&data, "ssh-connection", 14) != 0 ||
	    buf_put_string(&data, "publickey", 9) != 0 ||
	    buf_put_u8(&data, 1) != 0 ||
	    buf_put_string(&data, job->want_alg[0] != '\0' ? job->want_alg :
	    "", job->want_alg[0] != '\0' ? strlen(job->want_alg) : 0) != 0 ||
	    buf_put_string(&data, id->blob, id->bloblen) != 0)
		goto nomem;
	job->req.len = 0;
	if (buf_put_u32(&job->req, 0) != 0 ||
	    buf_put_u8(&job->req, AGENTC_SIGN_REQUEST) != 0 ||
	    buf_put_string(&job->req, id->blob, id->bloblen) != 0)
		goto nomem;
	/* frame length + type + blob + data length + sid length */
	sid_off = job->req.len + 4 + 4;
	if (buf_put_string(&job->req, data.d, data.len) != 0 ||
	    buf_put_u32(&job->req, (uint32_t)flags) != 0)
		goto nomem;
	if (job->req.len - 4 > AGENT_MAX_FRAME) {
		fprintf(stderr, "agent-client: key blob too large\n");
		goto out;
	}
	put_u32_at(job->req.d, (uint32_t)(job->req.len - 4));
	job->nonce_off = sid_off;
	job->want_type = AGENT_SIGN_RESPONSE;
	r = 0;
	goto out;
 nomem:
	fprintf(stderr, "agent-client: out of memory\n");
 out:
	free(data.d);
	return r;
}

int
main(int argc, char **argv)
{
	static struct conn conns[MAX_CONNS];
	struct job job;
	struct buf lreq = { NULL, 0, 0 }, lresp = { NULL, 0, 0 };
	struct ident *ids = NULL;
	const struct ident *id = NULL;
	struct lat_vec all = { NULL, 0, 0 };
	struct lat_stats st;
	unsigned long long count = 0, nconns = 1, flags = 0;
	unsigned long long failures = 0;
	size_t nids = 0;
	double secs = 0;
	char err[160];
	uint64_t t0, tend = 0;
	unsigned int i, started = 0;
	int ch, fd = -1, have_flags = 0, barrier = 0, ret = 1;

	memset(&job, 0, sizeof(job));
	/* A dead agent must give an error message, not kill us. */
	(void)signal(SIGPIPE, SIG_IGN);
	job.sock = getenv("SSH_AUTH_SOCK");
	while ((ch = getopt(argc, argv, "a:c:d:f:n:")) != -1) {
		switch (ch) {
		case 'a':
			job.sock = optarg;
			break;
		case 'c':
			if (bench_parse_ull("agent-client: -c", optarg, 1,
			    MAX_CONNS, &nconns) != 0)
				goto out;
			break;
		case 'd':
			if (bench_parse_secs("agent-client: -d", optarg,
			    &secs) != 0)
				goto out;
			break;
		case 'f':
			if (bench_parse_ull("agent-client: -f", optarg, 0,
			    UINT32_MAX, &flags) != 0)
				goto out;
			have_flags = 1;
			break;
		case 'n':
			if (bench_parse_ull("agent-client: -n", optarg, 1,
			    UINT32_MAX, &count) != 0)
				goto out;
			break;
		default:
			usage();
			goto out;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || (strcmp(argv[0], "sign") == 0 && argc < 2) ||
	    (strcmp(argv[0], "list") == 0 && argc != 1) ||
	    (strcmp(argv[0], "sign") != 0 && strcmp(argv[0], "list") != 0)) {
		usage();
		goto out;
	}
	if (job.sock == NULL || *job.sock == '\0') {
		fprintf(stderr, "agent-client: no agent: SSH_AUTH_SOCK is not "
		    "set and no -a given\n");
		goto out;
	}
	job.sign = strcmp(argv[0], "sign") == 0;
	if (count == 0 && secs == 0)
		count = 1000;

	if ((fd = agent_connect(job.sock, err, sizeof(err))) < 0) {
		fprintf(stderr, "agent-client: %s\n", err);
		goto out;
	}
	if (buf_put_u32(&lreq, 1) != 0 ||
	    buf_put_u8(&lreq, AGENTC_REQUEST_IDENTITIES) != 0) {
		fprintf(stderr, "agent-client: out of memory\n");
		goto out;
	}
	if (transact(fd, &lreq, &lresp, err, sizeof(err)) != 0) {
		fprintf(stderr, "agent-client: REQUEST_IDENTITIES: %s\n", err);
		goto out;
	}
	if (parse_identities(&lresp, &ids, &nids) != 0)
		goto out;
	if (job.sign) {
		if ((id = pick_identity(ids, nids, argv + 1, argc - 1)) ==
		    NULL) {
			fprintf(stderr, "agent-client: none of the agent's "
			    "%zu identities matches\n", nids);
			goto out;
		}
		if (!have_flags && bytes_eq(id->type, id->typelen, "ssh-rsa"))
			flags = SSH_AGENT_RSA_SHA2_256;
		if (build_sign_request(&job, id, (unsigned long)flags) != 0)
			goto out;
		fprintf(stderr, "agent-client: signing with ");
		print_tame(stderr, id->type, id->typelen);
		fprintf(stderr, " \"");
		print_tame(stderr, id->comment, id->commentlen);
		fprintf(stderr, "\" flags %llu\n", flags);
	} else {
		if (buf_put(&job.req, lreq.d, lreq.len) != 0) {
			fprintf(stderr, "agent-client: out of memory\n");
			goto out;
		}
		job.want_type = AGENT_IDENTITIES_ANSWER;
	}
	close(fd);
	fd = -1;

	job.quota = count == 0 ? UINT64_MAX : (count + nconns - 1) / nconns;
	if (pthread_barrier_init(&job.start, NULL,
	    (unsigned int)nconns + 1) != 0) {
		fprintf(stderr, "agent-client: pthread_barrier_init failed\n");
		goto out;
	}
	barrier = 1;
	for (i = 0; i < nconns; i++) {
		conns[i].job = &job;
		conns[i].index = i;
		conns[i].fd = -1;
		if (pthread_create(&conns[i].tid, NULL, conn_main,
		    &conns[i]) != 0) {
			fprintf(stderr, "agent-client: pthread_create "
			    "failed\n");
			break;
		}
		started++;
	}
	if (started != nconns) {
		job.quota = 0;
		for (i = started; i < nconns; i++)
			(void)pthread_barrier_wait(&job.start);
	}
	t0 = bench_now_ns();
	if (secs > 0)
		job.deadline = t0 + (uint64_t)(secs * 1e9);
	(void)pthread_barrier_wait(&job.start);
	for (i = 0; i < started; i++) {
		(void)pthread_join(conns[i].tid, NULL);
		if (conns[i].end_ns > tend)
			tend = conns[i].end_ns;
		failures += conns[i].failures;
		if (conns[i].failures > 0)
			fprintf(stderr, "agent-client: connection %u: %llu "
			    "failures, first: %s\n", i,
			    (unsigned long long)conns[i].failures,
			    conns[i].error);
		if (lat_append(&all, &conns[i].lat) != 0) {
			fprintf(stderr, "agent-client: out of memory\n");
			goto out;
		}
	}
	if (started != nconns)
		goto out;
	lat_stats(&all, &st);
	printf("agent-client: mode=%s identities=%zu conns=%llu n=%zu "
	    "secs=%.3f rate=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f "
	    "max_us=%.1f failures=%llu\n",
	    job.sign ? "sign" : "list", nids, nconns, st.n,
	    (double)(tend - t0) / 1e9,
	    tend > t0 ? (double)st.n * 1e9 / (double)(tend - t0) : 0.0,
	    (double)st.p50 / 1e3, (double)st.p99 / 1e3, (double)st.p999 / 1e3,
	    (double)st.max / 1e3, failures);
	ret = failures == 0 && st.n > 0 ? 0 : 1;
 out:
	if (fd != -1)
		close(fd);
	if (barrier)
		(void)pthread_barrier_destroy(&job.start);
	for (i = 0; i < MAX_CONNS; i++) {
		free(conns[i].req.d);
		free(conns[i].resp.d);
		lat_free(&conns[i].lat);
	}
	lat_free(&all);
	free(ids);
	free(lreq.d);
	free(lresp.d);
	free(job.req.d);
	return ret;
}
