/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * floor-sign: the signing limit of a token, the anchor for agent figures.
 *
 * Log in once, then T threads, each with its own session on the same
 * token, loop C_SignInit + C_Sign on one private key until N signatures
 * are made or the time is up.  Each signature is timed on its own.
 *
 * Mechanisms: ecdsa (CKM_ECDSA over a 32-byte hash), rsa (CKM_RSA_PKCS
 * over a SHA-256 DigestInfo), eddsa (CKM_EDDSA over a 32-byte message);
 * the default follows the key's CKA_KEY_TYPE.
 *
 * usage: floor-sign [-m ecdsa|rsa|eddsa] [-n count] [-d seconds]
 *            [-t threads] [-T token_label] (-l label | -i hex_id) module
 * The PIN comes from TK_BENCH_PIN, never from the command line.
 */
#include <sys/mman.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-p11.h"
#include "bench-util.h"

#define MAX_THREADS	64
#define SIG_MAX		1024

enum mech { M_AUTO, M_ECDSA, M_RSA, M_EDDSA };

/* DigestInfo prefix of SHA-256 (RFC 8017, section 9.2, note 1). */
static const unsigned char sha256_prefix[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};

struct run {
	CK_FUNCTION_LIST_PTR	 f;
	CK_SLOT_ID		 slot;
	CK_OBJECT_HANDLE	 key;
	CK_MECHANISM_TYPE	 mech;
	size_t			 datalen;	/* 32, or 19 + 32 for RSA */
	uint64_t		 quota;		/* signatures per thread */
	uint64_t		 deadline;	/* ns; 0 = none */
	pthread_barrier_t	 start;
};

struct worker {
	struct run		*run;
	pthread_t		 tid;
	unsigned int		 index;
	struct lat_vec		 lat;
	uint64_t		 failures;
	CK_RV			 first_error;
	int			 setup_failed;
	uint64_t		 end_ns;
};

static void
usage(void)
{
	fprintf(stderr, "usage: floor-sign [-m ecdsa|rsa|eddsa] [-n count] "
	    "[-d seconds] [-t threads]\n"
	    "                  [-T token_label] (-l label | -i hex_id) "
	    "module\n"
	    "The PIN is read from the environment variable TK_BENCH_PIN.\n");
}

static const char *
mech_name(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_ECDSA:
		return "ecdsa";
	case CKM_RSA_PKCS:
		return "rsa-pkcs-sha256";
	case CKM_EDDSA:
		return "eddsa";
	default:
		return "?";
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;
	CK_MECHANISM mech = { run->mech, NULL, 0 };
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	unsigned char data[64], sig[SIG_MAX];
	CK_ULONG siglen;
	CK_RV rv;
	uint64_t i, t0, t1;
	unsigned char *msg;
	int warm;

	memset(data, 0, sizeof(data));
	if (run->mech == CKM_RSA_PKCS) {
		memcpy(data, sha256_prefix, sizeof(sha256_prefix));
		msg = data + sizeof(sha256_prefix);
	} else
		msg = data;
	rv = run->f->C_OpenSession(run->slot, CKF_SERIAL_SESSION, NULL, NULL,
	    &s);
	if (rv != CKR_OK) {
		fprintf(stderr, "floor-sign: thread %u: C_OpenSession: %s\n",
		    w->index, bench_rv(rv));
		w->setup_failed = 1;
	}
	/* Everyone passes the barrier, so a failed thread cannot hang it. */
	(void)pthread_barrier_wait(&run->start);
	for (i = 0, warm = 1; !w->setup_failed && i < run->quota; warm = 0) {
		/* A distinct "hash" for every signature, as in real use. */
		msg[0] = (unsigned char)w->index;
		memcpy(msg + 1, &i, sizeof(i));
		t0 = bench_now_ns();
		if (run->deadline != 0 && t0 >= run->deadline)
			break;
		siglen = sizeof(sig);
		if ((rv = run->f->C_SignInit(s, &mech, run->key)) == CKR_OK)
			rv = run->f->C_Sign(s, data, run->datalen, sig,
			    &siglen);
		t1 = bench_now_ns();
		if (warm)
			continue;	/* first one pays for caches; untimed */
		i++;
		if (rv != CKR_OK) {
			if (w->failures++ == 0)
				w->first_error = rv;
			continue;
		}
		if (lat_push(&w->lat, t1 - t0) != 0) {
			fprintf(stderr, "floor-sign: out of memory\n");
			break;
		}
	}
	w->end_ns = bench_now_ns();
	if (s != CK_INVALID_HANDLE)
		(void)run->f->C_CloseSession(s);
	return NULL;
}

