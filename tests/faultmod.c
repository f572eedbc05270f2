/*
 * faultmod: a PKCS#11 module for tests.  It loads a real module (SoftHSM2
 * unless TK_FAULT_MODULE names another) and stands in front of it, so a test
 * can make the token behave the way real cards do and SoftHSM cannot: it
 * disappears and comes back, counts and locks PINs, demands
 * CKA_ALWAYS_AUTHENTICATE logins, returns odd errors, hangs, crashes, and
 * hands out hostile attribute values.
 *
 * Environment (read once, at C_GetFunctionList):
 *	TK_FAULT_MODULE		real module (default: SoftHSM2)
 *	TK_FAULT_CONTROL	control file; unset: a transparent pass-through
 *	TK_FAULT_STATE		state file (default: control path + ".state")
 *
 * The control file is what a test edits while clients run.  It is re-read
 * whenever its inode, size or mtime changes, which every wrapped call
 * checks.  Replace it atomically (write a temporary file, then mv): a reader
 * that sees it half-written acts on the half.  One directive per line;
 * blank lines and lines starting with '#' are ignored; fields are separated
 * by blanks, may be double-quoted and understand C escapes (\\ \" \n \t \r
 * \e \xHH):
 *
 *	absent [stale]		token removed: slot lists with tokenPresent
 *				omit it, CKF_TOKEN_PRESENT is clear,
 *				C_GetTokenInfo says CKR_TOKEN_NOT_PRESENT
 *				("stale": returns the old data, as some
 *				modules do), slot calls CKR_TOKEN_NOT_PRESENT,
 *				session calls CKR_DEVICE_REMOVED.  Dropping
 *				the line re-inserts the card: every process
 *				loses its sessions, handles and login.
 *	card ID			changing ID re-inserts the card, for tests
 *				that remove and re-insert while no client
 *				happens to be looking.
 *	serial VALUE		C_GetTokenInfo reports this serial number
 *				(with a card change: another card, same
 *				keys)
 *	fail FUNC CKR [N|always|until_init]
 *				next N (default 1) calls of FUNC return CKR;
 *				until_init: every call does, until some
 *				process calls C_Initialize (a module whose
 *				state is lost until it is started again)
 *	delay FUNC MS		sleep MS milliseconds before FUNC
 *	hang FUNC		FUNC never returns
 *	crash FUNC		FUNC calls abort()
 *	pin_tries N		emulated user PIN retry counter of N tries
 *	pin_reset		refill the counter (once per control version)
 *	count_reset		zero call counts (once per control version)
 *	login_error CKR		what a wrong PIN returns (CKR_PIN_INCORRECT)
 *	pin VALUE		the right PIN, for protected_auth and
 *				always_auth checks
 *	always_auth		private keys have CKA_ALWAYS_AUTHENTICATE
 *	corrupt_sig		flip a bit in every signature
 *	protected_auth		PIN pad: a NULL PIN logs in with "pin"
 *	attr LABEL KIND ATTR	objects labelled LABEL report ATTR mutated;
 *				KIND is empty, huge, unavailable or baddata
 *	attr LABEL label VALUE	objects labelled LABEL report label VALUE
 *
 * FUNC is a PKCS#11 function name (C_Sign), CKR a return value name
 * (CKR_DEVICE_ERROR) or number (0x30), ATTR an attribute name (CKA_ID) or
 * number.  An unknown directive is reported on stderr and ignored.
 *
 * The state file holds what every process must agree on, as text a shell
 * can grep: call counts per function ("C_Login 3"), the PIN counter, the
 * card generation (bumped on each re-insert), how much of each fail
 * directive is spent, and which control version that bookkeeping belongs
 * to.  One-shot directives (pin_reset, count_reset, the re-insert edge,
 * re-arming fail counts) take effect once per control version, in whichever
 * process sees the new version first.  All access happens under flock(2) on
 * state + ".lock"; the file is replaced by rename(2), so readers that do not
 * lock still see whole files.  Deleting it resets counts, PIN counter and
 * fail directives.
 *
 * Handles: after a re-insert the real sessions are closed, and the module
 * puts a per-process epoch into bits 32 and up of every session and object
 * handle it hands out, so a handle from before the re-insert is rejected
 * even if the real module reuses the number.  Epoch 0 (no re-insert yet)
 * leaves handles untouched.  This assumes the real module's handles fit in
 * 32 bits, as SoftHSM2's do.
 *
 * C_WaitForSlotEvent reports removals and re-inserts made through the
 * control file (on the first slot, polling it every 100 ms when blocking);
 * without a control file it is passed through.
 *
 * Limits: only the sign family finishes the real operation when an error is
 * injected (other operations stay active underneath); C_FindObjectsInit
 * matches the real labels, not mutated ones.
 */

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define DEFAULT_MODULE	"/usr/lib/softhsm/libsofthsm2.so"
#define MAX_FAIL	64		/* fail directives per control file */
#define FAIL_UNTIL_INIT	(-2)		/* fail_rule.count: until C_Initialize */
#define MAX_ATTR	64		/* attr directives per control file */
#define MAX_STR		256		/* labels, PINs, field values */
#define MAX_FIELDS	5
#define MAX_CTL_SIZE	(64 * 1024)
#define STATE_SIZE	(16 * 1024)
#define STAMP_LEN	128
#define HUGE_LEN	(1024UL * 1024UL)

#if ULONG_MAX > 0xffffffffUL
#define TAG_SHIFT	32
#define TAG_MASK	0xffffffUL
#define HANDLE_MASK	0xffffffffUL
#endif

/* Every function of the 2.40 list, in list order. */
#define FM_FUNCTIONS(X)							\
	X(Initialize) X(Finalize) X(GetInfo) X(GetFunctionList)		\
	X(GetSlotList) X(GetSlotInfo) X(GetTokenInfo)			\
	X(GetMechanismList) X(GetMechanismInfo) X(InitToken) X(InitPIN)	\
	X(SetPIN) X(OpenSession) X(CloseSession) X(CloseAllSessions)	\
	X(GetSessionInfo) X(GetOperationState) X(SetOperationState)	\
	X(Login) X(Logout) X(CreateObject) X(CopyObject)		\
	X(DestroyObject) X(GetObjectSize) X(GetAttributeValue)		\
	X(SetAttributeValue) X(FindObjectsInit) X(FindObjects)		\
	X(FindObjectsFinal) X(EncryptInit) X(Encrypt) X(EncryptUpdate)	\
	X(EncryptFinal) X(DecryptInit) X(Decrypt) X(DecryptUpdate)	\
	X(DecryptFinal) X(DigestInit) X(Digest) X(DigestUpdate)		\
	X(DigestKey) X(DigestFinal) X(SignInit) X(Sign) X(SignUpdate)	\
	X(SignFinal) X(SignRecoverInit) X(SignRecover) X(VerifyInit)	\
	X(Verify) X(VerifyUpdate) X(VerifyFinal) X(VerifyRecoverInit)	\
	X(VerifyRecover) X(DigestEncryptUpdate) X(DecryptDigestUpdate)	\
	X(SignEncryptUpdate) X(DecryptVerifyUpdate) X(GenerateKey)	\
	X(GenerateKeyPair) X(WrapKey) X(UnwrapKey) X(DeriveKey)		\
	X(SeedRandom) X(GenerateRandom) X(GetFunctionStatus)		\
	X(CancelFunction) X(WaitForSlotEvent)

#define FM_ENUM(n)	F_##n,
#define FM_NAME(n)	"C_" #n,

enum fn {
	FM_FUNCTIONS(FM_ENUM)
	F_COUNT
};

static const char *const fn_names[F_COUNT] = {
	FM_FUNCTIONS(FM_NAME)
};

/* What a call touches, which decides how absence shows. */
enum kind {
	K_PLAIN,	/* no token involved, or emulated by the wrapper */
	K_SLOT,		/* needs the token: CKR_TOKEN_NOT_PRESENT */
	K_SESSION,	/* needs the token: CKR_DEVICE_REMOVED */
	K_CLOSE		/* session handle checked, works without token */
};

enum attr_kind {
	A_EMPTY,
	A_HUGE,
	A_UNAVAILABLE,
	A_BADDATA,
	A_LABEL
};

enum pin_op {
	PIN_NONE,
	PIN_GOOD,
	PIN_BAD
};

struct fail_rule {
	int		 fn;
	CK_RV		 rv;
	long		 count;		/* -1: always; FAIL_UNTIL_INIT */
};

struct attr_rule {
	unsigned char	 label[MAX_STR];
	size_t		 labellen;
	enum attr_kind	 kind;
	CK_ATTRIBUTE_TYPE type;
	unsigned char	 value[MAX_STR];
	size_t		 valuelen;
};

