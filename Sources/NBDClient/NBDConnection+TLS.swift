import CLibNBD

/// TLS for a connection that is not given by a URI, set before connecting, as libnbd's URI parameters
/// `tls-psk-file=` (with the user from the URI's authority) and `tls-certificates=` would set it.
extension NBDConnection {
    /// Requires TLS with `username`'s key from psktool's `file`.
    public func requireTLS(preSharedKeyFile file: String, username: String) throws {
        try check(nbd_set_tls(handle, LIBNBD_TLS_REQUIRE))
        try check(nbd_set_tls_psk_file(handle, file))
        try check(nbd_set_tls_username(handle, username))
    }

    /// Requires TLS with X.509 files from `directory`: ca-cert.pem, and client-cert.pem with client-key.pem
    /// for servers that check clients.
    public func requireTLS(certificates directory: String) throws {
        try check(nbd_set_tls(handle, LIBNBD_TLS_REQUIRE))
        try check(nbd_set_tls_certificates(handle, directory))
    }
}
