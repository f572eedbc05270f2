/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The agent's request dispatch (src/agent/agent-proto.c and friends) against a
 * stub keystore: listing, signing with PIN logins, constraints, lock,
 * session-bind, and hostile frames.  The last part runs the real server
 * on a socket: garbage must close that connection only.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tokenkeys.h"
#include "agent-stub.h"
#include "agent/agent.h"
#include "tap.h"

/* ------------------------------------------------------------ stub */

static time_t	fake_now = 1000;

static time_t
stub_now(void)
{
	return fake_now;
}

static uint8_t	blob_ed[51], blob_rsa[11 + 4 + 1 + 4 + 129];

static void
make_blobs(void)
{
	struct tk_buf	b;
	uint8_t		q[32], n[128], e[1] = { 3 };

	memset(q, 0x42, sizeof(q));
	tk_buf_init(&b, 1024, 0);
	tk_buf_put_cstring(&b, "ssh-ed25519");
	tk_buf_put_string(&b, q, sizeof(q));
	memcpy(blob_ed, tk_buf_ptr(&b), sizeof(blob_ed));
	tk_buf_reset(&b);
	memset(n, 0xc5, sizeof(n));
	tk_buf_put_cstring(&b, "ssh-rsa");
	tk_buf_put_bignum(&b, e, 1);
	tk_buf_put_bignum(&b, n, sizeof(n));
	memcpy(blob_rsa, tk_buf_ptr(&b), sizeof(blob_rsa));
	tk_buf_free(&b);
	stub_key_add(blob_ed, sizeof(blob_ed), "pkcs11:object=ed");
	stub_key_add(blob_rsa, sizeof(blob_rsa), "pkcs11:object=rsa");
}

/* ------------------------------------------------------------ helpers */

static struct agent	A;
static char		logbuf[8192];

static void
test_log(int level, const char *msg)
{
	size_t	n = strlen(logbuf);

	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
	if (getenv("TEST_VERBOSE") != NULL)
		printf("# log: %s\n", msg);
}

static struct tk_buf	M, R;

static void
msg_start(uint8_t type)
{
	tk_buf_free(&M);
	tk_buf_init(&M, AGENT_MAX_FRAME * 2, 0);
	tk_buf_put_u8(&M, type);
}