/* One parsed version of the control file; immutable, reference counted. */
struct ctl {
	int		 refs;
	char		 stamp[STAMP_LEN];
	int		 absent;
	int		 stale;
	uint64_t	 card;		/* 0: no card line */
	struct fail_rule fails[MAX_FAIL];
	size_t		 nfail;
	long		 delay_ms[F_COUNT];
	unsigned char	 hang[F_COUNT];
	unsigned char	 crash[F_COUNT];
	long		 pin_tries;	/* 0: no emulated counter */
	int		 pin_reset;
	int		 count_reset;
	int		 has_login_error;
	CK_RV		 login_error;
	int		 has_pin;
	unsigned char	 pin[MAX_STR];
	size_t		 pinlen;
	int		 has_serial;
	unsigned char	 serial[16];	/* blank padded */
	int		 always_auth;
	int		 corrupt_sig;
	int		 protected_auth;
	struct attr_rule attrs[MAX_ATTR];
	size_t		 nattr;
};

/* The shared state file, in memory. */
struct state {
	char		 ctl[STAMP_LEN];
	unsigned long	 gen;
	int		 absent;
	uint64_t	 card;
	long		 pin_max;
	long		 pin_left;
	unsigned long	 used[MAX_FAIL];
	unsigned long	 count[F_COUNT];
};

/* What one wrapped call learnt on entry. */
struct call {
	struct ctl	*ctl;
	int		 have_gen;
	unsigned long	 gen;
	unsigned long	 epoch;
	long		 pin_max;
	long		 pin_left;
	int		 injected;
	CK_RV		 inject_rv;
};

/* Per-session always-authenticate bookkeeping, keyed by real handle. */
struct sess {
	CK_SESSION_HANDLE h;
	int		 pending;	/* C_SignInit on a private key */
	int		 authed;	/* context-specific login since */
};

static pthread_once_t	 g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t	 g_mtx = PTHREAD_MUTEX_INITIALIZER;
static CK_RV		 g_load_rv;
static CK_FUNCTION_LIST	*g_real;
static CK_FUNCTION_LIST	 g_list;
static char		*g_ctl_path;
static char		*g_state_path;
static char		*g_lock_path;
static char		*g_tmp_path;
static struct ctl	 g_empty;	/* never freed: no control file */
/* The rest is guarded by g_mtx. */
static struct ctl	*g_ctl;
static int		 g_init;
static unsigned long	 g_seen_gen;
static unsigned long	 g_epoch;
static struct sess	*g_sess;
static size_t		 g_nsess;
static unsigned char	 g_goodpin[MAX_STR];
static size_t		 g_goodpinlen;
static int		 g_have_goodpin;
static int		 g_warned_state;
static int		 g_ev_absent;	/* card state last reported */
static unsigned long	 g_ev_gen;

#define RV(n)	{ #n, n }
static const struct {
	const char	*name;
	CK_RV		 rv;
} rv_names[] = {
	RV(CKR_OK), RV(CKR_CANCEL), RV(CKR_HOST_MEMORY),
	RV(CKR_SLOT_ID_INVALID), RV(CKR_GENERAL_ERROR),
	RV(CKR_FUNCTION_FAILED), RV(CKR_ARGUMENTS_BAD), RV(CKR_NO_EVENT),
	RV(CKR_NEED_TO_CREATE_THREADS), RV(CKR_CANT_LOCK),
	RV(CKR_ATTRIBUTE_SENSITIVE), RV(CKR_ATTRIBUTE_TYPE_INVALID),
	RV(CKR_ATTRIBUTE_VALUE_INVALID), RV(CKR_DATA_INVALID),
	RV(CKR_DATA_LEN_RANGE), RV(CKR_DEVICE_ERROR), RV(CKR_DEVICE_MEMORY),
	RV(CKR_DEVICE_REMOVED), RV(CKR_FUNCTION_CANCELED),
	RV(CKR_FUNCTION_NOT_SUPPORTED), RV(CKR_KEY_HANDLE_INVALID),
	RV(CKR_KEY_TYPE_INCONSISTENT), RV(CKR_KEY_FUNCTION_NOT_PERMITTED),
	RV(CKR_MECHANISM_INVALID), RV(CKR_MECHANISM_PARAM_INVALID),
	RV(CKR_OBJECT_HANDLE_INVALID), RV(CKR_OPERATION_ACTIVE),
	RV(CKR_OPERATION_NOT_INITIALIZED), RV(CKR_PIN_INCORRECT),
	RV(CKR_PIN_INVALID), RV(CKR_PIN_LEN_RANGE), RV(CKR_PIN_EXPIRED),
	RV(CKR_PIN_LOCKED), RV(CKR_SESSION_CLOSED), RV(CKR_SESSION_COUNT),
	RV(CKR_SESSION_HANDLE_INVALID), RV(CKR_SESSION_READ_ONLY),
	RV(CKR_SESSION_EXISTS), RV(CKR_SIGNATURE_INVALID),
	RV(CKR_SIGNATURE_LEN_RANGE), RV(CKR_TOKEN_NOT_PRESENT),
	RV(CKR_TOKEN_NOT_RECOGNIZED), RV(CKR_TOKEN_WRITE_PROTECTED),
	RV(CKR_USER_ALREADY_LOGGED_IN), RV(CKR_USER_NOT_LOGGED_IN),
	RV(CKR_USER_PIN_NOT_INITIALIZED), RV(CKR_USER_TYPE_INVALID),
	RV(CKR_BUFFER_TOO_SMALL), RV(CKR_CRYPTOKI_NOT_INITIALIZED),
	RV(CKR_CRYPTOKI_ALREADY_INITIALIZED), RV(CKR_FUNCTION_REJECTED),
};
#undef RV

#define AT(n)	{ #n, n }
static const struct {
	const char	*name;
	CK_ATTRIBUTE_TYPE type;
} attr_names[] = {
	AT(CKA_CLASS), AT(CKA_KEY_TYPE), AT(CKA_LABEL), AT(CKA_ID),
	AT(CKA_VALUE), AT(CKA_MODULUS), AT(CKA_MODULUS_BITS),
	AT(CKA_PUBLIC_EXPONENT), AT(CKA_EC_PARAMS), AT(CKA_EC_POINT),
	AT(CKA_ALWAYS_AUTHENTICATE), AT(CKA_PRIVATE), AT(CKA_SIGN),
	AT(CKA_SENSITIVE), AT(CKA_EXTRACTABLE), AT(CKA_TOKEN),
	AT(CKA_CERTIFICATE_TYPE), AT(CKA_SUBJECT),
};
#undef AT

/*
 * Stands for "a DER structure": a SEQUENCE whose length runs far past the
 * end, then a truncated OID.  Any parser that trusts lengths trips on it.
 */
static const unsigned char baddata[] = {
	0x30, 0x84, 0x7f, 0xff, 0xff, 0xf0, 0x06, 0x08, 0x2a, 0x86, 0x48
};

/* Test authors need to hear about typos; stderr is all a module has. */
static void
warnmsg(const char *where, unsigned long line, const char *msg)
{
	if (line > 0)
		fprintf(stderr, "faultmod: %s:%lu: %s\n", where, line, msg);
	else
		fprintf(stderr, "faultmod: %s: %s\n", where, msg);
}

static void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static uint64_t
hash_bytes(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	/* 0 means "no card line". */
	return h | 1;
}

/* Control file parsing. */

static int
hexval(int ch)
{
	int v = -1;

	if (ch >= '0' && ch <= '9')
		v = ch - '0';
	else if (ch >= 'a' && ch <= 'f')
		v = ch - 'a' + 10;
	else if (ch >= 'A' && ch <= 'F')
		v = ch - 'A' + 10;
	return v;
}

/*
 * Takes the next field from *pp into out (NUL terminated; *outlen excludes
 * the NUL and counts embedded NULs from \x00).  Returns 1 for a field, 0 at
 * the end of the line, -1 for a malformed one.
 */
static int
next_field(const char **pp, unsigned char *out, size_t outsz, size_t *outlen)
{
	const char *p = *pp;
	size_t n = 0;
	int quoted = 0, ch, hi, lo, r = -1;

	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (*p == '\0') {
		r = 0;
		goto out;
	}
	if (*p == '"') {
		quoted = 1;
		p++;
	}
	for (;;) {
		ch = (unsigned char)*p;
		if (ch == '\0') {
			if (quoted)
				goto out;
			break;
		}
		if (quoted && ch == '"') {
			p++;
			break;
		}
		if (!quoted && (ch == ' ' || ch == '\t' || ch == '\r'))
			break;
		p++;
		if (ch == '\\') {
			switch (*p++) {
			case '\\':
				ch = '\\';
				break;
			case '"':
				ch = '"';
				break;
			case 'n':
				ch = '\n';
				break;
			case 't':
				ch = '\t';
				break;
			case 'r':
				ch = '\r';
				break;
			case 'e':
				ch = 0x1b;
				break;
			case 'x':
				if ((hi = hexval((unsigned char)*p)) == -1)
					goto out;
				p++;
				if ((lo = hexval((unsigned char)*p)) == -1)
					ch = hi;
				else {
					ch = hi * 16 + lo;
					p++;
				}
				break;
			default:
				goto out;
			}
		}
		if (n + 1 >= outsz)
			goto out;
		out[n++] = (unsigned char)ch;
	}
	out[n] = '\0';
	*outlen = n;
	r = 1;
 out:
	*pp = p;
	return r;
}