/* Find the private key by label or id after login; learn its type. */
static int
find_key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const char *label,
    const unsigned char *id, size_t idlen, CK_OBJECT_HANDLE *key,
    CK_KEY_TYPE *kt)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[2], ta;
	CK_OBJECT_HANDLE h[2];
	CK_ULONG n = 0;
	CK_RV rv;
	int active = 0, r = -1;

	tmpl[0].type = CKA_CLASS;
	tmpl[0].pValue = &cls;
	tmpl[0].ulValueLen = sizeof(cls);
	if (label != NULL) {
		tmpl[1].type = CKA_LABEL;
		tmpl[1].pValue = (void *)label;
		tmpl[1].ulValueLen = strlen(label);
	} else {
		tmpl[1].type = CKA_ID;
		tmpl[1].pValue = (void *)id;
		tmpl[1].ulValueLen = idlen;
	}
	if ((rv = f->C_FindObjectsInit(s, tmpl, 2)) != CKR_OK) {
		fprintf(stderr, "floor-sign: C_FindObjectsInit: %s\n",
		    bench_rv(rv));
		goto out;
	}
	active = 1;
	if ((rv = f->C_FindObjects(s, h, 2, &n)) != CKR_OK) {
		fprintf(stderr, "floor-sign: C_FindObjects: %s\n",
		    bench_rv(rv));
		goto out;
	}
	if (n != 1) {
		fprintf(stderr, "floor-sign: %s private key with that %s\n",
		    n == 0 ? "no" : "more than one",
		    label != NULL ? "label" : "id");
		goto out;
	}
	ta.type = CKA_KEY_TYPE;
	ta.pValue = kt;
	ta.ulValueLen = sizeof(*kt);
	if ((rv = f->C_GetAttributeValue(s, h[0], &ta, 1)) != CKR_OK) {
		fprintf(stderr, "floor-sign: CKA_KEY_TYPE: %s\n", bench_rv(rv));
		goto out;
	}
	*key = h[0];
	r = 0;
 out:
	if (active)
		(void)f->C_FindObjectsFinal(s);
	return r;
}

static int
pick_mech(enum mech want, CK_KEY_TYPE kt, struct run *run)
{
	int r = -1;

	if (want == M_AUTO)
		want = kt == CKK_RSA ? M_RSA : kt == CKK_EC ? M_ECDSA :
		    kt == CKK_EC_EDWARDS ? M_EDDSA : M_AUTO;
	switch (want) {
	case M_ECDSA:
		run->mech = CKM_ECDSA;
		run->datalen = 32;
		break;
	case M_RSA:
		run->mech = CKM_RSA_PKCS;
		run->datalen = sizeof(sha256_prefix) + 32;
		break;
	case M_EDDSA:
		run->mech = CKM_EDDSA;
		run->datalen = 32;
		break;
	default:
		fprintf(stderr, "floor-sign: key type 0x%lx has no default "
		    "mechanism; pass -m\n", (unsigned long)kt);
		goto out;
	}
	r = 0;
 out:
	return r;
}