/* Dispatch M; returns the reply type, or -1 when the connection closes. */
static int
send_msg(struct agent_conn *c)
{
	int	r;

	tk_buf_free(&R);
	tk_buf_init(&R, AGENT_MAX_FRAME + 4, 0);
	r = agent_dispatch(&A, c, tk_buf_ptr(&M), tk_buf_avail(&M), &R);
	if (r != 0)
		return -1;
	if (tk_buf_avail(&R) == 0)
		return -2;
	return tk_buf_ptr(&R)[0];
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

static int
sign(struct agent_conn *c, const uint8_t *blob, size_t len, uint32_t flags)
{
	msg_start(SSH_AGENTC_SIGN_REQUEST);
	tk_buf_put_string(&M, blob, len);
	tk_buf_put_cstring(&M, "data to sign");
	tk_buf_put_u32(&M, flags);
	return send_msg(c);
}

static int
add_reader(struct agent_conn *c, const char *reader, const char *pin,
    const uint8_t *constraints, size_t clen)
{
	msg_start(clen ? SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED :
	    SSH_AGENTC_ADD_SMARTCARD_KEY);
	tk_buf_put_cstring(&M, reader);
	tk_buf_put_cstring(&M, pin);
	tk_buf_put(&M, constraints, clen);
	return send_msg(c);
}

static void
reset_stub(void)
{
	stub_reset();
}

/* ------------------------------------------------------------ tests */

static void
test_list_and_sign(void)
{
	struct agent_conn	c = { 0 };
	struct tk_buf		b;
	const uint8_t		*p;
	size_t			 n;
	uint8_t			 t;
	uint32_t		 cnt;

	is_int(count_ids(&c), 2, "listing shows the stub token's two keys");
	tk_buf_init_ro(&b, tk_buf_ptr(&R), tk_buf_avail(&R));
	tk_buf_get_u8(&b, &t);
	tk_buf_get_u32(&b, &cnt);
	tk_buf_get_string(&b, &p, &n);
	tk_buf_get_string(&b, &p, &n);
	ok(n == strlen("pkcs11:object=ed") && memcmp(p, "pkcs11:object=ed",
	    n) == 0, "the comment is the key's URI");

	reset_stub();
	is_int(sign(&c, blob_ed, sizeof(blob_ed), 0), SSH_AGENT_SIGN_RESPONSE,
	    "first signature succeeds after a PIN prompt");
	is_int(S.nprompt, 1, "the PIN was asked once");
	is_int(S.nlogin, 1, "one login");
	{
		uint8_t	want[STUB_SIG_LEN];

		stub_sig(blob_ed, sizeof(blob_ed),
		    (const uint8_t *)"data to sign", 12, TK_SIG_DEFAULT, want);
		ok(tk_buf_avail(&R) == 1 + 4 + STUB_SIG_LEN &&
		    memcmp(tk_buf_ptr(&R) + 5, want, STUB_SIG_LEN) == 0,
		    "the answer carries the token's signature");
	}
	ok(strstr(S.last_desc, "stub token") != NULL &&
	    strstr(S.last_desc, "SHA256:") != NULL,
	    "the prompt names the token and the key fingerprint");
	is_int(sign(&c, blob_ed, sizeof(blob_ed), 0), SSH_AGENT_SIGN_RESPONSE,
	    "second signature succeeds");
	is_int(S.nprompt, 1, "no second prompt while logged in");

	is_int(sign(&c, blob_rsa, sizeof(blob_rsa), SSH_AGENT_RSA_SHA2_256),
	    SSH_AGENT_SIGN_RESPONSE, "RSA sign with flag 2");
	is_int(S.last_alg, TK_SIG_RSA_SHA256, "flag 2 -> rsa-sha2-256");
	sign(&c, blob_rsa, sizeof(blob_rsa), SSH_AGENT_RSA_SHA2_512);
	is_int(S.last_alg, TK_SIG_RSA_SHA512, "flag 4 -> rsa-sha2-512");
	sign(&c, blob_rsa, sizeof(blob_rsa), 0);
	is_int(S.last_alg, TK_SIG_DEFAULT, "no flag -> ssh-rsa");
	sign(&c, blob_ed, sizeof(blob_ed), SSH_AGENT_RSA_SHA2_512);
	is_int(S.last_alg, TK_SIG_DEFAULT, "RSA flags ignored for Ed25519");

	{
		uint8_t other[sizeof(blob_ed)];

		memcpy(other, blob_ed, sizeof(other));
		other[sizeof(other) - 1] ^= 1;
		is_int(sign(&c, other, sizeof(other), 0), SSH_AGENT_FAILURE,
		    "a key that is not served: failure");
	}
}

static void
test_pin_policy(void)
{
	struct agent_conn	c = { 0 };

	reset_stub();
	S.prompt_pin = "9999";
	is_int(sign(&c, blob_ed, sizeof(blob_ed), 0), SSH_AGENT_FAILURE,
	    "wrong PIN: the signature fails");
	is_int(S.nlogin, 1, "wrong PIN: exactly one login attempt");
	is_int(S.nprompt, 1, "wrong PIN: asked once, no automatic retry");
	S.prompt_pin = "1234";
	is_int(sign(&c, blob_ed, sizeof(blob_ed), 0), SSH_AGENT_SIGN_RESPONSE,
	    "the next signature asks again and succeeds");
	ok(strstr(S.last_error, "wrong") != NULL,
	    "...saying the last PIN was wrong");

	reset_stub();
	S.token_flags = TK_TOKEN_PIN_LOCKED;
	is_int(sign(&c, blob_ed, sizeof(blob_ed), 0), SSH_AGENT_FAILURE,
	    "locked PIN: failure");
	is_int(S.nprompt + S.nlogin, 0, "locked PIN: no prompt, no login");

	reset_stub();
	S.token_flags = TK_TOKEN_PIN_FINAL_TRY;
	S.confirm_answer = TK_ERR_CANCELLED;
	is_int(sign(&c, blob_ed, sizeof(blob_ed), 0), SSH_AGENT_FAILURE,
	    "final try not confirmed: failure");
	is_int(S.nconfirm, 1, "final try: explicit confirmation asked");
	is_int(S.nlogin + S.nprompt, 0, "final try refused: no PIN, no login");
	S.confirm_answer = 0;
	is_int(sign(&c, blob_ed, sizeof(blob_ed), 0), SSH_AGENT_SIGN_RESPONSE,
	    "final try confirmed: PIN asked, signed");
	ok(strstr(S.last_error, "LAST") != NULL, "the prompt warns of the "
	    "last try");

	reset_stub();
	S.token_flags = TK_TOKEN_PIN_COUNT_LOW;
	sign(&c, blob_ed, sizeof(blob_ed), 0);
	ok(strstr(S.last_error, "few") != NULL, "COUNT_LOW: warned");

	reset_stub();
	S.prompt_result = TK_ERR_CANCELLED;
	is_int(sign(&c, blob_ed, sizeof(blob_ed), 0), SSH_AGENT_FAILURE,
	    "empty answer / cancel: failure");
	is_int(S.nlogin, 0, "cancel: no login");

	reset_stub();
	S.token_flags = TK_TOKEN_PROTECTED_AUTH;
	S.prompt_pin = "";
	/* the stub refuses a NULL PIN: what matters is that none is asked */
	sign(&c, blob_ed, sizeof(blob_ed), 0);
	is_int(S.nprompt, 0, "PIN pad: nothing asked here");
	is_int(S.nlogin, 1, "PIN pad: one login (through the pad)");

	reset_stub();
	S.logged_in = 1;
	S.always_auth = 1;
	agent_refresh(&A);
	sign(&c, blob_ed, sizeof(blob_ed), 0);
	is_int(sign(&c, blob_ed, sizeof(blob_ed), 0), SSH_AGENT_SIGN_RESPONSE,
	    "always-authenticate key signs");
	is_int(S.nprompt, 2, "always-authenticate: a prompt per signature");
	S.always_auth = 0;
	agent_refresh(&A);
}

static void
test_readers(void)
{
	struct agent_conn	c = { 0 };
	static const uint8_t	life5[] = { 1, 0, 0, 0, 5 };
	static const uint8_t	confirm[] = { 2 };
	static const uint8_t	unknown[] = { 7 };
	uint8_t			ext[64];
	size_t			n;

	reset_stub();
	is_int(add_reader(&c, "pkcs11:object=ed", "1234", NULL, 0),
	    SSH_AGENT_SUCCESS, "ssh-add -s URI with a PIN");
	is_int(S.nlogin, 1, "...one login with that PIN");
	is_int(S.nprompt, 0, "...no prompt");
	is_int(sign(&c, blob_ed, sizeof(blob_ed), 0), SSH_AGENT_SIGN_RESPONSE,
	    "...then signs without asking");
	is_int(S.nprompt, 0, "...still no prompt");

	reset_stub();
	is_int(add_reader(&c, "pkcs11:object=ed", "0000", NULL, 0),
	    SSH_AGENT_FAILURE, "ssh-add -s with a wrong PIN fails");
	is_int(S.nlogin, 1, "...after exactly one login");

	is_int(add_reader(&c, "pkcs11:object=nothing", "", NULL, 0),
	    SSH_AGENT_FAILURE, "ssh-add -s URI matching no key fails");
	is_int(add_reader(&c, "/etc/passwd", "", NULL, 0), SSH_AGENT_FAILURE,
	    "a module outside the allowlist is refused");
	is_int(add_reader(&c, "garbage", "", NULL, 0), SSH_AGENT_FAILURE,
	    "a reader that is neither URI nor path is refused");

	memcpy(ext, "\377\0\0\0\044restrict-destination-v00@openssh.com",
	    41);
	memcpy(ext + 41, "\0\0\0\0", 4);
	n = 45;
	is_int(add_reader(&c, "pkcs11:object=rsa", "", ext, n),
	    SSH_AGENT_FAILURE, "restrict-destination constraint refused");
	is_int(add_reader(&c, "pkcs11:object=rsa", "", unknown,
	    sizeof(unknown)), SSH_AGENT_FAILURE,
	    "an unknown constraint refuses the request");
	ok(strstr(logbuf, "constraint 7 is not implemented") != NULL,
	    "...and the log says why");

	reset_stub();
	S.logged_in = 1;
	is_int(add_reader(&c, "pkcs11:object=rsa", "", confirm,
	    sizeof(confirm)), SSH_AGENT_SUCCESS, "confirm constraint accepted");
	S.confirm_answer = TK_ERR_CANCELLED;
	is_int(sign(&c, blob_rsa, sizeof(blob_rsa), 0), SSH_AGENT_FAILURE,
	    "confirm: 'no' refuses the signature");
	S.confirm_answer = 0;
	is_int(sign(&c, blob_rsa, sizeof(blob_rsa), 0),
	    SSH_AGENT_SIGN_RESPONSE, "confirm: 'yes' signs");
	is_int(S.nconfirm, 2, "confirm asked before each signature");

	is_int(add_reader(&c, "pkcs11:object=rsa", "", life5, sizeof(life5)),
	    SSH_AGENT_SUCCESS, "lifetime constraint accepted");
	is_int(count_ids(&c), 2, "both keys listed");
	fake_now += 6;
	is_int(count_ids(&c), 1, "after the lifetime the key is gone");
	is_int(sign(&c, blob_rsa, sizeof(blob_rsa), 0), SSH_AGENT_FAILURE,
	    "...and cannot sign");
	is_int(add_reader(&c, "pkcs11:object=rsa", "", NULL, 0),
	    SSH_AGENT_SUCCESS, "ssh-add -s again");
	is_int(count_ids(&c), 2, "...serves it again");

	msg_start(SSH_AGENTC_REMOVE_SMARTCARD_KEY);
	tk_buf_put_cstring(&M, "pkcs11:object=rsa");
	tk_buf_put_cstring(&M, "");
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "ssh-add -e URI");
	is_int(count_ids(&c), 1, "...stops serving its keys");
	msg_start(SSH_AGENTC_REMOVE_SMARTCARD_KEY);
	tk_buf_put_cstring(&M, "pkcs11:object=never-added");
	tk_buf_put_cstring(&M, "");
	is_int(send_msg(&c), SSH_AGENT_FAILURE, "ssh-add -e of an unknown "
	    "reader fails");

	msg_start(SSH_AGENTC_REMOVE_IDENTITY);
	tk_buf_put_string(&M, blob_ed, sizeof(blob_ed));
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "ssh-add -d key");
	is_int(count_ids(&c), 0, "...it is no longer listed");
	is_int(add_reader(&c, "pkcs11:", "", NULL, 0), SSH_AGENT_SUCCESS,
	    "ssh-add -s pkcs11:");
	is_int(count_ids(&c), 2, "...serves everything again");
	msg_start(SSH_AGENTC_REMOVE_ALL_IDENTITIES);
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "ssh-add -D");
	is_int(count_ids(&c), 0, "...nothing served");
	add_reader(&c, "pkcs11:", "", NULL, 0);
}

