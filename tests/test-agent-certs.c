/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Certificates in the agent's dispatch (src/agent/agent-certs.c and its
 * callers) against the stub keystore holding two real keys (RSA and
 * Ed25519) with certificates made by ssh-keygen -s (tests/
 * sshcert-vectors.h): ssh-add -s with associated-certs-v00@openssh.com
 * serves each certificate of a served key as an identity of its own with
 * the key's URI, -C leaves the plain keys out, an expired certificate and
 * one of no served key are not served; signing with a certificate
 * identity signs with the key (RSA by flags 2/4) and keeps the source's
 * confirm and lifetime; ssh-add -d of a certificate leaves the key, -e
 * takes both; with a destination constraint in the same message the
 * certificate identity carries it; hostile constraints are refused and
 * leave nothing behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tokenkeys.h"
#include "agent-stub.h"
#include "agent/agent.h"
#include "sshcert-vectors.h"
#include "tap.h"

static struct agent	A;
static struct tk_buf	M, R;
static time_t		fake_now = 1000;

static time_t
clock_now(void)
{
	return fake_now;
}
static char		logbuf[16384];

struct b64 {
	uint8_t	*p;
	size_t	 n;
};
static struct b64	k_rsa, k_ed, c_rsa, c_ed, c_exp, c_host;

static void
b64(const char *s, struct b64 *out)
{
	size_t	n = strlen(s);
	int	got;

	if ((out->p = malloc(n)) == NULL ||
	    (got = EVP_DecodeBlock(out->p, (const unsigned char *)s,
	    (int)n)) < 0)
		abort();
	while (n > 0 && s[n - 1] == '=') {
		got--;
		n--;
	}
	out->n = (size_t)got;
}

static void
test_log(int level, const char *msg)
{
	size_t	n = strlen(logbuf);

	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
	if (getenv("TEST_VERBOSE") != NULL)
		printf("# log: %s\n", msg);
}

static int
send_msg(void)
{
	struct agent_conn	c;

	memset(&c, 0, sizeof(c));
	tk_buf_free(&R);
	tk_buf_init(&R, AGENT_MAX_FRAME + 4, 0);
	if (agent_dispatch(&A, &c, tk_buf_ptr(&M), tk_buf_avail(&M), &R) != 0)
		return -1;
	return tk_buf_avail(&R) > 0 ? tk_buf_ptr(&R)[0] : -2;
}

static void
msg_start(uint8_t type)
{
	tk_buf_free(&M);
	tk_buf_init(&M, AGENT_MAX_FRAME * 2, 0);
	tk_buf_put_u8(&M, type);
}

/* Is blob listed, with this comment (NULL: any)? */
static int
listed(const struct b64 *blob, const char *comment)
{
	struct tk_buf	 b;
	const uint8_t	*p, *c;
	size_t		 n, cn;
	uint32_t	 cnt, i;
	uint8_t		 t;

	msg_start(SSH_AGENTC_REQUEST_IDENTITIES);
	if (send_msg() != SSH_AGENT_IDENTITIES_ANSWER)
		return -1;
	tk_buf_init_ro(&b, tk_buf_ptr(&R), tk_buf_avail(&R));
	if (tk_buf_get_u8(&b, &t) != 0 || tk_buf_get_u32(&b, &cnt) != 0)
		return -1;
	for (i = 0; i < cnt; i++) {
		if (tk_buf_get_string(&b, &p, &n) != 0 ||
		    tk_buf_get_string(&b, &c, &cn) != 0)
			return -1;
		if (n == blob->n && memcmp(p, blob->p, n) == 0)
			return comment == NULL || (cn == strlen(comment) &&
			    memcmp(c, comment, cn) == 0);
	}
	return 0;
}

/*
 * 26 for reader with associated-certs: certs_only, the list; extra
 * constraint bytes before it (confirm; lifetime takes 10 s), after it
 * (trailing).
 */
