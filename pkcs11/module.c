/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The set of PKCS#11 modules a context works with: p11-kit's registry,
 * and modules loaded by file path.  A module that fails is reported and
 * left out; the others go on.  What modules write to stderr as they load
 * and start can be caught and handed to the log instead (ms->capture).
 */
#include <strings.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcap.h"
#include "pkcs11/p11.h"
#include "pkcs11/registry.h"

void
tk_modset_init(struct tk_modset *ms, tk_log_fn *log, void *arg)
{
	memset(ms, 0, sizeof(*ms));
	ms->log = log;
	ms->logarg = arg;
}

void
tk_modset_report(struct tk_modset *ms, int err, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	ms->errors++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ms->log != NULL)
		ms->log(ms->logarg, err, msg);
}

#define CAPTURE_MAX	16384	/* of one module's output, the rest counted */

static void
capture_begin(struct tk_modset *ms, struct tk_errcap *ec)
{
	ec->saved = ec->fd = -1;
	if (ms->capture)
		(void)tk_errcap_begin(ec);	/* or go on uncaught */
}

/* Each line caught becomes one log line "module WHO: line", err 0. */
static void
capture_end(struct tk_modset *ms, struct tk_errcap *ec, const char *who)
{
	char	*buf, *line, *nl, tiny[1], whos[256], safe[512], msg[1024];
	size_t	 more;

	if (ec->saved == -1)
		return;
	if ((buf = malloc(CAPTURE_MAX)) == NULL) {
		tk_errcap_end(ec, tiny, sizeof(tiny), &more);
		return;
	}
	tk_errcap_end(ec, buf, CAPTURE_MAX, &more);
	tk_str_sanitize(who, whos, sizeof(whos));
	for (line = buf; *line != '\0' && ms->log != NULL; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		else
			nl = line + strlen(line);
		tk_str_sanitize(line, safe, sizeof(safe));
		if (safe[strspn(safe, " \t")] == '\0')
			continue;
		snprintf(msg, sizeof(msg), "module %s: %s", whos, safe);
		ms->log(ms->logarg, 0, msg);
	}
	if (more > 0 && ms->log != NULL) {
		snprintf(msg, sizeof(msg), "module %s: (%zu more bytes of its "
		    "output left out)", whos, more);
		ms->log(ms->logarg, 0, msg);
	}
	free(buf);
}

static void
module_release(struct tk_module *m)
{
	if (m->ours && m->f != NULL) {
		if (m->ready)
			(void)m->f->C_Finalize(NULL);
		p11_kit_module_release(m->f);
	}
	free(m->path);
	free(m->rpath);
	free(m->name);
	memset(m, 0, sizeof(*m));
}

void
tk_modset_free(struct tk_modset *ms)
{
	size_t	i;

	for (i = 0; i < ms->n; i++)
		module_release(&ms->mods[i]);
	free(ms->mods);
	if (ms->registry != NULL) {
		p11_kit_modules_finalize(ms->registry);
		p11_kit_modules_release(ms->registry);
	}
	tk_p11_paths_free(ms->regpaths, ms->nregpaths);
	ms->mods = NULL;
	ms->registry = NULL;
	ms->regpaths = NULL;
	ms->n = ms->nregpaths = 0;
}

static int
modset_grow(struct tk_modset *ms, struct tk_module **mp)
{
	struct tk_module	*nm;
	int			 r = TK_ERR_NOMEM;

	nm = reallocarray(ms->mods, ms->n + 1, sizeof(*nm));
	if (nm == NULL)
		goto out;
	ms->mods = nm;
	*mp = &nm[ms->n];
	memset(*mp, 0, sizeof(**mp));
	r = 0;
 out:
	return r;
}

/* Fill in the descriptive fields of a freshly loaded module. */
static int
module_describe(struct tk_module *m)
{
	char	*s;
	int	 r = TK_ERR_NOMEM;

	if ((s = p11_kit_module_get_filename(m->f)) == NULL)
		s = strdup("(unknown module)");
	if (s == NULL)
		goto out;
	m->path = s;
	m->rpath = realpath(m->path, NULL);
	if ((s = p11_kit_module_get_name(m->f)) == NULL)
		s = strdup(m->path);
	if (s == NULL)
		goto out;
	m->name = s;
	m->trust = tk_p11_is_trust_policy(m->f);
	r = 0;
 out:
	return r;
}

