/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * floor-list: the least work an honest key lister can do on a module.
 *
 * Load the module by path (dlopen, no p11-kit), C_Initialize, and for every
 * slot with an initialized token open a R/O session, find every public key
 * and certificate (C_FindObjects in large batches) and read the attributes
 * a lister needs to print OpenSSH keys -- one C_GetAttributeValue per
 * object into fixed buffers, a second pair of calls only when a value does
 * not fit.  No encoding, no printing of keys: the figure is what the module
 * itself costs.  Timed from outside as a whole process.
 *
 * usage: floor-list [-v] module
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-p11.h"

#define FIND_BATCH	4096
#define ATTR_BUF	4096	/* fits RSA-16384 moduli and most certs */

struct counts {
	unsigned long	 rsa;
	unsigned long	 ec;
	unsigned long	 ed25519;
	unsigned long	 other;
	unsigned long	 certs;
	unsigned long	 incomplete;	/* missing a value a lister needs */
	unsigned long	 slow;		/* needed the size query */
	unsigned long	 bytes;
};

static const CK_ATTRIBUTE_TYPE key_attrs[] = {
	CKA_KEY_TYPE, CKA_ID, CKA_LABEL, CKA_MODULUS, CKA_PUBLIC_EXPONENT,
	CKA_EC_PARAMS, CKA_EC_POINT
};
static const CK_ATTRIBUTE_TYPE cert_attrs[] = {
	CKA_CERTIFICATE_TYPE, CKA_ID, CKA_LABEL, CKA_VALUE
};
#define MAX_ATTRS	7

static void
usage(void)
{
	fprintf(stderr, "usage: floor-list [-v] module\n");
}

/*
 * Read the given attributes of one object into bufs.  Unknown attributes
 * (an EC key has no modulus) come back as CK_UNAVAILABLE_INFORMATION.
 * Returns 0, or -1 after printing.
 */
static int
read_attrs(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    const CK_ATTRIBUTE_TYPE *types, size_t n, CK_ATTRIBUTE *t,
    unsigned char bufs[][ATTR_BUF], void **big, struct counts *c)
{
	size_t i;
	CK_RV rv;
	int r = -1;

	for (i = 0; i < n; i++) {
		t[i].type = types[i];
		t[i].pValue = bufs[i];
		t[i].ulValueLen = ATTR_BUF;
	}
	rv = f->C_GetAttributeValue(s, o, t, n);
	if (rv == CKR_BUFFER_TOO_SMALL) {
		/* Rare: ask the sizes, then read into fitting buffers. */
		c->slow++;
		for (i = 0; i < n; i++) {
			t[i].pValue = NULL;
			t[i].ulValueLen = 0;
		}
		rv = f->C_GetAttributeValue(s, o, t, n);
		if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID &&
		    rv != CKR_ATTRIBUTE_SENSITIVE) {
			fprintf(stderr, "floor-list: C_GetAttributeValue: "
			    "%s\n", bench_rv(rv));
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (t[i].ulValueLen == CK_UNAVAILABLE_INFORMATION)
				continue;
			if (t[i].ulValueLen <= ATTR_BUF) {
				t[i].pValue = bufs[i];
				continue;
			}
			if (t[i].ulValueLen > 16 * 1024 * 1024 ||
			    (big[i] = malloc(t[i].ulValueLen)) == NULL) {
				fprintf(stderr, "floor-list: attribute of "
				    "%lu bytes\n", (unsigned long)t[i].ulValueLen);
				goto out;
			}
			t[i].pValue = big[i];
		}
		rv = f->C_GetAttributeValue(s, o, t, n);
	}
	if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID &&
	    rv != CKR_ATTRIBUTE_SENSITIVE) {
		fprintf(stderr, "floor-list: C_GetAttributeValue: %s\n",
		    bench_rv(rv));
		goto out;
	}
	for (i = 0; i < n; i++)
		if (t[i].ulValueLen != CK_UNAVAILABLE_INFORMATION)
			c->bytes += t[i].ulValueLen;
	r = 0;
 out:
	return r;
}

#define HAVE(t, i)	((t)[i].ulValueLen != CK_UNAVAILABLE_INFORMATION && \
			 (t)[i].ulValueLen > 0)

/* Classify a key the way a lister would, counting what it could not use. */
static void
tally_key(const CK_ATTRIBUTE *t, struct counts *c)
{
	CK_KEY_TYPE kt;

	if (!HAVE(t, 0) || t[0].ulValueLen != sizeof(kt)) {
		c->incomplete++;
		return;
	}
	memcpy(&kt, t[0].pValue, sizeof(kt));
	switch (kt) {
	case CKK_RSA:
		c->rsa++;
		if (!HAVE(t, 3) || !HAVE(t, 4))
			c->incomplete++;
		break;
	case CKK_EC:
		c->ec++;
		if (!HAVE(t, 5) || !HAVE(t, 6))
			c->incomplete++;
		break;
	case CKK_EC_EDWARDS:
		c->ed25519++;
		if (!HAVE(t, 5) || !HAVE(t, 6))
			c->incomplete++;
		break;
	default:
		c->other++;
		break;
	}
}

