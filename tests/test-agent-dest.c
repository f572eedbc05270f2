/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Destination constraints (ssh-add -h; src/agent/agent-dest.c) through
 * the agent's dispatch with the stub keystore: message 26 carrying
 * restrict-destination-v00@openssh.com as ssh-add nests it, hostile
 * encodings of it, session-binds from real Ed25519 host keys, and what
 * a constrained key is then listed and signs for on each connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "tokenkeys.h"
#include "agent-stub.h"
#include "agent/agent.h"
#include "tap.h"

#define RD	"restrict-destination-v00@openssh.com"

static struct agent	A;
static char		logbuf[16384];
static struct tk_buf	M, R;
static uint8_t		blob_ed[51];

static void
test_log(int level, const char *msg)
{
	size_t	n = strlen(logbuf);

	(void)level;
	if (n + strlen(msg) + 2 >= sizeof(logbuf))
		n = logbuf[0] = 0;
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
	if (getenv("TEST_VERBOSE") != NULL)
		printf("# log: %s\n", msg);
}

static int
logged(const char *s)
{
	return strstr(logbuf, s) != NULL;
}

/* ------------------------------------------------------------ hosts */

struct host {
	EVP_PKEY	*pk;
	uint8_t		 blob[51];
};

static struct host	HA, HB, HC;

static void
host_new(struct host *h)
{
	EVP_PKEY_CTX	*ctx;
	struct tk_buf	 b;
	uint8_t		 pub[32];
	size_t		 publen = sizeof(pub);

	h->pk = NULL;
	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY_keygen_init(ctx);
	EVP_PKEY_keygen(ctx, &h->pk);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_get_raw_public_key(h->pk, pub, &publen);
	tk_buf_init(&b, 1024, 0);
	tk_buf_put_cstring(&b, "ssh-ed25519");
	tk_buf_put_string(&b, pub, sizeof(pub));
	memcpy(h->blob, tk_buf_ptr(&b), sizeof(h->blob));
	tk_buf_free(&b);
}

/* ------------------------------------------------------------ messages */

static void
msg_start(uint8_t type)
{
	tk_buf_free(&M);
	tk_buf_init(&M, AGENT_MAX_FRAME * 2, 0);
	tk_buf_put_u8(&M, type);
}

/* Dispatch M; the reply type, or -1 when the connection closes. */
static int
send_msg(struct agent_conn *c)
{
	tk_buf_free(&R);
	tk_buf_init(&R, AGENT_MAX_FRAME + 4, 0);
	if (agent_dispatch(&A, c, tk_buf_ptr(&M), tk_buf_avail(&M), &R) != 0)
		return -1;
	return tk_buf_avail(&R) == 0 ? -2 : tk_buf_ptr(&R)[0];
}

static int
count_ids(struct agent_conn *c)
{
	struct tk_buf	b;
	uint8_t		t;
	uint32_t	n;

	msg_start(SSH_AGENTC_REQUEST_IDENTITIES);
	if (send_msg(c) != SSH_AGENT_IDENTITIES_ANSWER)
		return -1;
	tk_buf_init_ro(&b, tk_buf_ptr(&R), tk_buf_avail(&R));
	if (tk_buf_get_u8(&b, &t) != 0 || tk_buf_get_u32(&b, &n) != 0)
		return -1;
	return (int)n;
}

/* A hop: string(user, host, reserved, { key, is_ca }*). */
static void
put_hop(struct tk_buf *b, const char *user, const char *host,
    const struct host *k1, const struct host *k2)
{
	size_t	mark;

	tk_buf_open_string(b, &mark);
	tk_buf_put_cstring(b, user);
	tk_buf_put_cstring(b, host);
	tk_buf_put_string(b, NULL, 0);
	if (k1 != NULL) {
		tk_buf_put_string(b, k1->blob, sizeof(k1->blob));
		tk_buf_put_u8(b, 0);
	}
	if (k2 != NULL) {
		tk_buf_put_string(b, k2->blob, sizeof(k2->blob));
		tk_buf_put_u8(b, 0);
	}
	tk_buf_close_string(b, mark);
}

/* ssh-add -h [from>][user@]to, as one constraint appended to b. */
static void
put_dest(struct tk_buf *b, const char *from, const struct host *fk,
    const char *user, const char *to, const struct host *tk)
{
	size_t	mark;

	tk_buf_open_string(b, &mark);
	put_hop(b, "", from, fk, NULL);
	put_hop(b, user, to, tk, NULL);
	tk_buf_put_string(b, NULL, 0);
	tk_buf_close_string(b, mark);
}

