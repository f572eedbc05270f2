/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Loading a PKCS#11 module by path for the benchmarks.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-p11.h"

int
bench_module_load(const char *path, struct bench_module *m)
{
	CK_C_GetFunctionList getfl;
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;
	int r = -1;

	memset(m, 0, sizeof(*m));
	if ((m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "cannot load PKCS#11 module: %s\n", dlerror());
		goto out;
	}
	if ((getfl = (CK_C_GetFunctionList)dlsym(m->dl,
	    "C_GetFunctionList")) == NULL) {
		fprintf(stderr, "%s: not a PKCS#11 module "
		    "(no C_GetFunctionList)\n", path);
		goto out;
	}
	if ((rv = getfl(&m->f)) != CKR_OK || m->f == NULL) {
		fprintf(stderr, "%s: C_GetFunctionList: %s\n", path,
		    bench_rv(rv));
		m->f = NULL;
		goto out;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	if ((rv = m->f->C_Initialize(&args)) != CKR_OK) {
		fprintf(stderr, "%s: C_Initialize: %s\n", path, bench_rv(rv));
		goto out;
	}
	m->initialized = 1;
	r = 0;
 out:
	if (r != 0)
		bench_module_unload(m);
	return r;
}

void
bench_module_unload(struct bench_module *m)
{
	if (m->initialized && m->f != NULL)
		(void)m->f->C_Finalize(NULL);
	if (m->dl != NULL)
		(void)dlclose(m->dl);
	memset(m, 0, sizeof(*m));
}

const char *
bench_rv(CK_RV rv)
{
	static const struct {
		CK_RV		 rv;
		const char	*name;
	} names[] = {
		{ CKR_OK, "CKR_OK" },
		{ CKR_HOST_MEMORY, "CKR_HOST_MEMORY" },
		{ CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID" },
		{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
		{ CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
		{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
		{ CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE" },
		{ CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID" },
		{ CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID" },
		{ CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE" },
		{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
		{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
		{ CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
		{ CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT" },
		{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
		{ CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID" },
		{ CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
		{ CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE" },
		{ CKR_OPERATION_NOT_INITIALIZED,
		    "CKR_OPERATION_NOT_INITIALIZED" },
		{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
		{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
		{ CKR_SESSION_COUNT, "CKR_SESSION_COUNT" },
		{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
		{ CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE" },
		{ CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT" },
		{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
		{ CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED" },
		{ CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN" },
		{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
		{ CKR_USER_PIN_NOT_INITIALIZED,
		    "CKR_USER_PIN_NOT_INITIALIZED" },
		{ CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL" },
		{ CKR_CRYPTOKI_NOT_INITIALIZED,
		    "CKR_CRYPTOKI_NOT_INITIALIZED" },
		{ CKR_CRYPTOKI_ALREADY_INITIALIZED,
		    "CKR_CRYPTOKI_ALREADY_INITIALIZED" },
	};
	static __thread char other[32];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].rv == rv)
			return names[i].name;
	snprintf(other, sizeof(other), "CKR_0x%lx", (unsigned long)rv);
	return other;
}

/* Token labels are 32 bytes padded with blanks, not NUL-terminated. */
static int
label_is(const CK_UTF8CHAR *field, size_t len, const char *want)
{
	size_t n = strlen(want);

	if (n > len || memcmp(field, want, n) != 0)
		return 0;
	for (; n < len; n++)
		if (field[n] != ' ')
			return 0;
	return 1;
}

int
bench_find_slot(struct bench_module *m, const char *label, CK_SLOT_ID *slot)
{
	CK_SLOT_ID *slots = NULL;
	CK_TOKEN_INFO ti;
	CK_ULONG i, n = 0;
	CK_RV rv;
	int r = -1;

	if ((rv = m->f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK) {
		fprintf(stderr, "C_GetSlotList: %s\n", bench_rv(rv));
		goto out;
	}
	if (n == 0 || (slots = calloc(n, sizeof(*slots))) == NULL) {
		fprintf(stderr, "%s\n", n == 0 ? "no slot holds a token" :
		    "out of memory");
		goto out;
	}
	if ((rv = m->f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) {
		fprintf(stderr, "C_GetSlotList: %s\n", bench_rv(rv));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (m->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    (ti.flags & CKF_TOKEN_INITIALIZED) == 0)
			continue;
		if (label == NULL ||
		    label_is(ti.label, sizeof(ti.label), label)) {
			*slot = slots[i];
			r = 0;
			goto out;
		}
	}
	if (label != NULL)
		fprintf(stderr, "no initialized token labelled \"%s\"\n",
		    label);
	else
		fprintf(stderr, "no initialized token\n");
 out:
	free(slots);
	return r;
}

int
bench_pin_from_env(char *buf, size_t len)
{
	const char *pin;
	size_t n;
	int r = -1;

	if ((pin = getenv("TK_BENCH_PIN")) == NULL) {
		fprintf(stderr, "set the token PIN in TK_BENCH_PIN\n");
		goto out;
	}
	if ((n = strlen(pin)) >= len || n > 255) {
		fprintf(stderr, "TK_BENCH_PIN is longer than %zu bytes\n",
		    len - 1 < 255 ? len - 1 : (size_t)255);
		goto out;
	}
	memcpy(buf, pin, n + 1);
	r = (int)n;
 out:
	(void)unsetenv("TK_BENCH_PIN");
	return r;
}
