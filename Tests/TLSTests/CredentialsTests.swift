import Foundation
import TestSupport
import TLS
import XCTest

/// Loading credentials: every missing or broken file is an error that names it.
final class CredentialsTests: XCTestCase {
    private func expect(_ expected: TLSError, _ body: () throws -> Any) {
        XCTAssertThrowsError(try body()) { XCTAssertEqual($0 as? TLSError, expected) }
    }

    func testTheGeneratedFilesLoad() throws {
        let keys = try TLSKeys()
        let server = try TLSServerCredentials.certificates(directory: keys.serverCertificates, verifyPeer: true)
        XCTAssertEqual(server.source, .certificates(directory: keys.serverCertificates, verifyPeer: true))
        XCTAssertEqual(try TLSServerCredentials.preSharedKeys(file: keys.pskFile).source, .preSharedKeys(file: keys.pskFile))
        _ = try TLSClientCredentials.certificates(directory: keys.clientCertificates)
        _ = try TLSClientCredentials.preSharedKey(file: keys.pskFile, username: keys.username)
    }

    func testAMissingServerFileIsNamed() throws {
        let keys = try TLSKeys()
        for name in ["ca-cert.pem", "server-cert.pem", "server-key.pem"] {
            let directory = keys.directory.file("without-\(name)")
            try FileManager.default.copyItem(atPath: keys.serverCertificates, toPath: directory)
            try FileManager.default.removeItem(atPath: "\(directory)/\(name)")
            expect(.unreadableFile(path: "\(directory)/\(name)", reason: "No such file or directory")) {
                try TLSServerCredentials.certificates(directory: directory)
            }
        }
    }

    func testABrokenFileIsNamedWithWhatIsWrong() throws {
        let keys = try TLSKeys()
        let cases: [(name: String, contents: String, reason: String)] = [
            ("server-key.pem", "not a key\n", "not a usable PEM private key"),
            ("server-cert.pem", "not a certificate\n", "not a PEM certificate"),
            ("ca-cert.pem", "", "holds no PEM certificate"),
            ("ca-crl.pem", "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", "not a PEM revocation list"),
        ]
        for (name, contents, reason) in cases {
            let directory = keys.directory.file("broken-\(name)")
            try FileManager.default.copyItem(atPath: keys.serverCertificates, toPath: directory)
            try contents.write(toFile: "\(directory)/\(name)", atomically: false, encoding: .utf8)
            XCTAssertThrowsError(try TLSServerCredentials.certificates(directory: directory)) {
                guard case TLSError.invalidFile(let path, let message) = $0 else { return XCTFail("\($0)") }
                XCTAssertEqual(path, "\(directory)/\(name)")
                XCTAssertTrue(message.hasPrefix(reason), message)
                XCTAssertFalse("\($0)".contains("\n"))
            }
        }
    }

    func testAKeyThatDoesNotMatchTheCertificateIsRefused() throws {
        let keys = try TLSKeys()
        let directory = keys.directory.file("mismatched")
        try FileManager.default.copyItem(atPath: keys.serverCertificates, toPath: directory)
        try FileManager.default.removeItem(atPath: "\(directory)/server-key.pem")
        try FileManager.default.copyItem(atPath: "\(keys.clientCertificates)/client-key.pem", toPath: "\(directory)/server-key.pem")
        XCTAssertThrowsError(try TLSServerCredentials.certificates(directory: directory)) {
            guard case TLSError.invalidFile(let path, let message) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(path, "\(directory)/server-cert.pem")
            XCTAssertTrue(message.contains("\(directory)/server-key.pem"), message)
        }
    }

    func testPreSharedKeyFiles() throws {
        let directory = try TestDirectory()
        expect(.unreadableFile(path: directory.file("missing.psk"), reason: "No such file or directory")) {
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
            expect(.invalidFile(path: file, reason: reason)) { try TLSServerCredentials.preSharedKeys(file: file) }
        }
        let file = try directory.write(Array("alice:00ff\n".utf8), to: "alice.psk")
        expect(.invalidFile(path: file, reason: "holds no key for user bob")) {
            try TLSClientCredentials.preSharedKey(file: file, username: "bob")
        }
    }

    func testErrorsReadAsOneLine() {
        XCTAssertEqual("\(TLSError.unreadableFile(path: "/k/server-key.pem", reason: "Permission denied"))", "cannot read /k/server-key.pem: Permission denied")
        XCTAssertEqual("\(TLSError.timedOut(operation: "TLS handshake"))", "TLS handshake: timed out")
    }

    func testNBDKitsDefaultLocations() throws {
        XCTAssertEqual(CertificateDirectory.defaultServerLocations(effectiveUser: 0, home: "/root"), ["/etc/pki/nbdkit"])
        XCTAssertEqual(CertificateDirectory.defaultServerLocations(effectiveUser: 1000, home: "/home/u"), ["/home/u/.pki/nbdkit", "/home/u/.config/pki/nbdkit"])
        XCTAssertEqual(CertificateDirectory.defaultServerLocations(effectiveUser: 1000, home: nil), [])
        let keys = try TLSKeys()
        XCTAssertTrue(CertificateDirectory.holdsServerFiles(keys.serverCertificates))
        XCTAssertFalse(CertificateDirectory.holdsServerFiles(keys.clientCertificates))
    }
}