/* Function index of a "C_Name", or -1. */
static int
lookup_fn(const char *name)
{
	int i;

	for (i = 0; i < F_COUNT; i++)
		if (strcmp(fn_names[i], name) == 0)
			break;
	return i < F_COUNT ? i : -1;
}

/* Decimal, 0x hex or 0 octal, nothing after it; -1 if not that. */
static int
parse_ulong(const char *s, unsigned long *v)
{
	char *end;
	int r = -1;

	if (*s == '\0' || *s == '-')
		goto out;
	errno = 0;
	*v = strtoul(s, &end, 0);
	if (errno == 0 && *end == '\0')
		r = 0;
 out:
	return r;
}

static int
lookup_rv(const char *name, CK_RV *rv)
{
	unsigned long v;
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
		if (strcmp(rv_names[i].name, name) == 0)
			break;
	if (i < sizeof(rv_names) / sizeof(rv_names[0]))
		*rv = rv_names[i].rv;
	else if ((r = parse_ulong(name, &v)) == 0)
		*rv = v;
	return r;
}

static int
lookup_attr(const char *name, CK_ATTRIBUTE_TYPE *type)
{
	unsigned long v;
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++)
		if (strcmp(attr_names[i].name, name) == 0)
			break;
	if (i < sizeof(attr_names) / sizeof(attr_names[0]))
		*type = attr_names[i].type;
	else if ((r = parse_ulong(name, &v)) == 0)
		*type = v;
	return r;
}

static int
parse_count(const char *s, long *v)
{
	unsigned long u;
	int r = -1;

	if (parse_ulong(s, &u) == 0 && u <= LONG_MAX) {
		*v = (long)u;
		r = 0;
	}
	return r;
}

/* Applies one line; returns NULL or what is wrong with it. */
static const char *
ctl_line(struct ctl *ctl, const char *line)
{
	unsigned char f[MAX_FIELDS + 1][MAX_STR];
	size_t len[MAX_FIELDS + 1];
	const char *p = line, *err = NULL;
	const char *k, *a1, *a2;
	struct attr_rule *ar;
	struct fail_rule *fr;
	size_t nf = 0;
	int r = 0, fn = -1;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '#')
		goto out;
	while (nf <= MAX_FIELDS &&
	    (r = next_field(&p, f[nf], sizeof(f[nf]), &len[nf])) == 1)
		nf++;
	if (nf > MAX_FIELDS) {
		err = "too many fields";
		goto out;
	}
	if (r == -1) {
		err = "bad quoting, escape or overlong field";
		goto out;
	}
	if (nf == 0)
		goto out;
	k = (const char *)f[0];
	a1 = (const char *)f[1];
	a2 = (const char *)f[2];
	if (nf >= 2 && strncmp(a1, "C_", 2) == 0)
		fn = lookup_fn(a1);

	if (strcmp(k, "absent") == 0 && nf == 1)
		ctl->absent = 1;
	else if (strcmp(k, "absent") == 0 && nf == 2 &&
	    strcmp(a1, "stale") == 0) {
		ctl->absent = 1;
		ctl->stale = 1;
	} else if (strcmp(k, "card") == 0 && nf == 2)
		ctl->card = hash_bytes(f[1], len[1]);
	else if (strcmp(k, "fail") == 0 && (nf == 3 || nf == 4)) {
		if (fn == -1) {
			err = "unknown function";
			goto out;
		}
		if (ctl->nfail == MAX_FAIL) {
			err = "too many fail lines";
			goto out;
		}
		fr = &ctl->fails[ctl->nfail];
		fr->fn = fn;
		fr->count = 1;
		if (lookup_rv(a2, &fr->rv) == -1) {
			err = "unknown CKR value";
			goto out;
		}
		if (nf == 4 && strcmp((const char *)f[3], "always") == 0)
			fr->count = -1;
		else if (nf == 4 &&
		    strcmp((const char *)f[3], "until_init") == 0)
			fr->count = FAIL_UNTIL_INIT;
		else if (nf == 4 &&
		    parse_count((const char *)f[3], &fr->count) == -1) {
			err = "bad count";
			goto out;
		}
		ctl->nfail++;
	} else if (strcmp(k, "delay") == 0 && nf == 3) {
		if (fn == -1 || parse_count(a2, &ctl->delay_ms[fn]) == -1) {
			err = "expected delay C_Function MILLISECONDS";
			goto out;
		}
	} else if ((strcmp(k, "hang") == 0 || strcmp(k, "crash") == 0) &&
	    nf == 2) {
		if (fn == -1) {
			err = "unknown function";
			goto out;
		}
		if (k[0] == 'h')
			ctl->hang[fn] = 1;
		else
			ctl->crash[fn] = 1;
	} else if (strcmp(k, "pin_tries") == 0 && nf == 2) {
		if (parse_count(a1, &ctl->pin_tries) == -1 ||
		    ctl->pin_tries == 0) {
			ctl->pin_tries = 0;
			err = "expected pin_tries N, N > 0";
			goto out;
		}
	} else if (strcmp(k, "pin_reset") == 0 && nf == 1)
		ctl->pin_reset = 1;
	else if (strcmp(k, "count_reset") == 0 && nf == 1)
		ctl->count_reset = 1;
	else if (strcmp(k, "login_error") == 0 && nf == 2) {
		if (lookup_rv(a1, &ctl->login_error) == -1) {
			err = "unknown CKR value";
			goto out;
		}
		ctl->has_login_error = 1;
	} else if (strcmp(k, "pin") == 0 && nf == 2) {
		memcpy(ctl->pin, f[1], len[1]);
		ctl->pinlen = len[1];
		ctl->has_pin = 1;
	} else if (strcmp(k, "serial") == 0 && nf == 2) {
		if (len[1] == 0 || len[1] > sizeof(ctl->serial)) {
			err = "expected serial VALUE, 1 to 16 bytes";
			goto out;
		}
		memset(ctl->serial, ' ', sizeof(ctl->serial));
		memcpy(ctl->serial, f[1], len[1]);
		ctl->has_serial = 1;
	} else if (strcmp(k, "always_auth") == 0 && nf == 1)
		ctl->always_auth = 1;
	else if (strcmp(k, "corrupt_sig") == 0 && nf == 1)
		ctl->corrupt_sig = 1;
	else if (strcmp(k, "protected_auth") == 0 && nf == 1)
		ctl->protected_auth = 1;
	else if (strcmp(k, "attr") == 0 && nf == 4) {
		if (ctl->nattr == MAX_ATTR) {
			err = "too many attr lines";
			goto out;
		}
		ar = &ctl->attrs[ctl->nattr];
		memcpy(ar->label, f[1], len[1]);
		ar->labellen = len[1];
		if (strcmp(a2, "label") == 0) {
			ar->kind = A_LABEL;
			ar->type = CKA_LABEL;
			memcpy(ar->value, f[3], len[3]);
			ar->valuelen = len[3];
		} else {
			if (strcmp(a2, "empty") == 0)
				ar->kind = A_EMPTY;
			else if (strcmp(a2, "huge") == 0)
				ar->kind = A_HUGE;
			else if (strcmp(a2, "unavailable") == 0)
				ar->kind = A_UNAVAILABLE;
			else if (strcmp(a2, "baddata") == 0)
				ar->kind = A_BADDATA;
			else {
				err = "unknown attr mutation";
				goto out;
			}
			if (lookup_attr((const char *)f[3], &ar->type) == -1) {
				err = "unknown attribute";
				goto out;
			}
		}
		ctl->nattr++;
	} else
		err = "unknown directive or wrong number of fields";
 out:
	explicit_bzero(f, sizeof(f));
	return err;
}

static void
ctl_free(struct ctl *ctl)
{
	if (ctl == NULL || ctl == &g_empty)
		return;
	explicit_bzero(ctl, sizeof(*ctl));
	free(ctl);
}

/* Drops a reference taken by ctl_current(). */
static void
ctl_put(struct ctl *ctl)
{
	int last = 0;

	if (ctl == NULL || ctl == &g_empty)
		return;
	pthread_mutex_lock(&g_mtx);
	last = --ctl->refs == 0;
	pthread_mutex_unlock(&g_mtx);
	if (last)
		ctl_free(ctl);
}