/*
 * What a pkcs11: URI says is p11-kit's reading of it: the scheme in any
 * case, and of a repeated attribute the last one.
 */
static void
test_uri_rules(void)
{
	struct agent_conn	 c = { 0 };
	char			 dir[] = "/tmp/tk-uri.XXXXXX", mod[64], uri[512];
	char			*saved = A.allowlist, allow[80];
	FILE			*f;

	reset_stub();
	logbuf[0] = '\0';
	is_int(add_reader(&c, "PKCS11:object=ed", "", NULL, 0),
	    SSH_AGENT_SUCCESS, "ssh-add -s with an upper-case PKCS11: scheme");
	is_int(add_reader(&c, "Pkcs11:object=nothing", "", NULL, 0),
	    SSH_AGENT_FAILURE, "...one that matches no key fails as with "
	    "pkcs11:");
	ok(strstr(logbuf, "no key matches") != NULL &&
	    strstr(logbuf, "neither a pkcs11: URI") == NULL,
	    "...for that reason, not as a file name");

	/* a module file in an allowlisted directory (the stub loads none) */
	if (mkdtemp(dir) == NULL)
		return;
	snprintf(mod, sizeof(mod), "%s/m.so", dir);
	snprintf(allow, sizeof(allow), "%s/*", dir);
	if ((f = fopen(mod, "w")) != NULL)
		fclose(f);
	A.allowlist = allow;
	snprintf(uri, sizeof(uri), "PKCS11:object=ed?module-path=%s", mod);
	S.last_mod_path[0] = '\0';
	is_int(add_reader(&c, uri, "", NULL, 0), SSH_AGENT_SUCCESS,
	    "upper-case scheme with a module-path");
	is_str(S.last_mod_path, mod, "...which is the module started");
	snprintf(uri, sizeof(uri), "pkcs11:object=ed?module-path=/nonexistent/"
	    "x.so&module-path=%s", mod);
	is_int(add_reader(&c, uri, "", NULL, 0), SSH_AGENT_SUCCESS,
	    "a repeated module-path: the last one counts, as in p11-kit");
	snprintf(uri, sizeof(uri), "pkcs11:object=ed?module-path=%s&"
	    "module-path=/nonexistent/x.so", mod);
	is_int(add_reader(&c, uri, "", NULL, 0), SSH_AGENT_FAILURE,
	    "...also when it names no file");
	is_int(add_reader(&c, "pkcs11:object=ed?module-path=%zz", "", NULL, 0),
	    SSH_AGENT_FAILURE, "a malformed module-path is refused");
	A.allowlist = saved;
	unlink(mod);
	rmdir(dir);
	msg_start(SSH_AGENTC_REMOVE_ALL_IDENTITIES);
	send_msg(&c);
	add_reader(&c, "pkcs11:", "", NULL, 0);
}