int
main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	struct bench_module m;
	struct run run;
	struct lat_vec all = { NULL, 0, 0 };
	struct lat_stats st;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_KEY_TYPE kt = 0;
	CK_RV rv;
	enum mech want = M_AUTO;
	unsigned long long count = 0, nthreads = 1;
	unsigned long long failures = 0;
	unsigned char id[256];
	const char *label = NULL, *token = NULL, *idhex = NULL;
	char pin[BENCH_PIN_MAX];
	double secs = 0;
	uint64_t t0, tend = 0;
	unsigned int i, started = 0;
	int ch, idlen = -1, pinlen = -1, loaded = 0, barrier = 0, ret = 1;

	memset(&m, 0, sizeof(m));
	memset(&run, 0, sizeof(run));
	memset(pin, 0, sizeof(pin));
	(void)mlock(pin, sizeof(pin));
	while ((ch = getopt(argc, argv, "d:i:l:m:n:T:t:")) != -1) {
		switch (ch) {
		case 'd':
			if (bench_parse_secs("floor-sign: -d", optarg,
			    &secs) != 0)
				goto out;
			break;
		case 'i':
			idhex = optarg;
			if ((idlen = bench_unhex(optarg, id, sizeof(id))) <= 0) {
				fprintf(stderr, "floor-sign: -i wants a hex "
				    "CKA_ID of 1..%zu bytes\n", sizeof(id));
				goto out;
			}
			break;
		case 'l':
			label = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "ecdsa") == 0)
				want = M_ECDSA;
			else if (strcmp(optarg, "rsa") == 0)
				want = M_RSA;
			else if (strcmp(optarg, "eddsa") == 0)
				want = M_EDDSA;
			else {
				usage();
				goto out;
			}
			break;
		case 'n':
			if (bench_parse_ull("floor-sign: -n", optarg, 1,
			    UINT32_MAX, &count) != 0)
				goto out;
			break;
		case 'T':
			token = optarg;
			break;
		case 't':
			if (bench_parse_ull("floor-sign: -t", optarg, 1,
			    MAX_THREADS, &nthreads) != 0)
				goto out;
			break;
		default:
			usage();
			goto out;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 || (label == NULL) == (idlen < 0)) {
		usage();
		goto out;
	}
	if (count == 0 && secs == 0)
		count = 1000;
	if ((pinlen = bench_pin_from_env(pin, sizeof(pin))) < 0)
		goto out;
	if (bench_module_load(argv[0], &m) != 0)
		goto out;
	loaded = 1;
	run.f = m.f;
	if (bench_find_slot(&m, token, &run.slot) != 0)
		goto out;
	/* This session stays open: it holds the login for all threads. */
	if ((rv = m.f->C_OpenSession(run.slot, CKF_SERIAL_SESSION, NULL, NULL,
	    &s)) != CKR_OK) {
		fprintf(stderr, "floor-sign: C_OpenSession: %s\n",
		    bench_rv(rv));
		goto out;
	}
	rv = m.f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)pinlen);
	explicit_bzero(pin, sizeof(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		fprintf(stderr, "floor-sign: C_Login: %s\n", bench_rv(rv));
		goto out;
	}
	if (find_key(m.f, s, label, id, idlen < 0 ? 0 : (size_t)idlen,
	    &run.key, &kt) != 0 || pick_mech(want, kt, &run) != 0)
		goto out;

	run.quota = count == 0 ? UINT64_MAX :
	    (count + nthreads - 1) / nthreads;
	if (pthread_barrier_init(&run.start, NULL,
	    (unsigned int)nthreads + 1) != 0) {
		fprintf(stderr, "floor-sign: pthread_barrier_init failed\n");
		goto out;
	}
	barrier = 1;
	for (i = 0; i < nthreads; i++) {
		w[i].run = &run;
		w[i].index = i;
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "floor-sign: pthread_create failed\n");
			break;
		}
		started++;
	}
	if (started != nthreads) {
		/* Release the ones waiting: they see no quota and stop. */
		run.quota = 0;
		for (i = started; i < nthreads; i++)
			(void)pthread_barrier_wait(&run.start);
	}
	/* Deadline first: workers read it only after the barrier. */
	t0 = bench_now_ns();
	if (secs > 0)
		run.deadline = t0 + (uint64_t)(secs * 1e9);
	(void)pthread_barrier_wait(&run.start);
	for (i = 0; i < started; i++) {
		(void)pthread_join(w[i].tid, NULL);
		if (w[i].end_ns > tend)
			tend = w[i].end_ns;
		failures += w[i].failures;
		if (w[i].failures > 0)
			fprintf(stderr, "floor-sign: thread %u: %llu failed "
			    "signatures, first: %s\n", i,
			    (unsigned long long)w[i].failures,
			    bench_rv(w[i].first_error));
		if (w[i].setup_failed)
			failures++;
		if (lat_append(&all, &w[i].lat) != 0) {
			fprintf(stderr, "floor-sign: out of memory\n");
			goto out;
		}
	}
	if (started != nthreads)
		goto out;
	lat_stats(&all, &st);
	printf("floor-sign: mech=%s key=%s%s threads=%llu n=%zu secs=%.3f "
	    "rate=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
	    "failures=%llu\n",
	    mech_name(run.mech), label != NULL ? "" : "id:",
	    label != NULL ? label : idhex, nthreads,
	    st.n, (double)(tend - t0) / 1e9,
	    tend > t0 ? (double)st.n * 1e9 / (double)(tend - t0) : 0.0,
	    (double)st.p50 / 1e3, (double)st.p99 / 1e3, (double)st.p999 / 1e3,
	    (double)st.max / 1e3, failures);
	ret = failures == 0 && st.n > 0 ? 0 : 1;
 out:
	explicit_bzero(pin, sizeof(pin));
	for (i = 0; i < MAX_THREADS; i++)
		lat_free(&w[i].lat);
	lat_free(&all);
	if (barrier)
		(void)pthread_barrier_destroy(&run.start);
	if (s != CK_INVALID_HANDLE)
		(void)m.f->C_CloseSession(s);
	if (loaded)
		bench_module_unload(&m);
	return ret;
}