/* Reads and parses the control file; NULL only when out of memory. */
static struct ctl *
ctl_load(const char *stamp)
{
	struct ctl *ctl = NULL;
	char *buf = NULL, *line, *nl;
	ssize_t n;
	size_t len = 0;
	unsigned long lineno = 0;
	const char *err;
	int fd = -1;

	if ((ctl = calloc(1, sizeof(*ctl))) == NULL ||
	    (buf = malloc(MAX_CTL_SIZE + 1)) == NULL) {
		free(ctl);
		ctl = NULL;
		goto out;
	}
	snprintf(ctl->stamp, sizeof(ctl->stamp), "%s", stamp);
	/* A missing control file is an empty one. */
	if ((fd = open(g_ctl_path, O_RDONLY | O_CLOEXEC)) == -1)
		goto out;
	while (len < MAX_CTL_SIZE &&
	    (n = read(fd, buf + len, MAX_CTL_SIZE - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		len += (size_t)n;
	}
	if (len == MAX_CTL_SIZE)
		warnmsg(g_ctl_path, 0, "control file truncated");
	buf[len] = '\0';
	for (line = buf; line != NULL && *line != '\0'; line = nl) {
		lineno++;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		if ((err = ctl_line(ctl, line)) != NULL)
			warnmsg(g_ctl_path, lineno, err);
	}
 out:
	if (fd != -1)
		close(fd);
	if (buf != NULL) {
		explicit_bzero(buf, MAX_CTL_SIZE + 1);
		free(buf);
	}
	return ctl;
}

/*
 * Returns a referenced parse of the control file as it is now.  Callers
 * that need one order across processes call it under the state lock.
 */
static struct ctl *
ctl_current(void)
{
	struct ctl *ctl = NULL, *fresh, *old;
	struct stat sb;
	char stamp[STAMP_LEN];

	if (g_ctl_path == NULL) {
		ctl = &g_empty;
		goto out;
	}
	if (stat(g_ctl_path, &sb) == -1)
		snprintf(stamp, sizeof(stamp), "none");
	else
		snprintf(stamp, sizeof(stamp), "%ju:%ju:%jd:%jd.%09ld",
		    (uintmax_t)sb.st_dev, (uintmax_t)sb.st_ino,
		    (intmax_t)sb.st_size, (intmax_t)sb.st_mtim.tv_sec,
		    (long)sb.st_mtim.tv_nsec);
	pthread_mutex_lock(&g_mtx);
	if (g_ctl != NULL && strcmp(g_ctl->stamp, stamp) == 0) {
		ctl = g_ctl;
		ctl->refs++;
	}
	pthread_mutex_unlock(&g_mtx);
	if (ctl != NULL)
		goto out;
	/* Parse outside the lock; a racing thread's parse is as good. */
	if ((fresh = ctl_load(stamp)) == NULL) {
		ctl = &g_empty;
		goto out;
	}
	pthread_mutex_lock(&g_mtx);
	old = g_ctl;
	g_ctl = fresh;
	fresh->refs = 2;	/* g_ctl's and the caller's */
	pthread_mutex_unlock(&g_mtx);
	ctl_put(old);
	ctl = fresh;
 out:
	return ctl;
}

/* The shared state file. */

static void
state_read(struct state *st)
{
	char buf[STATE_SIZE], key[64], *line, *nl;
	unsigned long long ull;
	unsigned long idx, v;
	ssize_t n;
	size_t len = 0;
	int fd, i;

	memset(st, 0, sizeof(*st));
	if ((fd = open(g_state_path, O_RDONLY | O_CLOEXEC)) == -1)
		goto out;
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	for (line = buf; line != NULL && *line != '\0'; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		if (sscanf(line, "%63s", key) != 1 || key[0] == '#')
			continue;
		if (strcmp(key, "ctl") == 0)
			sscanf(line, "ctl %127s", st->ctl);
		else if (strcmp(key, "generation") == 0)
			sscanf(line, "generation %lu", &st->gen);
		else if (strcmp(key, "absent") == 0)
			sscanf(line, "absent %d", &st->absent);
		else if (strcmp(key, "card") == 0 &&
		    sscanf(line, "card %llx", &ull) == 1)
			st->card = ull;
		else if (strcmp(key, "pin_max") == 0)
			sscanf(line, "pin_max %ld", &st->pin_max);
		else if (strcmp(key, "pin_left") == 0)
			sscanf(line, "pin_left %ld", &st->pin_left);
		else if (strcmp(key, "used") == 0 &&
		    sscanf(line, "used %lu %lu", &idx, &v) == 2 &&
		    idx < MAX_FAIL)
			st->used[idx] = v;
		else if ((i = lookup_fn(key)) != -1)
			sscanf(line + strlen(key), "%lu", &st->count[i]);
	}
 out:
	return;
}

static int
state_write(const struct state *st)
{
	char buf[STATE_SIZE];
	size_t len = 0, off;
	ssize_t n;
	int fd = -1, i, r = -1;

#define PUT(...) do {							\
	int w_ = snprintf(buf + len, sizeof(buf) - len, __VA_ARGS__);	\
	if (w_ < 0 || (size_t)w_ >= sizeof(buf) - len)			\
		goto out;						\
	len += (size_t)w_;						\
} while (0)
	PUT("# faultmod shared state: see tests/faultmod.c\n");
	PUT("ctl %s\n", st->ctl[0] != '\0' ? st->ctl : "-");
	PUT("generation %lu\n", st->gen);
	PUT("absent %d\n", st->absent);
	if (st->card != 0)
		PUT("card %llx\n", (unsigned long long)st->card);
	PUT("pin_max %ld\n", st->pin_max);
	PUT("pin_left %ld\n", st->pin_left);
	for (i = 0; i < MAX_FAIL; i++)
		if (st->used[i] != 0)
			PUT("used %d %lu\n", i, st->used[i]);
	for (i = 0; i < F_COUNT; i++)
		if (st->count[i] != 0)
			PUT("%s %lu\n", fn_names[i], st->count[i]);
#undef PUT
	if ((fd = open(g_tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		goto out;
	for (off = 0; off < len; off += (size_t)n) {
		if ((n = write(fd, buf + off, len - off)) == -1) {
			if (errno == EINTR) {
				n = 0;
				continue;
			}
			goto out;
		}
	}
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(g_tmp_path, g_state_path) == -1)
		goto out;
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	return r;
}

/*
 * Brings the shared state up to this control version: the one-shot
 * effects of a new version happen here, once, in whichever process
 * gets to it first.
 */
static void
state_apply_ctl(struct state *st, const struct ctl *ctl)
{
	int reinserted = 0;

	if (strcmp(st->ctl, ctl->stamp) == 0)
		return;
	snprintf(st->ctl, sizeof(st->ctl), "%s", ctl->stamp);
	memset(st->used, 0, sizeof(st->used));
	if (ctl->count_reset)
		memset(st->count, 0, sizeof(st->count));
	if (ctl->pin_tries != st->pin_max) {
		st->pin_max = ctl->pin_tries;
		st->pin_left = ctl->pin_tries;
	} else if (ctl->pin_reset)
		st->pin_left = st->pin_max;
	if (st->absent && !ctl->absent)
		reinserted = 1;
	st->absent = ctl->absent;
	if (ctl->card != 0) {
		if (st->card != 0 && st->card != ctl->card)
			reinserted = 1;
		st->card = ctl->card;
	}
	if (reinserted)
		st->gen++;
}

/*
 * One locked read-modify-write of the shared state.  If c->ctl is still
 * NULL, it takes the control file and applies a new control version; a
 * control parsed earlier may be stale and must not roll the state back.
 * With fn >= 0 it counts the call and spends a fail directive.  Without a
 * usable state file it still fills c->ctl.
 */
static void
state_txn(struct call *c, int fn, enum pin_op pinop)
{
	struct state st, old;
	size_t i;
	int lfd = -1, fresh;
	struct fail_rule *fr;

	if (g_state_path == NULL)
		goto out;
	if ((lfd = open(g_lock_path, O_RDWR | O_CREAT | O_CLOEXEC,
	    0644)) == -1)
		goto fail;
	while (flock(lfd, LOCK_EX) == -1)
		if (errno != EINTR)
			goto fail;
	if ((fresh = c->ctl == NULL))
		c->ctl = ctl_current();
	state_read(&st);
	memcpy(&old, &st, sizeof(old));
	if (fresh)
		state_apply_ctl(&st, c->ctl);
	if (fn >= 0) {
		st.count[fn]++;
		/* used[i] of an until_init rule: 1 once disarmed */
		for (i = 0; fn == F_Initialize && i < c->ctl->nfail; i++)
			if (c->ctl->fails[i].count == FAIL_UNTIL_INIT)
				st.used[i] = 1;
		for (i = 0; i < c->ctl->nfail; i++) {
			fr = &c->ctl->fails[i];
			if (fr->fn != fn || (fr->count >= 0 &&
			    st.used[i] >= (unsigned long)fr->count) ||
			    (fr->count == FAIL_UNTIL_INIT && st.used[i] != 0))
				continue;
			if (fr->count != FAIL_UNTIL_INIT)
				st.used[i]++;
			c->injected = 1;
			c->inject_rv = fr->rv;
			break;
		}
	}
	if (pinop == PIN_GOOD)
		st.pin_left = st.pin_max;
	else if (pinop == PIN_BAD && st.pin_left > 0)
		st.pin_left--;
	if (memcmp(&st, &old, sizeof(st)) != 0 && state_write(&st) == -1)
		goto fail;
	c->have_gen = 1;
	c->gen = st.gen;
	c->pin_max = st.pin_max;
	c->pin_left = st.pin_left;
	goto out;
 fail:
	pthread_mutex_lock(&g_mtx);
	if (!g_warned_state) {
		g_warned_state = 1;
		warnmsg(g_state_path, 0,
		    "cannot update state file; counts and PIN counter off");
	}
	pthread_mutex_unlock(&g_mtx);
 out:
	if (lfd != -1)
		close(lfd);
	if (c->ctl == NULL)
		c->ctl = ctl_current();
}

/* Process-local session bookkeeping; callers hold g_mtx. */

static struct sess *
sess_find(CK_SESSION_HANDLE h, int create)
{
	struct sess *s = NULL, *n;
	size_t i;

	for (i = 0; i < g_nsess; i++) {
		if (g_sess[i].h == h) {
			s = &g_sess[i];
			goto out;
		}
	}
	if (!create)
		goto out;
	if ((n = reallocarray(g_sess, g_nsess + 1, sizeof(*n))) == NULL)
		goto out;
	g_sess = n;
	s = &g_sess[g_nsess++];
	memset(s, 0, sizeof(*s));
	s->h = h;
 out:
	return s;
}

static void
sess_drop(CK_SESSION_HANDLE h)
{
	struct sess *s;

	pthread_mutex_lock(&g_mtx);
	if ((s = sess_find(h, 0)) != NULL)
		*s = g_sess[--g_nsess];
	pthread_mutex_unlock(&g_mtx);
}

static void
sess_clear_locked(void)
{
	free(g_sess);
	g_sess = NULL;
	g_nsess = 0;
}

static void
sess_set(CK_SESSION_HANDLE h, int pending, int authed)
{
	struct sess *s;

	pthread_mutex_lock(&g_mtx);
	if ((s = sess_find(h, pending || authed)) != NULL) {
		s->pending = pending;
		s->authed = authed;
	}
	pthread_mutex_unlock(&g_mtx);
}

/* Whether a sign on h must be refused for want of a context login. */
static int
sess_needs_auth(CK_SESSION_HANDLE h)
{
	struct sess *s;
	int r = 0;

	pthread_mutex_lock(&g_mtx);
	if ((s = sess_find(h, 0)) != NULL)
		r = s->pending && !s->authed;
	pthread_mutex_unlock(&g_mtx);
	return r;
}

static void
remember_pin(const unsigned char *pin, CK_ULONG len)
{
	pthread_mutex_lock(&g_mtx);
	explicit_bzero(g_goodpin, sizeof(g_goodpin));
	g_have_goodpin = 0;
	if (pin != NULL && len <= sizeof(g_goodpin)) {
		memcpy(g_goodpin, pin, len);
		g_goodpinlen = len;
		g_have_goodpin = 1;
	}
	pthread_mutex_unlock(&g_mtx);
}

/* Handles: see "Handles" at the top. */

static CK_ULONG
tag(const struct call *c, CK_ULONG h)
{
#ifdef TAG_SHIFT
	if (h != CK_INVALID_HANDLE)
		h |= (CK_ULONG)c->epoch << TAG_SHIFT;
#else
	(void)c;
#endif
	return h;
}

/* Strips the epoch from *h; bad_rv if it belongs to another epoch. */
static CK_RV
untag(const struct call *c, CK_ULONG *h, CK_RV bad_rv)
{
	CK_RV rv = CKR_OK;

#ifdef TAG_SHIFT
	if (*h == CK_INVALID_HANDLE)
		goto out;
	if ((*h >> TAG_SHIFT) != c->epoch) {
		rv = bad_rv;
		goto out;
	}
	*h &= HANDLE_MASK;
 out:
#else
	(void)c;
	(void)h;
	(void)bad_rv;
#endif
	return rv;
}

/* Closes every real session on every slot: what a card removal does. */
static void
close_all_real(void)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0, i;

	if (g_real->C_GetSlotList(CK_FALSE, NULL, &n) != CKR_OK || n == 0 ||
	    (slots = calloc(n, sizeof(*slots))) == NULL ||
	    g_real->C_GetSlotList(CK_FALSE, slots, &n) != CKR_OK)
		goto out;
	for (i = 0; i < n; i++)
		g_real->C_CloseAllSessions(slots[i]);
 out:
	free(slots);
}

/*
 * A re-insert happened somewhere (the shared generation moved on): drop
 * this process's real sessions, which also drops its login, and start a
 * new handle epoch.  A generation that went down means the state file was
 * deleted; that resets counters, it does not pull the card.
 */
static void
reinsert_check(struct call *c)
{
	pthread_mutex_lock(&g_mtx);
	if (c->have_gen && c->gen != g_seen_gen) {
		if (g_init && c->gen > g_seen_gen) {
			close_all_real();
			g_epoch++;
#ifdef TAG_MASK
			g_epoch &= TAG_MASK;
#endif
			sess_clear_locked();
		}
		g_seen_gen = c->gen;
	}
	c->epoch = g_epoch;
	pthread_mutex_unlock(&g_mtx);
}

/*
 * Entry of every wrapped call: count it, pick up the control file, act out
 * crash/hang/delay, check the session handle, then injected errors and
 * absence.  On CKR_OK the wrapper goes on with *hs made real; otherwise it
 * returns the error (c->injected says whether it was injected).  Always
 * pair with call_leave().
 */
static CK_RV
call_enter(struct call *c, int fn, enum kind kind, CK_SESSION_HANDLE *hs)
{
	CK_RV rv = CKR_OK;
	int injected;

	memset(c, 0, sizeof(*c));
	state_txn(c, fn, PIN_NONE);
	/* Set again below only if the injected error is what we return. */
	injected = c->injected;
	c->injected = 0;
	reinsert_check(c);
	if (c->ctl->crash[fn])
		abort();
	while (c->ctl->hang[fn])
		sleep(60);
	if (c->ctl->delay_ms[fn] > 0)
		sleep_ms(c->ctl->delay_ms[fn]);
	if (hs != NULL &&
	    (rv = untag(c, hs, CKR_SESSION_HANDLE_INVALID)) != CKR_OK)
		goto out;
	if (injected) {
		c->injected = 1;
		rv = c->inject_rv;
		goto out;
	}
	if (c->ctl->absent && kind == K_SESSION)
		rv = CKR_DEVICE_REMOVED;
	else if (c->ctl->absent && kind == K_SLOT)
		rv = CKR_TOKEN_NOT_PRESENT;
 out:
	return rv;
}

static void
call_leave(struct call *c)
{
	ctl_put(c->ctl);
	c->ctl = NULL;
}

/* The wrappers. */

/*
 * Session calls with nothing to emulate beyond call_enter(): PARAMS is the
 * parameter list, with the session named s (and the key, if any, named k),
 * ARGS what is forwarded.
 */
#define WRAP_SESSION(name, params, args)				\
static CK_RV								\
w_##name params								\
{									\
	struct call c;							\
	CK_RV rv;							\
									\
	if ((rv = call_enter(&c, F_##name, K_SESSION, &s)) == CKR_OK)	\
		rv = g_real->C_##name args;				\
	call_leave(&c);							\
	return rv;							\
}

#define WRAP_SESSION_KEY(name, params, args, bad)			\
static CK_RV								\
w_##name params								\
{									\
	struct call c;							\
	CK_RV rv;							\
									\
	if ((rv = call_enter(&c, F_##name, K_SESSION, &s)) == CKR_OK &&	\
	    (rv = untag(&c, &k, bad)) == CKR_OK)			\
		rv = g_real->C_##name args;				\
	call_leave(&c);							\
	return rv;							\
}

/* Calls on a slot or none; absence is emulated by KIND. */
#define WRAP_PLAIN(name, kind, params, args)				\
static CK_RV								\
w_##name params								\
{									\
	struct call c;							\
	CK_RV rv;							\
									\
	if ((rv = call_enter(&c, F_##name, kind, NULL)) == CKR_OK)	\
		rv = g_real->C_##name args;				\
	call_leave(&c);							\
	return rv;							\
}

WRAP_PLAIN(GetInfo, K_PLAIN, (CK_INFO_PTR p), (p))
WRAP_PLAIN(GetMechanismList, K_SLOT,
    (CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR p, CK_ULONG_PTR n), (id, p, n))
WRAP_PLAIN(GetMechanismInfo, K_SLOT,
    (CK_SLOT_ID id, CK_MECHANISM_TYPE t, CK_MECHANISM_INFO_PTR p), (id, t, p))
WRAP_PLAIN(InitToken, K_SLOT,
    (CK_SLOT_ID id, CK_UTF8CHAR_PTR pin, CK_ULONG len, CK_UTF8CHAR_PTR l),
    (id, pin, len, l))

WRAP_SESSION(GetSessionInfo, (CK_SESSION_HANDLE s, CK_SESSION_INFO_PTR p),
    (s, p))
WRAP_SESSION(GetOperationState,
    (CK_SESSION_HANDLE s, CK_BYTE_PTR p, CK_ULONG_PTR n), (s, p, n))
WRAP_SESSION(Logout, (CK_SESSION_HANDLE s), (s))
WRAP_SESSION(FindObjectsInit,
    (CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n), (s, t, n))
WRAP_SESSION(FindObjectsFinal, (CK_SESSION_HANDLE s), (s))
WRAP_SESSION(Encrypt, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl,
    CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(EncryptUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d,
    CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(EncryptFinal, (CK_SESSION_HANDLE s, CK_BYTE_PTR o,
    CK_ULONG_PTR ol), (s, o, ol))
WRAP_SESSION(Decrypt, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl,
    CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(DecryptUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d,
    CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(DecryptFinal, (CK_SESSION_HANDLE s, CK_BYTE_PTR o,
    CK_ULONG_PTR ol), (s, o, ol))
WRAP_SESSION(DigestInit, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m), (s, m))
WRAP_SESSION(Digest, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl,
    CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(DigestUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl),
    (s, d, dl))
WRAP_SESSION(DigestFinal, (CK_SESSION_HANDLE s, CK_BYTE_PTR o,
    CK_ULONG_PTR ol), (s, o, ol))
WRAP_SESSION(SignRecover, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl,
    CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(Verify, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl,
    CK_BYTE_PTR g, CK_ULONG gl), (s, d, dl, g, gl))
WRAP_SESSION(VerifyUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl),
    (s, d, dl))
WRAP_SESSION(VerifyFinal, (CK_SESSION_HANDLE s, CK_BYTE_PTR g, CK_ULONG gl),
    (s, g, gl))
WRAP_SESSION(VerifyRecover, (CK_SESSION_HANDLE s, CK_BYTE_PTR g,
    CK_ULONG gl, CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, g, gl, o, ol))
WRAP_SESSION(DigestEncryptUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d,
    CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(DecryptDigestUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d,
    CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(SignEncryptUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d,
    CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(DecryptVerifyUpdate, (CK_SESSION_HANDLE s, CK_BYTE_PTR d,
    CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol), (s, d, dl, o, ol))
WRAP_SESSION(SeedRandom, (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl),
    (s, d, dl))
WRAP_SESSION(GenerateRandom, (CK_SESSION_HANDLE s, CK_BYTE_PTR d,
    CK_ULONG dl), (s, d, dl))
WRAP_SESSION(GetFunctionStatus, (CK_SESSION_HANDLE s), (s))
WRAP_SESSION(CancelFunction, (CK_SESSION_HANDLE s), (s))

WRAP_SESSION_KEY(EncryptInit, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k), (s, m, k), CKR_KEY_HANDLE_INVALID)
WRAP_SESSION_KEY(DecryptInit, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k), (s, m, k), CKR_KEY_HANDLE_INVALID)
WRAP_SESSION_KEY(SignRecoverInit, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k), (s, m, k), CKR_KEY_HANDLE_INVALID)
WRAP_SESSION_KEY(VerifyInit, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k), (s, m, k), CKR_KEY_HANDLE_INVALID)
WRAP_SESSION_KEY(VerifyRecoverInit, (CK_SESSION_HANDLE s,
    CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), (s, m, k), CKR_KEY_HANDLE_INVALID)
WRAP_SESSION_KEY(DigestKey, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k),
    (s, k), CKR_KEY_HANDLE_INVALID)
WRAP_SESSION_KEY(DestroyObject, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k),
    (s, k), CKR_OBJECT_HANDLE_INVALID)
WRAP_SESSION_KEY(GetObjectSize, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k,
    CK_ULONG_PTR n), (s, k, n), CKR_OBJECT_HANDLE_INVALID)
WRAP_SESSION_KEY(SetAttributeValue, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k,
    CK_ATTRIBUTE_PTR t, CK_ULONG n), (s, k, t, n), CKR_OBJECT_HANDLE_INVALID)

static CK_RV
w_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR pp)
{
	return C_GetFunctionList(pp);
}

static CK_RV
w_Initialize(CK_VOID_PTR args)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_Initialize, K_PLAIN, NULL)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_Initialize(args)) != CKR_OK)
		goto out;
	/* Re-inserts before this point do not concern this process. */
	pthread_mutex_lock(&g_mtx);
	g_init = 1;
	if (c.have_gen)
		g_seen_gen = c.gen;
	g_ev_absent = c.ctl->absent;
	g_ev_gen = c.gen;
	pthread_mutex_unlock(&g_mtx);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_Finalize(CK_VOID_PTR reserved)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_Finalize, K_PLAIN, NULL)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_Finalize(reserved)) != CKR_OK)
		goto out;
	pthread_mutex_lock(&g_mtx);
	g_init = 0;
	sess_clear_locked();
	explicit_bzero(g_goodpin, sizeof(g_goodpin));
	g_have_goodpin = 0;
	pthread_mutex_unlock(&g_mtx);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
	struct call c;
	CK_ULONG n;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GetSlotList, K_PLAIN, NULL)) != CKR_OK)
		goto out;
	if (!present || !c.ctl->absent) {
		rv = g_real->C_GetSlotList(present, list, count);
		goto out;
	}
	if (count == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	/* Let the real module say whether it is initialised at all. */
	if ((rv = g_real->C_GetSlotList(CK_FALSE, NULL, &n)) == CKR_OK)
		*count = 0;
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_GetSlotInfo(CK_SLOT_ID id, CK_SLOT_INFO_PTR info)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GetSlotInfo, K_PLAIN, NULL)) != CKR_OK)
		goto out;
	rv = g_real->C_GetSlotInfo(id, info);
	if (rv == CKR_OK && c.ctl->absent)
		info->flags &= ~CKF_TOKEN_PRESENT;
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_GetTokenInfo(CK_SLOT_ID id, CK_TOKEN_INFO_PTR info)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GetTokenInfo, K_PLAIN, NULL)) != CKR_OK)
		goto out;
	if (c.ctl->absent && !c.ctl->stale) {
		rv = CKR_TOKEN_NOT_PRESENT;
		goto out;
	}
	if ((rv = g_real->C_GetTokenInfo(id, info)) != CKR_OK)
		goto out;
	if (c.pin_max > 0) {
		info->flags &= ~(CKF_USER_PIN_COUNT_LOW |
		    CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
		if (c.pin_left < c.pin_max)
			info->flags |= CKF_USER_PIN_COUNT_LOW;
		if (c.pin_left == 1)
			info->flags |= CKF_USER_PIN_FINAL_TRY;
		if (c.pin_left <= 0)
			info->flags |= CKF_USER_PIN_LOCKED;
	}
	if (c.ctl->protected_auth)
		info->flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
	if (c.ctl->has_serial)
		memcpy(info->serialNumber, c.ctl->serial,
		    sizeof(info->serialNumber));
 out:
	call_leave(&c);
	return rv;
}