/* Find every object of one class; *out is the caller's to free. */
static int
find_all(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    CK_OBJECT_HANDLE **out, CK_ULONG *nout)
{
	CK_ATTRIBUTE tmpl = { CKA_CLASS, &cls, sizeof(cls) };
	CK_OBJECT_HANDLE *h = NULL, *nh;
	CK_ULONG n = 0, got;
	CK_RV rv;
	int active = 0, r = -1;

	if ((rv = f->C_FindObjectsInit(s, &tmpl, 1)) != CKR_OK) {
		fprintf(stderr, "floor-list: C_FindObjectsInit: %s\n",
		    bench_rv(rv));
		goto out;
	}
	active = 1;
	for (;;) {
		if ((nh = realloc(h, (n + FIND_BATCH) * sizeof(*h))) == NULL) {
			fprintf(stderr, "floor-list: out of memory\n");
			goto out;
		}
		h = nh;
		if ((rv = f->C_FindObjects(s, h + n, FIND_BATCH, &got)) !=
		    CKR_OK) {
			fprintf(stderr, "floor-list: C_FindObjects: %s\n",
			    bench_rv(rv));
			goto out;
		}
		if (got > FIND_BATCH) {
			fprintf(stderr, "floor-list: C_FindObjects returned "
			    "more handles than asked\n");
			goto out;
		}
		n += got;
		if (got < FIND_BATCH)
			break;
	}
	r = 0;
 out:
	if (active)
		(void)f->C_FindObjectsFinal(s);
	if (r == 0) {
		*out = h;
		*nout = n;
	} else
		free(h);
	return r;
}

static int
list_slot(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, struct counts *c)
{
	static unsigned char bufs[MAX_ATTRS][ATTR_BUF];
	CK_ATTRIBUTE t[MAX_ATTRS];
	void *big[MAX_ATTRS];
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE *keys = NULL, *certs = NULL;
	CK_ULONG i, j, nkeys = 0, ncerts = 0;
	CK_RV rv;
	int r = -1, ok;

	memset(big, 0, sizeof(big));
	if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
	    &s)) != CKR_OK) {
		fprintf(stderr, "floor-list: C_OpenSession(slot %lu): %s\n",
		    (unsigned long)slot, bench_rv(rv));
		goto out;
	}
	if (find_all(f, s, CKO_PUBLIC_KEY, &keys, &nkeys) != 0 ||
	    find_all(f, s, CKO_CERTIFICATE, &certs, &ncerts) != 0)
		goto out;
	for (i = 0; i < nkeys; i++) {
		ok = read_attrs(f, s, keys[i], key_attrs, 7, t, bufs, big, c);
		if (ok == 0)
			tally_key(t, c);
		for (j = 0; j < MAX_ATTRS; j++) {
			free(big[j]);
			big[j] = NULL;
		}
		if (ok != 0)
			goto out;
	}
	for (i = 0; i < ncerts; i++) {
		ok = read_attrs(f, s, certs[i], cert_attrs, 4, t, bufs, big, c);
		if (ok == 0) {
			c->certs++;
			if (!HAVE(t, 3))
				c->incomplete++;
		}
		for (j = 0; j < MAX_ATTRS; j++) {
			free(big[j]);
			big[j] = NULL;
		}
		if (ok != 0)
			goto out;
	}
	r = 0;
 out:
	free(keys);
	free(certs);
	if (s != CK_INVALID_HANDLE)
		(void)f->C_CloseSession(s);
	return r;
}

int
main(int argc, char **argv)
{
	struct bench_module m;
	struct counts c;
	CK_SLOT_ID *slots = NULL;
	CK_TOKEN_INFO ti;
	CK_ULONG i, nslots = 0, ntokens = 0;
	CK_RV rv;
	int ch, verbose = 0, loaded = 0, ret = 1;

	memset(&m, 0, sizeof(m));
	memset(&c, 0, sizeof(c));
	while ((ch = getopt(argc, argv, "v")) != -1) {
		switch (ch) {
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
			goto out;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1) {
		usage();
		goto out;
	}
	if (bench_module_load(argv[0], &m) != 0)
		goto out;
	loaded = 1;
	if ((rv = m.f->C_GetSlotList(CK_TRUE, NULL, &nslots)) != CKR_OK) {
		fprintf(stderr, "floor-list: C_GetSlotList: %s\n",
		    bench_rv(rv));
		goto out;
	}
	if (nslots > 0 && (slots = calloc(nslots, sizeof(*slots))) == NULL) {
		fprintf(stderr, "floor-list: out of memory\n");
		goto out;
	}
	if (nslots > 0 && (rv = m.f->C_GetSlotList(CK_TRUE, slots,
	    &nslots)) != CKR_OK) {
		fprintf(stderr, "floor-list: C_GetSlotList: %s\n",
		    bench_rv(rv));
		goto out;
	}
	for (i = 0; i < nslots; i++) {
		/* As ssh-keygen -D: skip tokens that were never set up. */
		if (m.f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    (ti.flags & CKF_TOKEN_INITIALIZED) == 0)
			continue;
		ntokens++;
		if (list_slot(m.f, slots[i], &c) != 0)
			goto out;
	}
	printf("floor-list: %lu keys (%lu RSA, %lu EC, %lu Ed25519, "
	    "%lu other), %lu certificates on %lu tokens\n",
	    c.rsa + c.ec + c.ed25519 + c.other, c.rsa, c.ec, c.ed25519,
	    c.other, c.certs, ntokens);
	if (verbose || c.incomplete > 0)
		printf("floor-list: %lu attribute bytes read, %lu objects "
		    "needed a size query, %lu lacked a value a lister needs\n",
		    c.bytes, c.slow, c.incomplete);
	ret = 0;
 out:
	free(slots);
	if (loaded)
		bench_module_unload(&m);
	return ret;
}
