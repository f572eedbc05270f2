/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * relist@tokenkeys (src/agent/agent-relist.c) through the agent's request
 * dispatch, with the stub keystore and a stand-in for the background
 * thread that lists every source when woken for it: the answer comes
 * after a listing that shows a key added meanwhile; refused on a bound
 * connection and while locked; trailing bytes close the connection;
 * named by query; requests at once share listings, and one client in a
 * loop does not make the agent list more often than once per
 * AGENT_RELIST_GAP_MS; with no listing, the answer comes at the deadline.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenkeys.h"
#include "agent-stub.h"
#include "agent/agent.h"
#include "common/deadline.h"
#include "tap.h"

#define NASK	4	/* requests at once */
#define NLOOP	3	/* requests one after the other */

static struct agent	A;
static char		logbuf[16384];
static pthread_mutex_t	log_mu = PTHREAD_MUTEX_INITIALIZER;

static uint8_t		blob_a[51], blob_b[51], blob_new[51];

static void
test_log(int level, const char *msg)
{
	size_t	n;

	(void)level;
	pthread_mutex_lock(&log_mu);
	n = strlen(logbuf);
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
	pthread_mutex_unlock(&log_mu);
	if (getenv("TEST_VERBOSE") != NULL)
		printf("# log: %s\n", msg);
}

static void
make_blob(uint8_t *out, uint8_t fill)
{
	struct tk_buf	b;
	uint8_t		q[32];

	memset(q, fill, sizeof(q));
	tk_buf_init(&b, 1024, 0);
	tk_buf_put_cstring(&b, "ssh-ed25519");
	tk_buf_put_string(&b, q, sizeof(q));
	memcpy(out, tk_buf_ptr(&b), 51);
	tk_buf_free(&b);
}

/* ------------------------------------------- the background thread */

static pthread_t	bg;
static int		bg_stop;	/* atomic */
static int		bg_lists;	/* atomic: full listings made */
static int64_t		bg_at[64];	/* when each began */

/* As agent-follow.c does for a->relist_all, without the rest. */
static void *
bg_main(void *arg)
{
	struct pollfd	p;
	int		n;

	(void)arg;
	while (!__atomic_load_n(&bg_stop, __ATOMIC_RELAXED)) {
		p.fd = A.wake[0];
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, 20) > 0)
			agent_wake_drain(&A);
		if (!__atomic_exchange_n(&A.relist_all, 0, __ATOMIC_RELAXED))
			continue;
		n = __atomic_load_n(&bg_lists, __ATOMIC_RELAXED);
		if (n < (int)(sizeof(bg_at) / sizeof(bg_at[0])))
			bg_at[n] = tk_mono_ms();
		/* counted before its answers go out */
		__atomic_store_n(&bg_lists, n + 1, __ATOMIC_RELAXED);
		(void)agent_refresh(&A);
	}
	return NULL;
}

static void
bg_start(void)
{
	__atomic_store_n(&bg_stop, 0, __ATOMIC_RELAXED);
	if (pthread_create(&bg, NULL, bg_main, NULL) != 0)
		abort();
}

static void
bg_end(void)
{
	__atomic_store_n(&bg_stop, 1, __ATOMIC_RELAXED);
	pthread_join(bg, NULL);
}