/* ssh-add -s READER with the restrict-destination body given. */
static int
add_dests(struct agent_conn *c, const char *reader, const struct tk_buf *d)
{
	msg_start(SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED);
	tk_buf_put_cstring(&M, reader);
	tk_buf_put_cstring(&M, "");
	tk_buf_put_u8(&M, SSH_AGENT_CONSTRAIN_EXTENSION);
	tk_buf_put_cstring(&M, RD);
	tk_buf_put_string(&M, tk_buf_ptr(d), tk_buf_avail(d));
	return send_msg(c);
}

static int
bind_host(struct agent_conn *c, const struct host *h, uint8_t sidbyte,
    int fwd)
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	struct tk_buf	 sig;
	uint8_t		 sid[32], s[64];
	size_t		 slen = sizeof(s);
	int		 r;

	memset(sid, sidbyte, sizeof(sid));
	EVP_DigestSignInit(md, NULL, NULL, NULL, h->pk);
	EVP_DigestSign(md, s, &slen, sid, sizeof(sid));
	EVP_MD_CTX_free(md);
	tk_buf_init(&sig, 1024, 0);
	tk_buf_put_cstring(&sig, "ssh-ed25519");
	tk_buf_put_string(&sig, s, slen);
	msg_start(SSH_AGENTC_EXTENSION);
	tk_buf_put_cstring(&M, "session-bind@openssh.com");
	tk_buf_put_string(&M, h->blob, sizeof(h->blob));
	tk_buf_put_string(&M, sid, sizeof(sid));
	tk_buf_put_string(&M, tk_buf_ptr(&sig), tk_buf_avail(&sig));
	tk_buf_put_u8(&M, fwd ? 1 : 0);
	r = send_msg(c);
	tk_buf_free(&sig);
	return r;
}

/* Ed25519 signature blob by h over data, appended to out. */
static void
ed_sign(const struct host *h, const uint8_t *data, size_t len,
    struct tk_buf *out)
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	uint8_t		 s[64];
	size_t		 slen = sizeof(s);
	size_t		 mark;

	EVP_DigestSignInit(md, NULL, NULL, NULL, h->pk);
	EVP_DigestSign(md, s, &slen, data, len);
	EVP_MD_CTX_free(md);
	tk_buf_open_string(out, &mark);
	tk_buf_put_cstring(out, "ssh-ed25519");
	tk_buf_put_string(out, s, slen);
	tk_buf_close_string(out, mark);
}

/*
 * A certificate (PROTOCOL.certkeys) of h's key signed by ca: type 1 user
 * or 2 host, principals comma-separated ("" none), valid from..to.
 */
static void
cert_make(struct tk_buf *out, const struct host *h, const struct host *ca,
    uint32_t type, const char *principals, uint64_t from, uint64_t to)
{
	struct tk_buf	 pl;
	char		 buf[256], *p, *tok;
	uint8_t		 nonce[32];

	memset(nonce, 0x11, sizeof(nonce));
	tk_buf_reset(out);
	tk_buf_put_cstring(out, "ssh-ed25519-cert-v01@openssh.com");
	tk_buf_put_string(out, nonce, sizeof(nonce));
	tk_buf_put(out, h->blob + 15, 36);	/* string pk */
	tk_buf_put_u64(out, 1);
	tk_buf_put_u32(out, type);
	tk_buf_put_cstring(out, "test host");
	tk_buf_init(&pl, 1024, 0);
	snprintf(buf, sizeof(buf), "%s", principals);
	for (p = buf; (tok = strsep(&p, ",")) != NULL;)
		if (*tok != '\0')
			tk_buf_put_cstring(&pl, tok);
	tk_buf_put_string(out, tk_buf_ptr(&pl), tk_buf_avail(&pl));
	tk_buf_free(&pl);
	tk_buf_put_u64(out, from);
	tk_buf_put_u64(out, to);
	tk_buf_put_string(out, NULL, 0);
	tk_buf_put_string(out, NULL, 0);
	tk_buf_put_string(out, NULL, 0);
	tk_buf_put_string(out, ca->blob, sizeof(ca->blob));
	tk_buf_init(&pl, 4096, 0);
	tk_buf_put(&pl, tk_buf_ptr(out), tk_buf_avail(out));
	ed_sign(ca, tk_buf_ptr(&pl), tk_buf_avail(&pl), out);
	tk_buf_free(&pl);
}