static void
test_lock(void)
{
	struct agent_conn	c = { 0 };

	reset_stub();
	S.logged_in = 1;
	msg_start(SSH_AGENTC_LOCK);
	tk_buf_put_cstring(&M, "secret");
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "lock");
	ok(memmem(&A, sizeof(A), "secret", 6) == NULL,
	    "the lock password is not stored in clear");
	is_int(count_ids(&c), 0, "locked: no keys listed");
	is_int(sign(&c, blob_ed, sizeof(blob_ed), 0), SSH_AGENT_FAILURE,
	    "locked: signatures refused");
	is_int(S.nsign, 0, "locked: the token is not asked");
	msg_start(SSH_AGENTC_LOCK);
	tk_buf_put_cstring(&M, "again");
	is_int(send_msg(&c), SSH_AGENT_FAILURE, "locking twice fails");
	msg_start(SSH_AGENTC_UNLOCK);
	tk_buf_put_cstring(&M, "wrong");
	is_int(send_msg(&c), SSH_AGENT_FAILURE, "unlock with a wrong password");
	is_int(count_ids(&c), 0, "...still locked");
	msg_start(SSH_AGENTC_UNLOCK);
	tk_buf_put_cstring(&M, "secret");
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "unlock");
	is_int(count_ids(&c), 2, "unlocked: keys listed again");
}

static int
hostkey_sign(EVP_PKEY *pk, const uint8_t *data, size_t len, struct tk_buf *sig)
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	uint8_t		 s[64];
	size_t		 slen = sizeof(s);
	int		 r;

	r = EVP_DigestSignInit(md, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestSign(md, s, &slen, data, len) == 1;
	EVP_MD_CTX_free(md);
	tk_buf_put_cstring(sig, "ssh-ed25519");
	tk_buf_put_string(sig, s, slen);
	return r;
}