/*
 * Whether the card was pulled or put back since the last report; the
 * generation catches a remove and re-insert that happened in between.
 */
static int
slot_event(void)
{
	struct call c;
	int ev;

	memset(&c, 0, sizeof(c));
	state_txn(&c, -1, PIN_NONE);
	pthread_mutex_lock(&g_mtx);
	ev = c.ctl->absent != g_ev_absent || (c.have_gen && c.gen != g_ev_gen);
	g_ev_absent = c.ctl->absent;
	if (c.have_gen)
		g_ev_gen = c.gen;
	pthread_mutex_unlock(&g_mtx);
	call_leave(&c);
	return ev;
}

static CK_RV
w_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved)
{
	struct call c;
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	CK_RV rv;
	int init;

	if ((rv = call_enter(&c, F_WaitForSlotEvent, K_PLAIN, NULL)) != CKR_OK)
		goto out;
	if (g_ctl_path == NULL) {
		rv = g_real->C_WaitForSlotEvent(flags, slot, reserved);
		goto out;
	}
	if (slot == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	for (;;) {
		pthread_mutex_lock(&g_mtx);
		init = g_init;
		pthread_mutex_unlock(&g_mtx);
		/* C_Finalize must release a blocked waiter. */
		if (!init) {
			rv = CKR_CRYPTOKI_NOT_INITIALIZED;
			goto out;
		}
		if (slot_event())
			break;
		if (flags & CKF_DONT_BLOCK) {
			rv = CKR_NO_EVENT;
			goto out;
		}
		sleep_ms(100);
	}
	if ((rv = g_real->C_GetSlotList(CK_FALSE, NULL, &n)) != CKR_OK)
		goto out;
	if (n == 0 || (slots = calloc(n, sizeof(*slots))) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if ((rv = g_real->C_GetSlotList(CK_FALSE, slots, &n)) == CKR_OK)
		*slot = slots[0];
 out:
	free(slots);
	call_leave(&c);
	return rv;
}

static CK_RV
w_InitPIN(CK_SESSION_HANDLE s, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_InitPIN, K_SESSION, &s)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_InitPIN(s, pin, len)) == CKR_OK)
		remember_pin(pin, len);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_SetPIN(CK_SESSION_HANDLE s, CK_UTF8CHAR_PTR old, CK_ULONG oldlen,
    CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_SetPIN, K_SESSION, &s)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_SetPIN(s, old, oldlen, pin, len)) == CKR_OK)
		remember_pin(pin, len);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_OpenSession(CK_SLOT_ID id, CK_FLAGS flags, CK_VOID_PTR app,
    CK_NOTIFY notify, CK_SESSION_HANDLE_PTR ps)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_OpenSession, K_SLOT, NULL)) != CKR_OK)
		goto out;
	rv = g_real->C_OpenSession(id, flags, app, notify, ps);
	if (rv == CKR_OK)
		*ps = tag(&c, *ps);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_CloseSession(CK_SESSION_HANDLE s)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_CloseSession, K_CLOSE, &s)) != CKR_OK)
		goto out;
	rv = g_real->C_CloseSession(s);
	sess_drop(s);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_CloseAllSessions(CK_SLOT_ID id)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_CloseAllSessions, K_PLAIN, NULL)) !=
	    CKR_OK)
		goto out;
	rv = g_real->C_CloseAllSessions(id);
	/* The table does not know slots; forgetting too much is harmless. */
	pthread_mutex_lock(&g_mtx);
	sess_clear_locked();
	pthread_mutex_unlock(&g_mtx);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_SetOperationState(CK_SESSION_HANDLE s, CK_BYTE_PTR st, CK_ULONG len,
    CK_OBJECT_HANDLE ek, CK_OBJECT_HANDLE ak)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_SetOperationState, K_SESSION, &s)) ==
	    CKR_OK &&
	    (rv = untag(&c, &ek, CKR_KEY_HANDLE_INVALID)) == CKR_OK &&
	    (rv = untag(&c, &ak, CKR_KEY_HANDLE_INVALID)) == CKR_OK)
		rv = g_real->C_SetOperationState(s, st, len, ek, ak);
	call_leave(&c);
	return rv;
}

