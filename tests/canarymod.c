/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * canarymod: a PKCS#11 "module" that only tells on itself.  Loading it
 * (dlopen: its constructor runs) appends "loaded PID" to the file named
 * by TK_CANARY; it offers no slots.  The security tests use it to prove a
 * refused module path was never loaded.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

__attribute__((constructor)) static void
canary_loaded(void)
{
	const char	*path = getenv("TK_CANARY");
	char		 line[64];
	int		 fd, n;

	if (path == NULL || *path == '\0')
		return;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) == -1)
		return;
	n = snprintf(line, sizeof(line), "loaded %ld\n", (long)getpid());
	if (n > 0)
		(void)!write(fd, line, (size_t)n);
	close(fd);
}

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	(void)list;
	return CKR_GENERAL_ERROR;
}
