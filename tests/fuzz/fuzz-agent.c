/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The agent's message handler, whole: bytes from several client
 * connections go through the server's framing (agent_conn_step() on a
 * socket pair) into the dispatch (src/agent/agent-proto.c and the key set,
 * lock, PIN and session-bind code behind it), with the stub keystore of
 * tests/agent-stub.c.  Input:
 *
 *	byte	 stub knobs: bits 0-1 the PIN typed (0, 3 right, 1 wrong,
 *		 2 cancelled), bit 2 confirmations refused, bit 3 token
 *		 already logged in, bits 4-6 token state (1 PIN count low,
 *		 2 final try, 3 locked, 4 PIN pad), bit 7 the first key
 *		 always-authenticate
 *	field	 the token's keys: SSH strings blob, URI, ... (the body
 *		 of an IDENTITIES_ANSWER after its count)
 *	records	 until the end: byte bits 0-1 the connection (3 is a
 *		 forwarded one: bound by session-bind before it sends
 *		 anything), bit 2 the client hangs up and connects again
 *		 first, bits 3-6 e: the clock moves 2^(e-1) seconds first,
 *		 bit 7 a background refresh first; then the frame as the
 *		 client writes it (uint32 length, body)
 *
 * Each input runs twice: as above, and with a stub other agent (-A,
 * tests/agent-stub-up.c) that starts empty, takes what ssh-add gives it
 * and misses every seventh call; then listing may show its keys too
 * (each once, after the token's), a key file may be added, and a
 * signature for a key that is not the token's is the other agent's.
 *
 * tests/fuzz/record-agent.sh records seeds in this form from ssh-add and
 * ssh talking to a real agent.  A connection the agent closes is opened
 * again by its next record.  Checked after every frame:
 *   - a frame over AGENT_MAX_FRAME, empty, truncated or malformed closes
 *     the connection without an answer; anything else gets exactly one
 *     answer frame, within AGENT_MAX_FRAME, well-formed for its request
 *   - listing shows only the token's keys, each once, with its URI, and
 *     certificates (ssh-add -s with associated-certs-v00@openssh.com) of
 *     those keys, with the key's URI, inside their validity window; a
 *     signature comes from the token, over the request's data, for a key
 *     listing showed just before (a certificate's: with the key it
 *     certifies, RSA by the flags)
 *   - while locked, no key is listed and the token is not used
 *   - a bound (forwarded) connection adds nothing and sends no PIN
 *   - one login at most per request, no PIN prompt more than once
 *   - a destination-constrained key (ssh-add -h) is listed on a bound
 *     connection only where its constraints permit it, and signs only
 *     an ssh login for the session that connection was last bound to,
 *     with that key; never on the forwarded connection (bound for
 *     forwarding, not for a login)
 *   - a refused constraint extension adds nothing
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "../agent-stub.h"
#include "agent/agent.h"
#include "common/buf.h"
#include "ssh/sshcert.h"
#include "ssh/userauth.h"
#include "fuzz.h"

#define NCONN		4
#define FORWARDED	3
#define SOCKBUF		(2 * AGENT_MAX_FRAME)

struct fconn {
	int			 open;
	int			 fd[2];		/* client, agent */
	struct agent_conn	 c;
	struct tk_buf		 in, out;
};

static struct agent	A;
static int		withup;		/* this run has the stub other agent */
static struct fconn	C[NCONN];
static time_t		fake_now;
static uint8_t		*rbuf;		/* an answer read by the client */

#define CHECK(cond)	do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz-agent: %s:%d: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

/* FUZZ_AGENT_LOG=1 in the environment: the agent's log on stderr. */
static void
log_stderr(int level, const char *msg)
{
	fprintf(stderr, "agent[%d]: %s\n", level, msg);
}

static time_t
clock_now(void)
{
	return fake_now;
}

static void
conn_open(int i)
{
	struct fconn	*f = &C[i];
	int		 sz = SOCKBUF, k;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->fd) == 0);
	/* a whole frame either way fits: neither side ever blocks */
	for (k = 0; k < 2; k++) {
		(void)setsockopt(f->fd[k], SOL_SOCKET, SO_SNDBUF, &sz,
		    sizeof(sz));
		(void)setsockopt(f->fd[k], SOL_SOCKET, SO_RCVBUF, &sz,
		    sizeof(sz));
	}
	memset(&f->c, 0, sizeof(f->c));
	f->c.uid = getuid();
	if (i == FORWARDED) {
		/* what a verified session-bind with is_forwarding sets */
		static const uint8_t hostkey[] = "\0\0\0\013ssh-ed25519"
		    "\0\0\0\040" "0123456789abcdef0123456789abcdef";
		char why[128];

		CHECK(agent_bind_add(&f->c, hostkey, sizeof(hostkey) - 1,
		    (const uint8_t *)"ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", 32,
		    1, why, sizeof(why)) == 0);
		f->c.bound = 1;
		f->c.forwarded = 1;
		f->c.session_idlen = 32;
		memset(f->c.session_id, 0x5a, 32);
	}
	tk_buf_init(&f->in, AGENT_MAX_FRAME, TK_BUF_SECRET);
	tk_buf_init(&f->out, AGENT_MAX_FRAME, 0);
	f->open = 1;
}