static void
test_session_bind(void)
{
	struct agent_conn	 c = { 0 };
	EVP_PKEY		*pk = NULL;
	EVP_PKEY_CTX		*ctx;
	struct tk_buf		 key, sig;
	uint8_t			 pub[32], sid[32];
	size_t			 publen = sizeof(pub);

	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY_keygen_init(ctx);
	EVP_PKEY_keygen(ctx, &pk);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_get_raw_public_key(pk, pub, &publen);
	tk_buf_init(&key, 1024, 0);
	tk_buf_init(&sig, 1024, 0);
	tk_buf_put_cstring(&key, "ssh-ed25519");
	tk_buf_put_string(&key, pub, sizeof(pub));
	memset(sid, 7, sizeof(sid));
	hostkey_sign(pk, sid, sizeof(sid), &sig);

	msg_start(SSH_AGENTC_EXTENSION);
	tk_buf_put_cstring(&M, "query");
	is_int(send_msg(&c), SSH_AGENT_EXTENSION_RESPONSE, "query answered");

	msg_start(SSH_AGENTC_EXTENSION);
	tk_buf_put_cstring(&M, "session-bind@openssh.com");
	tk_buf_put_string(&M, tk_buf_ptr(&key), tk_buf_avail(&key));
	tk_buf_put_string(&M, sid, sizeof(sid));
	tk_buf_put_string(&M, tk_buf_ptr(&sig), tk_buf_avail(&sig));
	tk_buf_put_u8(&M, 1);
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "session-bind with a valid "
	    "host key signature");
	ok(c.bound && c.forwarded, "the connection is marked forwarded");
	is_int(add_reader(&c, "pkcs11:", "", NULL, 0), SSH_AGENT_FAILURE,
	    "a bound connection cannot add a module or send a PIN");
	is_int(count_ids(&c), 2, "...but can list");

	agent_conn_clear(&c);
	memset(&c, 0, sizeof(c));
	sid[0] ^= 1;
	msg_start(SSH_AGENTC_EXTENSION);
	tk_buf_put_cstring(&M, "session-bind@openssh.com");
	tk_buf_put_string(&M, tk_buf_ptr(&key), tk_buf_avail(&key));
	tk_buf_put_string(&M, sid, sizeof(sid));
	tk_buf_put_string(&M, tk_buf_ptr(&sig), tk_buf_avail(&sig));
	tk_buf_put_u8(&M, 0);
	is_int(send_msg(&c), -1, "a forged session-bind closes the connection");
	ok(!c.bound, "...and binds nothing");

	msg_start(SSH_AGENTC_EXTENSION);
	tk_buf_put_cstring(&M, "nonsense@example.com");
	is_int(send_msg(&c), SSH_AGENT_FAILURE, "unknown extension: failure");

	/* -A: the binding goes to the other agent on the same pairing */
	sid[0] ^= 1;
	stub_up_reset();
	stub_up_key_add(blob_ed, sizeof(blob_ed) - 1, "file key");
	A.up = &stub_upstream;
	agent_conn_clear(&c);
	memset(&c, 0, sizeof(c));
	is_int(count_ids(&c), 3, "-A: a client lists both agents' keys");
	msg_start(SSH_AGENTC_EXTENSION);
	tk_buf_put_cstring(&M, "session-bind@openssh.com");
	tk_buf_put_string(&M, tk_buf_ptr(&key), tk_buf_avail(&key));
	tk_buf_put_string(&M, sid, sizeof(sid));
	tk_buf_put_string(&M, tk_buf_ptr(&sig), tk_buf_avail(&sig));
	tk_buf_put_u8(&M, 0);
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "-A: it binds its connection");
	ok(U.nbinds == 1 && U.nopen == 1 && U.last_conn == 1,
	    "...and the other agent got the binding on that client's "
	    "connection");
	agent_up_close(&A, &c);
	agent_conn_clear(&c);
	memset(&c, 0, sizeof(c));
	sid[0] ^= 1;
	tk_buf_reset(&M);
	msg_start(SSH_AGENTC_EXTENSION);
	tk_buf_put_cstring(&M, "session-bind@openssh.com");
	tk_buf_put_string(&M, tk_buf_ptr(&key), tk_buf_avail(&key));
	tk_buf_put_string(&M, sid, sizeof(sid));
	tk_buf_put_string(&M, tk_buf_ptr(&sig), tk_buf_avail(&sig));
	tk_buf_put_u8(&M, 0);
	is_int(send_msg(&c), -1, "-A: a forged binding closes the connection");
	is_int(U.nbinds, 1, "...and is not passed on");
	sid[0] ^= 1;
	agent_conn_clear(&c);
	memset(&c, 0, sizeof(c));
	U.fail = TK_ERR_CONNECTION;
	msg_start(SSH_AGENTC_EXTENSION);
	tk_buf_put_cstring(&M, "session-bind@openssh.com");
	tk_buf_put_string(&M, tk_buf_ptr(&key), tk_buf_avail(&key));
	tk_buf_put_string(&M, sid, sizeof(sid));
	tk_buf_put_string(&M, tk_buf_ptr(&sig), tk_buf_avail(&sig));
	tk_buf_put_u8(&M, 1);
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "-A: a binding the other agent "
	    "misses still binds here");
	U.fail = 0;
	ok(c.up_failed && count_ids(&c) == 2,
	    "...but that connection lists token keys only");
	agent_up_close(&A, &c);
	is_int(U.nclose, U.nopen, "...and its connections were closed");
	agent_conn_clear(&c);
	A.up = NULL;
	stub_up_reset();
	tk_buf_free(&key);
	tk_buf_free(&sig);
	EVP_PKEY_free(pk);
}