/* session-bind with a host certificate (signed over sid by h's key). */
static int
bind_cert(struct agent_conn *c, const struct host *h,
    const struct tk_buf *cert, uint8_t sidbyte, int fwd)
{
	struct tk_buf	 sig, in;
	const uint8_t	*p;
	size_t		 n;
	uint8_t		 sid[32];
	int		 r;

	memset(sid, sidbyte, sizeof(sid));
	tk_buf_init(&sig, 1024, 0);
	ed_sign(h, sid, sizeof(sid), &sig);
	tk_buf_init_ro(&in, tk_buf_ptr(&sig), tk_buf_avail(&sig));
	tk_buf_get_string(&in, &p, &n);		/* unwrap the string */
	msg_start(SSH_AGENTC_EXTENSION);
	tk_buf_put_cstring(&M, "session-bind@openssh.com");
	tk_buf_put_string(&M, tk_buf_ptr(cert), tk_buf_avail(cert));
	tk_buf_put_string(&M, sid, sizeof(sid));
	tk_buf_put_string(&M, p, n);
	tk_buf_put_u8(&M, fwd ? 1 : 0);
	r = send_msg(c);
	tk_buf_free(&sig);
	return r;
}

/*
 * Sign an ssh login: session id of sidbyte, user, the key blob given, the
 * server's host key (hostbound method) or none (plain publickey).
 */
static int
sign_login(struct agent_conn *c, uint8_t sidbyte, const char *user,
    const uint8_t *key, size_t keylen, const struct host *hk)
{
	struct tk_buf	d;
	uint8_t		sid[32];
	int		r;

	memset(sid, sidbyte, sizeof(sid));
	tk_buf_init(&d, 4096, 0);
	tk_buf_put_string(&d, sid, sizeof(sid));
	tk_buf_put_u8(&d, 50);
	tk_buf_put_cstring(&d, user);
	tk_buf_put_cstring(&d, "ssh-connection");
	tk_buf_put_cstring(&d, hk != NULL ?
	    "publickey-hostbound-v00@openssh.com" : "publickey");
	tk_buf_put_u8(&d, 1);
	tk_buf_put_cstring(&d, "ssh-ed25519");
	tk_buf_put_string(&d, key, keylen);
	if (hk != NULL)
		tk_buf_put_string(&d, hk->blob, sizeof(hk->blob));
	msg_start(SSH_AGENTC_SIGN_REQUEST);
	tk_buf_put_string(&M, blob_ed, sizeof(blob_ed));
	tk_buf_put_string(&M, tk_buf_ptr(&d), tk_buf_avail(&d));
	tk_buf_put_u32(&M, 0);
	r = send_msg(c);
	tk_buf_free(&d);
	return r;
}

static int
sign_raw(struct agent_conn *c, const char *data)
{
	msg_start(SSH_AGENTC_SIGN_REQUEST);
	tk_buf_put_string(&M, blob_ed, sizeof(blob_ed));
	tk_buf_put_cstring(&M, data);
	tk_buf_put_u32(&M, 0);
	return send_msg(c);
}

