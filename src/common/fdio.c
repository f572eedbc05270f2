/* SPDX-License-Identifier: BSD-2-Clause */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "common/deadline.h"
#include "common/fdio.h"

int
tk_fd_send_all(int fd, const void *p, size_t n)
{
	const uint8_t	*d = p;
	ssize_t		 w;
	int		 r = 0;

	while (n > 0) {
		w = send(fd, d, n, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = TK_ERR_CONNECTION;
			goto out;
		}
		d += w;
		n -= (size_t)w;
	}
 out:
	return r;
}

int
tk_fd_send_all_by(int fd, const void *p, size_t n, const struct timespec *d)
{
	const uint8_t	*b = p;
	ssize_t		 w;
	size_t		 off;
	int		 r = 0;

	for (off = 0; off < n; ) {
		if ((r = tk_deadline_wait_fd(fd, POLLOUT, d)) != 0)
			goto out;
		w = send(fd, b + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (w == -1) {
			r = (errno == EPIPE || errno == ECONNRESET) ?
			    TK_ERR_CONNECTION : TK_ERR_SYSTEM;
			goto out;
		}
		off += (size_t)w;
	}
 out:
	return r;
}

int
tk_fd_read_full(int fd, void *p, size_t n)
{
	uint8_t	*d = p;
	ssize_t	 got;
	int	 r = 0;

	while (n > 0) {
		got = read(fd, d, n);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = TK_ERR_CONNECTION;
			goto out;
		}
		d += got;
		n -= (size_t)got;
	}
 out:
	return r;
}

int
tk_fd_read_full_by(int fd, void *p, size_t n, const struct timespec *d)
{
	uint8_t	*b = p;
	ssize_t	 got;
	size_t	 off;
	int	 r = 0;

	for (off = 0; off < n; ) {
		if ((r = tk_deadline_wait_fd(fd, POLLIN, d)) != 0)
			goto out;
		got = recv(fd, b + off, n - off, MSG_DONTWAIT);
		if (got == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (got <= 0) {
			r = TK_ERR_CONNECTION;
			goto out;
		}
		off += (size_t)got;
	}
 out:
	return r;
}
