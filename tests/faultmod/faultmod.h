/* SPDX-License-Identifier: BSD-2-Clause */
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
 *	token_label VALUE	C_GetTokenInfo reports this token label
 *				(1 to 32 bytes; URIs naming the token by
 *				its old label no longer match it)
 *	fail FUNC CKR [N|always|until_init]
 *				next N (default 1) calls of FUNC return CKR;
 *				until_init: every call does, until some
 *				process calls C_Initialize (a module whose
 *				state is lost until it is started again)
 *	delay FUNC MS		sleep MS milliseconds before FUNC
 *	hang FUNC		FUNC never returns
 *	crash FUNC		FUNC calls abort()
 *	pin_tries N		emulated user PIN retry counter of N tries
 *				(C_Login and C_SetPIN's old PIN count;
 *				C_InitPIN refills it)
 *	pin_reset		refill the counter (once per control version)
 *	count_reset		zero call counts (once per control version)
 *	login_error CKR		what a wrong PIN returns (CKR_PIN_INCORRECT)
 *	pin VALUE		the right PIN, for protected_auth and
 *				always_auth checks
 *	always_auth		private keys have CKA_ALWAYS_AUTHENTICATE
 *	corrupt_sig		flip a bit in every signature
 *	protected_auth		PIN pad: a NULL PIN logs in with "pin"
 *	read_only		the token says CKF_WRITE_PROTECTED and
 *				refuses read-write sessions
 *	attr LABEL KIND ATTR	objects labelled LABEL report ATTR mutated;
 *				KIND is empty, huge, unavailable or baddata
 *	attr LABEL label VALUE	objects labelled LABEL report label VALUE
 *	no_mech MECH		the token lacks mechanism MECH (a number,
 *				0x1040): C_GetMechanismList leaves it out,
 *				C_GetMechanismInfo says CKR_MECHANISM_INVALID
 *	so_pin VALUE		the SO PIN typed on the PIN pad
 *				(protected_auth and C_Login(CKU_SO, NULL))
 *	pad_new VALUE		the new PIN typed on the PIN pad: C_SetPIN
 *				with no PINs changes "pin" (or, logged in
 *				as SO, "so_pin") to it; C_InitPIN with no
 *				PIN sets it
 *	setpin_logout		a PIN change or unblock in any process ends
 *				every other process's user login, as a card
 *				resets its security status; C_GetSessionInfo
 *				still says logged in (as a caching
 *				middleware does) while C_SignInit says
 *				CKR_USER_NOT_LOGGED_IN, until that process
 *				logs out or in again.  SoftHSM in a process
 *				started before the change still knows the old
 *				PIN: such a process logs in with the new one
 *				(checked against a hash in the state file)
 *	so_keygen		generation only after an SO login, as on
 *				tokens whose own module asks for a
 *				management key: C_GenerateKeyPair says
 *				CKR_USER_NOT_LOGGED_IN otherwise.  SoftHSM
 *				makes no private objects for its SO, so a
 *				good SO login (checked by a real one) leaves
 *				the process logged in as the user with the
 *				"pin" directive's PIN, and C_GetSessionInfo
 *				says CKS_RW_SO_FUNCTIONS until C_Logout
 *
 * FUNC is a PKCS#11 function name (C_Sign), CKR a return value name
 * (CKR_DEVICE_ERROR) or number (0x30), ATTR an attribute name (CKA_ID) or
 * number.  An unknown directive is reported on stderr and ignored.
 *
 * The state file holds what every process must agree on, as text a shell
 * can grep: call counts per function ("C_Login 3", "C_Logout 1": every
 * wrapped call is counted), the PIN counter, the
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
 *
 * Layout (one concept a file; this header is their private contract):
 *	load.c		loading the real module, C_GetFunctionList
 *	wrap.c		pass-through wrappers with nothing to emulate
 *	call.c		the entry every wrapped call goes through
 *	handle.c	handle epochs and the re-insert edge
 *	lifecycle.c	C_Initialize, C_Finalize, opening/closing sessions
 *	object.c	calls that hand out or take object handles
 *	slot.c		slot/token presence and slot events
 *	pin.c		logins, the emulated PIN counter and always_auth
 *	login.c		which login this process holds (setpin_logout,
 *				so_keygen), C_Logout, C_GetSessionInfo
 *	attr.c		attribute mutation
 *	sign.c		the sign family (corrupt_sig, always_auth)
 *	mech.c		the mechanism list (no_mech)
 *	sess.c		per-session always-authenticate bookkeeping
 *	ctl.c		control file versions (re-read on change)
 *	ctl-parse.c	control file syntax and directives
 *	state.c		the shared state file under flock(2)
 *	names.c		function, CKR and CKA names
 *	util.c		small helpers (warnings, sleeping)
 */

#ifndef TK_FAULTMOD_H
#define TK_FAULTMOD_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

/* Nothing but C_GetFunctionList leaves the module. */
#pragma GCC visibility push(hidden)

#define DEFAULT_MODULE	"/usr/lib/softhsm/libsofthsm2.so"
#define MAX_FAIL	64		/* fail directives per control file */
#define FAIL_UNTIL_INIT	(-2)		/* fail_rule.count: to C_Initialize */
#define MAX_ATTR	64		/* attr directives per control file */
#define MAX_NOMECH	16		/* no_mech directives */
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

