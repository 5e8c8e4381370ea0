import CGnuTLS
import Glibc

/// What the server proves itself with, loaded once at start-up and shared by
/// every connection: X.509 certificates from a directory, or pre-shared keys
/// from psktool's file. Loading checks every file, so a missing or broken
/// one is reported before the server listens.
public final class TLSServerCredentials: @unchecked Sendable {
    public enum Source: Equatable, Sendable {
        /// `verifyPeer`: clients must present a certificate signed by the CA.
        case certificates(directory: String, verifyPeer: Bool)
        case preSharedKeys(file: String)
    }

    public let source: Source
    // GnuTLS credentials are read-only once loaded, so sessions on many threads may share them.
    private let certificates: CertificateCredentials?
    private let preSharedKeys: gnutls_psk_server_credentials_t?

    /// nbdkit's `--tls-certificates=DIR`: ca-cert.pem, server-cert.pem and
    /// server-key.pem must be readable and valid; ca-crl.pem is used if present.
    public static func certificates(directory: String, verifyPeer: Bool = false) throws(TLSError) -> TLSServerCredentials {
        let directory = absolute(directory)
        let credentials = try CertificateCredentials()
        try credentials.trust(CertificateDirectory.file(CertificateDirectory.caCertificate, in: directory))
        let revocations = CertificateDirectory.file(CertificateDirectory.revocationList, in: directory)
        if CredentialFile.exists(revocations) { try credentials.revoke(revocations) }
        try credentials.present(certificate: CertificateDirectory.file(CertificateDirectory.serverCertificate, in: directory),
                                key: CertificateDirectory.file(CertificateDirectory.serverKey, in: directory))
        // As nbdkit: Diffie-Hellman parameters for the TLS 1.2 DHE key exchanges.
        _ = gnutls_certificate_set_known_dh_params(credentials.handle, GNUTLS_SEC_PARAM_MEDIUM)
        return TLSServerCredentials(source: .certificates(directory: directory, verifyPeer: verifyPeer), certificates: credentials)
    }

    /// nbdkit's `--tls-psk=FILE`. GnuTLS reads the file again at each
    /// handshake, as in nbdkit, so keys can be added without a restart; it is
    /// parsed here once so that a broken file fails at start-up.
    public static func preSharedKeys(file: String) throws(TLSError) -> TLSServerCredentials {
        let file = absolute(file)
        _ = try PSKKeyFile(path: file)
        var handle: gnutls_psk_server_credentials_t?
        try GnuTLS.check(gnutls_psk_allocate_server_credentials(&handle), "allocating PSK credentials")
        let credentials = TLSServerCredentials(source: .preSharedKeys(file: file), preSharedKeys: handle)
        try GnuTLS.check(gnutls_psk_set_server_credentials_file(handle, file), "using \(file)")
        return credentials
    }

    private init(source: Source, certificates: CertificateCredentials? = nil, preSharedKeys: gnutls_psk_server_credentials_t? = nil) {
        self.source = source
        self.certificates = certificates
        self.preSharedKeys = preSharedKeys
    }

    deinit {
        if let preSharedKeys { gnutls_psk_free_server_credentials(preSharedKeys) }
    }

    /// One line for the start-up log.
    public var summary: String {
        switch source {
        case .certificates(let directory, let verifyPeer):
            "X.509 certificates from \(directory)" + (verifyPeer ? ", client certificates required" : "")
        case .preSharedKeys(let file):
            "pre-shared keys from \(file)"
        }
    }

    /// Sets a new server session's credentials, priorities and peer checks.
    func configure(_ session: gnutls_session_t) throws(TLSError) {
        if let certificates, case .certificates(_, let verifyPeer) = source {
            try GnuTLS.check(gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, UnsafeMutableRawPointer(certificates.handle)), "setting X.509 credentials")
            try GnuTLS.check(gnutls_priority_set_direct(session, Priorities.certificates, nil), "setting TLS priorities")
            if verifyPeer {
                gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE)
                gnutls_session_set_verify_cert(session, nil, 0)
            }
        } else if let preSharedKeys {
            try GnuTLS.check(gnutls_credentials_set(session, GNUTLS_CRD_PSK, UnsafeMutableRawPointer(preSharedKeys)), "setting PSK credentials")
            try GnuTLS.check(gnutls_priority_set_direct(session, Priorities.serverPreSharedKeys, nil), "setting TLS priorities")
        }
    }

    /// The server may change directory when it daemonizes, so paths are made
    /// absolute while the user's working directory still applies.
    static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/"), let directory = getcwd(nil, 0) else { return path }
        defer { free(directory) }
        return String(cString: directory) + "/" + path
    }
}
