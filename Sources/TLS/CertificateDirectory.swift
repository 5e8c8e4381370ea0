import Glibc

/// The layout nbdkit and libnbd share for X.509 files: a directory holding
/// the CA certificate, the server's (or client's) certificate and key, and
/// optionally a revocation list.
public enum CertificateDirectory {
    public static let caCertificate = "ca-cert.pem"
    public static let revocationList = "ca-crl.pem"
    public static let serverCertificate = "server-cert.pem"
    public static let serverKey = "server-key.pem"
    public static let clientCertificate = "client-cert.pem"
    public static let clientKey = "client-key.pem"

    /// Where nbdkit looks when `--tls-certificates` is not given (nbdkit-tls(1),
    /// "Default location of certificates"): under the home directory for other
    /// users, the system directory for root.
    public static func defaultServerLocations(effectiveUser: uid_t = geteuid(), home: String? = homeDirectory()) -> [String] {
        if effectiveUser == 0 { return ["/etc/pki/nbdkit"] }
        guard let home, !home.isEmpty else { return [] }
        return ["\(home)/.pki/nbdkit", "\(home)/.config/pki/nbdkit"]
    }

    /// nbdkit's test for a certificates directory: the three server files are
    /// all readable. A directory that fails it is passed over, not an error.
    public static func holdsServerFiles(_ directory: String) -> Bool {
        [caCertificate, serverCertificate, serverKey].allSatisfy { access(file($0, in: directory), R_OK) == 0 }
    }

    static func file(_ name: String, in directory: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    public static func homeDirectory() -> String? {
        getenv("HOME").map { String(cString: $0) }
    }
}
