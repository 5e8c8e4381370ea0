import Foundation

/// Keys and certificates made for one test with psktool and certtool (Debian's
/// gnutls-bin), following nbdkit-tls(1); removed with the test's directory,
/// never committed. A missing tool fails the test.
public final class TLSKeys {
    public let directory: TestDirectory
    public let username = "alice"
    /// psktool's file with a key for `username` (nbdkit's --tls-psk, libnbd's tls-psk-file=).
    public let pskFile: String
    /// Another key for the same user: a client that holds it must be refused.
    public let wrongPSKFile: String
    /// ca-cert.pem, server-cert.pem for localhost and 127.0.0.1, server-key.pem
    /// (nbdkit's --tls-certificates).
    public let serverCertificates: String
    /// ca-cert.pem, client-cert.pem, client-key.pem (libnbd's tls-certificates=),
    /// for servers started with --tls-verify-peer.
    public let clientCertificates: String
    /// ca-cert.pem alone: a client that presents no certificate.
    public let anonymousClient: String
    /// A client certificate signed by a CA the server does not trust.
    public let foreignClient: String

    public init() throws {
        directory = try TestDirectory()
        pskFile = directory.file("keys.psk")
        wrongPSKFile = directory.file("wrong.psk")
        serverCertificates = directory.file("server")
        clientCertificates = directory.file("client")
        anonymousClient = directory.file("anonymous")
        foreignClient = directory.file("foreign")
        for folder in [serverCertificates, clientCertificates, anonymousClient, foreignClient] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        }
        try tool("psktool", ["-u", username, "-p", pskFile])
        try tool("psktool", ["-u", username, "-p", wrongPSKFile])

        let ca = try makeAuthority("ca", name: "nbd-streaming test CA")
        try makeCertificate(signedBy: ca, key: "\(serverCertificates)/server-key.pem", certificate: "\(serverCertificates)/server-cert.pem",
                            template: "cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\n")
        try makeCertificate(signedBy: ca, key: "\(clientCertificates)/client-key.pem", certificate: "\(clientCertificates)/client-cert.pem",
                            template: "cn = client.test\ntls_www_client\n")
        for folder in [serverCertificates, clientCertificates, anonymousClient, foreignClient] {
            try FileManager.default.copyItem(atPath: ca.certificate, toPath: "\(folder)/ca-cert.pem")
        }
        let foreign = try makeAuthority("foreign-ca", name: "another CA")
        try makeCertificate(signedBy: foreign, key: "\(foreignClient)/client-key.pem", certificate: "\(foreignClient)/client-cert.pem",
                            template: "cn = client.test\ntls_www_client\n")
    }

    private struct Authority {
        let key: String
        let certificate: String
    }

    private func makeAuthority(_ name: String, name commonName: String) throws -> Authority {
        let authority = Authority(key: directory.file("\(name)-key.pem"), certificate: directory.file("\(name)-cert.pem"))
        try makeKey(authority.key)
        try tool("certtool", ["--generate-self-signed", "--load-privkey", authority.key,
                              "--template", template(name, "cn = \(commonName)\nca\ncert_signing_key\n"),
                              "--outfile", authority.certificate])
        return authority
    }

    private func makeCertificate(signedBy authority: Authority, key: String, certificate: String, template text: String) throws {
        try makeKey(key)
        let name = URL(fileURLWithPath: certificate).deletingPathExtension().lastPathComponent
        try tool("certtool", ["--generate-certificate", "--load-ca-certificate", authority.certificate, "--load-ca-privkey", authority.key,
                              "--load-privkey", key, "--template", template(name, text + "encryption_key\nsigning_key\n"),
                              "--outfile", certificate])
    }

    /// ECDSA keys: made in milliseconds, accepted by every GnuTLS peer.
    private func makeKey(_ path: String) throws {
        try tool("certtool", ["--generate-privkey", "--key-type=ecdsa", "--outfile", path])
    }

    private func template(_ name: String, _ text: String) throws -> String {
        let path = directory.file("\(name)-\(UUID().uuidString).info")
        try (text + "expiration_days = 2\n").write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    private func tool(_ name: String, _ arguments: [String]) throws {
        let result = try run(name, arguments, seconds: 30)
        guard result.status == 0 else { throw TestFailure("\(name) \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.output)") }
    }
}