static int
lists(void)
{
	return __atomic_load_n(&bg_lists, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------- requests */

/*
 * One request (its own buffers, for threads): the reply type, or -1
 * when the connection is closed.
 */
static int
ask(struct agent_conn *c, const char *ext, const void *tail, size_t n)
{
	struct tk_buf	m, r;
	int		t = -1;

	tk_buf_init(&m, 1024, 0);
	tk_buf_init(&r, AGENT_MAX_FRAME + 4, 0);
	tk_buf_put_u8(&m, SSH_AGENTC_EXTENSION);
	tk_buf_put_cstring(&m, ext);
	tk_buf_put(&m, tail, n);
	if (agent_dispatch(&A, c, tk_buf_ptr(&m), tk_buf_avail(&m),
	    &r) == 0 && tk_buf_avail(&r) > 0)
		t = tk_buf_ptr(&r)[0];
	tk_buf_free(&m);
	tk_buf_free(&r);
	return t;
}

static int
relist(struct agent_conn *c)
{
	return ask(c, AGENT_EXT_RELIST, NULL, 0);
}

static int
count_ids(void)
{
	struct agent_conn	c = { 0 };
	struct tk_buf		m, r;
	uint8_t			t = 0;
	uint32_t		n = 0;

	tk_buf_init(&m, 16, 0);
	tk_buf_init(&r, AGENT_MAX_FRAME + 4, 0);
	tk_buf_put_u8(&m, SSH_AGENTC_REQUEST_IDENTITIES);
	if (agent_dispatch(&A, &c, tk_buf_ptr(&m), tk_buf_avail(&m),
	    &r) != 0 || tk_buf_get_u8(&r, &t) != 0 ||
	    t != SSH_AGENT_IDENTITIES_ANSWER || tk_buf_get_u32(&r, &n) != 0)
		n = (uint32_t)-1;
	tk_buf_free(&m);
	tk_buf_free(&r);
	return (int)n;
}

/* Does query's answer name ext? */
static int
query_names(const char *ext)
{
	struct agent_conn	 c = { 0 };
	struct tk_buf		 m, r;
	const uint8_t		*s;
	size_t			 n;
	uint8_t			 t;
	int			 found = 0;

	tk_buf_init(&m, 64, 0);
	tk_buf_init(&r, AGENT_MAX_FRAME + 4, 0);
	tk_buf_put_u8(&m, SSH_AGENTC_EXTENSION);
	tk_buf_put_cstring(&m, "query");
	if (agent_dispatch(&A, &c, tk_buf_ptr(&m), tk_buf_avail(&m),
	    &r) != 0 || tk_buf_get_u8(&r, &t) != 0 ||
	    t != SSH_AGENT_EXTENSION_RESPONSE ||
	    tk_buf_get_string(&r, &s, &n) != 0)
		goto out;
	while (tk_buf_get_string(&r, &s, &n) == 0)
		if (n == strlen(ext) && memcmp(s, ext, n) == 0)
			found = 1;
 out:
	tk_buf_free(&m);
	tk_buf_free(&r);
	return found;
}

static int
logged(const char *what)
{
	int	r;

	pthread_mutex_lock(&log_mu);
	r = strstr(logbuf, what) != NULL;
	pthread_mutex_unlock(&log_mu);
	return r;
}

static void
log_clear(void)
{
	pthread_mutex_lock(&log_mu);
	logbuf[0] = '\0';
	pthread_mutex_unlock(&log_mu);
}

/* -------------------------------------------------------- tests */

static void
test_answer(void)
{
	struct agent_conn	c = { 0 };
	int			n;

	ok(query_names(AGENT_EXT_RELIST), "query names %s", AGENT_EXT_RELIST);
	is_int(count_ids(), 2, "two keys served");
	stub_key_add(blob_new, sizeof(blob_new), "pkcs11:object=new");
	is_int(count_ids(), 2, "a key made on the token is not served yet");
	n = lists();
	is_int(relist(&c), SSH_AGENT_SUCCESS, "relist answered with success");
	is_int(lists(), n + 1, "...after one full listing");
	is_int(count_ids(), 3, "...so the next listing shows the new key");
	ok(logged("listed again"), "...and the debug log says so");

	is_int(ask(&c, AGENT_EXT_RELIST, "\0", 1), -1,
	    "a relist request with trailing bytes closes the connection");
	is_int(lists(), n + 1, "...and lists nothing");
}

static void
test_refused(void)
{
	struct agent_conn	c = { 0 };
	struct tk_buf		m, r;
	int			n = lists();

	log_clear();
	c.bound = 1;
	c.forwarded = 1;
	is_int(relist(&c), SSH_AGENT_FAILURE,
	    "relist from a connection that sent session-bind: refused");
	ok(logged("relist@tokenkeys from") && logged("refused") &&
	    logged("forwarded"), "...with a log line saying why");
	is_int(lists(), n, "...and nothing listed");

	memset(&c, 0, sizeof(c));
	tk_buf_init(&m, 64, 0);
	tk_buf_init(&r, 64, 0);
	tk_buf_put_u8(&m, SSH_AGENTC_LOCK);
	tk_buf_put_cstring(&m, "pw");
	(void)agent_dispatch(&A, &c, tk_buf_ptr(&m), tk_buf_avail(&m), &r);
	ok(agent_is_locked(&A), "locked");
	log_clear();
	is_int(relist(&c), SSH_AGENT_FAILURE, "relist while locked: refused");
	ok(logged("refused") && logged("locked"), "...with a log line");
	is_int(lists(), n, "...and nothing listed");
	tk_buf_reset(&m);
	tk_buf_put_u8(&m, SSH_AGENTC_UNLOCK);
	tk_buf_put_cstring(&m, "pw");
	(void)agent_dispatch(&A, &c, tk_buf_ptr(&m), tk_buf_avail(&m), &r);
	ok(!agent_is_locked(&A), "unlocked");
	is_int(relist(&c), SSH_AGENT_SUCCESS, "...relist answered again");
	tk_buf_free(&m);
	tk_buf_free(&r);
}

static int	at_once[NASK];

static void *
asker(void *arg)
{
	struct agent_conn	c = { 0 };
	int			*res = arg;

	*res = relist(&c);
	return NULL;
}

static void
test_shared(void)
{
	struct agent_conn	c = { 0 };
	pthread_t		t[NASK];
	int			i, n, good = 0;
	int64_t			gap = INT64_MAX;

	n = lists();
	for (i = 0; i < NASK; i++)
		if (pthread_create(&t[i], NULL, asker, &at_once[i]) != 0)
			abort();
	for (i = 0; i < NASK; i++) {
		pthread_join(t[i], NULL);
		good += at_once[i] == SSH_AGENT_SUCCESS;
	}
	is_int(good, NASK, "%d requests at once: each answered with success",
	    NASK);
	ok(lists() - n <= 2, "...by at most two full listings (%d)",
	    lists() - n);

	n = lists();
	for (i = 0; i < NLOOP; i++)
		if (relist(&c) != SSH_AGENT_SUCCESS)
			break;
	is_int(i, NLOOP, "%d requests one after the other: each answered",
	    NLOOP);
	is_int(lists() - n, NLOOP, "...each after a listing of its own");
	for (i = n; i < lists() && i < (int)(sizeof(bg_at) /
	    sizeof(bg_at[0])); i++)
		if (i > 0 && bg_at[i] - bg_at[i - 1] < gap)
			gap = bg_at[i] - bg_at[i - 1];
	/* the thread notes the time a moment before the agent does */
	ok(gap >= AGENT_RELIST_GAP_MS - 100, "...begun at least %d ms apart "
	    "(the closest %lld ms)", AGENT_RELIST_GAP_MS, (long long)gap);
}

static void
test_deadline(void)
{
	struct agent_conn	c = { 0 };
	int			n = lists();

	/* no background thread: nobody lists */
	A.relist_wait_ms = 300;
	log_clear();
	is_int(relist(&c), SSH_AGENT_FAILURE,
	    "no listing within the deadline: answered anyway, failure");
	ok(logged("still being listed"), "...with a log line");
	is_int(lists(), n, "...nothing was listed");
	A.relist_wait_ms = 0;
	/* the request stays asked for: the thread, back, lists for it */
	bg_start();
	is_int(relist(&c), SSH_AGENT_SUCCESS, "the thread back: answered");
	bg_end();
}

int
main(void)
{
	make_blob(blob_a, 0x41);
	make_blob(blob_b, 0x42);
	make_blob(blob_new, 0x43);
	stub_reset();
	stub_key_add(blob_a, sizeof(blob_a), "pkcs11:object=a");
	stub_key_add(blob_b, sizeof(blob_b), "pkcs11:object=b");
	if (agent_init(&A, &stub_ops) != 0)
		return 1;
	A.logfn = test_log;
	A.debug = 1;
	A.unlock_delay_ms = 0;
	A.allowlist = strdup(AGENT_ALLOWLIST_DEFAULT);
	agent_load_registry(&A);
	agent_add_uri(&A, "pkcs11:", "", 0, 0, NULL, 0, 1, NULL);

	bg_start();
	test_answer();
	test_refused();
	test_shared();
	bg_end();
	test_deadline();

	agent_free(&A);
	stub_keys_clear();
	return tap_done();
}
