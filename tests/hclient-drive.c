/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hclient-drive: drives a helper through src/helper/hclient.h the way the agent
 * does, for tests/helper-softhsm.sh.  It is its own helper too: the
 * client execs /proc/self/exe __helper ..., which lands in main() below.
 *
 *	hclient-drive MODULE PIN DIR
 *
 * Prints one line per check, "PASS: what" or "FAIL: what", and "# ..."
 * notes; the shell test turns them into TAP.  For every key type it also
 * writes DIR/<name>.msg and DIR/<name>.sig, an SSHSIG signature made
 * through the helper, so that ssh-keygen -Y check-novalidate can verify
 * it independently of our own verification.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "common/fdio.h"
#include "helper/hclient.h"
#include "helper/helper.h"
#include "helper/hproto.h"
#include "pkcs11/registry.h"
#include "ssh/sshkey.h"

#define SIGSZ		8192
#define NTHREADS	4
#define NSIGS		50
#define NPIPE		12

static int	failures;

static void
check(int cond, const char *fmt, ...)
{
	va_list	ap;

	printf("%s: ", cond ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		failures++;
}

static int
rc_is(int got, int want, const char *what)
{
	check(got == want, "%s: %s (got %d %s)", what, tk_strerror(want), got,
	    tk_strerror(got));
	return got == want;
}

static const struct tk_hkey *
key_by_type(const struct tk_hkey *keys, size_t n, int type)
{
	struct tk_pubkey	k;
	struct tk_buf		store;
	size_t			i;
	int			t;

	tk_buf_init(&store, 65536, 0);
	for (i = 0; i < n; i++) {
		t = tk_ssh_blob_parse(keys[i].blob, keys[i].bloblen, &k,
		    &store) == 0 ? k.type : -1;
		if (t == type) {
			tk_buf_free(&store);
			return &keys[i];
		}
	}
	tk_buf_free(&store);
	return NULL;
}

/*
 * An SSHSIG file (OpenSSH PROTOCOL.sshsig) over msg in namespace
 * "tokenkeys-test", signed through the helper with rsa-sha2-512 for RSA.
 */
static int
sshsig_write(struct tk_hclient *c, const struct tk_hkey *k, int alg,
    const char *dir, const char *name)
{
	static const char	 ns[] = "tokenkeys-test";
	static const char	 msg[] = "a message for ssh-keygen -Y\n";
	struct tk_htoken	 tok;
	struct tk_buf		 tbs, out;
	uint8_t			 md[64], sig[SIGSZ];
	unsigned int		 mdlen;
	char			 path[4096], *b64 = NULL;
	size_t			 siglen, i, n;
	FILE			*f = NULL;
	int			 r;

	tk_buf_init(&tbs, 65536, 0);
	tk_buf_init(&out, 65536, 0);
	if (EVP_Digest(msg, strlen(msg), md, &mdlen, EVP_sha512(), NULL) != 1)
		return TK_ERR_INTERNAL;
	if ((r = tk_buf_put(&tbs, "SSHSIG", 6)) != 0 ||
	    (r = tk_buf_put_cstring(&tbs, ns)) != 0 ||
	    (r = tk_buf_put_cstring(&tbs, "")) != 0 ||
	    (r = tk_buf_put_cstring(&tbs, "sha512")) != 0 ||
	    (r = tk_buf_put_string(&tbs, md, mdlen)) != 0)
		goto out;
	if ((r = tk_hclient_sign(c, k->blob, k->bloblen, tk_buf_ptr(&tbs),
	    tk_buf_avail(&tbs), alg, NULL, 0, sig, sizeof(sig), &siglen, &tok,
	    10000)) != 0)
		goto out;
	if ((r = tk_buf_put(&out, "SSHSIG", 6)) != 0 ||
	    (r = tk_buf_put_u32(&out, 1)) != 0 ||
	    (r = tk_buf_put_string(&out, k->blob, k->bloblen)) != 0 ||
	    (r = tk_buf_put_cstring(&out, ns)) != 0 ||
	    (r = tk_buf_put_cstring(&out, "")) != 0 ||
	    (r = tk_buf_put_cstring(&out, "sha512")) != 0 ||
	    (r = tk_buf_put_string(&out, sig, siglen)) != 0)
		goto out;
	n = tk_buf_avail(&out);
	if ((b64 = malloc(4 * ((n + 2) / 3) + 1)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, tk_buf_ptr(&out), (int)n);
	r = TK_ERR_SYSTEM;
	snprintf(path, sizeof(path), "%s/%s.msg", dir, name);
	if ((f = fopen(path, "w")) == NULL || fputs(msg, f) == EOF ||
	    fclose(f) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/%s.sig", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		goto out;
	fprintf(f, "-----BEGIN SSH SIGNATURE-----\n");
	for (i = 0; i < strlen(b64); i += 70)
		fprintf(f, "%.70s\n", b64 + i);
	fprintf(f, "-----END SSH SIGNATURE-----\n");
	if (fclose(f) != 0)
		goto out;
	f = NULL;
	r = 0;
 out:
	free(b64);
	tk_buf_free(&tbs);
	tk_buf_free(&out);
	return r;
}

/* "KEY type base64 name" for the shell test. */
static void
print_key(const struct tk_hkey *k)
{
	struct tk_pubkey	pk;
	struct tk_buf		store;
	char			b64[8192];
	const char		*name;

	tk_buf_init(&store, 65536, 0);
	if (tk_ssh_blob_parse(k->blob, k->bloblen, &pk, &store) == 0 &&
	    tk_blob_base64(k->blob, k->bloblen, b64, sizeof(b64)) == 0) {
		name = pk.type == TK_KEY_RSA ? "rsa" :
		    pk.type == TK_KEY_ED25519 ? "ed25519" : "ecdsa";
		printf("KEY %s %s %s\n", tk_ssh_type_name(pk.type), b64, name);
	}
	tk_buf_free(&store);
}

struct threadarg {
	struct tk_hclient	*c;
	const struct tk_hkey	*k;
	int			 ok;
};

static void *
signer_thread(void *arg)
{
	struct threadarg	*ta = arg;
	struct tk_htoken	 tok;
	uint8_t			 data[64], sig[SIGSZ];
	size_t			 siglen;
	int			 i;

	for (i = 0; i < NSIGS; i++) {
		memset(data, i, sizeof(data));
		if (tk_hclient_sign(ta->c, ta->k->blob, ta->k->bloblen, data,
		    sizeof(data), 0, NULL, 0, sig, sizeof(sig), &siglen, &tok,
		    10000) == 0)
			ta->ok++;
	}
	return NULL;
}

static int
alive(pid_t pid)
{
	return pid > 0 && kill(pid, 0) == 0;
}

static void
drive(const char *module, const char *pin, const char *dir)
{
	static const struct {
		int		 type;
		const char	*name;
		int		 alg;
	} kinds[] = {
		{ TK_KEY_ECDSA_P256, "ecdsa", 0 },
		{ TK_KEY_RSA, "rsa", TK_SIG_RSA_SHA512 },
		{ TK_KEY_ED25519, "ed25519", 0 },
	};
	struct tk_hclient	*c = NULL;
	struct tk_htoken	 tok;
	struct tk_hkey		*keys = NULL;
	const struct tk_hkey	*k, *ec = NULL;
	struct threadarg	 ta[NTHREADS];
	pthread_t		 tids[NTHREADS];
	char			**paths = NULL, *rp, *mp;
	uint8_t			 sig[SIGSZ], data[] = "challenge";
	size_t			 n = 0, np = 0, siglen, i;
	pid_t			 pid, pid2;
	int			 r, found, total;

	r = tk_hclient_registry(&paths, &np);
	mp = realpath(module, NULL);
	for (found = 0, i = 0; r == 0 && i < np; i++) {
		rp = realpath(paths[i], NULL);
		found |= rp != NULL && mp != NULL && strcmp(rp, mp) == 0;
		free(rp);
	}
	free(mp);
	check(r == 0 && found, "registry (from a --registry helper) names "
	    "the SoftHSM module (r=%d, %zu paths)", r, np);
	tk_p11_paths_free(paths, np);

	if (!rc_is(tk_hclient_new(module, &c), 0, "helper starts"))
		return;
	pid = tk_hclient_pid(c);
	check(alive(pid), "helper process %ld runs", (long)pid);

	r = tk_hclient_list(c, "pkcs11:", &keys, &n);
	check(r == 0 && n == 3, "list finds the 3 keys (r=%d n=%zu)", r, n);
	for (i = 0; i < n; i++)
		printf("# key %zu: label \"%s\" token \"%s\" serial %s "
		    "uri %s\n",
		    i, keys[i].label, keys[i].token_label,
		    keys[i].token_serial, keys[i].uri);
	for (i = 0; i < n; i++)
		print_key(&keys[i]);
	ec = key_by_type(keys, n, TK_KEY_ECDSA_P256);
	check(ec != NULL, "the P-256 key is listed");
	if (ec == NULL)
		goto out;

	r = tk_hclient_token(c, ec->blob, ec->bloblen, &tok);
	check(r == 0 && (tok.flags & TK_TOKEN_PRESENT) &&
	    (tok.flags & TK_TOKEN_LOGIN_REQUIRED) &&
	    !(tok.flags & TK_HTOKEN_LOGGED_IN) && strcmp(tok.serial,
	    ec->token_serial) == 0, "token state: present, login required, "
	    "not logged in, serial %s (r=%d flags=%#x)", tok.serial, r,
	    tok.flags);
	check(tok.min_pin == 4 && tok.max_pin == 255, "PIN bounds %u..%u",
	    tok.min_pin, tok.max_pin);

	r = tk_hclient_sign(c, ec->blob, ec->bloblen, data, sizeof(data), 0,
	    NULL, 0, sig, sizeof(sig), &siglen, &tok, 10000);
	rc_is(r, TK_ERR_LOGIN_REQUIRED, "sign before login");
	r = tk_hclient_login(c, ec->blob, ec->bloblen, "12", 2, &tok, 10000);
	rc_is(r, TK_ERR_PIN_INVALID, "a PIN shorter than the token's minimum "
	    "is refused without a C_Login");
	r = tk_hclient_login(c, ec->blob, ec->bloblen, "9999", 4, &tok,
	    10000);
	rc_is(r, TK_ERR_PIN_INCORRECT, "login with a wrong PIN");
	check(!(tok.flags & TK_HTOKEN_LOGGED_IN), "still not logged in");
	r = tk_hclient_sign(c, ec->blob, ec->bloblen, data, sizeof(data), 0,
	    NULL, 0, sig, sizeof(sig), &siglen, &tok, 10000);
	rc_is(r, TK_ERR_LOGIN_REQUIRED, "sign after the wrong PIN: no retry, "
	    "login still required");
	r = tk_hclient_login(c, ec->blob, ec->bloblen, pin, strlen(pin), &tok,
	    10000);
	rc_is(r, 0, "login with the right PIN");
	check(tok.flags & TK_HTOKEN_LOGGED_IN, "token state says logged in");
	r = tk_hclient_login(c, ec->blob, ec->bloblen, "9999", 4, &tok,
	    10000);
	rc_is(r, 0, "a login while logged in spends no try (even with a "
	    "wrong PIN)");

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if ((k = key_by_type(keys, n, kinds[i].type)) == NULL) {
			check(0, "%s key listed", kinds[i].name);
			continue;
		}
		r = tk_hclient_sign(c, k->blob, k->bloblen, data,
		    sizeof(data), kinds[i].alg, NULL, 0, sig, sizeof(sig),
		    &siglen, &tok, 10000);
		rc_is(r, 0, kinds[i].name);
		r = sshsig_write(c, k, kinds[i].alg, dir, kinds[i].name);
		rc_is(r, 0, "SSHSIG file for ssh-keygen");
	}
	if ((k = key_by_type(keys, n, TK_KEY_RSA)) != NULL) {
		r = tk_hclient_sign(c, k->blob, k->bloblen, data,
		    sizeof(data), TK_SIG_DEFAULT, NULL, 0, sig, sizeof(sig),
		    &siglen, &tok, 10000);
		rc_is(r, 0, "RSA ssh-rsa (SHA-1)");
		check(r == 0 && siglen == 4 + 7 + 4 + 256 &&
		    memcmp(sig + 4, "ssh-rsa", 7) == 0,
		    "ssh-rsa signature blob, s padded to 256 bytes");
		r = tk_hclient_sign(c, k->blob, k->bloblen, data,
		    sizeof(data), TK_SIG_RSA_SHA256, NULL, 0, sig, sizeof(sig),
		    &siglen, &tok, 10000);
		rc_is(r, 0, "RSA rsa-sha2-256");
		check(r == 0 && memcmp(sig + 4, "rsa-sha2-256", 12) == 0,
		    "rsa-sha2-256 signature blob");
	}
	r = tk_hclient_sign(c, ec->blob, ec->bloblen, data, sizeof(data), 0,
	    NULL, 0, sig, 10, &siglen, &tok, 10000);
	rc_is(r, TK_ERR_RANGE, "a signature buffer too small");
	{
		uint8_t	bogus[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e',
		    'd', '2', '5', '5', '1', '9', 0, 0, 0, 32, 1, 2, 3, 4, 5,
		    6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
		    21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

		r = tk_hclient_sign(c, bogus, sizeof(bogus), data,
		    sizeof(data), 0, NULL, 0, sig, sizeof(sig), &siglen, &tok,
		    10000);
		rc_is(r, TK_ERR_NOT_FOUND, "a key no token holds");
	}

	/* several signatures at once, on several sessions */
	for (i = 0; i < NTHREADS; i++) {
		ta[i].c = c;
		ta[i].k = ec;
		ta[i].ok = 0;
		pthread_create(&tids[i], NULL, signer_thread, &ta[i]);
	}
	for (total = 0, i = 0; i < NTHREADS; i++) {
		pthread_join(tids[i], NULL);
		total += ta[i].ok;
	}
	check(total == NTHREADS * NSIGS, "%d threads x %d signatures: %d "
	    "verified", NTHREADS, NSIGS, total);

	/* a helper that dies is restarted on the next call */
	kill(pid, SIGKILL);
	usleep(100 * 1000);
	r = tk_hclient_sign(c, ec->blob, ec->bloblen, data, sizeof(data), 0,
	    NULL, 0, sig, sizeof(sig), &siglen, &tok, 10000);
	pid2 = tk_hclient_pid(c);
	check(pid2 > 0 && pid2 != pid && alive(pid2), "after kill -9 the next "
	    "call runs a new helper (%ld -> %ld)", (long)pid, (long)pid2);
	check(waitpid(pid, NULL, WNOHANG) == -1 && errno == ECHILD,
	    "the dead helper was reaped");
	rc_is(r, TK_ERR_LOGIN_REQUIRED, "the new helper has no login");
	r = tk_hclient_login(c, ec->blob, ec->bloblen, pin, strlen(pin), &tok,
	    10000);
	rc_is(r, 0, "login again");
	r = tk_hclient_sign(c, ec->blob, ec->bloblen, data, sizeof(data), 0,
	    NULL, 0, sig, sizeof(sig), &siglen, &tok, 10000);
	rc_is(r, 0, "and sign");

	/* killed between calls: the next call starts another at once */
	pid = tk_hclient_pid(c);
	kill(pid, SIGKILL);
	{
		struct tk_hkey	*k2 = NULL;
		size_t		 n2 = 0;

		r = tk_hclient_list(c, "pkcs11:", &k2, &n2);
		check(r == 0 && n2 == 3, "list right after kill -9 (r=%d, "
		    "n=%zu)", r, n2);
		tk_hkeys_free(k2, n2);
	}
 out:
	pid = c != NULL ? tk_hclient_pid(c) : -1;
	tk_hkeys_free(keys, n);
	tk_hclient_free(c);
	check(pid < 0 || !alive(pid), "no helper left after tk_hclient_free");
}

/*
 * NPIPE requests in one write, straight to a helper of our own: the
 * worker that reads them all takes one and must wake another for the
 * rest (helper.c's kick).  Each is answered exactly once.
 */
static void
pipelined(const char *module)
{
	struct tk_buf		 req, in;
	struct tk_hp_rep	 rep;
	struct pollfd		 pfd;
	uint8_t			*d;
	size_t			 flen;
	ssize_t			 n;
	pid_t			 pid;
	int			 sv[2], seen[NPIPE], got = 0, bad = 0, i;

	memset(seen, 0, sizeof(seen));
	tk_buf_init(&req, TK_HP_REQ_MAX, 0);
	tk_buf_init(&in, TK_HP_REP_MAX, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		check(0, "socketpair: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) == 0) {
		if (dup2(sv[1], TK_HELPER_FD) == -1)
			_exit(127);
		execl("/proc/self/exe", "hclient-drive", "__helper", module,
		    (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	for (i = 0; i < NPIPE; i++)
		if (tk_hp_put_presence(&req, 1000 + i) != 0)
			bad++;
	if (pid == -1 || bad || tk_fd_send_all(sv[0], tk_buf_ptr(&req),
	    tk_buf_avail(&req)) != 0) {
		check(0, "%d requests written at once", NPIPE);
		goto done;
	}
	while (got + bad < NPIPE) {
		if (tk_hp_frame_len(&in, TK_HP_REP_MAX, &flen) != 0)
			break;
		if (flen > 0) {
			if (tk_hp_get_rep(tk_buf_ptr(&in), flen, &rep) != 0 ||
			    rep.type != (TK_HP_PRESENCE | TK_HP_REPLY) ||
			    rep.id < 1000 || rep.id >= 1000 + NPIPE ||
			    seen[rep.id - 1000]++)
				bad++;
			else
				got++;
			(void)tk_buf_consume(&in, flen);
			tk_buf_compact(&in);
			continue;
		}
		pfd.fd = sv[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 10000) != 1 ||
		    tk_buf_reserve(&in, 4096, &d) != 0)
			break;
		n = read(sv[0], d, 4096);
		in.len -= 4096 - (n > 0 ? (size_t)n : 0);
		if (n <= 0)
			break;
	}
	check(got == NPIPE && bad == 0, "%d requests in one write: %d "
	    "answered once each, %d wrong", NPIPE, got, bad);
 done:
	close(sv[0]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			continue;
 out:
	tk_buf_free(&req);
	tk_buf_free(&in);
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "__helper") == 0) {
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		signal(SIGPIPE, SIG_IGN);
		if (argc >= 4 && strcmp(argv[argc - 1], "--events") == 0)
			argc--;
		if (argc == 3 && strcmp(argv[2], "--registry") == 0)
			return tk_helper_registry(TK_HELPER_FD) == 0 ? 0 : 1;
		if (argc == 3)
			return tk_helper_run(TK_HELPER_FD, argv[2],
			    TK_MODSET_REG_LOOK, -1) == 0 ? 0 :
			    1;
		return 2;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: hclient-drive MODULE PIN DIR\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	drive(argv[1], argv[2], argv[3]);
	pipelined(argv[1]);
	return failures == 0 ? 0 : 1;
}
