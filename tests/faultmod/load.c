/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: loading the real module, reading the environment, and
 * the function list handed out in place of the real one.
 */

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultmod.h"

static pthread_once_t	 g_once = PTHREAD_ONCE_INIT;
static CK_RV		 g_load_rv;
static CK_FUNCTION_LIST	 g_list;
pthread_mutex_t		 g_mtx = PTHREAD_MUTEX_INITIALIZER;
CK_FUNCTION_LIST	*g_real;
char			*g_ctl_path;
char			*g_state_path;
char			*g_lock_path;
char			*g_tmp_path;

/* Loading. */

static char *
concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s;

	if ((s = malloc(la + lb + 1)) != NULL) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

/*
 * Paths are made absolute once, so a client that later chdir()s (daemons
 * do) still finds its control and state files.
 */
static char *
abspath(const char *path)
{
	char cwd[PATH_MAX], *s = NULL;

	if (path[0] == '/')
		s = strdup(path);
	else if (getcwd(cwd, sizeof(cwd)) != NULL &&
	    (s = malloc(strlen(cwd) + 1 + strlen(path) + 1)) != NULL)
		snprintf(s, strlen(cwd) + 1 + strlen(path) + 1, "%s/%s", cwd,
		    path);
	return s;
}

static void
load(void)
{
	CK_C_GetFunctionList getlist;
	const char *module, *ctlp, *statep;
	void *dl;

	g_load_rv = CKR_GENERAL_ERROR;
	if ((module = getenv("TK_FAULT_MODULE")) == NULL || *module == '\0')
		module = DEFAULT_MODULE;
	/* Never dlclose()d: the real module lives as long as we do. */
	if ((dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		warnmsg(module, 0, dlerror());
		goto out;
	}
	if ((getlist = (CK_C_GetFunctionList)dlsym(dl,
	    "C_GetFunctionList")) == NULL ||
	    getlist(&g_real) != CKR_OK || g_real == NULL) {
		warnmsg(module, 0, "no usable C_GetFunctionList");
		goto out;
	}
	if ((ctlp = getenv("TK_FAULT_CONTROL")) != NULL && *ctlp != '\0' &&
	    (g_ctl_path = abspath(ctlp)) == NULL)
		goto out;
	if ((statep = getenv("TK_FAULT_STATE")) != NULL && *statep != '\0') {
		if ((g_state_path = abspath(statep)) == NULL)
			goto out;
	} else if (g_ctl_path != NULL &&
	    (g_state_path = concat(g_ctl_path, ".state")) == NULL)
		goto out;
	if (g_state_path != NULL &&
	    ((g_lock_path = concat(g_state_path, ".lock")) == NULL ||
	    (g_tmp_path = concat(g_state_path, ".tmp")) == NULL))
		goto out;
	snprintf(g_empty.stamp, sizeof(g_empty.stamp), "-");

	g_list = *g_real;
	/* Our copy has the 2.x layout, whatever the real one is. */
	if (g_list.version.major > 2) {
		g_list.version.major = 2;
		g_list.version.minor = 40;
	}
	wrap_plain(&g_list);
	wrap_lifecycle(&g_list);
	wrap_object(&g_list);
	wrap_slot(&g_list);
	wrap_pin(&g_list);
	wrap_login(&g_list);
	wrap_attr(&g_list);
	wrap_sign(&g_list);
	wrap_mech(&g_list);
	g_load_rv = CKR_OK;
 out:
	return;
}

__attribute__((visibility("default"))) CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR pp)
{
	struct call c;
	CK_RV rv;

	pthread_once(&g_once, load);
	if ((rv = g_load_rv) != CKR_OK)
		goto out;
	if (pp == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if ((rv = call_enter(&c, F_GetFunctionList, K_PLAIN, NULL)) == CKR_OK)
		*pp = &g_list;
	call_leave(&c);
 out:
	return rv;
}
