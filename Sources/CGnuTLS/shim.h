#ifndef CGNUTLS_SHIM_H
#define CGNUTLS_SHIM_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/socket.h>

/* gnutls_free is a macro that also assigns NULL to its argument; Swift cannot
   call it, so this frees what GnuTLS allocated for us. */
static inline void cgnutls_free(void *pointer) {
    gnutls_free(pointer);
}

#endif
