import Foundation
import NBDProtocol
import TestSupport
import Testing
import TLS

/// The module's client against nbdkit's TLS (GnuTLS inside nbdkit 1.32), and
/// libnbd's nbdinfo against the same server with the same files: all three
/// must agree on which credentials open the session.
@Suite struct NBDKitPeerTests {
    private func nbdkit(_ tlsOptions: [String], in directory: TestDirectory) throws -> ServerProcess {
        try ServerProcess(["--tls=require"] + tlsOptions + ["memory", "1M"], in: directory, name: "nbdkit", executable: "nbdkit")
    }

    /// A write through the session and a read back: the bytes survive both ways.
    private func roundTrip(_ client: TLSNBDClient) throws {
        #expect(try client.enterTransmission() == 1 << 20)
        // Not a multiple of the record size, and split from its header, so both
        // the gathering and the straight path of a gathered write are used.
        let data = testPattern(count: 100_000)
        #expect(try client.write(data, at: 4096) == .simple(cookie: 1, error: .ok))
        let (reply, back) = try client.read(data.count, at: 4096)
        #expect(reply == .simple(cookie: 2, error: .ok))
        #expect(back == data)
        try client.disconnect()
    }

    @Test func preSharedKeySessionWithNBDKit() throws {
        let keys = try TLSKeys()
        let server = try nbdkit(["--tls-psk=\(keys.pskFile)"], in: keys.directory)
        try roundTrip(TLSNBDClient(socket: server.socket, credentials: .preSharedKey(file: keys.pskFile, username: keys.username)))
    }

    @Test func certificateSessionWithNBDKit() throws {
        let keys = try TLSKeys()
        let server = try nbdkit(["--tls-certificates=\(keys.serverCertificates)"], in: keys.directory)
        // The server's certificate is checked against the CA and the name.
        let client = try TLSNBDClient(socket: server.socket, credentials: .certificates(directory: keys.anonymousClient), serverName: "localhost")
        try roundTrip(client)
    }

    @Test func serverCertificateForAnotherNameIsRefused() throws {
        let keys = try TLSKeys()
        let server = try nbdkit(["--tls-certificates=\(keys.serverCertificates)"], in: keys.directory)
        let error = #expect(throws: (any Error).self) {
            try TLSNBDClient(socket: server.socket, credentials: .certificates(directory: keys.anonymousClient), serverName: "elsewhere.test")
        }
        #expect(error.map { "\($0)".contains("TLS handshake") } == true, "\(String(describing: error))")
    }

    @Test func wrongKeyIsRefusedAndTheServerStillServes() throws {
        let keys = try TLSKeys()
        let server = try nbdkit(["--tls-psk=\(keys.pskFile)"], in: keys.directory)
        let error = try #require(throws: TLSError.self) {
            try TLSNBDClient(socket: server.socket, credentials: .preSharedKey(file: keys.wrongPSKFile, username: keys.username))
        }
        guard case .failed(let operation, _, _) = error else { Issue.record("\(error)"); return }
        #expect(operation == "TLS handshake")
        try roundTrip(TLSNBDClient(socket: server.socket, credentials: .preSharedKey(file: keys.pskFile, username: keys.username)))
    }

    @Test func clientCertificatesUnderVerifyPeer() throws {
        let keys = try TLSKeys()
        let server = try nbdkit(["--tls-certificates=\(keys.serverCertificates)", "--tls-verify-peer"], in: keys.directory)
        try roundTrip(TLSNBDClient(socket: server.socket, credentials: .certificates(directory: keys.clientCertificates)))
        for refused in [keys.anonymousClient, keys.foreignClient] {
            #expect(throws: (any Error).self, "\(refused)") {
                // TLS 1.3 may finish the client's handshake before the server
                // judges its certificate; then the refusal arrives with the first read.
                let client = try TLSNBDClient(socket: server.socket, credentials: .certificates(directory: refused))
                _ = try client.enterTransmission()
            }
        }
    }

    @Test func nBDInfoAndTheModuleAgreeOnKeys() throws {
        let keys = try TLSKeys()
        let server = try nbdkit(["--tls-psk=\(keys.pskFile)"], in: keys.directory)
        for (file, opens) in [(keys.pskFile, true), (keys.wrongPSKFile, false)] {
            let uri = "nbds+unix://\(keys.username)@/?socket=\(server.socket)&tls-psk-file=\(file)"
            let nbdinfo = try TestSupport.run("nbdinfo", ["--size", uri], seconds: 30)
            #expect((nbdinfo.status == 0) == opens, "\(nbdinfo.output)")
            if opens { #expect(nbdinfo.output.trimmingCharacters(in: .whitespacesAndNewlines) == "1048576") }
            let ours = Result { try TLSNBDClient(socket: server.socket, credentials: .preSharedKey(file: file, username: keys.username)).enterTransmission() }
            #expect(((try? ours.get()) == 1 << 20) == opens, "\(ours)")
        }
    }

    @Test func nBDInfoAcceptsTheGeneratedCertificates() throws {
        let keys = try TLSKeys()
        let server = try nbdkit(["--tls-certificates=\(keys.serverCertificates)", "--tls-verify-peer"], in: keys.directory)
        let uri = "nbds+unix:///?socket=\(server.socket)&tls-certificates=\(keys.clientCertificates)"
        let nbdinfo = try TestSupport.run("nbdinfo", ["--size", uri], seconds: 30)
        #expect(nbdinfo.status == 0, "\(nbdinfo.output)")
        #expect(nbdinfo.output.trimmingCharacters(in: .whitespacesAndNewlines) == "1048576")
        let anonymous = try TestSupport.run("nbdinfo", ["--size", "nbds+unix:///?socket=\(server.socket)&tls-certificates=\(keys.anonymousClient)"], seconds: 30)
        #expect(anonymous.status != 0, "\(anonymous.output)")
    }
}