static void
test_hostile(void)
{
	struct agent_conn	c = { 0 };

	msg_start(SSH_AGENTC_REQUEST_IDENTITIES);
	tk_buf_put_u8(&M, 0);
	is_int(send_msg(&c), -1, "trailing bytes after a request: close");
	msg_start(SSH_AGENTC_SIGN_REQUEST);
	tk_buf_put_string(&M, blob_ed, sizeof(blob_ed));
	tk_buf_put_u32(&M, 1000);
	is_int(send_msg(&c), -1, "truncated sign request: close");
	msg_start(SSH_AGENTC_SIGN_REQUEST);
	tk_buf_put_string(&M, blob_ed, sizeof(blob_ed));
	tk_buf_put_cstring(&M, "x");
	tk_buf_put_u32(&M, 0);
	tk_buf_put_u8(&M, 0);
	is_int(send_msg(&c), -1, "sign request with trailing bytes: close");
	msg_start(99);
	is_int(send_msg(&c), SSH_AGENT_FAILURE, "unknown type: failure");
	msg_start(SSH_AGENTC_ADD_IDENTITY);
	tk_buf_put_cstring(&M, "ssh-ed25519");
	is_int(send_msg(&c), SSH_AGENT_FAILURE, "software key: refused");
	msg_start(SSH_AGENTC_ADD_SMARTCARD_KEY);
	tk_buf_put_cstring(&M, "pkcs11:");
	is_int(send_msg(&c), -1, "add smartcard key without PIN field: close");
	msg_start(SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED);
	tk_buf_put_cstring(&M, "pkcs11:");
	tk_buf_put_cstring(&M, "");
	tk_buf_put_u8(&M, 1);
	tk_buf_put_u8(&M, 0);
	is_int(send_msg(&c), -1, "truncated lifetime constraint: close");
	tk_buf_free(&R);
	tk_buf_init(&R, 100, 0);
	is_int(agent_dispatch(&A, &c, (const uint8_t *)"", 0, &R),
	    TK_ERR_FORMAT, "empty frame: close");
}

/* ---------------------------------------------- the server, on a socket */

static char	sockpath[108];

static void *
serve_thread(void *arg)
{
	int	fd = *(int *)arg;

	agent_serve(&A, fd);
	return NULL;
}