static int
add_certs(const char *reader, int only, const struct b64 **certs,
    size_t n, const char *ext, int before, int after)
{
	size_t	mark, i;

	msg_start(SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED);
	tk_buf_put_cstring(&M, reader);
	tk_buf_put_cstring(&M, "");
	if (before)
		tk_buf_put_u8(&M, (uint8_t)before);
	if (before == SSH_AGENT_CONSTRAIN_LIFETIME)
		tk_buf_put_u32(&M, 10);
	tk_buf_put_u8(&M, SSH_AGENT_CONSTRAIN_EXTENSION);
	tk_buf_put_cstring(&M, ext != NULL ? ext : AGENT_EXT_CERTS);
	tk_buf_put_u8(&M, (uint8_t)only);
	tk_buf_open_string(&M, &mark);
	for (i = 0; i < n; i++)
		tk_buf_put_string(&M, certs[i]->p, certs[i]->n);
	tk_buf_close_string(&M, mark);
	if (after)
		tk_buf_put_u8(&M, (uint8_t)after);
	return send_msg();
}

static int
sign(const struct b64 *blob, uint32_t flags)
{
	msg_start(SSH_AGENTC_SIGN_REQUEST);
	tk_buf_put_string(&M, blob->p, blob->n);
	tk_buf_put_cstring(&M, "data to sign");
	tk_buf_put_u32(&M, flags);
	return send_msg();
}

static int
sig_is(const struct b64 *key, int alg)
{
	uint8_t	want[STUB_SIG_LEN];

	stub_sig(key->p, key->n, (const uint8_t *)"data to sign", 12, alg,
	    want);
	return tk_buf_avail(&R) == 1 + 4 + STUB_SIG_LEN &&
	    memcmp(tk_buf_ptr(&R) + 5, want, STUB_SIG_LEN) == 0;
}

static int
remove_blob(const struct b64 *blob)
{
	msg_start(SSH_AGENTC_REMOVE_IDENTITY);
	tk_buf_put_string(&M, blob->p, blob->n);
	return send_msg();
}

static int
remove_reader(const char *reader)
{
	msg_start(SSH_AGENTC_REMOVE_SMARTCARD_KEY);
	tk_buf_put_cstring(&M, reader);
	tk_buf_put_cstring(&M, "");
	return send_msg();
}

static void
test_certs(void)
{
	const struct b64	*all[] = { &c_rsa, &c_ed, &c_exp, &c_host };
	const struct b64	*one[] = { &c_rsa };

	ok(!listed(&c_rsa, NULL) && listed(&k_rsa, "pkcs11:object=rsa"),
	    "before: the keys, no certificate");
	is_int(add_certs("pkcs11:object=rsa", 0, all, 4, NULL, 0, 0),
	    SSH_AGENT_SUCCESS, "ssh-add -s with four certificates: success");
	ok(listed(&c_rsa, "pkcs11:object=rsa"),
	    "the RSA key's certificate is served, with the key's URI");
	ok(listed(&k_rsa, NULL), "...and the plain key");
	ok(!listed(&c_ed, NULL), "the Ed25519 key's is not: that key is not "
	    "this reader's");
	ok(strstr(logbuf, "\"ed-user\"") != NULL &&
	    strstr(logbuf, "certifies no key of this ssh-add -s") != NULL,
	    "...and the log says so");
	ok(!listed(&c_exp, NULL) && !listed(&c_host, NULL),
	    "certificates of keys the token does not hold: not served");

	S.nconfirm = 0;
	is_int(sign(&c_rsa, SSH_AGENT_RSA_SHA2_512), SSH_AGENT_SIGN_RESPONSE,
	    "a signature with the certificate identity");
	ok(sig_is(&k_rsa, TK_SIG_RSA_SHA512) &&
	    S.last_alg == TK_SIG_RSA_SHA512,
	    "...made with the RSA key, rsa-sha2-512 for flag 4");
	sign(&c_rsa, SSH_AGENT_RSA_SHA2_256);
	ok(sig_is(&k_rsa, TK_SIG_RSA_SHA256), "...rsa-sha2-256 for flag 2");
	is_int(S.nconfirm, 0, "no confirm asked: the source has none");

	is_int(add_certs("pkcs11:object=ed", 1, all, 4, NULL,
	    SSH_AGENT_CONSTRAIN_CONFIRM, 0), SSH_AGENT_SUCCESS,
	    "ssh-add -c -C -s for the Ed25519 key: success");
	ok(listed(&c_ed, "pkcs11:object=ed"), "its certificate is served");
	S.nconfirm = 0;
	is_int(sign(&c_ed, 0), SSH_AGENT_SIGN_RESPONSE,
	    "a signature with it");
	ok(sig_is(&k_ed, TK_SIG_DEFAULT), "...made with the Ed25519 key");
	is_int(S.nconfirm, 1, "...after the source's confirm");

	is_int(remove_blob(&c_rsa), SSH_AGENT_SUCCESS,
	    "ssh-add -d of the RSA certificate");
	ok(!listed(&c_rsa, NULL) && listed(&k_rsa, NULL),
	    "...the certificate goes, the key stays");
	is_int(sign(&c_rsa, 0), SSH_AGENT_FAILURE,
	    "...and it signs no more");
	is_int(add_certs("pkcs11:object=rsa", 0, one, 1, NULL, 0, 0),
	    SSH_AGENT_SUCCESS, "ssh-add -s with it again");
	ok(listed(&c_rsa, NULL), "...serves it again");
	is_int(remove_reader("pkcs11:object=rsa"), SSH_AGENT_SUCCESS,
	    "ssh-add -e of the RSA reader");
	ok(!listed(&c_rsa, NULL), "...takes its certificate");
	is_int(A.ncertsets, 1, "...and its set (the Ed25519 one's is left)");

	is_int(add_certs("pkcs11:object=rsa", 1, one, 1, NULL,
	    SSH_AGENT_CONSTRAIN_LIFETIME, 0), SSH_AGENT_SUCCESS,
	    "ssh-add -t 10 -C -s with the RSA certificate");
	fake_now += 9;
	ok(listed(&c_rsa, NULL), "served for 9 s");
	fake_now += 2;
	ok(!listed(&c_rsa, NULL), "...not after 11: the source's lifetime");
	is_int(sign(&c_rsa, 0), SSH_AGENT_FAILURE, "...nor signs");
}