static int
wrong_pin(CK_RV rv)
{
	return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID ||
	    rv == CKR_PIN_LEN_RANGE;
}

/*
 * The context-specific login of an always-authenticate key, emulated since
 * the real key does not have the attribute: the PIN is checked against the
 * "pin" directive or the last PIN that worked for CKU_USER.
 */
static CK_RV
login_context(const struct call *c, CK_SESSION_HANDLE s,
    const unsigned char *pin, CK_ULONG len)
{
	const unsigned char *want = NULL;
	struct sess *ss;
	size_t wantlen = 0;
	CK_RV rv;

	pthread_mutex_lock(&g_mtx);
	if ((ss = sess_find(s, 0)) == NULL || !ss->pending) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	if (c->ctl->has_pin) {
		want = c->ctl->pin;
		wantlen = c->ctl->pinlen;
	} else if (g_have_goodpin) {
		want = g_goodpin;
		wantlen = g_goodpinlen;
	}
	if (want == NULL || pin == NULL || len != wantlen ||
	    memcmp(pin, want, wantlen) != 0) {
		rv = CKR_PIN_INCORRECT;
		goto out;
	}
	ss->authed = 1;
	rv = CKR_OK;
 out:
	pthread_mutex_unlock(&g_mtx);
	return rv;
}