static int
connect_agent(void)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sockpath);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send raw bytes, read one reply frame's type; -1 on close. */
static int
roundtrip(int fd, const void *p, size_t n)
{
	uint8_t	hdr[5];
	uint8_t	rest[65536];
	size_t	got = 0, len;
	ssize_t	r;

	if (send(fd, p, n, MSG_NOSIGNAL) != (ssize_t)n)
		return -1;
	while (got < 5) {
		r = read(fd, hdr + got, 5 - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
	    (size_t)hdr[2] << 8 | hdr[3];
	for (len--; len > 0; len -= (size_t)r)
		if ((r = read(fd, rest, len < sizeof(rest) ? len :
		    sizeof(rest))) <= 0)
			return -1;
	return hdr[4];
}

static void
test_server(void)
{
	struct sockaddr_un	 sun;
	pthread_t		 t;
	char			 dir[] = "/tmp/tk-agent-test.XXXXXX";
	uint8_t			 big[4] = { 0, 4, 0, 1 }; /* 256 KiB + 1 */
	uint8_t			 list[5] = { 0, 0, 0, 1, 11 };
	uint8_t			 bad[6] = { 0, 0, 0, 2, 11, 0 };
	int			 lfd, a, b;
	char			 c;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(sockpath, sizeof(sockpath), "%s/s", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sockpath);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(lfd, 16) != 0) {
		ok(0, "listen: %s", strerror(errno));
		return;
	}
	pthread_create(&t, NULL, serve_thread, &lfd);
	a = connect_agent();
	b = connect_agent();
	is_int(roundtrip(a, list, sizeof(list)), SSH_AGENT_IDENTITIES_ANSWER,
	    "server: a listing over the socket");
	is_int(roundtrip(b, big, sizeof(big)), -1,
	    "server: a frame over 256 KiB closes that connection");
	is_int(roundtrip(a, list, sizeof(list)), SSH_AGENT_IDENTITIES_ANSWER,
	    "server: ...the other connection is still served");
	close(b);
	b = connect_agent();
	is_int(roundtrip(b, bad, sizeof(bad)), -1,
	    "server: garbage closes that connection");
	close(b);
	b = connect_agent();
	(void)send(b, list, 3, MSG_NOSIGNAL);
	shutdown(b, SHUT_WR);
	is_int(roundtrip(a, list, sizeof(list)), SSH_AGENT_IDENTITIES_ANSWER,
	    "server: the first connection is still served");
	ok(read(b, &c, 1) <= 0, "server: the truncated connection is closed");
	close(a);
	close(b);
	agent_stop();
	pthread_join(t, NULL);
	close(lfd);
	unlink(sockpath);
	rmdir(dir);
}

/* The process's thread count, from /proc/self/status; -1 if unknown. */
static int
nthreads(void)
{
	FILE	*f;
	char	 line[256];
	int	 n = -1;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* ------------------------------------------------ -A: the other agent */

static uint8_t	blob_up[51];	/* an Ed25519 blob only the other agent has */

/* The i-th key of the last IDENTITIES_ANSWER in R: 0, or -1. */
static int
nth_id(int i, const uint8_t **blob, size_t *len)
{
	struct tk_buf	 b;
	const uint8_t	*cm;
	size_t		 cl;
	uint8_t		 t;
	uint32_t	 n;

	tk_buf_init_ro(&b, tk_buf_ptr(&R), tk_buf_avail(&R));
	if (tk_buf_get_u8(&b, &t) != 0 || tk_buf_get_u32(&b, &n) != 0 ||
	    (uint32_t)i >= n)
		return -1;
	for (; i >= 0; i--)
		if (tk_buf_get_string(&b, blob, len) != 0 ||
		    tk_buf_get_string(&b, &cm, &cl) != 0)
			return -1;
	return 0;
}

static void
test_delegate(void)
{
	struct agent_conn	 c = { 0 }, c2 = { 0 };
	const uint8_t		*p;
	size_t			 n;
	int			 ncall;

	reset_stub();
	stub_up_reset();
	memcpy(blob_up, blob_ed, sizeof(blob_up));
	blob_up[sizeof(blob_up) - 1] ^= 0x5a;
	stub_up_key_add(blob_up, sizeof(blob_up), "file key");
	stub_up_key_add(blob_ed, sizeof(blob_ed), "the token key again");
	A.up = &stub_upstream;
	S.logged_in = 1;

	is_int(count_ids(&c), 3, "-A: listing merges the other agent's keys, "
	    "minus the one we serve too");
	ok(nth_id(0, &p, &n) == 0 && agent_blob_eq(p, n, blob_ed,
	    sizeof(blob_ed)) && nth_id(2, &p, &n) == 0 &&
	    agent_blob_eq(p, n, blob_up, sizeof(blob_up)),
	    "...token keys first, then the other agent's");
	is_int(U.nopen, 1, "...over one connection to the other agent");

	ncall = U.ncall;
	is_int(sign(&c, blob_ed, sizeof(blob_ed), 0), SSH_AGENT_SIGN_RESPONSE,
	    "a token key signs on the token");
	ok(S.nsign == 1 && U.ncall == ncall,
	    "...without asking the other agent");
	is_int(sign(&c, blob_up, sizeof(blob_up), SSH_AGENT_RSA_SHA2_512),
	    SSH_AGENT_SIGN_RESPONSE, "a file key signs in the other agent");
	ok(U.last_type == SSH_AGENTC_SIGN_REQUEST &&
	    U.last_flags == SSH_AGENT_RSA_SHA2_512 && S.nsign == 1,
	    "...which got the request with its flags; the token was not used");
	ok(tk_buf_avail(&R) == 1 + 4 + 5 && memcmp(tk_buf_ptr(&R) + 5,
	    "upsig", 5) == 0, "...and its answer comes back as it is");

	msg_start(SSH_AGENTC_ADD_ID_CONSTRAINED);
	tk_buf_put_cstring(&M, "newkey");
	tk_buf_put_u8(&M, SSH_AGENT_CONSTRAIN_CONFIRM);
	is_int(send_msg(&c), SSH_AGENT_SUCCESS,
	    "ssh-add -c keyfile: passed on");
	ok(U.nkeys == 3 && U.last_type == SSH_AGENTC_ADD_ID_CONSTRAINED,
	    "...the other agent holds it");
	is_int(count_ids(&c2), 4, "another client sees it");
	is_int(U.nopen, 2, "...over its own connection to the other agent");
	ok(U.last_conn == 2, "...which it used");
	agent_up_close(&A, &c2);
	is_int(U.nclose, 1, "a client's end closes its connection");

	msg_start(SSH_AGENTC_REMOVE_IDENTITY);
	tk_buf_put_cstring(&M, "newkey");
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "ssh-add -d of a file key");
	is_int((int)U.nkeys, 2, "...removed in the other agent");

	msg_start(SSH_AGENTC_LOCK);
	tk_buf_put_cstring(&M, "pw");
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "lock");
	ok(U.locked && agent_is_locked(&A), "...locks both agents");
	is_int(count_ids(&c), 0, "...nothing listed");
	msg_start(SSH_AGENTC_UNLOCK);
	tk_buf_put_cstring(&M, "wrong");
	is_int(send_msg(&c), SSH_AGENT_FAILURE, "a wrong unlock password");
	ok(U.locked, "...is not passed on");
	msg_start(SSH_AGENTC_UNLOCK);
	tk_buf_put_cstring(&M, "pw");
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "unlock");
	ok(!U.locked && !agent_is_locked(&A), "...unlocks both");
	U.fail = TK_ERR_TIMEOUT;
	msg_start(SSH_AGENTC_LOCK);
	tk_buf_put_cstring(&M, "pw");
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "lock while the other agent "
	    "misses it");
	U.fail = 0;
	ok(!U.locked && count_ids(&c) == 0,
	    "...its keys are not listed while we are locked");
	is_int(sign(&c, blob_up, sizeof(blob_up), 0), SSH_AGENT_FAILURE,
	    "...nor used");
	msg_start(SSH_AGENTC_UNLOCK);
	tk_buf_put_cstring(&M, "pw");
	is_int(send_msg(&c), SSH_AGENT_SUCCESS, "unlock");

	U.fail = TK_ERR_TIMEOUT;
	logbuf[0] = '\0';
	is_int(count_ids(&c), 2, "the other agent hangs: token keys alone");
	ok(strstr(logbuf, "listing token keys only") != NULL,
	    "...with a log line");
	is_int(sign(&c, blob_up, sizeof(blob_up), 0), SSH_AGENT_FAILURE,
	    "...a file key's signature fails");
	is_int(sign(&c, blob_ed, sizeof(blob_ed), 0), SSH_AGENT_SIGN_RESPONSE,
	    "...a token key's succeeds");
	U.fail = 0;
	is_int(count_ids(&c), 3, "it answers again: merged again");

	msg_start(SSH_AGENTC_EXTENSION);
	tk_buf_put_cstring(&M, "query");
	is_int(send_msg(&c), SSH_AGENT_EXTENSION_RESPONSE, "query");
	ok(tk_buf_avail(&R) == 1 + 9 + 9 + 28 + 20 + 20 &&
	    memmem(tk_buf_ptr(&R), tk_buf_avail(&R), "stub@example.com",
	    16) != NULL, "...lists our extensions, then the other agent's "
	    "others");

	U.garbage = 1;
	is_int(count_ids(&c), 2, "a malformed listing: token keys alone");
	U.garbage = 0;

	/* a bound connection whose other end broke is not opened again */
	c.nbinds = 1;
	c.bound = 1;
	U.fail = TK_ERR_CONNECTION;
	is_int(count_ids(&c), 2, "bound, and the other agent drops us");
	U.fail = 0;
	ncall = U.nopen;
	is_int(count_ids(&c), 2, "...its keys stay away on that connection");
	is_int(sign(&c, blob_up, sizeof(blob_up), 0), SSH_AGENT_FAILURE,
	    "...they do not sign there");
	ok(U.nopen == ncall, "...no new connection is opened for it");

	msg_start(SSH_AGENTC_REMOVE_ALL_IDENTITIES);
	is_int(send_msg(&c2), SSH_AGENT_SUCCESS, "ssh-add -D");
	ok(U.nkeys == 0 && A.nkeys == 0, "...empties both");

	agent_up_close(&A, &c);
	agent_up_close(&A, &c2);
	is_int(U.nclose, U.nopen, "every connection opened was closed");
	A.up = NULL;
	stub_up_reset();
	agent_add_uri(&A, "pkcs11:", "", 0, 0, NULL, 0, 1, NULL);
}

int
main(void)
{
	int	threads;

	make_blobs();
	reset_stub();
	threads = nthreads();
	if (agent_init(&A, &stub_ops) != 0)
		return 1;
	A.logfn = test_log;
	A.debug = 1;
	A.now = stub_now;
	A.unlock_delay_ms = 0;
	A.allowlist = strdup(AGENT_ALLOWLIST_DEFAULT);
	agent_load_registry(&A);
	agent_add_uri(&A, "pkcs11:", "", 0, 0, NULL, 0, 1, NULL);
	ok(threads > 0 && nthreads() == threads, "initialising an agent and "
	    "adding keys starts no thread (%d before, %d after)", threads,
	    nthreads());
	is_int(S.nmod_new, 1, "...and opens only the modules the keystore's "
	    "registry names");

	test_list_and_sign();
	test_pin_policy();
	test_readers();
	test_uri_rules();
	test_lock();
	test_session_bind();
	test_hostile();
	test_server();
	test_delegate();

	agent_free(&A);
	stub_keys_clear();
	tk_buf_free(&M);
	tk_buf_free(&R);
	return tap_done();
}