/*
 * One message 26 with restrict-destination-v00@openssh.com (to "hosta",
 * any host key blob) and then associated-certs, as OpenSSH 9.6+'s ssh-add
 * -C -h hosta -s sends it: the certificate identity carries the
 * destination constraint.
 */
static void
test_dests(void)
{
	size_t	mark, m2, m3;

	msg_start(SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED);
	tk_buf_put_cstring(&M, "pkcs11:object=ed");
	tk_buf_put_cstring(&M, "");
	tk_buf_put_u8(&M, SSH_AGENT_CONSTRAIN_EXTENSION);
	tk_buf_put_cstring(&M, "restrict-destination-v00@openssh.com");
	tk_buf_open_string(&M, &mark);
	tk_buf_open_string(&M, &m2);		/* one constraint */
	tk_buf_open_string(&M, &m3);		/* from: this machine */
	tk_buf_put_cstring(&M, "");
	tk_buf_put_cstring(&M, "");
	tk_buf_put_string(&M, NULL, 0);
	tk_buf_close_string(&M, m3);
	tk_buf_open_string(&M, &m3);		/* to: hosta, its key */
	tk_buf_put_cstring(&M, "");
	tk_buf_put_cstring(&M, "hosta");
	tk_buf_put_string(&M, NULL, 0);
	tk_buf_put_string(&M, k_ed.p, k_ed.n);
	tk_buf_put_u8(&M, 0);
	tk_buf_close_string(&M, m3);
	tk_buf_put_string(&M, NULL, 0);
	tk_buf_close_string(&M, m2);
	tk_buf_close_string(&M, mark);
	tk_buf_put_u8(&M, SSH_AGENT_CONSTRAIN_EXTENSION);
	tk_buf_put_cstring(&M, AGENT_EXT_CERTS);
	tk_buf_put_u8(&M, 1);
	tk_buf_open_string(&M, &mark);
	tk_buf_put_string(&M, c_ed.p, c_ed.n);
	tk_buf_close_string(&M, mark);
	logbuf[0] = '\0';
	is_int(send_msg(), SSH_AGENT_SUCCESS, "ssh-add -C -h hosta -s with a "
	    "certificate (both constraints in one message 26): success");
	ok(strstr(logbuf, "(certificates only) (for the destinations") !=
	    NULL, "...the log says certificates only, for the destinations");
	ok(listed(&c_ed, "pkcs11:object=ed"),
	    "...the certificate is listed on a local (unbound) connection");
	is_int(sign(&c_ed, 0), SSH_AGENT_FAILURE, "...but it signs no data "
	    "that is not a login to hosta (its destination constraint)");
	ok(strstr(logbuf, "not bound to an ssh session") != NULL,
	    "...and the log says why");
	is_int(remove_reader("pkcs11:object=ed"), SSH_AGENT_SUCCESS,
	    "ssh-add -e of it");
}

