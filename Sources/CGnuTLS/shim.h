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

/* GNUTLS_INDEFINITE_TIMEOUT is a macro with a cast, which Swift does not import. */
static const unsigned int CGNUTLS_INDEFINITE_TIMEOUT = GNUTLS_INDEFINITE_TIMEOUT;

#endif