static void
conn_close(int i)
{
	struct fconn	*f = &C[i];

	if (!f->open)
		return;
	agent_up_close(&A, &f->c);
	agent_conn_clear(&f->c);
	close(f->fd[0]);
	close(f->fd[1]);
	tk_buf_free(&f->in);
	tk_buf_free(&f->out);
	f->open = 0;
}

static void
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		CHECK(w > 0);	/* SOCKBUF holds any frame */
		p += w;
		n -= (size_t)w;
	}
}

/* Everything the agent wrote to the client, without waiting. */
static size_t
read_avail(int fd)
{
	size_t	n = 0;
	ssize_t	r;

	for (;;) {
		r = recv(fd, rbuf + n, SOCKBUF - n, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		CHECK(n < SOCKBUF);
	}
	return n;
}

static int
is_token_key(const uint8_t *blob, size_t len, const uint8_t *uri,
    size_t urilen)
{
	size_t	i;

	for (i = 0; i < S.nkeys; i++)
		if (S.keys[i].bloblen == len &&
		    memcmp(S.keys[i].blob, blob, len) == 0 &&
		    (uri == NULL || (strlen(S.keys[i].uri) == urilen &&
		    memcmp(S.keys[i].uri, uri, urilen) == 0)))
			return 1;
	return 0;
}

/*
 * A certificate of a token key (with that key's URI, if uri is given),
 * valid now; its key's blob into key (initialised; the caller frees it).
 */
static int
is_token_cert(const uint8_t *blob, size_t len, const uint8_t *uri,
    size_t urilen, struct tk_buf *key)
{
	struct tk_sshcert	c;

	tk_buf_free(key);
	tk_buf_init(key, TK_SSHCERT_MAX, 0);
	return tk_sshcert_parse(blob, len, &c, key) == 0 &&
	    tk_sshcert_when(&c, (uint64_t)time(NULL)) == 0 &&
	    is_token_key(c.key, c.keylen, uri, urilen);
}

/* A key of the stub other agent (with its comment, if uri is given). */
static int
is_up_key(const uint8_t *blob, size_t len, const uint8_t *com, size_t cl)
{
	size_t	i;

	for (i = 0; withup && i < U.nkeys; i++)
		if (U.keys[i].bloblen == len &&
		    memcmp(U.keys[i].blob, blob, len) == 0 &&
		    (com == NULL || (strlen(U.keys[i].uri) == cl &&
		    memcmp(U.keys[i].uri, com, cl) == 0)))
			return 1;
	return 0;
}

/* The served key's destination constraints (NULL: none or not served). */
static struct agent_dests *
key_dests(const uint8_t *blob, size_t len)
{
	size_t	i;

	for (i = 0; i < A.nkeys; i++)
		if (agent_blob_eq(A.keys[i].blob, A.keys[i].bloblen, blob, len))
			return A.keys[i].dests;
	return NULL;
}

/*
 * An IDENTITIES_ANSWER (type byte included): well-formed, the token's
 * keys with their URIs, each once, constrained ones only where c may use
 * them.  Returns the count.
 */
static uint32_t
check_identities(const uint8_t *p, size_t n, const struct agent_conn *c)
{
	char		 why[256];
	struct tk_buf	 b, b2, key;
	const uint8_t	*blob, *com, *blob2, *com2;
	size_t		 bl, cl, bl2, cl2;
	uint32_t	 cnt, i, j;
	uint8_t		 t;

	tk_buf_init_ro(&b, p, n);
	CHECK(tk_buf_get_u8(&b, &t) == 0 && t == SSH_AGENT_IDENTITIES_ANSWER);
	CHECK(tk_buf_get_u32(&b, &cnt) == 0);
	for (i = 0; i < cnt; i++) {
		CHECK(tk_buf_get_string(&b, &blob, &bl) == 0 && bl > 0);
		CHECK(tk_buf_get_string(&b, &com, &cl) == 0);
		tk_buf_init(&key, TK_SSHCERT_MAX, 0);
		CHECK(is_token_key(blob, bl, com, cl) ||
		    is_up_key(blob, bl, com, cl) ||
		    is_token_cert(blob, bl, com, cl, &key));
		tk_buf_free(&key);
		CHECK(agent_dests_permit(key_dests(blob, bl), c, NULL, NULL,
		    why, sizeof(why)) == 0);
		/* no key twice */
		tk_buf_init_ro(&b2, p + 5, n - 5);
		for (j = 0; j < i; j++) {
			CHECK(tk_buf_get_string(&b2, &blob2, &bl2) == 0);
			CHECK(tk_buf_get_string(&b2, &com2, &cl2) == 0);
			CHECK(bl2 != bl || memcmp(blob, blob2, bl) != 0);
		}
	}
	CHECK(tk_buf_end(&b) == 0);
	return cnt;
}

/* Is blob in the answer listing would give now? */
static int
listed(const uint8_t *blob, size_t len)
{
	struct tk_buf	 ans, b;
	const uint8_t	*k, *c;
	size_t		 kl, cl;
	uint32_t	 cnt, i;
	uint8_t		 t;
	int		 found = 0;

	tk_buf_init(&ans, AGENT_MAX_FRAME, 0);
	CHECK(agent_identities(&A, &ans) == 0);
	tk_buf_init_ro(&b, tk_buf_ptr(&ans), tk_buf_avail(&ans));
	CHECK(tk_buf_get_u8(&b, &t) == 0 && tk_buf_get_u32(&b, &cnt) == 0);
	for (i = 0; i < cnt && !found; i++) {
		CHECK(tk_buf_get_string(&b, &k, &kl) == 0 &&
		    tk_buf_get_string(&b, &c, &cl) == 0);
		found = kl == len && memcmp(k, blob, len) == 0;
	}
	tk_buf_free(&ans);
	return found;
}

struct before {
	int		 locked, bound;
	int		 nsign, nlogin, nprompt, nconfirm;
	uint64_t	 next_source_id;
	size_t		 nmods;
	int		 sign_listed;	/* the key to sign with is listed */
	int		 sign_dests;	/* ...and has destination constraints */
	int		 forwarded;	/* the connection is FORWARDED */
	int		 nbinds;
	uint8_t		 sid[64];	/* its last binding's session id */
	size_t		 sidlen;
};

/* A sign request's fields, when it parses exactly. */
static int
parse_sign(const uint8_t *body, size_t n, const uint8_t **blob,
    size_t *bloblen, const uint8_t **data, size_t *datalen,
    uint32_t *flags)
{
	struct tk_buf	b;
	uint8_t		t;

	tk_buf_init_ro(&b, body, n);
	return tk_buf_get_u8(&b, &t) == 0 && t == SSH_AGENTC_SIGN_REQUEST &&
	    tk_buf_get_string(&b, blob, bloblen) == 0 &&
	    tk_buf_get_string(&b, data, datalen) == 0 &&
	    tk_buf_get_u32(&b, flags) == 0 && tk_buf_end(&b) == 0;
}

static void
check_sign(const uint8_t *body, size_t bn, const uint8_t *rep, size_t rn,
    const struct before *was)
{
	struct tk_buf	 b, key;
	const uint8_t	*blob, *data, *sig;
	size_t		 bloblen, datalen, siglen;
	uint32_t	 flags;
	uint8_t		 t, want[STUB_SIG_LEN];
	int		 alg = TK_SIG_DEFAULT;

	CHECK(parse_sign(body, bn, &blob, &bloblen, &data, &datalen, &flags));
	CHECK(!was->locked);
	tk_buf_init_ro(&b, rep, rn);
	CHECK(tk_buf_get_u8(&b, &t) == 0 &&
	    tk_buf_get_string(&b, &sig, &siglen) == 0 && tk_buf_end(&b) == 0);
	if (!was->sign_listed) {
		/* not the token's: the other agent's, with the flags */
		CHECK(is_up_key(blob, bloblen, NULL, 0));
		CHECK(siglen == 5 && memcmp(sig, "upsig", 5) == 0);
		CHECK(U.last_type == SSH_AGENTC_SIGN_REQUEST &&
		    U.last_flags == flags);
		return;
	}
	/* a certificate identity signs with the key it certifies */
	tk_buf_init(&key, TK_SSHCERT_MAX, 0);
	if (!is_token_key(blob, bloblen, NULL, 0)) {
		CHECK(is_token_cert(blob, bloblen, NULL, 0, &key));
		blob = tk_buf_ptr(&key);
		bloblen = tk_buf_avail(&key);
	}
	if (bloblen > 11 && memcmp(blob, "\0\0\0\007ssh-rsa", 11) == 0)
		alg = flags & SSH_AGENT_RSA_SHA2_256 ? TK_SIG_RSA_SHA256 :
		    flags & SSH_AGENT_RSA_SHA2_512 ? TK_SIG_RSA_SHA512 :
		    TK_SIG_DEFAULT;
	stub_sig(blob, bloblen, data, datalen, alg, want);
	tk_buf_free(&key);
	CHECK(siglen == STUB_SIG_LEN && memcmp(sig, want, siglen) == 0);
	if (was->sign_dests) {
		struct tk_userauth	ua;

		/* an ssh login for this key and the last bound session */
		CHECK(!was->forwarded && was->nbinds > 0);
		CHECK(tk_userauth_parse(data, datalen, &ua) == 0);
		CHECK(agent_blob_eq(ua.key, ua.keylen, blob, bloblen));
		CHECK(agent_blob_eq(ua.sid, ua.sidlen, was->sid, was->sidlen));
	}
}

static void
check_extension(const uint8_t *rep, size_t rn)
{
	struct tk_buf	 b;
	const uint8_t	*s;
	size_t		 n;
	uint8_t		 t;

	tk_buf_init_ro(&b, rep, rn);
	CHECK(tk_buf_get_u8(&b, &t) == 0);
	while (tk_buf_avail(&b) > 0)
		CHECK(tk_buf_get_string(&b, &s, &n) == 0);
}

/* The answer to one request (body: type and payload). */
static void
check_answer(const uint8_t *body, size_t bn, const uint8_t *rep, size_t rn,
    const struct before *was, const struct agent_conn *c)
{
	uint8_t	req = body[0], t = rep[0];

	if (t == SSH_AGENT_SUCCESS || t == SSH_AGENT_FAILURE) {
		CHECK(rn == 1);
		CHECK(t == SSH_AGENT_FAILURE ||
		    req == SSH_AGENTC_REMOVE_IDENTITY ||
		    req == SSH_AGENTC_REMOVE_ALL_IDENTITIES ||
		    req == SSH_AGENTC_REMOVE_ALL_RSA_IDENTITIES ||
		    req == SSH_AGENTC_ADD_SMARTCARD_KEY ||
		    req == SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED ||
		    req == SSH_AGENTC_REMOVE_SMARTCARD_KEY ||
		    req == SSH_AGENTC_LOCK || req == SSH_AGENTC_UNLOCK ||
		    req == SSH_AGENTC_EXTENSION || (withup &&
		    (req == SSH_AGENTC_ADD_IDENTITY ||
		    req == SSH_AGENTC_ADD_ID_CONSTRAINED)));
		/* a software key is never taken (but by the other
		 * agent), nor a PIN when bound */
		CHECK(t == SSH_AGENT_FAILURE || withup ||
		    (req != SSH_AGENTC_ADD_IDENTITY &&
		    req != SSH_AGENTC_ADD_ID_CONSTRAINED));
		CHECK(!(was->bound && t == SSH_AGENT_SUCCESS &&
		    (req == SSH_AGENTC_ADD_SMARTCARD_KEY ||
		    req == SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED)));
		/* locked: only unlocking (and extensions) can succeed */
		CHECK(!(was->locked && t == SSH_AGENT_SUCCESS &&
		    req != SSH_AGENTC_UNLOCK && req != SSH_AGENTC_EXTENSION));
		return;
	}
	switch (t) {
	case SSH_AGENT_IDENTITIES_ANSWER:
		CHECK(req == SSH_AGENTC_REQUEST_IDENTITIES);
		if (check_identities(rep, rn, c) > 0)
			CHECK(!was->locked);
		break;
	case SSH_AGENT_SIGN_RESPONSE:
		CHECK(req == SSH_AGENTC_SIGN_REQUEST);
		check_sign(body, bn, rep, rn, was);
		break;
	case SSH_AGENT_EXTENSION_FAILURE:
	case SSH_AGENT_EXTENSION_RESPONSE:
		CHECK(req == SSH_AGENTC_EXTENSION);
		check_extension(rep, rn);
		break;
	default:
		CHECK(!"an answer of an unknown type");
	}
}

/* Invariants on the keystore: what the request made the token do. */
static void
check_effects(const struct before *was)
{
	CHECK(S.nlogin - was->nlogin <= 1);
	CHECK(S.nprompt - was->nprompt <= 1);
	CHECK(S.nconfirm - was->nconfirm <= 2);
	if (was->locked)
		CHECK(S.nsign == was->nsign && S.nlogin == was->nlogin &&
		    S.nprompt == was->nprompt);
	if (was->bound) {
		CHECK(A.next_source_id == was->next_source_id);
		CHECK(A.nmods == was->nmods);
		/* a login here comes from a prompt or a PIN pad, never
		 * from a PIN the connection sent */
		CHECK(S.nlogin == was->nlogin || S.nprompt > was->nprompt ||
		    (S.token_flags & TK_TOKEN_PROTECTED_AUTH));
	}
}

static void
one_frame(int i, const uint8_t *hdr, const uint8_t *body, size_t bn,
    uint32_t len)
{
	struct fconn	*f = &C[i];
	struct before	 was;
	const uint8_t	*blob, *data;
	size_t		 bloblen, datalen, n, rlen;
	uint32_t	 flags;
	int		 r, whole;

	if (!f->open)
		conn_open(i);
	memset(&was, 0, sizeof(was));
	was.locked = agent_is_locked(&A);
	was.bound = f->c.bound;
	was.nsign = S.nsign;
	was.nlogin = S.nlogin;
	was.nprompt = S.nprompt;
	was.nconfirm = S.nconfirm;
	was.next_source_id = A.next_source_id;
	was.nmods = A.nmods;
	whole = len > 0 && len <= AGENT_MAX_FRAME && bn == len;
	if (whole && parse_sign(body, bn, &blob, &bloblen, &data, &datalen,
	    &flags)) {
		was.sign_listed = listed(blob, bloblen);
		was.sign_dests = key_dests(blob, bloblen) != NULL;
	}
	was.forwarded = i == FORWARDED;
	was.nbinds = f->c.nbinds;
	if (f->c.nbinds > 0) {
		was.sidlen = f->c.binds[f->c.nbinds - 1].sidlen;
		memcpy(was.sid, f->c.binds[f->c.nbinds - 1].sid, was.sidlen);
	}

	write_all(f->fd[0], hdr, 4);
	if (len > 0 && len <= AGENT_MAX_FRAME)
		write_all(f->fd[0], body, bn);
	if (!whole)	/* the client stops in the middle: EOF */
		CHECK(shutdown(f->fd[0], SHUT_WR) == 0);
	r = agent_conn_step(&A, &f->c, f->fd[1], &f->in, &f->out);
	n = read_avail(f->fd[0]);
	check_effects(&was);
	if (r != 0) {
		/* closed without an answer */
		CHECK(n == 0);
		conn_close(i);
		return;
	}
	CHECK(whole);
	CHECK(n >= 5);
	rlen = (size_t)rbuf[0] << 24 | (size_t)rbuf[1] << 16 |
	    (size_t)rbuf[2] << 8 | rbuf[3];
	CHECK(rlen > 0 && rlen <= AGENT_MAX_FRAME && n == 4 + rlen);
	check_answer(body, bn, rbuf + 4, rlen, &was, &f->c);
	/* the buffer that held the request (maybe a PIN) is wiped */
	CHECK(tk_buf_avail(&f->in) == 0);
}

/* The token's keys from the input; blobs and URIs as given. */
static void
load_keys(const uint8_t *p, size_t n)
{
	struct tk_buf	 b;
	const uint8_t	*blob, *uri;
	size_t		 bl, ul;
	char		*s;

	tk_buf_init_ro(&b, p, n);
	while (S.nkeys < STUB_MAX_KEYS &&
	    tk_buf_get_string(&b, &blob, &bl) == 0 &&
	    tk_buf_get_string(&b, &uri, &ul) == 0) {
		if (bl == 0 || memchr(uri, '\0', ul) != NULL)
			continue;
		s = fz_strdup(uri, ul);
		CHECK(stub_key_add(blob, bl, s) == 0);
		free(s);
	}
}

static void
knobs(uint8_t k)
{
	static const uint32_t	state[8] = { 0, TK_TOKEN_PIN_COUNT_LOW,
		TK_TOKEN_PIN_FINAL_TRY, TK_TOKEN_PIN_LOCKED,
		TK_TOKEN_PROTECTED_AUTH, 0, 0, 0 };

	switch (k & 3) {
	case 1:
		S.prompt_pin = "0000";
		break;
	case 2:
		S.prompt_result = TK_ERR_CANCELLED;
		break;
	default:
		S.prompt_pin = STUB_PIN;
		break;
	}
	S.confirm_answer = k & 4 ? TK_ERR_CANCELLED : 0;
	S.logged_in = (k & 8) != 0;
	S.token_flags = state[(k >> 4) & 7];
	S.always_auth = (k & 0x80) != 0;
}

static void
run(const uint8_t *data, size_t size)
{
	struct fz	 f = { data, size };
	const uint8_t	*p, *hdr, *body;
	size_t		 n, bn;
	uint32_t	 len;
	uint8_t		 k, sel;
	int		 i;

	if (rbuf == NULL && (rbuf = malloc(SOCKBUF)) == NULL)
		abort();
	stub_keys_clear();
	stub_reset();
	k = fz_u8(&f);
	p = fz_field(&f, &n);
	load_keys(p, n);
	knobs(k);
	fake_now = 1000;

	/* what `tokenkeys agent` does at start, with the stub's registry */
	CHECK(agent_init(&A, &stub_ops) == 0);
	A.now = clock_now;
	if (getenv("FUZZ_AGENT_LOG") != NULL) {
		A.logfn = log_stderr;
		A.debug = 1;
	}
	A.unlock_delay_ms = 0;
	A.lock_rounds = 1;
	/* relist@tokenkeys: no background thread lists here; bit 7 may */
	A.relist_wait_ms = 1;
	CHECK((A.allowlist = strdup(AGENT_ALLOWLIST_DEFAULT)) != NULL);
	CHECK(agent_load_registry(&A) == 0);
	CHECK(agent_add_uri(&A, "pkcs11:", "", 0, 0, NULL, 0, 1, NULL) == 0);
	stub_up_reset();
	if (withup) {
		U.fail_every = 7;
		A.up = &stub_upstream;
	}

	while (f.n > 0) {
		sel = fz_u8(&f);
		if (sel & 4)
			conn_close(sel & 3);
		if ((sel >> 3) & 15)
			fake_now += (time_t)1 << (((sel >> 3) & 15) - 1);
		if (sel & 0x80)
			(void)agent_refresh(&A);
		hdr = fz_take(&f, 4, &n);
		if (n < 4)
			break;
		len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		    (uint32_t)hdr[2] << 8 | hdr[3];
		body = NULL;
		bn = 0;
		if (len > 0 && len <= AGENT_MAX_FRAME)
			body = fz_take(&f, len, &bn);
		one_frame(sel & 3, hdr, body, bn, len);
	}
	for (i = 0; i < NCONN; i++)
		conn_close(i);
	agent_free(&A);
	stub_keys_clear();
	CHECK(U.nclose == U.nopen);	/* closed with their clients */
	stub_up_reset();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (withup = 0; withup < 2; withup++)
		run(data, size);
	return 0;
}