static void
conn_reset(struct agent_conn *c)
{
	agent_conn_clear(c);
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------ tests */

/* A refused message 26: failure (or closed), nothing added or changed. */
static void
refused(const struct tk_buf *d, const char *logpart, const char *what)
{
	struct agent_conn	c = { 0 };
	size_t			nsrcs = A.nsrcs;
	int			t;

	logbuf[0] = '\0';
	t = add_dests(&c, "pkcs11:object=hostile", d);
	ok((t == SSH_AGENT_FAILURE || t == -1) && A.nsrcs == nsrcs &&
	    logged(logpart), "%s: refused (%d), nothing added, the log "
	    "says \"%s\"", what, t, logpart);
}

static void
test_hostile(void)
{
	struct agent_conn	c = { 0 };
	struct tk_buf		d, h;
	char			user[300];
	size_t			i, mark;

	tk_buf_init(&d, AGENT_MAX_FRAME, 0);
	tk_buf_init(&h, AGENT_MAX_FRAME, 0);

	/* the flat layout of PROTOCOL.agent, not ssh-add's nesting */
	tk_buf_put_cstring(&d, "");
	tk_buf_put_cstring(&d, "");
	tk_buf_put_string(&d, NULL, 0);
	tk_buf_put_cstring(&d, "");
	tk_buf_put_cstring(&d, "hosta");
	tk_buf_put_string(&d, NULL, 0);
	tk_buf_put_string(&d, HA.blob, sizeof(HA.blob));
	tk_buf_put_u8(&d, 0);
	refused(&d, "restrict-destination", "wrong nesting (flat hops)");

	tk_buf_reset(&d);
	refused(&d, "no destination", "an empty list");

	tk_buf_reset(&d);
	put_dest(&d, "", NULL, "", "", &HA);
	refused(&d, "no host name", "an empty host name");

	tk_buf_reset(&d);
	put_dest(&d, "", NULL, "", "hosta", NULL);
	refused(&d, "no host keys", "a host without keys");

	tk_buf_reset(&d);
	put_dest(&d, "hosta", NULL, "", "hostb", &HB);
	refused(&d, "a host name but no host keys", "a from host without keys");

	tk_buf_reset(&d);
	tk_buf_open_string(&d, &mark);
	put_hop(&d, "alice", "hosta", &HA, NULL);
	put_hop(&d, "", "hostb", &HB, NULL);
	tk_buf_put_string(&d, NULL, 0);
	tk_buf_close_string(&d, mark);
	refused(&d, "names a user on the from hop", "a from-user");

	memset(user, 'u', sizeof(user));
	user[257] = '\0';
	tk_buf_reset(&d);
	put_dest(&d, "", NULL, user, "hosta", &HA);
	refused(&d, "over 256 bytes", "a user name of 257 bytes");

	tk_buf_reset(&d);
	tk_buf_open_string(&d, &mark);
	put_hop(&d, "", "", NULL, NULL);
	put_hop(&d, "", "hosta", &HA, NULL);
	tk_buf_put_string(&d, NULL, 0);
	tk_buf_put_u8(&d, 0);	/* one byte after the constraint's end */
	tk_buf_close_string(&d, mark);
	refused(&d, "bytes after it", "trailing bytes in a destination");

	tk_buf_reset(&d);
	tk_buf_open_string(&d, &mark);
	put_hop(&d, "", "", NULL, NULL);
	put_hop(&d, "", "hosta", &HA, NULL);
	tk_buf_put_cstring(&d, "ext");
	tk_buf_close_string(&d, mark);
	refused(&d, "reserved field is not empty", "a reserved field in use");

	tk_buf_reset(&d);
	tk_buf_open_string(&d, &mark);
	put_hop(&d, "", "", NULL, NULL);
	tk_buf_open_string(&d, &i);
	tk_buf_put_cstring(&d, "");
	tk_buf_put_cstring(&d, "hosta");
	tk_buf_put_string(&d, NULL, 0);
	tk_buf_put_string(&d, HA.blob, sizeof(HA.blob));	/* no is_ca */
	tk_buf_close_string(&d, i);
	tk_buf_put_string(&d, NULL, 0);
	tk_buf_close_string(&d, mark);
	refused(&d, "truncated", "a host key without its CA flag");

	tk_buf_reset(&d);
	tk_buf_open_string(&d, &mark);
	put_hop(&d, "", "", NULL, NULL);
	tk_buf_open_string(&d, &i);
	tk_buf_put_cstring(&d, "");
	tk_buf_put_cstring(&d, "hosta");
	tk_buf_put_string(&d, NULL, 0);
	tk_buf_put_cstring(&d, "not a key");
	tk_buf_put_u8(&d, 0);
	tk_buf_close_string(&d, i);
	tk_buf_put_string(&d, NULL, 0);
	tk_buf_close_string(&d, mark);
	refused(&d, "is not a key", "a host key that is not a key blob");

	tk_buf_reset(&d);
	for (i = 0; i < AGENT_MAX_DESTS + 1; i++)
		put_dest(&d, "", NULL, "", "hosta", &HA);
	refused(&d, "more than 1024 destinations", "1025 destinations");

	/* a constraint extension we do not know: named in the log */
	logbuf[0] = '\0';
	msg_start(SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED);
	tk_buf_put_cstring(&M, "pkcs11:object=hostile");
	tk_buf_put_cstring(&M, "");
	tk_buf_put_u8(&M, SSH_AGENT_CONSTRAIN_EXTENSION);
	tk_buf_put_cstring(&M, "frobnicate@example.com");
	tk_buf_put_cstring(&M, "whatever");
	is_int(send_msg(&c), SSH_AGENT_FAILURE, "an unknown constraint "
	    "extension: failure");
	ok(logged("constraint extension \"frobnicate@example.com\" is not "
	    "implemented"), "...and the log names the extension");

	/* restrict-destination twice in one request */
	tk_buf_reset(&d);
	put_dest(&d, "", NULL, "", "hosta", &HA);
	logbuf[0] = '\0';
	msg_start(SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED);
	tk_buf_put_cstring(&M, "pkcs11:object=hostile");
	tk_buf_put_cstring(&M, "");
	for (i = 0; i < 2; i++) {
		tk_buf_put_u8(&M, SSH_AGENT_CONSTRAIN_EXTENSION);
		tk_buf_put_cstring(&M, RD);
		tk_buf_put_string(&M, tk_buf_ptr(&d), tk_buf_avail(&d));
	}
	is_int(send_msg(&c), SSH_AGENT_FAILURE, "restrict-destination twice: "
	    "failure");
	ok(logged("given twice"), "...and the log says so");

	/* the body's string cut short: the frame itself is malformed */
	msg_start(SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED);
	tk_buf_put_cstring(&M, "pkcs11:object=hostile");
	tk_buf_put_cstring(&M, "");
	tk_buf_put_u8(&M, SSH_AGENT_CONSTRAIN_EXTENSION);
	tk_buf_put_cstring(&M, RD);
	tk_buf_put_u32(&M, 1000);
	tk_buf_put(&M, "abc", 3);
	is_int(send_msg(&c), -1, "a truncated constraint closes the "
	    "connection");

	/* the limits themselves pass: 1024 destinations, a 256-byte user */
	tk_buf_reset(&d);
	user[256] = '\0';
	for (i = 0; i < AGENT_MAX_DESTS; i++)
		put_dest(&d, "", NULL, i == 0 ? user : "", "hosta", &HA);
	is_int(add_dests(&c, "pkcs11:object=ed", &d), SSH_AGENT_SUCCESS,
	    "1024 destinations, one with a 256-byte user: taken");
	msg_start(SSH_AGENTC_REMOVE_ALL_IDENTITIES);
	send_msg(&c);
	agent_add_uri(&A, "pkcs11:", "", 0, 0, NULL, 0, 1, NULL);
	tk_buf_free(&d);
	tk_buf_free(&h);
	conn_reset(&c);
}

static void
test_one_hop(void)
{
	struct agent_conn	c = { 0 };
	struct tk_buf		d;

	tk_buf_init(&d, AGENT_MAX_FRAME, 0);
	put_dest(&d, "", NULL, "", "hosta", &HA);
	logbuf[0] = '\0';
	is_int(add_dests(&c, "pkcs11:object=ed", &d), SSH_AGENT_SUCCESS,
	    "ssh-add -h hosta -s URI: taken");
	ok(logged("for the destinations ssh-add -h named only"),
	    "...and the log says the keys are constrained");

	is_int(count_ids(&c), 2, "an unbound (local) connection lists it");
	logbuf[0] = '\0';
	is_int(sign_raw(&c, "SSHSIG data"), SSH_AGENT_FAILURE,
	    "...but it signs nothing there (no SSHSIG, no ssh-keygen -U)");
	ok(logged("not bound to an ssh session"), "...and the log says why");

	is_int(bind_host(&c, &HA, 1, 0), SSH_AGENT_SUCCESS, "bound to host A "
	    "for a login");
	is_int(count_ids(&c), 2, "...the key is listed");
	is_int(sign_login(&c, 1, "alice", blob_ed, sizeof(blob_ed), &HA),
	    SSH_AGENT_SIGN_RESPONSE, "...and signs the login to A "
	    "(publickey-hostbound)");
	is_int(sign_login(&c, 1, "alice", blob_ed, sizeof(blob_ed), NULL),
	    SSH_AGENT_SIGN_RESPONSE, "...and with plain publickey");
	logbuf[0] = '\0';
	is_int(sign_login(&c, 2, "alice", blob_ed, sizeof(blob_ed), &HA),
	    SSH_AGENT_FAILURE, "a login for another session: refused");
	ok(logged("not for the session"), "...and the log says why");
	is_int(sign_login(&c, 1, "alice", blob_ed, sizeof(blob_ed), &HB),
	    SSH_AGENT_FAILURE, "a login naming another host key: refused");
	is_int(sign_login(&c, 1, "alice", HA.blob, sizeof(HA.blob), &HA),
	    SSH_AGENT_FAILURE, "a login for another key: refused");
	is_int(sign_raw(&c, "anything else"), SSH_AGENT_FAILURE,
	    "data that is not a login: refused");
	is_int(bind_host(&c, &HB, 3, 1), SSH_AGENT_FAILURE, "a binding after "
	    "one for a login: refused");
	conn_reset(&c);

	is_int(bind_host(&c, &HB, 1, 0), SSH_AGENT_SUCCESS, "bound to host B");
	is_int(count_ids(&c), 1, "...the key constrained to A is not listed");
	logbuf[0] = '\0';
	is_int(sign_login(&c, 1, "alice", blob_ed, sizeof(blob_ed), &HB),
	    SSH_AGENT_FAILURE, "...nor signs the login to B");
	ok(logged("is not a permitted destination"), "...and the log says "
	    "why");
	conn_reset(&c);

	is_int(bind_host(&c, &HA, 1, 1), SSH_AGENT_SUCCESS, "forwarded to A");
	is_int(count_ids(&c), 1, "...the key that may not go beyond A is not "
	    "listed there");
	is_int(sign_login(&c, 1, "alice", blob_ed, sizeof(blob_ed), &HA),
	    SSH_AGENT_FAILURE, "...nor signs on a forwarding binding");
	conn_reset(&c);

	/* a refused binding: constrained keys are not used at all */
	msg_start(SSH_AGENTC_EXTENSION);
	tk_buf_put_cstring(&M, "session-bind@openssh.com");
	tk_buf_put_string(&M, HA.blob, sizeof(HA.blob));
	tk_buf_put_string(&M, NULL, 0);
	tk_buf_put_cstring(&M, "sig");
	tk_buf_put_u8(&M, 0);
	is_int(send_msg(&c), SSH_AGENT_FAILURE, "a session-bind with an empty "
	    "session id: refused");
	is_int(count_ids(&c), 1, "...and that connection does not list the "
	    "constrained key");
	conn_reset(&c);
	tk_buf_free(&d);
}

static void
test_two_hops(void)
{
	struct agent_conn	c = { 0 };
	struct tk_buf		d;
	int			i;

	tk_buf_init(&d, AGENT_MAX_FRAME, 0);
	put_dest(&d, "", NULL, "", "hosta", &HA);
	put_dest(&d, "hosta", &HA, "bob", "hostb", &HB);
	is_int(add_dests(&c, "pkcs11:object=ed", &d), SSH_AGENT_SUCCESS,
	    "ssh-add -h hosta -h 'hosta>bob@hostb': taken");

	is_int(bind_host(&c, &HA, 1, 1), SSH_AGENT_SUCCESS, "forwarded to A");
	is_int(count_ids(&c), 2, "...the key that may go on to B is listed");
	is_int(bind_host(&c, &HA, 1, 1), SSH_AGENT_SUCCESS, "the same "
	    "binding again is fine");
	is_int(c.nbinds, 1, "...and recorded once");
	is_int(bind_host(&c, &HB, 1, 0), SSH_AGENT_FAILURE, "that session id "
	    "with another host key: refused");
	is_int(bind_host(&c, &HB, 2, 0), SSH_AGENT_SUCCESS, "then from A to B "
	    "for a login");
	is_int(sign_login(&c, 2, "bob", blob_ed, sizeof(blob_ed), &HB),
	    SSH_AGENT_SIGN_RESPONSE, "the login to B as bob is signed");
	is_int(sign_login(&c, 2, "mallory", blob_ed, sizeof(blob_ed), &HB),
	    SSH_AGENT_FAILURE, "...as another user: refused");
	is_int(sign_login(&c, 2, "bob", blob_ed, sizeof(blob_ed), NULL),
	    SSH_AGENT_FAILURE, "...a login through a forwarded agent that "
	    "does not name the host key: refused");
	conn_reset(&c);

	is_int(bind_host(&c, &HA, 1, 1), SSH_AGENT_SUCCESS, "forwarded to A");
	is_int(bind_host(&c, &HC, 2, 0), SSH_AGENT_SUCCESS, "...then to C");
	is_int(count_ids(&c), 1, "A>C is not permitted: not listed");
	is_int(sign_login(&c, 2, "bob", blob_ed, sizeof(blob_ed), &HC),
	    SSH_AGENT_FAILURE, "...and not signed");
	conn_reset(&c);

	is_int(bind_host(&c, &HB, 1, 1), SSH_AGENT_SUCCESS, "forwarded to B");
	is_int(bind_host(&c, &HA, 2, 0), SSH_AGENT_SUCCESS, "...then to A");
	is_int(sign_login(&c, 2, "bob", blob_ed, sizeof(blob_ed), &HA),
	    SSH_AGENT_FAILURE, "B>A is not permitted (the first hop was to "
	    "B): refused");
	conn_reset(&c);

	for (i = 0; i < AGENT_MAX_BINDS; i++)
		if (bind_host(&c, &HA, (uint8_t)(10 + i), 1) !=
		    SSH_AGENT_SUCCESS)
			break;
	is_int(i, AGENT_MAX_BINDS, "16 bindings on one connection");
	is_int(bind_host(&c, &HA, 99, 1), SSH_AGENT_FAILURE, "...a 17th is "
	    "refused");
	conn_reset(&c);

	/* the confirm prompt of a constrained key names user and host */
	S.logged_in = 1;
	msg_start(SSH_AGENTC_REMOVE_ALL_IDENTITIES);
	send_msg(&c);
	msg_start(SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED);
	tk_buf_put_cstring(&M, "pkcs11:object=ed");
	tk_buf_put_cstring(&M, "");
	tk_buf_put_u8(&M, SSH_AGENT_CONSTRAIN_CONFIRM);
	tk_buf_put_u8(&M, SSH_AGENT_CONSTRAIN_EXTENSION);
	tk_buf_put_cstring(&M, RD);
	tk_buf_put_string(&M, tk_buf_ptr(&d), tk_buf_avail(&d));
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "ssh-add -c -h ...: taken");
	is_int(bind_host(&c, &HA, 1, 0), SSH_AGENT_SUCCESS, "bound to A");
	S.last_desc[0] = '\0';
	is_int(sign_login(&c, 1, "carol", blob_ed, sizeof(blob_ed), &HA),
	    SSH_AGENT_SIGN_RESPONSE, "the login to A is signed after "
	    "confirmation");
	ok(strstr(S.last_desc, "to log in as \"carol\" on hosta?") != NULL,
	    "...and the prompt named the user and the host");
	conn_reset(&c);
	msg_start(SSH_AGENTC_REMOVE_ALL_IDENTITIES);
	send_msg(&c);
	agent_add_uri(&A, "pkcs11:", "", 0, 0, NULL, 0, 1, NULL);
	tk_buf_free(&d);
}

