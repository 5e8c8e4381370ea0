#include <libnbd.h>

/* NBD_NULL_COMPLETION is a compound literal, which Swift cannot import. */
static inline nbd_completion_callback clibnbd_null_completion(void) {
    nbd_completion_callback cb = { 0 };
    return cb;
}