/*
 * p11-kit would start an unmanaged module with C_Initialize(NULL), which
 * lets it assume a single thread; the agent's helper signs from several.
 * Ask for OS locking, and fall back to one thread if the module cannot.
 * p11-kit's managed modules do their own locking.
 */
static CK_RV
module_init(struct tk_module *m)
{
	CK_C_INITIALIZE_ARGS	args;
	CK_RV			rv;

	if (!m->ours) {
		m->threads = 1;
		rv = p11_kit_module_initialize(m->f);
		goto out;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = m->f->C_Initialize(&args);
	if (rv == CKR_OK)
		m->threads = 1;
	else if (rv == CKR_CANT_LOCK)
		rv = m->f->C_Initialize(NULL);
 out:
	return rv;
}

/* Does the module's p11-kit config say "critical: yes"? */
static int
module_critical(const struct tk_module *m)
{
	char	*v;
	int	 yes = 0;

	if ((v = p11_kit_config_option(m->f, "critical")) != NULL) {
		yes = strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 ||
		    strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0;
		free(v);
	}
	return yes;
}

void
tk_module_cause(const struct tk_module *m, char *buf, size_t bufsz)
{
	const char	*base, *hint = "";
	char		 raw[512];

	base = strrchr(m->path, '/');
	base = base != NULL ? base + 1 : m->path;
	/* the two modules Debian registers for devices often not there */
	if (strstr(base, "tpm2") != NULL)
		hint = "; no TPM reachable (no /dev/tpmrm0, or "
		    "TPM2_PKCS11_TCTI names a TPM that is not running)";
	else if (strstr(base, "opensc") != NULL)
		hint = "; is pcscd running? (systemctl start pcscd.socket)";
	snprintf(raw, sizeof(raw), "%s%s", p11_kit_strerror(m->initrv), hint);
	tk_str_sanitize(raw, buf, bufsz);
}

/* "NAME (PATH)" (or PATH), sanitised, for messages about m. */
static void
module_names(const struct tk_module *m, char *buf, size_t bufsz)
{
	char	name[256], path[PATH_MAX];

	tk_str_sanitize(m->name, name, sizeof(name));
	tk_str_sanitize(m->path, path, sizeof(path));
	if (strcmp(m->name, m->path) == 0)
		snprintf(buf, bufsz, "%s", path);	/* not registered */
	else
		snprintf(buf, bufsz, "%s (%s)", name, path);
}

void
tk_modset_failed(struct tk_modset *ms, P11KitUri *uri, struct tk_module *m)
{
	char	names[PATH_MAX + 300], cause[512], msg[PATH_MAX + 1024];
	int	named;

	if (m->reported || m->initrv == CKR_OK)
		return;
	m->reported = 1;
	named = uri != NULL && p11_kit_uri_get_module_name(uri) != NULL;
	module_names(m, names, sizeof(names));
	tk_module_cause(m, cause, sizeof(cause));
	if (m->ours || m->critical || named)
		tk_modset_report(ms, tk_p11_rv(m->initrv), "module %s failed "
		    "to start: %s%s", names, cause, m->critical && !named &&
		    !m->ours ? " (its p11-kit config says critical: yes)" :
		    "");
	else if (ms->log != NULL) {
		snprintf(msg, sizeof(msg), "module %s is skipped: it failed "
		    "to start: %s", names, cause);
		ms->log(ms->logarg, TK_ERR_MODULE, msg);
	}
}

/*
 * A module loaded by path that fails to start is an error right away; a
 * registered one is judged by the walk, which knows whether its URI
 * names the module (tk_modset_failed).
 */
static void
module_start(struct tk_modset *ms, struct tk_module *m)
{
	struct tk_errcap	ec;
	CK_RV			rv;

	capture_begin(ms, &ec);
	rv = module_init(m);
	capture_end(ms, &ec, m->name);
	if (rv != CKR_OK) {
		m->initrv = rv;
		if (!m->ours)
			m->critical = module_critical(m);
		else
			tk_modset_failed(ms, NULL, m);
		return;
	}
	m->ready = 1;
	rv = m->f->C_GetInfo(&m->info);
	if (rv != CKR_OK)
		memset(&m->info, 0, sizeof(m->info));
}

int
tk_modset_load_registry(struct tk_modset *ms)
{
	CK_FUNCTION_LIST	**list;
	struct tk_module	 *m;
	struct tk_errcap	  ec;
	size_t			  i;
	int			  r = 0;

	if (ms->registry != NULL)
		goto out;
	p11_kit_be_quiet();
	capture_begin(ms, &ec);
	list = p11_kit_modules_load(NULL, 0);
	capture_end(ms, &ec, "(p11-kit registry)");
	if (list == NULL) {
		tk_modset_report(ms, TK_ERR_MODULE,
		    "cannot load the p11-kit module registry: %s",
		    p11_kit_message() ? p11_kit_message() : "unknown error");
		r = TK_ERR_MODULE;
		goto out;
	}
	ms->registry = list;
	for (i = 0; list[i] != NULL; i++) {
		if ((r = modset_grow(ms, &m)) != 0)
			goto out;
		m->f = list[i];
		m->registered = 1;
		ms->n++;
		if ((r = module_describe(m)) != 0)
			goto out;
		/* p11_kit_modules_initialize would drop failures silently */
		module_start(ms, m);
	}
 out:
	return r;
}

/*
 * Realpaths of the registry's modules, for the "is this registered"
 * question: loaded once, without initialising anything.
 */
static int
modset_regpaths(struct tk_modset *ms)
{
	int	r = 0;

	if (ms->regpaths == NULL &&
	    tk_p11_registry_paths(ms->registry, TK_REG_REALPATH,
	    &ms->regpaths, &ms->nregpaths) == TK_ERR_NOMEM)
		r = TK_ERR_NOMEM;
	return r;
}

int
tk_modset_is_registered(struct tk_modset *ms, const char *path)
{
	char	*rp;
	size_t	 i;
	int	 found = 0;

	if (modset_regpaths(ms) != 0 || (rp = realpath(path, NULL)) == NULL)
		goto out;
	for (i = 0; i < ms->nregpaths && !found; i++)
		found = strcmp(ms->regpaths[i], rp) == 0;
	free(rp);
 out:
	return found;
}

int
tk_modset_load_path(struct tk_modset *ms, const char *path,
    struct tk_module **out)
{
	struct tk_module	*m = NULL;
	struct tk_errcap	 ec;
	CK_FUNCTION_LIST	*f;
	char			*rp;
	size_t			 i;
	int			 r = 0;

	rp = realpath(path, NULL);
	for (i = 0; rp != NULL && i < ms->n; i++) {
		if (ms->mods[i].rpath != NULL &&
		    strcmp(ms->mods[i].rpath, rp) == 0) {
			m = &ms->mods[i];
			goto out;
		}
	}
	/*
	 * p11-kit resolves a relative name in its module directory; one
	 * with a slash in it means the user's working directory.
	 */
	if (path[0] != '/' && strchr(path, '/') != NULL && rp != NULL)
		path = rp;
	p11_kit_be_quiet();
	capture_begin(ms, &ec);
	f = p11_kit_module_load(path, P11_KIT_MODULE_UNMANAGED);
	capture_end(ms, &ec, path);
	if (f == NULL) {
		r = TK_ERR_MODULE;
		tk_modset_report(ms, r, "cannot load module %s: %s", path,
		    p11_kit_message() ? p11_kit_message() :
		    "no such file or not a PKCS#11 module");
		goto out;
	}
	if ((r = modset_grow(ms, &m)) != 0) {
		p11_kit_module_release(f);
		goto out;
	}
	m->f = f;
	m->ours = 1;
	ms->n++;
	if ((r = module_describe(m)) != 0)
		goto out;
	if (ms->reg_known == TK_MODSET_REG_LOOK)
		m->registered = tk_modset_is_registered(ms, path);
	else
		m->registered = ms->reg_known == TK_MODSET_REG_YES;
	module_start(ms, m);
	if (!m->ready)
		r = TK_ERR_MODULE;
 out:
	free(rp);
	if (out != NULL)
		*out = r == 0 ? m : NULL;
	return r;
}