static void
test_hostile(void)
{
	const struct b64	*one[] = { &c_rsa };
	struct b64		 empty = { (uint8_t *)"", 0 };
	const struct b64	*bad[] = { &c_rsa, &empty };
	size_t			 mark, i;

	is_int(add_certs("pkcs11:object=rsa", 0, one, 1,
	    "other@example.com", 0, 0), SSH_AGENT_FAILURE,
	    "another extension constraint: refused");
	ok(strstr(logbuf, "\"other@example.com\" is not implemented") != NULL,
	    "...naming it in the log");
	is_int(add_certs("pkcs11:object=rsa", 0, bad, 2, NULL, 0, 0),
	    SSH_AGENT_FAILURE, "an empty certificate: refused");
	is_int(add_certs("pkcs11:object=rsa", 2, one, 1, NULL, 0, 0),
	    SSH_AGENT_FAILURE, "certs_only 2: refused");
	is_int(add_certs("pkcs11:object=rsa", 0, one, 1, NULL, 0, 9),
	    SSH_AGENT_FAILURE, "a byte after the constraint: refused");

	msg_start(SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED);
	tk_buf_put_cstring(&M, "pkcs11:object=rsa");
	tk_buf_put_cstring(&M, "");
	tk_buf_put_u8(&M, SSH_AGENT_CONSTRAIN_EXTENSION);
	tk_buf_put_cstring(&M, AGENT_EXT_CERTS);
	tk_buf_put_u8(&M, 0);
	tk_buf_open_string(&M, &mark);
	tk_buf_put_string(&M, c_rsa.p, c_rsa.n);
	for (i = 0; i < AGENT_MAX_CERTS; i++)
		tk_buf_put_u32(&M, 0);
	tk_buf_close_string(&M, mark);
	is_int(send_msg(), SSH_AGENT_FAILURE, "1025 certificates: refused");
	ok(strstr(logbuf, "more than 1024 certificates") != NULL,
	    "...as such");

	msg_start(SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED);
	tk_buf_put_cstring(&M, "pkcs11:object=rsa");
	tk_buf_put_cstring(&M, "");
	tk_buf_put_u8(&M, SSH_AGENT_CONSTRAIN_EXTENSION);
	tk_buf_put_cstring(&M, AGENT_EXT_CERTS);
	tk_buf_put_u8(&M, 0);
	tk_buf_put(&M, c_rsa.p, c_rsa.n);	/* not nested in a list */
	is_int(send_msg(), SSH_AGENT_FAILURE, "wrong nesting: refused");

	msg_start(SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED);
	tk_buf_put_cstring(&M, "pkcs11:object=rsa");
	tk_buf_put_cstring(&M, "");
	tk_buf_put_u8(&M, SSH_AGENT_CONSTRAIN_EXTENSION);
	tk_buf_put_cstring(&M, AGENT_EXT_CERTS);
	tk_buf_put_u8(&M, 0);
	tk_buf_put_u32(&M, 1000);	/* a list longer than the frame */
	is_int(send_msg(), SSH_AGENT_FAILURE, "a list cut short: refused");
	ok(!listed(&c_rsa, NULL), "nothing of these is served");
}

int
main(void)
{
	b64(rsa_key, &k_rsa);
	b64(ed_key, &k_ed);
	b64(rsa_cert, &c_rsa);
	b64(ed_cert, &c_ed);
	b64(ec256_cert, &c_exp);
	b64(ec521_cert, &c_host);
	stub_reset();
	stub_key_add(k_ed.p, k_ed.n, "pkcs11:object=ed");
	stub_key_add(k_rsa.p, k_rsa.n, "pkcs11:object=rsa");
	if (agent_init(&A, &stub_ops) != 0)
		return 1;
	A.logfn = test_log;
	A.debug = 1;
	A.now = clock_now;
	A.unlock_delay_ms = 0;
	A.allowlist = strdup(AGENT_ALLOWLIST_DEFAULT);
	agent_load_registry(&A);
	agent_add_uri(&A, "pkcs11:", "", 0, 0, NULL, 0, 1, NULL);

	test_certs();
	test_dests();
	test_hostile();

	agent_free(&A);
	stub_keys_clear();
	tk_buf_free(&M);
	tk_buf_free(&R);
	free(k_rsa.p);
	free(k_ed.p);
	free(c_rsa.p);
	free(c_ed.p);
	free(c_exp.p);
	free(c_host.p);
	return tap_done();
}