/* A destination named by a @cert-authority key (is_ca) only. */
static void
put_ca_dest(struct tk_buf *b, const char *to, const struct host *ca)
{
	size_t	mark, hm;

	tk_buf_open_string(b, &mark);
	put_hop(b, "", "", NULL, NULL);
	tk_buf_open_string(b, &hm);
	tk_buf_put_cstring(b, "");
	tk_buf_put_cstring(b, to);
	tk_buf_put_string(b, NULL, 0);
	tk_buf_put_string(b, ca->blob, sizeof(ca->blob));
	tk_buf_put_u8(b, 1);
	tk_buf_close_string(b, hm);
	tk_buf_put_string(b, NULL, 0);
	tk_buf_close_string(b, mark);
}

static void
test_host_certs(void)
{
	struct agent_conn	 c = { 0 };
	struct tk_buf		 d, cert;
	struct host		 ca, ca2;
	static const struct {
		uint32_t	 type;
		const char	*principals;
		uint64_t	 from, to;
		int		 other_ca, listed;
		const char	*what;
	} cases[] = {
		{ 2, "hosta", 0, UINT64_MAX, 0, 2, "a host certificate for "
		    "hosta from the CA" },
		{ 2, "other,host?", 0, UINT64_MAX, 0, 2, "...one whose "
		    "principal is a pattern (host?)" },
		{ 2, "", 0, UINT64_MAX, 0, 2, "...one without principals (any "
		    "host)" },
		{ 2, "hostb", 0, UINT64_MAX, 0, 1, "...one for another host "
		    "name" },
		{ 1, "hosta", 0, UINT64_MAX, 0, 1, "...a user certificate" },
		{ 2, "hosta", 0, 1000, 0, 1, "...an expired one" },
		{ 2, "hosta", UINT64_MAX - 1, UINT64_MAX, 0, 1, "...one not "
		    "yet valid" },
		{ 2, "hosta", 0, UINT64_MAX, 1, 1, "...one from another CA" },
	};
	size_t			 i;

	host_new(&ca);
	host_new(&ca2);
	tk_buf_init(&d, AGENT_MAX_FRAME, 0);
	tk_buf_init(&cert, 8192, 0);
	put_ca_dest(&d, "hosta", &ca);
	is_int(add_dests(&c, "pkcs11:object=ed", &d), SSH_AGENT_SUCCESS,
	    "ssh-add -h hosta with a @cert-authority key only: taken");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cert_make(&cert, &HA, cases[i].other_ca ? &ca2 : &ca,
		    cases[i].type, cases[i].principals, cases[i].from,
		    cases[i].to);
		conn_reset(&c);
		if (bind_cert(&c, &HA, &cert, 1, 0) != SSH_AGENT_SUCCESS) {
			ok(0, "%s: the binding was refused", cases[i].what);
			continue;
		}
		is_int(count_ids(&c), cases[i].listed, "%s: %s",
		    cases[i].what, cases[i].listed == 2 ? "listed" :
		    "not listed");
	}
	/* the login itself: the hostbound request names the certificate */
	cert_make(&cert, &HA, &ca, 2, "hosta", 0, UINT64_MAX);
	conn_reset(&c);
	bind_cert(&c, &HA, &cert, 1, 0);
	msg_start(SSH_AGENTC_SIGN_REQUEST);
	{
		struct tk_buf	ud;
		uint8_t		sid[32];

		memset(sid, 1, sizeof(sid));
		tk_buf_init(&ud, 8192, 0);
		tk_buf_put_string(&ud, sid, sizeof(sid));
		tk_buf_put_u8(&ud, 50);
		tk_buf_put_cstring(&ud, "alice");
		tk_buf_put_cstring(&ud, "ssh-connection");
		tk_buf_put_cstring(&ud, "publickey-hostbound-v00@openssh.com");
		tk_buf_put_u8(&ud, 1);
		tk_buf_put_cstring(&ud, "ssh-ed25519");
		tk_buf_put_string(&ud, blob_ed, sizeof(blob_ed));
		tk_buf_put_string(&ud, tk_buf_ptr(&cert), tk_buf_avail(&cert));
		tk_buf_put_string(&M, blob_ed, sizeof(blob_ed));
		tk_buf_put_string(&M, tk_buf_ptr(&ud), tk_buf_avail(&ud));
		tk_buf_put_u32(&M, 0);
		tk_buf_free(&ud);
	}
	is_int(send_msg(&c), SSH_AGENT_SIGN_RESPONSE, "the login to the host "
	    "with the certificate is signed");

	/* a certificate whose CA signature does not verify */
	cert_make(&cert, &HA, &ca, 2, "hosta", 0, UINT64_MAX);
	cert.d[cert.len - 1] ^= 1;
	conn_reset(&c);
	is_int(bind_cert(&c, &HA, &cert, 1, 0), -1, "a host certificate with "
	    "a forged CA signature: the binding closes the connection");
	conn_reset(&c);
	msg_start(SSH_AGENTC_REMOVE_ALL_IDENTITIES);
	send_msg(&c);
	agent_add_uri(&A, "pkcs11:", "", 0, 0, NULL, 0, 1, NULL);
	tk_buf_free(&d);
	tk_buf_free(&cert);
	EVP_PKEY_free(ca.pk);
	EVP_PKEY_free(ca2.pk);
}