static CK_RV
w_Login(CK_SESSION_HANDLE s, CK_USER_TYPE ut, CK_UTF8CHAR_PTR pin,
    CK_ULONG len)
{
	struct call c;
	CK_RV rv;
	int user = ut == CKU_USER || ut == CKU_CONTEXT_SPECIFIC;

	if ((rv = call_enter(&c, F_Login, K_SESSION, &s)) != CKR_OK)
		goto out;
	if (user && c.pin_max > 0 && c.pin_left <= 0) {
		rv = CKR_PIN_LOCKED;
		goto out;
	}
	if (pin == NULL && c.ctl->protected_auth) {
		/* The PIN pad: the "pin" directive is what the user types. */
		if (!c.ctl->has_pin)
			rv = CKR_PIN_INCORRECT;
		else if (ut == CKU_CONTEXT_SPECIFIC && c.ctl->always_auth)
			rv = login_context(&c, s, c.ctl->pin, c.ctl->pinlen);
		else
			rv = g_real->C_Login(s, ut, c.ctl->pin, c.ctl->pinlen);
	} else if (ut == CKU_CONTEXT_SPECIFIC && c.ctl->always_auth)
		rv = login_context(&c, s, pin, len);
	else
		rv = g_real->C_Login(s, ut, pin, len);
	if (!user)
		goto out;
	if (rv == CKR_OK) {
		if (ut == CKU_USER)
			remember_pin(pin != NULL ? pin : c.ctl->pin,
			    pin != NULL ? len : c.ctl->pinlen);
		if (c.pin_max > 0)
			state_txn(&c, -1, PIN_GOOD);
	} else if (wrong_pin(rv)) {
		/* Real cards count every failed verify, whatever they say. */
		if (c.pin_max > 0)
			state_txn(&c, -1, PIN_BAD);
		rv = c.ctl->has_login_error ? c.ctl->login_error :
		    CKR_PIN_INCORRECT;
	}
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_CreateObject(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n,
    CK_OBJECT_HANDLE_PTR po)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_CreateObject, K_SESSION, &s)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_CreateObject(s, t, n, po)) == CKR_OK)
		*po = tag(&c, *po);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_CopyObject(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t,
    CK_ULONG n, CK_OBJECT_HANDLE_PTR po)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_CopyObject, K_SESSION, &s)) != CKR_OK ||
	    (rv = untag(&c, &o, CKR_OBJECT_HANDLE_INVALID)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_CopyObject(s, o, t, n, po)) == CKR_OK)
		*po = tag(&c, *po);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_FindObjects(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE_PTR po, CK_ULONG max,
    CK_ULONG_PTR count)
{
	struct call c;
	CK_ULONG i;
	CK_RV rv;

	if ((rv = call_enter(&c, F_FindObjects, K_SESSION, &s)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_FindObjects(s, po, max, count)) != CKR_OK)
		goto out;
	for (i = 0; i < *count && i < max; i++)
		po[i] = tag(&c, po[i]);
 out:
	call_leave(&c);
	return rv;
}

/* Fetches one attribute of at most cap bytes; -1 if absent or bigger. */
static int
real_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
    void *buf, CK_ULONG cap, CK_ULONG *len)
{
	CK_ATTRIBUTE a;
	int r = -1;

	a.type = type;
	a.pValue = NULL;
	a.ulValueLen = 0;
	if (g_real->C_GetAttributeValue(s, o, &a, 1) != CKR_OK ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > cap)
		goto out;
	a.pValue = buf;
	if (g_real->C_GetAttributeValue(s, o, &a, 1) != CKR_OK)
		goto out;
	*len = a.ulValueLen;
	r = 0;
 out:
	return r;
}

static int
is_private_key(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o)
{
	CK_OBJECT_CLASS cls;
	CK_ULONG len;

	return real_attr(s, o, CKA_CLASS, &cls, sizeof(cls), &len) == 0 &&
	    len == sizeof(cls) && cls == CKO_PRIVATE_KEY;
}

/*
 * Stores a mutated value the way C_GetAttributeValue would: a length
 * query, a copy, or "too small".  cap is the caller's buffer size (the
 * real call has overwritten ulValueLen); src NULL means HUGE_LEN bytes of
 * 'A'.
 */
static void
put_value(CK_ATTRIBUTE *a, CK_ULONG cap, const void *src, CK_ULONG len,
    int *small)
{
	if (a->pValue == NULL)
		a->ulValueLen = len;
	else if (cap < len) {
		a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
		*small = 1;
	} else {
		if (src != NULL)
			memcpy(a->pValue, src, len);
		else
			memset(a->pValue, 0x41, len);
		a->ulValueLen = len;
	}
}

/* Applies one attr directive to a template entry of buffer size cap. */
static void
apply_rule(CK_ATTRIBUTE *a, CK_ULONG cap, const struct attr_rule *ar,
    int *invalid, int *small)
{
	switch (ar->kind) {
	case A_EMPTY:
		put_value(a, cap, "", 0, small);
		break;
	case A_HUGE:
		put_value(a, cap, NULL, HUGE_LEN, small);
		break;
	case A_UNAVAILABLE:
		a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
		*invalid = 1;
		break;
	case A_BADDATA:
		put_value(a, cap, baddata, sizeof(baddata), small);
		break;
	case A_LABEL:
		put_value(a, cap, ar->value, ar->valuelen, small);
		break;
	}
}

/*
 * Applies always_auth and attr directives to a filled template and works
 * out the return value again: an attribute the directives made
 * unavailable or too big is an error, one they made available is not.
 */
