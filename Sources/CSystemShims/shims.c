#define _GNU_SOURCE
#include "CSystemShims.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>

#ifdef __linux__
#include <signal.h>
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
#else
int nbd_shim_set_parent_death_signal(int signal) {
    (void)signal;
    errno = ENOSYS;
    return -1;
}

ssize_t nbd_shim_splice(int from, int to, size_t count) {
    (void)from; (void)to; (void)count;
    errno = ENOSYS;
    return -1;
}

int nbd_shim_set_pipe_size(int fd, int size) {
    (void)fd; (void)size;
    errno = ENOSYS;
    return -1;
}
#endif

int nbd_shim_readable_bytes(int fd) {
    int count = 0;
    return ioctl(fd, FIONREAD, &count) == -1 ? -1 : count;
}
