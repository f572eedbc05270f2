/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: the state file every process shares (call counts, PIN
 * counter, card generation, spent fail directives), changed only under
 * flock(2) and replaced by rename(2).
 */

#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "faultmod.h"

/* Guarded by g_mtx. */
static int	 g_warned_state;

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
		else if (strcmp(key, "pin_epoch") == 0)
			sscanf(line, "pin_epoch %lu", &st->pin_epoch);
		else if (strcmp(key, "pin_hash") == 0 &&
		    sscanf(line, "pin_hash %llx", &ull) == 1)
			st->pin_hash = ull;
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
	PUT("# faultmod shared state: see tests/faultmod/faultmod.h\n");
	PUT("ctl %s\n", st->ctl[0] != '\0' ? st->ctl : "-");
	PUT("generation %lu\n", st->gen);
	PUT("absent %d\n", st->absent);
	if (st->card != 0)
		PUT("card %llx\n", (unsigned long long)st->card);
	PUT("pin_max %ld\n", st->pin_max);
	PUT("pin_left %ld\n", st->pin_left);
	PUT("pin_epoch %lu\n", st->pin_epoch);
	if (st->pin_hash != 0)
		PUT("pin_hash %llx\n", (unsigned long long)st->pin_hash);
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
void
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
	if (pinop == PIN_GOOD || pinop == PIN_CHANGED)
		st.pin_left = st.pin_max;
	if (pinop == PIN_CHANGED) {
		st.pin_epoch++;
		st.pin_hash = c->pin_hash;
	}
	else if (pinop == PIN_BAD && st.pin_left > 0)
		st.pin_left--;
	if (memcmp(&st, &old, sizeof(st)) != 0 && state_write(&st) == -1)
		goto fail;
	c->have_gen = 1;
	c->gen = st.gen;
	c->pin_max = st.pin_max;
	c->pin_left = st.pin_left;
	c->pin_epoch = st.pin_epoch;
	c->pin_hash = st.pin_hash;
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
