/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * doctor: ~/.ssh and the files in it, with the modes ssh and sshd refuse
 * ("Bad owner or permissions", "UNPROTECTED PRIVATE KEY FILE", "bad
 * ownership or modes for directory").
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli-pubfile.h"
#include "cli/doctor.h"

/* A private key file: NAME with NAME.pub beside it, or id_* */
static int
is_private_key(const char *dir, const char *name)
{
	char	pub[4096];
	size_t	n = strlen(name);

	if (n >= 4 && strcmp(name + n - 4, ".pub") == 0)
		return 0;
	if (strncmp(name, "id_", 3) == 0)
		return 1;
	if ((size_t)snprintf(pub, sizeof(pub), "%s/%s.pub", dir, name) >=
	    sizeof(pub))
		return 0;
	return access(pub, F_OK) == 0;
}

static int
check_keys(struct dr_report *rep, const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 st;
	char		 p[4096], t[4096], fix[4200];
	int		 bad = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !is_private_key(dir, e->d_name))
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >=
		    sizeof(p) || stat(p, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if ((st.st_mode & 077) == 0)
			continue;
		cli_path_tilde(p, t, sizeof(t));
		snprintf(fix, sizeof(fix), "chmod 600 %s", t);
		dr_add(rep, DR_FAIL, "~/.ssh", fix, "%s: mode %04o: ssh "
		    "ignores a private key others can read (UNPROTECTED "
		    "PRIVATE KEY FILE)", t, (unsigned int)(st.st_mode & 07777));
		bad = 1;
	}
	closedir(d);
	return bad;
}

void
dr_check_sshdir(struct dr_report *rep, struct dr_opts *o)
{
	const char	*home = getenv("HOME");
	struct stat	 st;
	char		 dir[4096], p[4200], why[128];
	int		 bad = 0;

	(void)o;
	if (home == NULL || *home != '/') {
		dr_add(rep, DR_WARN, "~/.ssh", "set HOME", "HOME is not set");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/.ssh", home);
	if (stat(dir, &st) != 0) {
		dr_add(rep, DR_OK, "~/.ssh", NULL, "does not exist yet");
		return;
	}
	if (dr_mode_bad(dir, getuid(), 1, why, sizeof(why))) {
		dr_add(rep, DR_WARN, "~/.ssh", "chmod 700 ~/.ssh", "%s: sshd "
		    "with StrictModes refuses logins into this account",
		    why);
		bad = 1;
	}
	snprintf(p, sizeof(p), "%s/config", dir);
	if (stat(p, &st) == 0 && dr_mode_bad(p, getuid(), 0, why,
	    sizeof(why))) {
		dr_add(rep, DR_FAIL, "~/.ssh", "chmod 600 ~/.ssh/config",
		    "~/.ssh/config: %s: ssh refuses to start (Bad owner or "
		    "permissions)", why);
		bad = 1;
	}
	snprintf(p, sizeof(p), "%s/authorized_keys", dir);
	if (stat(p, &st) == 0 && dr_mode_bad(p, getuid(), 0, why,
	    sizeof(why))) {
		dr_add(rep, DR_WARN, "~/.ssh", "chmod 600 "
		    "~/.ssh/authorized_keys", "~/.ssh/authorized_keys: %s: "
		    "sshd with StrictModes ignores it", why);
		bad = 1;
	}
	if (check_keys(rep, dir))
		bad = 1;
	if (!bad)
		dr_add(rep, DR_OK, "~/.ssh", NULL, "owner and modes as ssh "
		    "and sshd want them");
}
