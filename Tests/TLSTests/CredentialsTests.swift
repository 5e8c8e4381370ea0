import Foundation
import TestSupport
import Testing
import TLS

/// Loading credentials: every missing or broken file is an error that names it.
@Suite struct CredentialsTests {
    @Test func theGeneratedFilesLoad() throws {
        let keys = try TLSKeys()
        let server = try TLSServerCredentials.certificates(directory: keys.serverCertificates, verifyPeer: true)
        #expect(server.source == .certificates(directory: keys.serverCertificates, verifyPeer: true))
        #expect(try TLSServerCredentials.preSharedKeys(file: keys.pskFile).source == .preSharedKeys(file: keys.pskFile))
        _ = try TLSClientCredentials.certificates(directory: keys.clientCertificates)
        _ = try TLSClientCredentials.preSharedKey(file: keys.pskFile, username: keys.username)
    }

    @Test(arguments: ["ca-cert.pem", "server-cert.pem", "server-key.pem"])
    func aMissingServerFileIsNamed(name: String) throws {
        let keys = try TLSKeys()
        let directory = keys.directory.file("without-\(name)")
        try FileManager.default.copyItem(atPath: keys.serverCertificates, toPath: directory)
        try FileManager.default.removeItem(atPath: "\(directory)/\(name)")
        #expect(throws: TLSError.unreadableFile(path: "\(directory)/\(name)", reason: "No such file or directory")) {
            try TLSServerCredentials.certificates(directory: directory)
        }
    }

    @Test(arguments: [
        ("server-key.pem", "not a key\n", "not a usable PEM private key"),
        ("server-cert.pem", "not a certificate\n", "not a PEM certificate"),
        ("ca-cert.pem", "", "holds no PEM certificate"),
        ("ca-crl.pem", "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", "not a PEM revocation list"),
    ])
    func aBrokenFileIsNamedWithWhatIsWrong(name: String, contents: String, reason: String) throws {
        let keys = try TLSKeys()
        let directory = keys.directory.file("broken-\(name)")
        try FileManager.default.copyItem(atPath: keys.serverCertificates, toPath: directory)
        try contents.write(toFile: "\(directory)/\(name)", atomically: false, encoding: .utf8)
        let error = try #require(throws: TLSError.self) { try TLSServerCredentials.certificates(directory: directory) }
        guard case .invalidFile(let path, let message) = error else { Issue.record("\(error)"); return }
        #expect(path == "\(directory)/\(name)")
        #expect(message.hasPrefix(reason), "\(message)")
        #expect(!"\(error)".contains("\n"))
    }

    @Test func aKeyThatDoesNotMatchTheCertificateIsRefused() throws {
        let keys = try TLSKeys()
        let directory = keys.directory.file("mismatched")
        try FileManager.default.copyItem(atPath: keys.serverCertificates, toPath: directory)
        try FileManager.default.removeItem(atPath: "\(directory)/server-key.pem")
        try FileManager.default.copyItem(atPath: "\(keys.clientCertificates)/client-key.pem", toPath: "\(directory)/server-key.pem")
        let error = try #require(throws: TLSError.self) { try TLSServerCredentials.certificates(directory: directory) }
        guard case .invalidFile(let path, let message) = error else { Issue.record("\(error)"); return }
        #expect(path == "\(directory)/server-cert.pem")
        #expect(message.contains("\(directory)/server-key.pem"), "\(message)")
    }

    @Test func preSharedKeyFiles() throws {
        let directory = try TestDirectory()
        #expect(throws: TLSError.unreadableFile(path: directory.file("missing.psk"), reason: "No such file or directory")) {
            try TLSServerCredentials.preSharedKeys(file: directory.file("missing.psk"))
        }
        let malformed: [(contents: String, reason: String)] = [
            ("alice:00ff\nbob\n", "line 2: expected username:HEXKEY as psktool writes it"),
            ("alice:0ff\n", "line 1: expected username:HEXKEY as psktool writes it"),
            ("alice:zz\n", "line 1: expected username:HEXKEY as psktool writes it"),
            (":00ff\n", "line 1: expected username:HEXKEY as psktool writes it"),
            ("\n", "holds no username:HEXKEY line"),
        ]
        for (index, (contents, reason)) in malformed.enumerated() {
            let file = try directory.write(Array(contents.utf8), to: "bad\(index).psk")
            #expect(throws: TLSError.invalidFile(path: file, reason: reason)) { try TLSServerCredentials.preSharedKeys(file: file) }
        }
        let file = try directory.write(Array("alice:00ff\n".utf8), to: "alice.psk")
        #expect(throws: TLSError.invalidFile(path: file, reason: "holds no key for user bob")) {
            try TLSClientCredentials.preSharedKey(file: file, username: "bob")
        }
    }

    @Test func errorsReadAsOneLine() {
        #expect("\(TLSError.unreadableFile(path: "/k/server-key.pem", reason: "Permission denied"))" == "cannot read /k/server-key.pem: Permission denied")
        #expect("\(TLSError.timedOut(operation: "TLS handshake"))" == "TLS handshake: timed out")
    }

    @Test func nbdkitsDefaultLocations() throws {
        #expect(CertificateDirectory.defaultServerLocations(effectiveUser: 0, home: "/root") == ["/etc/pki/nbdkit"])
        #expect(CertificateDirectory.defaultServerLocations(effectiveUser: 1000, home: "/home/u") == ["/home/u/.pki/nbdkit", "/home/u/.config/pki/nbdkit"])
        #expect(CertificateDirectory.defaultServerLocations(effectiveUser: 1000, home: nil) == [])
        let keys = try TLSKeys()
        #expect(CertificateDirectory.holdsServerFiles(keys.serverCertificates))
        #expect(!CertificateDirectory.holdsServerFiles(keys.clientCertificates))
    }
}