static void
test_parity(void)
{
	struct agent_conn	c = { 0 };

	logbuf[0] = '\0';
	msg_start(SSH_AGENTC_REMOVE_ALL_RSA_IDENTITIES);
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "type 9 (ssh-add -D's "
	    "protocol-1 remove-all): success, as OpenSSH's agent");
	is_int(count_ids(&c), 0, "...and it removed all keys");
	ok(!logged("not supported"), "...without a \"not supported\" line");
	ok(logged("request 11 (list keys)"), "-d logs listing requests too");
	agent_add_uri(&A, "pkcs11:", "", 0, 0, NULL, 0, 1, NULL);
	conn_reset(&c);
}

int
main(void)
{
	struct tk_buf	b;
	uint8_t		q[32];

	memset(q, 0x42, sizeof(q));
	tk_buf_init(&b, 1024, 0);
	tk_buf_put_cstring(&b, "ssh-ed25519");
	tk_buf_put_string(&b, q, sizeof(q));
	memcpy(blob_ed, tk_buf_ptr(&b), sizeof(blob_ed));
	tk_buf_free(&b);
	stub_reset();
	stub_key_add(blob_ed, sizeof(blob_ed), "pkcs11:object=ed");
	host_new(&HA);
	host_new(&HB);
	host_new(&HC);
	stub_key_add(HC.blob, sizeof(HC.blob), "pkcs11:object=other");
	if (agent_init(&A, &stub_ops) != 0)
		return 1;
	A.logfn = test_log;
	A.debug = 1;
	A.unlock_delay_ms = 0;
	A.allowlist = strdup(AGENT_ALLOWLIST_DEFAULT);
	agent_load_registry(&A);
	agent_add_uri(&A, "pkcs11:", "", 0, 0, NULL, 0, 1, NULL);
	S.logged_in = 1;

	test_hostile();
	test_one_hop();
	test_two_hops();
	test_host_certs();
	test_parity();

	agent_free(&A);
	stub_keys_clear();
	EVP_PKEY_free(HA.pk);
	EVP_PKEY_free(HB.pk);
	EVP_PKEY_free(HC.pk);
	tk_buf_free(&M);
	tk_buf_free(&R);
	return tap_done();
}