static CK_RV
attr_mutate(const struct call *c, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_PTR t, const CK_ULONG *caps, CK_ULONG n, CK_RV rv)
{
	unsigned char label[MAX_STR], *touched = NULL;
	const struct attr_rule *ar;
	CK_ULONG labellen = 0, i;
	CK_BBOOL yes = CK_TRUE;
	size_t j;
	int have_label, priv = -1, invalid = 0, small = 0, other = 0, any = 0;

	if (caps == NULL ||
	    (rv != CKR_OK && rv != CKR_ATTRIBUTE_SENSITIVE &&
	    rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_BUFFER_TOO_SMALL) ||
	    (touched = calloc(n, 1)) == NULL)
		goto out;
	have_label = c->ctl->nattr > 0 &&
	    real_attr(s, o, CKA_LABEL, label, sizeof(label), &labellen) == 0;
	for (i = 0; i < n; i++) {
		if (c->ctl->always_auth &&
		    t[i].type == CKA_ALWAYS_AUTHENTICATE) {
			if (priv == -1)
				priv = is_private_key(s, o);
			if (priv) {
				put_value(&t[i], caps[i], &yes, sizeof(yes),
				    &small);
				touched[i] = 1;
			}
		}
		/* The first directive for this label and attribute wins. */
		for (j = 0; have_label && j < c->ctl->nattr; j++) {
			ar = &c->ctl->attrs[j];
			if (ar->type == t[i].type && ar->labellen == labellen &&
			    memcmp(ar->label, label, labellen) == 0) {
				apply_rule(&t[i], caps[i], ar, &invalid,
				    &small);
				touched[i] = 1;
				break;
			}
		}
	}
	for (i = 0; i < n; i++) {
		any |= touched[i];
		if (!touched[i] &&
		    t[i].ulValueLen == CK_UNAVAILABLE_INFORMATION)
			other = 1;
	}
	if (!any)
		goto out;
	/* The real error stands only if an attribute we left caused it. */
	if (!other)
		rv = CKR_OK;
	if (rv == CKR_OK && invalid)
		rv = CKR_ATTRIBUTE_TYPE_INVALID;
	if (rv == CKR_OK && small)
		rv = CKR_BUFFER_TOO_SMALL;
 out:
	free(touched);
	return rv;
}

static CK_RV
w_GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
	struct call c;
	CK_ULONG *caps = NULL, i;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GetAttributeValue, K_SESSION, &s)) !=
	    CKR_OK ||
	    (rv = untag(&c, &o, CKR_OBJECT_HANDLE_INVALID)) != CKR_OK)
		goto out;
	if ((c.ctl->nattr > 0 || c.ctl->always_auth) && t != NULL && n > 0 &&
	    (caps = calloc(n, sizeof(*caps))) != NULL)
		for (i = 0; i < n; i++)
			caps[i] = t[i].ulValueLen;
	rv = g_real->C_GetAttributeValue(s, o, t, n);
	rv = attr_mutate(&c, s, o, t, caps, n, rv);
 out:
	free(caps);
	call_leave(&c);
	return rv;
}

/*
 * Ends the real sign operation when the wrapper fails it, as a real token
 * would: any error but a length query ends the operation, and a session
 * left in CKR_OPERATION_ACTIVE is not what is being tested.
 */
static void
finish_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, int final)
{
	unsigned char *sig = NULL;
	CK_ULONG siglen = 0;
	CK_RV rv;

	rv = final ? g_real->C_SignFinal(s, NULL, &siglen) :
	    g_real->C_Sign(s, data, len, NULL, &siglen);
	if (rv != CKR_OK)
		goto out;
	if ((sig = malloc(siglen ? siglen : 1)) == NULL)
		goto out;
	if (final)
		g_real->C_SignFinal(s, sig, &siglen);
	else
		g_real->C_Sign(s, data, len, sig, &siglen);
 out:
	free(sig);
}

static void
corrupt(const struct call *c, CK_BYTE_PTR sig, CK_ULONG len)
{
	/* The last byte: still a number below an RSA modulus, still wrong. */
	if (c->ctl->corrupt_sig && sig != NULL && len > 0)
		sig[len - 1] ^= 0x01;
}

static CK_RV
w_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_SignInit, K_SESSION, &s)) != CKR_OK ||
	    (rv = untag(&c, &k, CKR_KEY_HANDLE_INVALID)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_SignInit(s, m, k)) != CKR_OK)
		goto out;
	sess_set(s, c.ctl->always_auth && is_private_key(s, k), 0);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR sig,
    CK_ULONG_PTR siglen)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_Sign, K_SESSION, &s)) != CKR_OK) {
		if (c.injected)
			finish_sign(s, d, dl, 0);
		goto done;
	}
	if (sess_needs_auth(s)) {
		finish_sign(s, d, dl, 0);
		rv = CKR_USER_NOT_LOGGED_IN;
		goto done;
	}
	rv = g_real->C_Sign(s, d, dl, sig, siglen);
	if (rv == CKR_OK && sig != NULL)
		corrupt(&c, sig, *siglen);
	/* A length query or a short buffer leaves the operation going. */
	if ((rv == CKR_OK && sig == NULL) || rv == CKR_BUFFER_TOO_SMALL)
		goto out;
 done:
	sess_set(s, 0, 0);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_SignUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_SignUpdate, K_SESSION, &s)) != CKR_OK) {
		if (c.injected)
			finish_sign(s, NULL, 0, 1);
		goto done;
	}
	if (sess_needs_auth(s)) {
		finish_sign(s, NULL, 0, 1);
		rv = CKR_USER_NOT_LOGGED_IN;
		goto done;
	}
	if ((rv = g_real->C_SignUpdate(s, d, dl)) == CKR_OK)
		goto out;
 done:
	sess_set(s, 0, 0);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_SignFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR sig, CK_ULONG_PTR siglen)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_SignFinal, K_SESSION, &s)) != CKR_OK) {
		if (c.injected)
			finish_sign(s, NULL, 0, 1);
		goto done;
	}
	if (sess_needs_auth(s)) {
		finish_sign(s, NULL, 0, 1);
		rv = CKR_USER_NOT_LOGGED_IN;
		goto done;
	}
	rv = g_real->C_SignFinal(s, sig, siglen);
	if (rv == CKR_OK && sig != NULL)
		corrupt(&c, sig, *siglen);
	if ((rv == CKR_OK && sig == NULL) || rv == CKR_BUFFER_TOO_SMALL)
		goto out;
 done:
	sess_set(s, 0, 0);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_GenerateKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t,
    CK_ULONG n, CK_OBJECT_HANDLE_PTR pk)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GenerateKey, K_SESSION, &s)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_GenerateKey(s, m, t, n, pk)) == CKR_OK)
		*pk = tag(&c, *pk);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_GenerateKeyPair(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m,
    CK_ATTRIBUTE_PTR pubt, CK_ULONG pubn, CK_ATTRIBUTE_PTR privt,
    CK_ULONG privn, CK_OBJECT_HANDLE_PTR ppub, CK_OBJECT_HANDLE_PTR ppriv)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GenerateKeyPair, K_SESSION, &s)) != CKR_OK)
		goto out;
	rv = g_real->C_GenerateKeyPair(s, m, pubt, pubn, privt, privn, ppub,
	    ppriv);
	if (rv == CKR_OK) {
		*ppub = tag(&c, *ppub);
		*ppriv = tag(&c, *ppriv);
	}
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_WrapKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE wk,
    CK_OBJECT_HANDLE k, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_WrapKey, K_SESSION, &s)) == CKR_OK &&
	    (rv = untag(&c, &wk, CKR_WRAPPING_KEY_HANDLE_INVALID)) == CKR_OK &&
	    (rv = untag(&c, &k, CKR_KEY_HANDLE_INVALID)) == CKR_OK)
		rv = g_real->C_WrapKey(s, m, wk, k, out, outlen);
	call_leave(&c);
	return rv;
}

static CK_RV
w_UnwrapKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE uk,
    CK_BYTE_PTR in, CK_ULONG inlen, CK_ATTRIBUTE_PTR t, CK_ULONG n,
    CK_OBJECT_HANDLE_PTR pk)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_UnwrapKey, K_SESSION, &s)) != CKR_OK ||
	    (rv = untag(&c, &uk, CKR_UNWRAPPING_KEY_HANDLE_INVALID)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_UnwrapKey(s, m, uk, in, inlen, t, n, pk)) ==
	    CKR_OK)
		*pk = tag(&c, *pk);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_DeriveKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE bk,
    CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR pk)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_DeriveKey, K_SESSION, &s)) != CKR_OK ||
	    (rv = untag(&c, &bk, CKR_KEY_HANDLE_INVALID)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_DeriveKey(s, m, bk, t, n, pk)) == CKR_OK)
		*pk = tag(&c, *pk);
 out:
	call_leave(&c);
	return rv;
}

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
#define FM_WRAP(n)							\
	if (g_real->C_##n != NULL)					\
		g_list.C_##n = w_##n;
	FM_FUNCTIONS(FM_WRAP)
#undef FM_WRAP
	g_load_rv = CKR_OK;
 out:
	return;
}

CK_RV
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
