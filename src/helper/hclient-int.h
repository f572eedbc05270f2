/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Inside the helper client (hclient.h), shared by its three files:
 *   hclient.c       the public calls: start, stop, sign, login, list...
 *   hclient-proc.c  the helper process: spawn, restart with backoff,
 *                   retire, and one request/reply exchange on it
 *   hclient-vkey.c  the cache of parsed keys signatures are verified with
 */
#ifndef TK_HCLIENT_INT_H
#define TK_HCLIENT_INT_H

#include <sys/types.h>

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "common/blobidx.h"
#include "common/buf.h"
#include "helper/hclient.h"
#include "ssh/sshsig.h"

#define HC_DEFAULT_TIMEOUT_MS	30000
#define HC_LIST_TIMEOUT_MS	60000
#define HC_TOKEN_TIMEOUT_MS	15000
#define HC_EXIT_GRACE_MS	1000
#define HC_VKEYS_MAX		16384
#define HC_READ_CHUNK		65536
#define HC_REINIT_MIN_MS	1000
#define HC_REINIT_MAX_MS	64000

struct hc_call {
	uint32_t	 id;
	int		 done;
	int		 err;		/* transport verdict, once done */
	struct tk_buf	*reply;		/* the reply frame goes here */
	pthread_cond_t	 cv;
	struct hc_call	*next;
};

struct hc_proc {
	struct tk_hclient *c;
	pid_t		 pid;
	int		 fd;
	pthread_mutex_t	 wmu;
	int		 dead;
	int		 reading;	/* a caller holds the reader role */
	int		 refs;		/* the client's + each caller's */
	struct hc_call	*calls;		/* waiting for their replies */
	struct tk_buf	 in;		/* the reply stream: the reader's */
};

struct hc_vkey {
	uint64_t		 hash;
	struct tk_sshsig_key	*key;
};

struct tk_hclient {
	char		*path;		/* NULL: a registry helper */
	int		 registered;	/* -1: unknown, the helper looks */
	pthread_mutex_t	 spawn_mu;
	pthread_mutex_t	 mu;		/* proc, calls, refs, ids */
	struct hc_proc	*proc;
	uint32_t	 next_id;
	unsigned int	 reinit_ms;	/* backoff; 0: module not failing */
	struct timespec	 reinit_next;	/* no restart before (monotonic) */
	pthread_mutex_t	 vmu;		/* verification keys */
	struct hc_vkey	*vkeys;		/* parsed keys, by blob in vidx */
	size_t		 nvkeys, vcap;
	struct tk_blobidx vidx;
	int		 ev;		/* events pipe's read end; -1 */
};

/* hclient-proc.c (lock order: spawn_mu, then mu; wmu is taken alone) */
/* The live incarnation, started if need be, with a reference for us. */
int	hc_proc_get(struct tk_hclient *, struct hc_proc **);
void	hc_proc_unref(struct tk_hclient *, struct hc_proc *);
/* Stop p (gently: ask it to exit first) and reap it; spawn_mu held. */
void	hc_proc_retire(struct tk_hclient *, struct hc_proc *, int gently);
/* Restart a helper whose module failed, within the backoff. */
int	hc_proc_reinit(struct tk_hclient *);
uint32_t hc_next_id(struct tk_hclient *);
/*
 * Send the request frame (with this id) and wait for its reply frame;
 * again: the request has no effects and may be sent once more to a
 * restarted helper.
 */
int	hc_call(struct tk_hclient *, const struct tk_buf *frame, uint32_t id,
	    int timeout_ms, int again, struct tk_buf *reply);

/*
 * hclient-err.c: the write end of a pipe for a new helper's stderr (close
 * it after the fork), whose lines go to the errlog; -1: none set, or no
 * pipe or thread to be had, and the helper inherits our stderr.
 */
int	hc_err_open(const char *module);

/* hclient-vkey.c */
/*
 * The parsed key to verify signatures with, cached by blob; *owned: not
 * cached (no room), the caller frees it.
 */
int	hc_vkey_get(struct tk_hclient *, const uint8_t *blob, size_t len,
	    struct tk_sshsig_key **, int *owned);
void	hc_vkeys_free(struct tk_hclient *);

#endif /* TK_HCLIENT_INT_H */
