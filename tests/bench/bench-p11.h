/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Direct PKCS#11 module loading for the benchmark floors: dlopen and
 * C_GetFunctionList, no p11-kit at run time (its header only), so the
 * floors measure the module and nothing of ours.
 */
#ifndef BENCH_P11_H
#define BENCH_P11_H

#include <stddef.h>

#include <p11-kit/pkcs11.h>

#define BENCH_PIN_MAX	256

struct bench_module {
	void			*dl;
	CK_FUNCTION_LIST_PTR	 f;
	int			 initialized;
};

/*
 * Load the module at path and C_Initialize it with CKF_OS_LOCKING_OK, so
 * that threads may share it.  Returns 0, or -1 after printing the cause.
 */
int		bench_module_load(const char *, struct bench_module *);
/* C_Finalize and dlclose; safe on a partly loaded or zeroed module. */
void		bench_module_unload(struct bench_module *);

/* Symbolic name of a CK_RV ("CKR_PIN_INCORRECT"), or "CKR_0x..." */
const char	*bench_rv(CK_RV);

/*
 * Find the slot of the first initialized token, or of the first one whose
 * label is label when label is not NULL.  Returns 0, or -1 after printing.
 */
int		bench_find_slot(struct bench_module *, const char *,
		    CK_SLOT_ID *);

/*
 * Copy the PIN from the environment variable TK_BENCH_PIN into the
 * caller's buffer and remove it from the environment.  Returns its length,
 * or -1 after printing.  The caller wipes buf with explicit_bzero().
 */
int		bench_pin_from_env(char *, size_t);

#endif /* BENCH_P11_H */