extern const char *const fn_names[F_COUNT];

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
	PIN_BAD,
	PIN_CHANGED	/* PIN set: counter refilled, pin_epoch bumped */
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
	int		 has_so_pin;
	unsigned char	 so_pin[MAX_STR];
	size_t		 so_pinlen;
	int		 has_pad_new;
	unsigned char	 pad_new[MAX_STR];
	size_t		 pad_newlen;
	int		 setpin_logout;
	int		 so_keygen;
	int		 has_serial;
	unsigned char	 serial[16];	/* blank padded */
	int		 has_tlabel;
	unsigned char	 tlabel[32];	/* blank padded */
	int		 always_auth;
	int		 corrupt_sig;
	int		 protected_auth;
	int		 read_only;
	long		 chatter;	/* C_Initialize writes lines to fd 2 */
	struct attr_rule attrs[MAX_ATTR];
	size_t		 nattr;
	CK_MECHANISM_TYPE nomech[MAX_NOMECH];
	size_t		 nnomech;
};

/* The shared state file, in memory. */
struct state {
	char		 ctl[STAMP_LEN];
	unsigned long	 gen;
	int		 absent;
	uint64_t	 card;
	long		 pin_max;
	long		 pin_left;
	unsigned long	 pin_epoch;	/* PIN changes so far */
	uint64_t	 pin_hash;	/* hash_bytes of the PIN set last */
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
	unsigned long	 pin_epoch;
	uint64_t	 pin_hash;	/* in: the new PIN of PIN_CHANGED */
	int		 injected;
	CK_RV		 inject_rv;
};

/* Per-session always-authenticate bookkeeping, keyed by real handle. */
struct sess {
	CK_SESSION_HANDLE h;
	int		 pending;	/* C_SignInit on a private key */
	int		 authed;	/* context-specific login since */
};

/* Installs a wrapper where the real module has the function. */
#define FM_SET(l, n)							\
	do {								\
		if (g_real->C_##n != NULL)				\
			(l)->C_##n = w_##n;				\
	} while (0)

/* load.c: set once by load(), read-only afterwards. */
extern pthread_mutex_t	 g_mtx;	/* guards the mutable globals below */
extern CK_FUNCTION_LIST	*g_real;
extern char		*g_ctl_path;
extern char		*g_state_path;
extern char		*g_lock_path;
extern char		*g_tmp_path;

/* Guarded by g_mtx. */
extern int		 g_init;	/* lifecycle.c: between Init and Fini */
extern unsigned long	 g_seen_gen;	/* handle.c */
extern int		 g_ev_absent;	/* slot.c: card state last reported */
extern unsigned long	 g_ev_gen;	/* slot.c */

/* util.c */
void		 warnmsg(const char *, unsigned long, const char *);
void		 sleep_ms(long);
uint64_t	 hash_bytes(const unsigned char *, size_t);

/* names.c */
int		 lookup_fn(const char *);
int		 lookup_rv(const char *, CK_RV *);
int		 lookup_attr(const char *, CK_ATTRIBUTE_TYPE *);
int		 parse_count(const char *, long *);

/* ctl-parse.c */
const char	*ctl_line(struct ctl *, const char *);

/* ctl.c */
extern struct ctl g_empty;
struct ctl	*ctl_current(void);
void		 ctl_put(struct ctl *);

/* state.c */
void		 state_txn(struct call *, int, enum pin_op);

/* sess.c; the _locked ones and sess_find want g_mtx held. */
struct sess	*sess_find(CK_SESSION_HANDLE, int);
void		 sess_drop(CK_SESSION_HANDLE);
void		 sess_clear_locked(void);
void		 sess_set(CK_SESSION_HANDLE, int, int);
int		 sess_needs_auth(CK_SESSION_HANDLE);

/* handle.c */
CK_ULONG	 tag(const struct call *, CK_ULONG);
CK_RV		 untag(const struct call *, CK_ULONG *, CK_RV);
void		 reinsert_check(struct call *);

/* call.c */
CK_RV		 call_enter(struct call *, int, enum kind,
		    CK_SESSION_HANDLE *);
void		 call_leave(struct call *);

/* pin.c */
void		 pin_forget_locked(void);

/* login.c; login_forget_locked wants g_mtx held. */
void		 login_user(const struct call *, const unsigned char *,
		    size_t);
int		 login_moved(const struct call *, const unsigned char *,
		    size_t, CK_RV *, CK_SESSION_HANDLE);
void		 login_so(void);
int		 login_stale(const struct call *);
int		 login_is_so(void);
void		 login_forget_locked(void);

/* attr.c */
int		 is_private_key(CK_SESSION_HANDLE, CK_OBJECT_HANDLE);

/* Each file that wraps functions installs its wrappers into a list. */
void		 wrap_plain(CK_FUNCTION_LIST *);
void		 wrap_lifecycle(CK_FUNCTION_LIST *);
void		 wrap_object(CK_FUNCTION_LIST *);
void		 wrap_slot(CK_FUNCTION_LIST *);
void		 wrap_pin(CK_FUNCTION_LIST *);
void		 wrap_login(CK_FUNCTION_LIST *);
void		 wrap_attr(CK_FUNCTION_LIST *);
void		 wrap_sign(CK_FUNCTION_LIST *);
void		 wrap_mech(CK_FUNCTION_LIST *);

#pragma GCC visibility pop

#endif /* TK_FAULTMOD_H */
