#ifndef CSYSTEMSHIMS_H
#define CSYSTEMSHIMS_H

#include <sys/types.h>

/* System calls Swift cannot reach directly: prctl, fcntl and ioctl are
   variadic, and the splice family is hidden behind _GNU_SOURCE. Each returns
   what the system call returns (-1 with errno set on failure). Linux only. */

/* Asks the kernel to send `signal` to this process when its parent exits. */
int nbd_shim_set_parent_death_signal(int signal);

/* Moves up to `count` bytes between two descriptors, one of which is a pipe,
   without copying them through user space. */
ssize_t nbd_shim_splice(int from, int to, size_t count);

/* Sets a pipe's buffer size (F_SETPIPE_SZ); returns the size granted. */
int nbd_shim_set_pipe_size(int fd, int size);

/* Bytes waiting to be read from a pipe or socket (FIONREAD). */
int nbd_shim_readable_bytes(int fd);

/* Whether `fd` is in non-blocking mode, and setting it (F_GETFL / F_SETFL). */
int nbd_shim_set_nonblocking(int fd, int on);

/* A non-blocking, close-on-exec eventfd(2) counter starting at zero. */
int nbd_shim_eventfd(void);

#endif
