#define _GNU_SOURCE
#include "CSystemShims.h"

#ifdef __linux__
#include <sys/prctl.h>
#include <signal.h>

int nbd_shim_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
}
#else
#include <errno.h>

int nbd_shim_set_parent_death_signal(int signal) {
    (void)signal;
    errno = ENOSYS;
    return -1;
}
#endif
