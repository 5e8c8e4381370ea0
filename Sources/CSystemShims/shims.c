#define _GNU_SOURCE
#include "CSystemShims.h"

#ifndef __linux__
#error "nbd-streaming is Linux-only: it uses splice(2), F_SETPIPE_SZ and prctl(2)"
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

int nbd_shim_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
}

ssize_t nbd_shim_splice(int from, int to, size_t count) {
    return splice(from, NULL, to, NULL, count, SPLICE_F_MOVE);
}

int nbd_shim_set_pipe_size(int fd, int size) {
    return fcntl(fd, F_SETPIPE_SZ, size);
}

int nbd_shim_readable_bytes(int fd) {
    int count = 0;
    return ioctl(fd, FIONREAD, &count) == -1 ? -1 : count;
}

int nbd_shim_set_nonblocking(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1) return -1;
    return fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

int nbd_shim_eventfd(void) {
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}
