#ifndef CSYSTEMSHIMS_H
#define CSYSTEMSHIMS_H

/* System calls Swift cannot reach directly: prctl is variadic. */

/* Asks the kernel to send `signal` to this process when its parent exits.
   Returns 0, or -1 with errno set. */
int nbd_shim_set_parent_death_signal(int signal);

#endif
