import CGnuTLS

/// A client's credentials, as libnbd finds them: a user's key in psktool's
/// file, or a directory with the CA certificate and, for servers that check
/// clients, client-cert.pem and client-key.pem.
public final class TLSClientCredentials: @unchecked Sendable {
    private let certificates: CertificateCredentials?
    private let preSharedKey: gnutls_psk_client_credentials_t?

    /// `username`'s key from psktool's `file` (libnbd's `tls-psk-file=`).
    public static func preSharedKey(file: String, username: String) throws(TLSError) -> TLSClientCredentials {
        let keys = try PSKKeyFile(path: file)
        guard let hexKey = keys.hexKey(for: username) else {
            throw .invalidFile(path: file, reason: "holds no key for user \(username)")
        }
        return try preSharedKey(username: username, hexKey: hexKey)
    }

    /// The users psktool's `file` holds keys for, in the file's order.
    public static func users(inPreSharedKeyFile file: String) throws(TLSError) -> [String] {
        try PSKKeyFile(path: file).entries.map(\.username)
    }

    /// `username` with a key given in hex, as psktool writes it.
    public static func preSharedKey(username: String, hexKey: String) throws(TLSError) -> TLSClientCredentials {
        var handle: gnutls_psk_client_credentials_t?
        try GnuTLS.check(gnutls_psk_allocate_client_credentials(&handle), "allocating PSK credentials")
        let credentials = TLSClientCredentials(certificates: nil, preSharedKey: handle)
        try GnuTLS.withDatum(Array(hexKey.utf8)) { (key) throws(TLSError) in
            try GnuTLS.check(gnutls_psk_set_client_credentials(handle, username, &key, GNUTLS_PSK_KEY_HEX), "using the key of \(username)")
        }
        return credentials
    }

    /// libnbd's `tls-certificates=DIR`: ca-cert.pem is required; the client
    /// certificate is presented when client-cert.pem and client-key.pem exist.
    public static func certificates(directory: String) throws(TLSError) -> TLSClientCredentials {
        let credentials = try CertificateCredentials()
        try credentials.trust(CertificateDirectory.file(CertificateDirectory.caCertificate, in: directory))
        let certificate = CertificateDirectory.file(CertificateDirectory.clientCertificate, in: directory)
        let key = CertificateDirectory.file(CertificateDirectory.clientKey, in: directory)
        if CredentialFile.exists(certificate) || CredentialFile.exists(key) {
            try credentials.present(certificate: certificate, key: key)
        }
        return TLSClientCredentials(certificates: credentials, preSharedKey: nil)
    }

    private init(certificates: CertificateCredentials?, preSharedKey: gnutls_psk_client_credentials_t?) {
        self.certificates = certificates
        self.preSharedKey = preSharedKey
    }

    deinit {
        if let preSharedKey { gnutls_psk_free_client_credentials(preSharedKey) }
    }

    /// Sets a new client session's credentials and priorities. The server's
    /// certificate is checked against the CA, and against `serverName` if given.
    func configure(_ session: gnutls_session_t, serverName: String?) throws(TLSError) {
        if let certificates {
            try GnuTLS.check(gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, UnsafeMutableRawPointer(certificates.handle)), "setting X.509 credentials")
            try GnuTLS.check(gnutls_priority_set_direct(session, Priorities.certificates, nil), "setting TLS priorities")
            gnutls_session_set_verify_cert(session, serverName, 0)
        } else if let preSharedKey {
            try GnuTLS.check(gnutls_credentials_set(session, GNUTLS_CRD_PSK, UnsafeMutableRawPointer(preSharedKey)), "setting PSK credentials")
            try GnuTLS.check(gnutls_priority_set_direct(session, Priorities.clientPreSharedKeys, nil), "setting TLS priorities")
        }
        if let serverName {
            try GnuTLS.check(gnutls_server_name_set(session, GNUTLS_NAME_DNS, serverName, serverName.utf8.count), "setting the server name")
        }
    }
}
