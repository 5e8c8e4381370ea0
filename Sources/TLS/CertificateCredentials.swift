import CGnuTLS

/// GnuTLS's X.509 credentials, filled from files so that each failure names
/// the file it concerns. Shared by the server's and the client's credentials.
final class CertificateCredentials {
    let handle: gnutls_certificate_credentials_t

    init() throws(TLSError) {
        var handle: gnutls_certificate_credentials_t?
        try GnuTLS.check(gnutls_certificate_allocate_credentials(&handle), "allocating X.509 credentials")
        self.handle = handle!
    }

    deinit { gnutls_certificate_free_credentials(handle) }

    /// Trusts the CA certificates in `path`; a file holding none is an error.
    func trust(_ path: String) throws(TLSError) {
        let file = try CredentialFile(path: path)
        let count = try GnuTLS.withDatum(file.bytes) { gnutls_certificate_set_x509_trust_mem(handle, &$0, GNUTLS_X509_FMT_PEM) }
        try Self.expectCertificates(count, in: path)
    }

    /// Rejects peers whose certificates `path` revokes.
    func revoke(_ path: String) throws(TLSError) {
        let file = try CredentialFile(path: path)
        let count = try GnuTLS.withDatum(file.bytes) { gnutls_certificate_set_x509_crl_mem(handle, &$0, GNUTLS_X509_FMT_PEM) }
        if count < 0 { throw .invalidFile(path: path, reason: "not a PEM revocation list: \(GnuTLS.reason(count))") }
    }

    /// Presents the certificate chain in `certificatePath` with the key in
    /// `keyPath`. Each is parsed apart first, so the error names the bad file.
    func present(certificate certificatePath: String, key keyPath: String) throws(TLSError) {
        let key = try PrivateKey(path: keyPath)
        let chain = try CertificateChain(path: certificatePath)
        let status = gnutls_certificate_set_x509_key(handle, chain.certificates, Int32(chain.count), key.handle)
        if status < 0 {
            throw .invalidFile(path: certificatePath, reason: "cannot be used with \(keyPath): \(GnuTLS.reason(status))")
        }
    }

    private static func expectCertificates(_ count: Int32, in path: String) throws(TLSError) {
        if count < 0 { throw .invalidFile(path: path, reason: "not a PEM certificate: \(GnuTLS.reason(count))") }
        if count == 0 { throw .invalidFile(path: path, reason: "holds no PEM certificate") }
    }
}

/// A private key parsed from a PEM file (PKCS#1, PKCS#8 or SEC1; not encrypted).
private final class PrivateKey {
    let handle: gnutls_x509_privkey_t

    init(path: String) throws(TLSError) {
        let file = try CredentialFile(path: path)
        var handle: gnutls_x509_privkey_t?
        try GnuTLS.check(gnutls_x509_privkey_init(&handle), "allocating a private key")
        self.handle = handle!
        let status = try GnuTLS.withDatum(file.bytes) { gnutls_x509_privkey_import2(self.handle, &$0, GNUTLS_X509_FMT_PEM, nil, 0) }
        if status < 0 { throw .invalidFile(path: path, reason: "not a usable PEM private key: \(GnuTLS.reason(status))") }
    }

    deinit { gnutls_x509_privkey_deinit(handle) }
}

/// The certificates of a PEM file, leaf first.
private final class CertificateChain {
    private(set) var certificates: UnsafeMutablePointer<gnutls_x509_crt_t?>?
    private(set) var count: UInt32 = 0

    init(path: String) throws(TLSError) {
        let file = try CredentialFile(path: path)
        let status = try GnuTLS.withDatum(file.bytes) { gnutls_x509_crt_list_import2(&certificates, &count, &$0, GNUTLS_X509_FMT_PEM, 0) }
        if status < 0 { throw .invalidFile(path: path, reason: "not a PEM certificate: \(GnuTLS.reason(status))") }
        if count == 0 { throw .invalidFile(path: path, reason: "holds no PEM certificate") }
    }

    deinit {
        guard let certificates else { return }
        for index in 0..<Int(count) { gnutls_x509_crt_deinit(certificates[index]) }
        cgnutls_free(certificates)
    }
}
