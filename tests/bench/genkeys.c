/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * genkeys: fill a throwaway token with many signing key pairs, fast.
 *
 * One process, one logged-in R/W session, C_GenerateKeyPair in a loop:
 * starting pkcs11-tool once per key costs a module load, token scan and
 * login each time.  Mostly P-256; every Nth key RSA-2048 (slow to make,
 * so few) and every Mth Ed25519, alternating the two encodings of its
 * CKA_EC_PARAMS that SoftHSM accepts.
 *
 * usage: genkeys [-r rsa_every] [-e ed_every] [-s first] [-t token_label]
 *     module count
 * Keys are numbered from first (default 0): their labels, ids and kinds
 * follow the number, so several runs with different -s make distinct keys.
 * The PIN comes from TK_BENCH_PIN.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-p11.h"
#include "bench-util.h"

enum kind { K_P256, K_RSA2048, K_ED25519 };

static const unsigned char oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};
/* PrintableString "edwards25519", as pkcs11-tool sends it. */
static const unsigned char str_ed25519[] = {
	0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'
};
/* OID 1.3.101.112, as RFC 8410 and PKCS#11 3.0 prefer. */
static const unsigned char oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

static void
usage(void)
{
	fprintf(stderr, "usage: genkeys [-r rsa_every] [-e ed_every] "
	    "[-s first] [-t token_label] module count\n");
}

static int
gen_one(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, enum kind kind,
    unsigned long idx)
{
	CK_BBOOL yes = CK_TRUE;
	CK_ULONG bits = 2048;
	CK_BYTE e65537[] = { 0x01, 0x00, 0x01 };
	CK_BYTE id[4];
	char label[32];
	CK_MECHANISM mech = { 0, NULL, 0 };
	CK_ATTRIBUTE pub[8], priv[8];
	CK_ULONG npub = 0, npriv = 0;
	CK_OBJECT_HANDLE hpub, hpriv;
	CK_RV rv;
	int r = -1;

	id[0] = 0xb0;
	id[1] = (idx >> 16) & 0xff;
	id[2] = (idx >> 8) & 0xff;
	id[3] = idx & 0xff;
	snprintf(label, sizeof(label), "bulk-%s-%05lu",
	    kind == K_RSA2048 ? "rsa" : kind == K_ED25519 ? "ed" : "ec", idx);

#define ADD(t, a, p, l) do { \
	t[n##t].type = (a); t[n##t].pValue = (p); t[n##t].ulValueLen = (l); \
	n##t++; \
} while (0)
	ADD(pub, CKA_TOKEN, &yes, sizeof(yes));
	ADD(pub, CKA_VERIFY, &yes, sizeof(yes));
	ADD(pub, CKA_ID, id, sizeof(id));
	ADD(pub, CKA_LABEL, label, strlen(label));
	ADD(priv, CKA_TOKEN, &yes, sizeof(yes));
	ADD(priv, CKA_PRIVATE, &yes, sizeof(yes));
	ADD(priv, CKA_SENSITIVE, &yes, sizeof(yes));
	ADD(priv, CKA_SIGN, &yes, sizeof(yes));
	ADD(priv, CKA_ID, id, sizeof(id));
	ADD(priv, CKA_LABEL, label, strlen(label));
	switch (kind) {
	case K_RSA2048:
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		ADD(pub, CKA_MODULUS_BITS, &bits, sizeof(bits));
		ADD(pub, CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537));
		break;
	case K_ED25519:
		mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
		if (idx % 2 == 0)
			ADD(pub, CKA_EC_PARAMS, (void *)str_ed25519,
			    sizeof(str_ed25519));
		else
			ADD(pub, CKA_EC_PARAMS, (void *)oid_ed25519,
			    sizeof(oid_ed25519));
		break;
	case K_P256:
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		ADD(pub, CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256));
		break;
	}
#undef ADD
	rv = f->C_GenerateKeyPair(s, &mech, pub, npub, priv, npriv, &hpub,
	    &hpriv);
	if (rv != CKR_OK) {
		fprintf(stderr, "genkeys: C_GenerateKeyPair (%s): %s\n",
		    label, bench_rv(rv));
		goto out;
	}
	r = 0;
 out:
	return r;
}

int
main(int argc, char **argv)
{
	struct bench_module m;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_SLOT_ID slot;
	CK_RV rv;
	unsigned long long count, rsa_every = 50, ed_every = 10, v, first = 0;
	unsigned long i, made[3] = { 0, 0, 0 };
	const char *token = NULL;
	char pin[BENCH_PIN_MAX];
	int ch, pinlen = -1, loaded = 0, ret = 1;
	enum kind kind;
	uint64_t t0;

	memset(&m, 0, sizeof(m));
	memset(pin, 0, sizeof(pin));
	(void)mlock(pin, sizeof(pin));
	while ((ch = getopt(argc, argv, "e:r:s:t:")) != -1) {
		switch (ch) {
		case 'e':
			if (bench_parse_ull("genkeys: -e", optarg, 0, 1000000,
			    &ed_every) != 0)
				goto out;
			break;
		case 'r':
			if (bench_parse_ull("genkeys: -r", optarg, 0, 1000000,
			    &rsa_every) != 0)
				goto out;
			break;
		case 's':
			if (bench_parse_ull("genkeys: -s", optarg, 0, 1000000,
			    &first) != 0)
				goto out;
			break;
		case 't':
			token = optarg;
			break;
		default:
			usage();
			goto out;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2) {
		usage();
		goto out;
	}
	if (bench_parse_ull("genkeys: count", argv[1], 0, 1000000,
	    &count) != 0)
		goto out;
	if ((pinlen = bench_pin_from_env(pin, sizeof(pin))) < 0)
		goto out;
	if (bench_module_load(argv[0], &m) != 0)
		goto out;
	loaded = 1;
	if (bench_find_slot(&m, token, &slot) != 0)
		goto out;
	if ((rv = m.f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &s)) != CKR_OK) {
		fprintf(stderr, "genkeys: C_OpenSession: %s\n", bench_rv(rv));
		goto out;
	}
	rv = m.f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)pinlen);
	explicit_bzero(pin, sizeof(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		fprintf(stderr, "genkeys: C_Login: %s\n", bench_rv(rv));
		goto out;
	}
	t0 = bench_now_ns();
	for (i = (unsigned long)first; i < first + count; i++) {
		v = i + 1;
		if (rsa_every != 0 && v % rsa_every == 0)
			kind = K_RSA2048;
		else if (ed_every != 0 && v % ed_every == 0)
			kind = K_ED25519;
		else
			kind = K_P256;
		if (gen_one(m.f, s, kind, i) != 0)
			goto out;
		made[kind]++;
	}
	printf("genkeys: %lu key pairs (%lu P-256, %lu RSA-2048, "
	    "%lu Ed25519) in %.2f s\n", made[0] + made[1] + made[2],
	    made[K_P256], made[K_RSA2048], made[K_ED25519],
	    (double)(bench_now_ns() - t0) / 1e9);
	ret = 0;
 out:
	explicit_bzero(pin, sizeof(pin));
	if (s != CK_INVALID_HANDLE)
		(void)m.f->C_CloseSession(s);
	if (loaded)
		bench_module_unload(&m);
	return ret;
}
