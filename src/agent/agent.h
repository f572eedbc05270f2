/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The SSH agent: shared state and the seams between its parts.  Each
 * file calls only files listed below it (tests/layers.sh checks that the
 * objects' link map has no cycle); state two files share lives in struct
 * agent, here.
 *
 *   agent.c          the server: socket, peer check, one thread per
 *                    connection, framing, the background refresh thread
 *   agent-proto.c    one request frame in, one reply out (pure but for
 *                    the calls into the key set and the signer)
 *   agent-delegate.c the other agent (-A): one connection per client
 *                    connection, merged identities
 *   agent-registry.c following p11-kit's registry as modules come and go
 *   agent-follow.c   following tokens as cards come and go, and files
 *                    by inotify (src/common/pathwatch.c): what the
 *                    background thread sleeps on, and what it does then
 *   agent-lookup.c   answers from the served set: identities, a key to
 *                    sign with, ssh-add -d
 *   agent-expire.c   lifetimes, and listing the sources' keys again
 *   agent-certdir.c  the certs directory and --cert files, followed
 *   agent-source.c   what the user asked to serve: sources (URIs on
 *                    modules), ssh-add -s / -e / -D
 *   agent-sign.c     the signing path: sign, log in when the token
 *                    wants it, one prompt at a time per token
 *   agent-login.c    one login: the PIN gate, PIN and confirm prompts,
 *                    pin-source files, ssh-add -s PINs
 *   agent-keyset.c   the served keys and the ready identities answer
 *   agent-certs.c    certificates: ssh-add -s sets, validity windows
 *   agent-specs.c    registry-wide requests, for modules that join later
 *   agent-hidden.c   keys removed with ssh-add -d / -e or by expiry
 *   agent-mods.c     the module table: one helper per module, -P
 *   agent-tokens.c   the per-token prompt locks
 *   agent-regread.c  reading p11-kit's registry (digest, module list)
 *   agent-lock.c     ssh-add -x / -X
 *   agent-verify.c   session-bind host key signatures (OpenSSL)
 *   agent-dest.c     destination constraints and session bindings (pure)
 *   agent-logind.c   systemd-logind over sd-bus: suspend, screen lock
 *   agent-policy.c   how long a PIN stays: idle and age timers,
 *                    logouts (ssh-add -x, logind)
 *   agent-notify.c   the desktop notice while a token waits
 *   agent-peer.c     who is asking: the peer's process chain, or the
 *                    host a forwarded connection came through
 *   agent-hc.c       the real ops: helpers and src/prompt/
 *   agent-upstream.c the real other agent: a Unix socket (-A)
 *   agent-child.c    -A auto: our own ssh-agent child, restarted
 *   agent-relist.c   relist@tokenkeys: a re-list asked for and waited on
 *   agent-wake.c     waking the background thread (a re-list asked)
 *   agent-log.c      the log and the clock
 *
 * Token calls go through struct agent_ops, so the protocol can be tested
 * with a stub keystore; the agent proper plugs in src/helper/hclient.h.
 *
 * Locking: a->lock guards sources, keys, hidden blobs and the lock state.
 * It is never held across a token call or a prompt.  A module pointer
 * used after a->lock is released is held (struct agent_module.refs).
 */
#ifndef TK_AGENT_H
#define TK_AGENT_H

#include <sys/types.h>
#include <sys/stat.h>

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/pinsrc.h"
#include "helper/hclient.h"
#include "prompt/prompt.h"

#define AGENT_MAX_FRAME		(256 * 1024)	/* OpenSSH's limit */
#define AGENT_MAX_SOURCES	256
#define AGENT_MAX_MODULES	64
#define AGENT_MAX_KEYS		16384
#define AGENT_MAX_BINDS		16
#define AGENT_MAX_DESTS		1024	/* restrict-destination hops */
#define AGENT_DEST_USER_MAX	256	/* a hop's user name, bytes */
#define AGENT_SIG_MAX		8192
#define AGENT_URI_MAX		4096
#define AGENT_SIGN_TIMEOUT_MS	30000
#define AGENT_LOGIN_TIMEOUT_MS	120000	/* PIN pads wait for the user */
#define AGENT_UP_LIST_MS	1000	/* the other agent's identities */
#define AGENT_UP_HUNG_MS	50	/* ...once it has not answered */
#define AGENT_MAX_CERTS		1024	/* per ssh-add -s; from files */
#define AGENT_EXT_CERTS		"associated-certs-v00@openssh.com"
#define AGENT_WHO_MAX		320	/* the requester, as shown */
#define AGENT_NOTICE_MS		1000	/* a signature pending this long */
#define AGENT_ASK_RELIST_SECS	10	/* identities asked, list older */
#define AGENT_EXT_RELIST	"relist@tokenkeys"
#define AGENT_RELIST_WAIT_MS	4000	/* relist@tokenkeys answers by then */
#define AGENT_RELIST_GAP_MS	1000	/* ...and lists at most this often */
#define AGENT_ALLOWLIST_DEFAULT	"/usr/lib*/*,/usr/local/lib*/*"

/* Message numbers (compat.md). */
#define SSH_AGENT_FAILURE			5
#define SSH_AGENT_SUCCESS			6
#define SSH_AGENTC_REMOVE_ALL_RSA_IDENTITIES	9	/* protocol 1 */
#define SSH_AGENTC_REQUEST_IDENTITIES		11
#define SSH_AGENT_IDENTITIES_ANSWER		12
#define SSH_AGENTC_SIGN_REQUEST			13
#define SSH_AGENT_SIGN_RESPONSE			14
#define SSH_AGENTC_ADD_IDENTITY			17
#define SSH_AGENTC_REMOVE_IDENTITY		18
#define SSH_AGENTC_REMOVE_ALL_IDENTITIES	19
#define SSH_AGENTC_ADD_SMARTCARD_KEY		20
#define SSH_AGENTC_REMOVE_SMARTCARD_KEY		21
#define SSH_AGENTC_LOCK				22
#define SSH_AGENTC_UNLOCK			23
#define SSH_AGENTC_ADD_ID_CONSTRAINED		25
#define SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED 26
#define SSH_AGENTC_EXTENSION			27
#define SSH_AGENT_EXTENSION_FAILURE		28
#define SSH_AGENT_EXTENSION_RESPONSE		29

#define SSH_AGENT_CONSTRAIN_LIFETIME		1
#define SSH_AGENT_CONSTRAIN_CONFIRM		2
#define SSH_AGENT_CONSTRAIN_EXTENSION		255

#define SSH_AGENT_RSA_SHA2_256			2
#define SSH_AGENT_RSA_SHA2_512			4

/* Log levels. */
#define AGENT_LOG_ERR		0
#define AGENT_LOG_INFO		1
#define AGENT_LOG_DEBUG		2

/*
 * Token calls and prompts.  mod is whatever mod_new returned.  Contracts
 * as in hclient.h and prompt.h.
 */
struct agent_ops {
	int	(*registry)(char ***paths, size_t *n);
	void	(*paths_free)(char **, size_t);
	/* registry: path came from p11-kit's registry */
	int	(*mod_new)(const char *path, int registry, void **mod);
	void	(*mod_free)(void *mod);
	int	(*list)(void *mod, const char *uri, struct tk_hkey **,
		    size_t *);
	void	(*keys_free)(struct tk_hkey *, size_t);
	int	(*sign)(void *mod, const uint8_t *blob, size_t bloblen,
		    const uint8_t *data, size_t datalen, int alg,
		    const char *ctx_pin, size_t ctx_pinlen, uint8_t *sig,
		    size_t sigsz, size_t *siglen, struct tk_htoken *tok,
		    int timeout_ms);
	int	(*login)(void *mod, const uint8_t *blob, size_t bloblen,
		    const char *pin, size_t pinlen, struct tk_htoken *tok,
		    int timeout_ms);
	int	(*token)(void *mod, const uint8_t *blob, size_t bloblen,
		    struct tk_htoken *tok);
	/* which tokens mod holds (may be NULL: only periodic re-lists) */
	int	(*presence)(void *mod, uint64_t *digest);
	/*
	 * A descriptor readable when mod's tokens may have changed, end of
	 * file when its helper died (tk_hclient_events_fd); -1, or the op
	 * NULL: none, presence is asked now and then instead.
	 */
	int	(*events)(void *mod);
	int	(*prompt_pin)(const struct tk_prompt *, char *pin, size_t pinsz,
		    size_t *len);
	int	(*prompt_confirm)(const struct tk_prompt *);
	/*
	 * Log out of the token holding blob (NULL: every token of mod);
	 * *n: tokens that were logged in.  May be NULL (stubs).
	 */
	int	(*logout)(void *mod, const uint8_t *blob, size_t bloblen,
		    unsigned int *n);
};

/*
 * The other agent (-A), which holds every key that is not on a token.
 * open makes one connection (*uc) for one client connection; call sends
 * req (a frame body) and puts the answer's body in reply within
 * timeout_ms (0 or TK_ERR_*; after an error uc is only fit to close).
 */
struct agent_upstream {
	int	(*open)(void *arg, void **uc);
	int	(*call)(void *arg, void *uc, const uint8_t *req, size_t len,
		    struct tk_buf *reply, int timeout_ms);
	void	(*close)(void *arg, void *uc);
	void	*arg;
};

/*
 * A module and its helper.  Pointers to a module taken under a->lock stay
 * valid after it is released while a reference is held (refs); a module
 * that left p11-kit's registry is retired and freed with its last
 * reference (agent_module_release).
 */
struct agent_module {
	void		*h;		/* ops handle */
	char		*path;		/* realpath */
	int		 registry;	/* from p11-kit's registry */
	int		 refs;		/* holders outside a->lock */
	int		 retired;	/* not in a->mods any more */
	uint64_t	 presence;	/* ops->presence, last answer */
	int		 presence_known;
	int		 presence_err;	/* ...its last error, said once */
	int		 relist;	/* list again (atomic; agent-wake.c) */
	int		 ev_eof;	/* its helper died (agent-follow.c) */
};

struct agent_dests;
struct tk_pathwatch;

/* Something the user asked to serve: keys matching uri on one module. */
struct agent_source {
	uint64_t	 id;		/* unique for the agent's life */
	struct agent_module *mod;
	char		*uri;		/* "pkcs11:" for all */
	char		*reader;	/* as the user named it (-s / argv) */
	time_t		 deadline;	/* monotonic seconds; 0 = none */
	int		 confirm;
	struct tk_hkey	*keys;		/* from the last listing */
	size_t		 nkeys;
	int		 listed;	/* keys is valid */
	char		*pin_source;	/* the URI's pin-source file, or NULL */
	struct agent_dests *dests;	/* ssh-add -h / --dest; or NULL */
};

/*
 * A registry-wide request (a URI without module-path, from the command
 * line, the no-URI default or ssh-add -s): modules that join p11-kit's
 * registry later get a source for it too.
 */
struct agent_spec {
	char		*uri;
	char		*reader;
	time_t		 deadline;
	int		 confirm;
	struct agent_dests *dests;	/* held; NULL: anywhere */
};

/* A served key (the cache that listing answers from). */
struct agent_key {
	uint8_t		*blob;
	size_t		 bloblen;
	char		*comment;	/* the key's URI */
	struct agent_module *mod;
	struct agent_source *src;
	uint32_t	 flags;		/* TK_HKEY_* */
	char		 token_label[33];
	char		 token_serial[17];
	time_t		 deadline;
	int		 confirm;
	/*
	 * The source's destination constraints (NULL: none); a copy from
	 * agent_key_lookup holds a reference.  dest_user and dest_host name
	 * the login a sign request is for, for the confirm prompt.
	 */
	struct agent_dests *dests;
	const char	*dest_user;
	const char	*dest_host;
	int		 cert;		/* blob is a certificate of the key */
};

/*
 * A certificate the agent may serve for a token key: blob is served as
 * an identity of its own wherever key is served (agent-certs.c).
 */
struct agent_cert {
	uint8_t		*blob;
	size_t		 bloblen;
	uint8_t		*key;		/* the certified key's plain blob */
	size_t		 keylen;
	uint64_t	 valid_after;	/* seconds since the epoch */
	uint64_t	 valid_before;
	char		 name[200];	/* key id and origin, sanitised */
	int		 when;		/* -1, 0, 1 as logged; 2: not yet */
};

/* The certificates of one ssh-add -s READER, or of the files. */
struct agent_certs {
	char		*reader;	/* NULL: the files' */
	int		 certs_only;	/* ssh-add -C: not the plain keys */
	int		 pending;	/* its ssh-add -s is still running */
	struct agent_cert *v;
	size_t		 n;
};

struct agent_blob {
	uint8_t		*blob;
	size_t		 len;
};

/* A token's prompt lock and what the last login told us. */
struct agent_token {
	struct agent_module *mod;
	char		 label[33];
	char		 serial[17];
	pthread_mutex_t	 mu;
	int		 wrong_pin;	/* the last PIN typed was refused */
	int		 pinsrc_bad;	/* ...and it came from this file: */
	struct tk_fileid pinsrc_id;
	/* login policy (agent-policy.c), under a->tokens_mu */
	int		 logged_in;	/* as far as we know */
	int64_t		 login_ms;	/* tk_mono_ms() of the login */
	int64_t		 used_ms;	/* ...of the last signature */
	uint8_t		*pol_blob;	/* a key on it, to name it */
	size_t		 pol_bloblen;
};

#define AGENT_MAX_TOKENS	128

struct agent {
	const struct agent_ops *ops;
	const struct agent_upstream *up;	/* -A; NULL: none */
	struct agent_child *child;	/* -A auto's ssh-agent; or NULL */
	pthread_mutex_t	 lock;

	struct agent_module *mods[AGENT_MAX_MODULES];
	size_t		 nmods;
	struct agent_source *srcs[AGENT_MAX_SOURCES];
	size_t		 nsrcs;
	struct agent_key *keys;
	size_t		 nkeys;
	uint64_t	 next_source_id;
	struct agent_spec *specs;	/* registry-wide requests */
	size_t		 nspecs;
	struct agent_blob *hidden;	/* removed with -d / -e / expiry */
	size_t		 nhidden;
	struct tk_buf	 idanswer;	/* the IDENTITIES_ANSWER, ready */

	int		 locked;
	uint8_t		 lock_salt[16];
	uint8_t		 lock_hash[32];
	unsigned int	 unlock_failures;

	char		*allowlist;	/* -P */
	uint32_t	 lifetime;	/* -t; 0 = none */
	int		 tty_ok;	/* foreground with a terminal */
	size_t		 ndestkeys;	/* served keys with constraints */
	int		 debug;
	void		 (*logfn)(int level, const char *msg);

	pthread_mutex_t	 tokens_mu;	/* the table, the tokens' policy */
	struct agent_token *tokens[AGENT_MAX_TOKENS];
	size_t		 ntokens;
	pthread_mutex_t	 tty_mu;	/* one terminal prompt at a time */

	uint64_t	 regsig;	/* p11-kit config files, last seen */
	int		 regsig_set;

	struct agent_certs **certsets;	/* per ssh-add -s READER */
	size_t		 ncertsets;
	struct agent_certs filecerts;	/* certs directory, --cert */
	char		**certpaths;	/* followed files and directories */
	size_t		 ncertpaths;
	uint64_t	 certsig;	/* what they were when last read */
	int		 certsig_set;
	uint64_t	 cert_next;	/* wall clock: a window opens/closes */
	/* How long a PIN stays (agent-policy.c); 0: no limit. */
	uint32_t	 pin_timeout;	/* seconds without a signature */
	uint32_t	 pin_max_age;	/* seconds after the login */
	int		 keep_pin_on;	/* AGENT_KEEP_* */
	struct agent_policy *policy;	/* the timer thread, or NULL */
	struct agent_logind *logind;	/* the logind listener, or NULL */
	struct agent_notify *notify;	/* the desktop notices, or NULL */
	/* the background thread (agent-follow.c, agent-wake.c) */
	int		 wake[2];	/* pipe: -1 if none */
	int		 relist_all;	/* list every source again (atomic) */
	time_t		 listed_at;	/* agent_now() of the last full list */
	struct timespec	 fw_registry;	/* next look at p11-kit, certs files */
	struct timespec	 fw_relist;	/* next safety re-list */
	struct timespec	 fw_poll;	/* next presence look (no events) */
	struct tk_pathwatch *fw_files;	/* p11-kit's, certs; NULL: looked at */
	int		 fw_started;
	/* relist@tokenkeys (agent-relist.c), under relist_mu */
	pthread_mutex_t	 relist_mu;
	pthread_cond_t	 relist_cv;	/* CLOCK_MONOTONIC */
	uint64_t	 relist_asked;	/* tickets handed out */
	uint64_t	 relist_woken;	/* ...the background thread asked for */
	uint64_t	 relist_begun;	/* ...that the running listing covers */
	uint64_t	 relist_done;	/* ...that a finished listing covered */
	int64_t		 relist_at_ms;	/* the last full listing began */
	unsigned int	 relist_wait_ms;	/* tests; 0: the default */

	/* Tests: a clock, else CLOCK_MONOTONIC seconds. */
	time_t		 (*now)(void);
	unsigned int	 unlock_delay_ms;
	unsigned int	 lock_rounds;	/* PBKDF2 rounds; 0: default */
};

/* One session-bind@openssh.com: the hop a connection came through. */
struct agent_bind {
	uint8_t		*key;		/* the server's host key blob */
	size_t		 keylen;
	uint8_t		 sid[64];
	size_t		 sidlen;
	int		 forwarded;
};

/* Per-connection state (agent_conn_clear frees it). */
struct agent_conn {
	uid_t		 uid;
	int		 nbinds;	/* used entries of binds */
	struct agent_bind binds[AGENT_MAX_BINDS];
	int		 bind_refused;	/* a session-bind was refused */
	int		 bound;		/* sent session-bind */
	int		 forwarded;	/* ...with is_forwarding */
	int		 bound_auth;	/* ...for user authentication */
	uint8_t		 session_id[64];
	size_t		 session_idlen;
	void		*up;		/* the other agent's, opened lazily */
	int		 up_failed;	/* bound, and that connection broke */
	pid_t		 pid;		/* SO_PEERCRED; 0: unknown */
};

/* agent.c */
int	agent_init(struct agent *, const struct agent_ops *);
void	agent_free(struct agent *);
/*
 * One request on a connection: read a frame from fd (closing on one over
 * AGENT_MAX_FRAME), dispatch it, write the answer.  in (TK_BUF_SECRET)
 * and out are the connection's buffers.  0: go on; else close fd.
 */
int	agent_conn_step(struct agent *, struct agent_conn *, int fd,
	    struct tk_buf *in, struct tk_buf *out);
/* Serve on listening socket fd until agent_stop(); returns on error. */
int	agent_serve(struct agent *, int fd);
void	agent_stop(void);
/* SIGTERM, SIGINT, SIGHUP end agent_serve (even before it starts). */
int	agent_signals_init(void);

/* agent-proto.c: one frame (type + payload, without the length). */
int	agent_dispatch(struct agent *, struct agent_conn *,
	    const uint8_t *msg, size_t len, struct tk_buf *reply);

/* agent-delegate.c: the other agent, on c's own connection to it. */
/* Pass req on and its answer back (reply: the other agent's body). */
int	agent_up_call(struct agent *, struct agent_conn *, const uint8_t *req,
	    size_t len, struct tk_buf *reply, int timeout_ms);
/* reply holds our IDENTITIES_ANSWER: add the other agent's keys. */
int	agent_up_identities(struct agent *, struct agent_conn *,
	    struct tk_buf *reply);
/* The client is gone: close c's connection to the other agent. */
void	agent_up_close(struct agent *, struct agent_conn *);

/* agent-upstream.c */
/*
 * The other agent at path: a socket owned by us, not ours (ourpath, may
 * be NULL).  TK_ERR_NOT_FOUND, TK_ERR_DENIED (not a socket of ours),
 * TK_ERR_INVAL (ours).  *out is freed with agent_upstream_free.
 */
int	agent_upstream_socket(const char *path, const char *ourpath,
	    struct agent_upstream **out);
void	agent_upstream_free(struct agent_upstream *);

/* agent-child.c: -A auto (the refresh thread calls agent_child_poll). */
struct agent_child;
/*
 * Start ssh-agent -D on DIR/ssh-agent.sock (its path into sock), with
 * -t a->lifetime; wait until its socket is there.
 */
int	agent_child_start(struct agent *, const char *dir,
	    struct agent_child **, char *sock, size_t socksz);
/* Reap it if it died; start it again when its backoff has passed. */
void	agent_child_poll(struct agent *, struct agent_child *);
/* Stop it, remove its socket and free ch (NULL: nothing). */
void	agent_child_stop(struct agent_child *);

/* agent-registry.c */
/* Start a helper for every module in p11-kit's registry. */
int	agent_load_registry(struct agent *);
/*
 * Make the served set follow a new list of registry modules: start
 * helpers for new ones (serving there what the registry-wide URIs
 * select), retire those that left.
 */
int	agent_registry_apply(struct agent *, char **paths, size_t n);
/* Re-read the registry if its files changed since the last call. */
void	agent_registry_poll(struct agent *);

/* agent-follow.c (the background thread: agent.c) */
/* Milliseconds until something is due (a timer, a re-list asked). */
int	agent_follow_due(struct agent *);
/*
 * Sleep up to ms: until then, or a helper says a module's tokens may
 * have changed, or agent_wake().
 */
void	agent_follow_wait(struct agent *, int ms);
/*
 * What is due: list again the modules whose tokens may have changed (or
 * that were asked to be), every source at the slow safety re-list or
 * when asked, ask the modules without events which tokens they hold,
 * look at p11-kit's registry, end lifetimes.
 */
void	agent_follow_tokens(struct agent *);

/* agent-lookup.c */
int	agent_identities(struct agent *, struct tk_buf *reply);
/*
 * The same as c may see: without the keys its bindings do not permit
 * (c NULL: a local, unbound connection).  An answer from a listing older
 * than AGENT_ASK_RELIST_SECS also asks the background thread for a new one.
 */
int	agent_identities_conn(struct agent *, const struct agent_conn *c,
	    struct tk_buf *reply);
/*
 * Copy of the served key's details, or TK_ERR_NOT_FOUND.  On success
 * out->mod is held: agent_module_release it when done.
 */
int	agent_key_lookup(struct agent *, const uint8_t *, size_t,
	    struct agent_key *out, char *comment, size_t commentsz);
/* ssh-add -d: stop serving this key until it is added again. */
int	agent_hide(struct agent *, const uint8_t *, size_t);

/* agent-expire.c */
/* End the sources whose lifetime has passed; a->lock held. 1: changed. */
int	agent_expire_locked(struct agent *);
void	agent_expire(struct agent *);
int	agent_refresh(struct agent *);
/* The soonest lifetime's end (agent_now() seconds), 0: none. */
time_t	agent_next_deadline(struct agent *);
/* List again the sources on m only (agent_refresh: all of them). */
int	agent_refresh_module(struct agent *, struct agent_module *m);

/* agent-source.c */
/*
 * Serve the keys matching uri (every registry module, or the one its
 * module-path names if the allowlist passes); pin (may be NULL) logs in on
 * the token they live on.  allow_empty: succeed when nothing matches yet.
 * dests (may be NULL): the keys' destination constraints (a reference is
 * taken).
 */
int	agent_add_uri(struct agent *, const char *uri, const char *reader,
	    time_t deadline, int confirm, const char *pin, size_t pinlen,
	    int allow_empty, struct agent_dests *dests);
/* The same, on module only (non-NULL: one joining the registry). */
int	agent_add_sources(struct agent *, const char *uri, const char *reader,
	    time_t deadline, int confirm, const char *pin, size_t pinlen,
	    int allow_empty, struct agent_module *only,
	    struct agent_dests *dests);
int	agent_remove_reader(struct agent *, const char *reader);
void	agent_remove_all(struct agent *);
/* List a source's keys (no lock held); absent tokens list nothing. */
int	agent_source_list(struct agent *, struct agent_source *);
/* Remove source i (a->lock held), hiding its keys when asked. */
void	agent_source_remove(struct agent *, size_t i, int hidekeys);
void	agent_source_free(struct agent *, struct agent_source *);
void	agent_sources_free(struct agent *);

/* agent-sign.c (c: the requesting connection, for prompts and logs) */
int	agent_sign(struct agent *, const struct agent_conn *,
	    const struct agent_key *, const char *comment,
	    const uint8_t *blob, size_t bloblen,
	    const uint8_t *data, size_t datalen,
	    int alg, uint8_t *sig, size_t sigsz, size_t *siglen);

/* agent-login.c: one signature's login on one token. */
struct agent_ask {
	struct agent		*a;
	struct agent_token	*t;
	const struct agent_key	*k;
	const char		*comment;
	const uint8_t		*blob;
	size_t			 bloblen;
	char			 fp[80];
	char			 label[140];	/* sanitised */
	char			 pinsrc[PATH_MAX];
	int			 pinsrc_used;	/* the PIN came from pinsrc */
	struct tk_fileid	 pinsrc_id;
	const struct agent_conn	*conn;		/* who asks; may be NULL */
	char			 who[AGENT_WHO_MAX];	/* agent_ask_who */
};

void	agent_ask_init(struct agent_ask *, struct agent *,
	    struct agent_token *, const struct agent_key *,
	    const uint8_t *blob, size_t bloblen, const char *comment);
/* The fingerprint and sanitised label, once a prompt or log needs them. */
void	agent_ask_names(struct agent_ask *);
/* The requester (q->who), once a prompt or log needs it. */
const char *agent_ask_who(struct agent_ask *);
/* The confirm constraint: ask before every signature with this key. */
int	agent_confirm_use(struct agent_ask *);
/*
 * The PIN: from the key's pin-source if it has one, else asked for, as
 * the PIN gate allows.  *pad: the token's PIN pad takes it (none here).
 */
int	agent_get_pin(struct agent_ask *, const struct tk_htoken *,
	    int context, char *pin, size_t pinsz, size_t *pinlen, int *pad);
/* Record and log what a login said (wrong PIN, locked, pin-source). */
void	agent_login_result(struct agent_ask *, const struct tk_htoken *,
	    int r);
/*
 * One login (no retry); the PIN stays in pin (TK_PIN_MAX bytes, the
 * caller's) for a context login the same signature may need.
 */
int	agent_login_once(struct agent_ask *, const uint8_t *blob,
	    size_t bloblen, struct tk_htoken *tok, char *pin, size_t *pinlen,
	    int *pad);
/* Log in with a PIN given by ssh-add -s (one C_Login, no retry). */
int	agent_login_given(struct agent *, struct agent_source *,
	    const struct tk_hkey *, const char *pin, size_t pinlen);

/* agent-keyset.c (a->lock held, but for agent_key_pin_source) */
/* Rebuild the served set and the ready answer from the sources. */
int	agent_rebuild(struct agent *);
/* The pin-source file of the source serving this key (TK_ERR_NOT_FOUND). */
int	agent_key_pin_source(struct agent *, const uint8_t *, size_t,
	    char *path, size_t pathsz);
void	agent_keyset_free(struct agent *);

/* agent-certdir.c */
/* Follow a certificate file or directory (before serving). */
int	agent_certdir_add(struct agent *, const char *path);
/* Read them again if they changed since the last call. */
void	agent_certdir_poll(struct agent *);
void	agent_certdir_free(struct agent *);

/* agent-certs.c (a->lock held, but for agent_certs_constraint) */
/*
 * The body of an associated-certs-v00@openssh.com constraint (after its
 * name) into *out (reader and pending unset).  Certificates we do not
 * serve are left out with a log line.  TK_ERR_FORMAT or TK_ERR_RANGE
 * (logged): refuse the request.
 */
int	agent_certs_constraint(struct agent *, struct tk_buf *,
	    struct agent_certs **out);
/* A certificate's name in log lines: key id, serial, origin. */
struct tk_sshcert;
void	agent_cert_name(const struct tk_sshcert *, const char *origin,
	    char *buf, size_t bufsz);
/* Keep one parsed certificate (blob of len bytes) in cs. */
int	agent_certs_push(struct agent_certs *, const uint8_t *blob,
	    size_t len, const uint8_t *key, size_t keylen,
	    uint64_t after, uint64_t before, const char *name);
void	agent_certs_clear(struct agent_certs *);
void	agent_certs_free(struct agent_certs *);
/* Give reader the set cs (NULL: none); the old one is returned. */
struct agent_certs *agent_certs_swap(struct agent *, const char *reader,
	    struct agent_certs *cs);
/* ssh-add -C: the reader's plain keys are not served. */
int	agent_certs_only(struct agent *, const char *reader);
/* Upper bound of the certificate identities (for agent_rebuild). */
size_t	agent_certs_count(struct agent *);
/* Before a rebuild: drop sets no source uses, restart the clock. */
void	agent_certs_begin(struct agent *);
/*
 * Each certificate of reader's set and of the files that certifies key
 * and is inside its validity window now (windows that open or close
 * are logged once), fn(arg, cert).
 */
int	agent_certs_each(struct agent *, const char *reader,
	    const uint8_t *key, size_t keylen,
	    int (*fn)(void *, const struct agent_cert *), void *arg);
/* A validity window opened or closed since the last rebuild. */
int	agent_certs_due(struct agent *);
/*
 * Milliseconds until a certificate window opens or closes (wall clock),
 * or -1 when none will.  Takes a->lock.
 */
long long agent_certs_wait_ms(struct agent *);
/*
 * ssh-add -s READER again: its certificates and the files' that certify
 * a key of its sources are served again after ssh-add -d, as keys are.
 */
void	agent_certs_unhide(struct agent *, const char *reader);
/*
 * How many of reader's certificates certify a key of its sources; those
 * that certify none are logged.
 */
size_t	agent_certs_matched(struct agent *, const char *reader);
void	agent_certsets_free(struct agent *);

/* agent-specs.c (a->lock held) */
/* Remember a registry-wide request (replacing the reader's). */
int	agent_spec_add(struct agent *, const char *uri, const char *reader,
	    time_t deadline, int confirm, struct agent_dests *dests);
/* Forget registry-wide requests: reader's (NULL: all), or the expired. */
void	agent_specs_remove(struct agent *, const char *reader, int expired);
void	agent_spec_clear(struct agent_spec *);
void	agent_specs_free(struct agent *);

/* agent-hidden.c (a->lock held) */
int	agent_hidden_has(struct agent *, const uint8_t *, size_t);
int	agent_hidden_add(struct agent *, const uint8_t *, size_t);
void	agent_hidden_remove(struct agent *, const uint8_t *, size_t);
void	agent_hidden_clear(struct agent *);

/* agent-mods.c */
/* 0 with the real path if path passes the -P allowlist; TK_ERR_DENIED. */
int	agent_module_allowed(struct agent *, const char *path, char *rpath,
	    size_t rpathsz);
/* The module for path (its helper started if new), held. */
int	agent_module_get(struct agent *, const char *path, int registry,
	    struct agent_module **);
void	agent_module_release(struct agent *, struct agent_module *);
/* Stop m's helper and free it (no lock held; m is in no table). */
void	agent_module_free(struct agent *, struct agent_module *);
void	agent_mods_free(struct agent *);

/* agent-tokens.c */
/* The prompt lock of this token (made on first use); NULL: no memory. */
struct agent_token *agent_token_get(struct agent *, struct agent_module *,
	    const char *label, const char *serial);
/* Drop the prompt state of tokens on a module about to be freed. */
void	agent_tokens_forget(struct agent *, const struct agent_module *);
void	agent_tokens_free(struct agent *);

/* agent-regread.c */
#define AGENT_REG_PATHS		5
/* Where p11-kit reads module configs (AGENT_REG_PATHS at most). */
int	agent_registry_paths(char paths[][PATH_MAX], size_t max);
/* A digest of p11-kit's config files and module dirs (names, times). */
uint64_t agent_registry_sig(void);
/* p11-kit's module paths, by real path where they have one. */
int	agent_registry_read(struct agent *, char ***paths, size_t *n);

/* agent-wake.c */
void	agent_wake_init(struct agent *);
void	agent_wake_free(struct agent *);
/* Wake the background thread (to look at agent.c's stopping, say). */
void	agent_wake(struct agent *);
/* Ask it to list m's sources again (NULL: every source), soon. */
void	agent_wake_relist(struct agent *, struct agent_module *m);
/* The background thread: read the wake-ups pending. */
void	agent_wake_drain(struct agent *);

/* agent-relist.c */
void	agent_relist_init(struct agent *);
void	agent_relist_free(struct agent *);
/*
 * A full listing (agent_refresh) begins: the tickets it covers, for
 * agent_relist_end when it has ended (its keys are served).
 */
uint64_t agent_relist_begin(struct agent *);
void	agent_relist_end(struct agent *, uint64_t covered);
/*
 * relist@tokenkeys from c: ask the background thread for a full listing
 * (shared with requests pending, at most one start per
 * AGENT_RELIST_GAP_MS) and wait until one that began after the request
 * has ended.  0: done; TK_ERR_DENIED: refused (c is bound to an ssh
 * session, or the agent is locked); TK_ERR_TIMEOUT: not done within
 * AGENT_RELIST_WAIT_MS (the listing goes on).  Logged but for 0.
 */
int	agent_relist_ask(struct agent *, const struct agent_conn *c);

/* agent-lock.c */
int	agent_lock(struct agent *, const uint8_t *pw, size_t len);
int	agent_unlock(struct agent *, const uint8_t *pw, size_t len);
int	agent_is_locked(struct agent *);

/* agent-logind.c: systemd-logind on the system bus (sd-bus). */
#define AGENT_KEEP_SUSPEND	0x01	/* --keep-pin-on suspend */
#define AGENT_KEEP_LOCK		0x02	/* --keep-pin-on lock (screen) */
/*
 * Follow PrepareForSleep and the session's Lock / LockedHint (unless
 * a->keep_pin_on says not to), logging every token out on each.  Without
 * a reachable logind (or sd-bus in this build) it says so once at -d.
 */
int	agent_logind_start(struct agent *);
void	agent_logind_stop(struct agent *);

/* agent-policy.c */
#define AGENT_OUT_IDLE		1	/* --pin-timeout */
#define AGENT_OUT_AGE		2	/* --pin-max-age */
#define AGENT_OUT_LOCK		3	/* ssh-add -x */
#define AGENT_OUT_SUSPEND	4	/* logind PrepareForSleep */
#define AGENT_OUT_SCREEN	5	/* logind Lock / LockedHint */
/* The timer thread, when a->pin_timeout or a->pin_max_age is set. */
int	agent_policy_start(struct agent *);
void	agent_policy_stop(struct agent *);
/* A login on t succeeded (with the key blob). */
void	agent_policy_login(struct agent *, struct agent_token *,
	    const uint8_t *blob, size_t bloblen);
/* A signature on t succeeded; tok as the helper said afterwards. */
void	agent_policy_signed(struct agent *, struct agent_token *,
	    const uint8_t *blob, size_t bloblen, const struct tk_htoken *tok);
/*
 * Log out the tokens whose time is up (the timer thread, tests); when the
 * next one will be (tk_mono_ms()), INT64_MAX for none before a login.
 */
int64_t	agent_policy_tick(struct agent *);
/* Log every token out now, one log line each saying why (AGENT_OUT_*). */
void	agent_policy_logout_all(struct agent *, int why);

/* agent-notify.c */
/* The notifier thread (org.freedesktop.Notifications, session bus). */
int	agent_notify_start(struct agent *);
void	agent_notify_stop(struct agent *);
/*
 * A token operation begins that may wait on the user (touch, PIN pad):
 * after AGENT_NOTICE_MS a notice (or, without a session bus, a log line)
 * names the token (raw label) and the requester (c's, agent_peer_who;
 * c must outlive the ticket, and may be NULL).  Returns a
 * ticket for agent_notice_end (0: none), which closes the notice.
 */
uint64_t agent_notice_begin(struct agent *, const char *label,
	    const struct agent_conn *c);
void	agent_notice_end(struct agent *, uint64_t ticket);

/* agent-peer.c */
/* The peer's pid (SO_PEERCRED) of connection fd; 0 if unknown. */
pid_t	agent_peer_pid(int fd);
/*
 * The requester of c, shown form (sanitised, bounded): the process
 * chain "ssh git@github.com ← git push ← bash", or for a forwarded
 * connection the host it came through.
 */
void	agent_peer_who(const struct agent_conn *, char *who, size_t whosz);
/*
 * The parsers of agent_peer_who, pure (for tests and fuzzing): the
 * parent pid in a /proc/PID/stat text (0: none); a /proc/PID/cmdline of
 * n bytes in buf[0..n] (buf has room for one byte more, and is changed)
 * as "name arg ..." (raw) into out, *shell whether name is a shell.
 * (Host names come from src/ssh/knownhosts.c.)
 */
pid_t	agent_peer_stat_ppid(const char *stat);
void	agent_peer_cmdline(char *buf, size_t n, char *out, size_t outsz,
	    int *shell);
/* The host key of c's last forwarding binding (0), or TK_ERR_NOT_FOUND. */
int	agent_conn_hostkey(const struct agent_conn *, const uint8_t **key,
	    size_t *keylen);

/* agent-hc.c: the real ops (helpers and src/prompt/). */
int	agent_hclient_ops(const struct agent_ops **);

/* agent-dest.c: destination constraints (ssh-add -h), pure. */
/*
 * The body of a restrict-destination-v00@openssh.com constraint (the
 * string after its name, as ssh-add nests it): 1..AGENT_MAX_DESTS hops,
 * each checked as OpenSSH's agent does.  On TK_ERR_FORMAT why says what
 * is wrong (for the log).  *out has one reference.
 */
int	agent_dests_parse(const uint8_t *, size_t, struct agent_dests **out,
	    char *why, size_t whysz);
/* Another reference (NULL: NULL); drop each with agent_dests_unref. */
struct agent_dests *agent_dests_ref(struct agent_dests *);
void	agent_dests_unref(struct agent_dests *);
size_t	agent_dests_count(const struct agent_dests *);
/*
 * May a key with these constraints be used on c?  user: the user of the
 * userauth request a signature is for; NULL: listing.  0, or
 * TK_ERR_DENIED with why; *host (may be NULL) the last hop's host name.
 */
int	agent_dests_permit(const struct agent_dests *,
	    const struct agent_conn *, const char *user, const char **host,
	    char *why, size_t whysz);
struct tk_userauth;
/*
 * May a key with these constraints (blob: the identity asked for) sign
 * data on c?  Only an ssh login (ua: parsed) for that key, permitted hop
 * by hop, for the session c was last bound to and its host key.  0 with
 * *host (the last hop's name; may be NULL), or TK_ERR_DENIED with why.
 */
int	agent_dests_sign(const struct agent_dests *,
	    const struct agent_conn *c, const uint8_t *blob, size_t bloblen,
	    const uint8_t *data, size_t datalen, struct tk_userauth *ua,
	    const char **host, char *why, size_t whysz);
/*
 * Record a verified session-bind on c (OpenSSH's rules: a binding for
 * authentication is the last, a session id is bound to one key, the
 * same binding twice is recorded once).  TK_ERR_DENIED with why.
 */
int	agent_bind_add(struct agent_conn *, const uint8_t *key,
	    size_t keylen, const uint8_t *sid, size_t sidlen, int forwarded,
	    char *why, size_t whysz);
/* Free what c holds (its bindings); c may be used again after. */
void	agent_conn_clear(struct agent_conn *);

/* agent-verify.c */
int	agent_verify_hostsig(const uint8_t *key, size_t keylen,
	    const uint8_t *sig, size_t siglen, const uint8_t *data,
	    size_t datalen);

/* agent-log.c */
void	agent_log(struct agent *, int level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
time_t	agent_now(struct agent *);

static inline int
agent_blob_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

#endif /* TK_AGENT_H */
