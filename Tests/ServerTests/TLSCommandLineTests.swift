import Foundation
import TestSupport
import Testing

/// nbdkit's TLS options: spelled as nbdkit spells them, before or after the
/// parameters, and checked before the server creates or listens on anything.
@Suite struct TLSCommandLineTests {
    /// Runs the server from inside `directory`, so relative paths are tested too.
    func nbdStreaming(_ arguments: [String], in directory: TestDirectory, home: String? = nil) throws -> CommandResult {
        try run("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", directory.path, ServerProcess.binary] + arguments,
                seconds: 30, environment: ["HOME": home ?? directory.path])
    }

    @Test(arguments: ["ca-cert.pem", "server-cert.pem", "server-key.pem"])
    func aMissingCertificateFileIsOneLineBeforeAnythingIsCreated(missing: String) throws {
        let keys = try TLSKeys()
        try FileManager.default.removeItem(atPath: "\(keys.serverCertificates)/\(missing)")
        let result = try nbdStreaming(["-f", "-U", "server.sock", "write=pipe", "--tls=require", "--tls-certificates=server"], in: keys.directory)
        #expect(result.status == 1)
        #expect(result.output == "nbd-streaming: error: cannot read \(keys.serverCertificates)/\(missing): No such file or directory\n")
        #expect(!FileManager.default.fileExists(atPath: keys.directory.file("server.sock")))
        #expect(!FileManager.default.fileExists(atPath: keys.directory.file("pipe")))
    }

    @Test func aBrokenKeyIsNamed() throws {
        let keys = try TLSKeys()
        try "garbage\n".write(toFile: "\(keys.serverCertificates)/server-key.pem", atomically: false, encoding: .utf8)
        let result = try nbdStreaming(["-f", "-U", "server.sock", "--tls=on", "--tls-certificates=server", "write=pipe"], in: keys.directory)
        #expect(result.status == 1)
        #expect(result.output.hasPrefix("nbd-streaming: error: \(keys.serverCertificates)/server-key.pem: not a usable PEM private key"))
        #expect(result.output.split(separator: "\n").count == 1)
    }

    @Test func aMissingKeyFileAfterTheParametersIsNamedWithItsFullPath() throws {
        let directory = try TestDirectory()
        // No --tls: nbdkit turns TLS on when --tls-psk is given.
        let result = try nbdStreaming(["-f", "-U", "server.sock", "write=pipe", "--tls-psk=keys.psk"], in: directory)
        #expect(result.status == 1)
        #expect(result.output == "nbd-streaming: error: cannot read \(directory.path)/keys.psk: No such file or directory\n")
    }

    @Test func aMalformedKeyFileNamesTheLine() throws {
        let directory = try TestDirectory()
        _ = try directory.write(Array("alice:00ff\nbob:xyz\n".utf8), to: "keys.psk")
        let result = try nbdStreaming(["-f", "-U", "server.sock", "--tls=require", "--tls-psk", "keys.psk", "write=pipe"], in: directory)
        #expect(result.status == 1)
        #expect(result.output == "nbd-streaming: error: \(directory.path)/keys.psk: line 2: expected username:HEXKEY as psktool writes it\n")
    }

    @Test func oldstyleCannotRequireTLS() throws {
        let directory = try TestDirectory()
        let result = try nbdStreaming(["-o", "-f", "-U", "server.sock", "--tls=require", "write=pipe"], in: directory)
        #expect(result.status == 1)
        #expect(result.output.contains("cannot use oldstyle protocol (-o) and require TLS"))
    }

    @Test(arguments: ["maybe", ""])
    func anUnknownTLSValueIsRefused(value: String) throws {
        let directory = try TestDirectory()
        let result = try nbdStreaming(["-f", "-U", "server.sock", "--tls=\(value)", "write=pipe"], in: directory)
        #expect(result.status == 1)
        #expect(result.output.contains("--tls"))
    }

    @Test func requireWithoutCredentialsIsAnError() throws {
        let directory = try TestDirectory()
        let result = try nbdStreaming(["-f", "-U", "server.sock", "--tls=required", "write=pipe"], in: directory)
        #expect(result.status == 1)
        #expect(result.output.hasPrefix("nbd-streaming: error: --tls=require but no TLS credentials were found"))
        #expect(result.output.contains("--tls-certificates=DIR or --tls-psk=FILE"))
    }

    /// nbdkit's behaviour: an explicit --tls=on without credentials warns and
    /// serves without TLS; without --tls, nothing is said.
    @Test(arguments: [(["--tls=on"], true), ([], false), (["--tls=off", "--tls-psk=/nonexistent"], false)])
    func withoutCredentialsTheServerServesInPlaintext(options: [String], warns: Bool) throws {
        let directory = try TestDirectory()
        let result = try nbdStreaming(options + ["-U", "-", "write=pipe", "size=1k", "--run", "nbdinfo --size \"$uri\""], in: directory)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("1024\n"))
        #expect(result.output.contains("--tls=on but no TLS credentials were found") == warns)
    }

    /// Under --tls=require a plaintext client is refused, a TLS one served;
    /// `$uri` names TLS and `$tls` says it is required, as nbdkit's captive mode sets them.
    @Test func requiredTLSServesOnlyTLSClients() throws {
        let keys = try TLSKeys()
        let script = """
            echo "tls=$tls uri=$uri"
            nbdinfo --size "nbd+unix:///?socket=$unixsocket" || echo plaintext refused
            nbdinfo --size "nbds+unix://alice@/?socket=$unixsocket&tls-psk-file=keys.psk"
            """
        let result = try nbdStreaming(["-U", "-", "--tls=require", "--tls-psk=keys.psk", "write=pipe", "size=1k", "--run", script], in: keys.directory)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("tls=2 uri=nbds+unix:///?socket="))
        #expect(result.output.contains("server requires TLS"))
        #expect(result.output.contains("plaintext refused\n1024\n"))
    }

    /// nbdkit's default: credentials without --tls offer TLS and allow plaintext ($tls=1, an nbd URI).
    @Test func credentialsAloneOfferTLS() throws {
        let keys = try TLSKeys()
        let script = """
            echo "tls=$tls uri=$uri"
            nbdinfo --size "$uri"
            nbdinfo --size "nbds+unix://alice@/?socket=$unixsocket&tls-psk-file=keys.psk"
            """
        let result = try nbdStreaming(["-U", "-", "--tls-psk=keys.psk", "write=pipe", "size=1k", "--run", script], in: keys.directory)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("tls=1 uri=nbd+unix:///?socket="))
        #expect(result.output.contains("1024\n1024\n"))
    }

    @Test func withoutTLSTheVariableIsUnset() throws {
        let directory = try TestDirectory()
        let result = try nbdStreaming(["-U", "-", "write=pipe", "--run", "echo \"tls=${tls-unset}\""], in: directory)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("tls=unset\n"))
    }

    /// GnuTLS needs a socket, and the oldstyle handshake has no STARTTLS:
    /// both are refused at start-up rather than at every client.
    @Test(arguments: [
        (["-s", "--tls=require"], "TLS cannot be used with -s"),
        (["-s"], "TLS cannot be used with -s"),
        (["-o", "-U", "sock", "--tls=on"], "TLS cannot be used with -o"),
        (["-o", "-U", "sock"], "TLS cannot be used with -o"),
    ])
    func tlsNeedsASocketAndNewstyle(options: [String], message: String) throws {
        let keys = try TLSKeys()
        let result = try nbdStreaming(options + ["--tls-psk=keys.psk", "write=pipe"], in: keys.directory)
        #expect(result.status == 1)
        #expect(result.output.hasPrefix("nbd-streaming: error: \(message)"), "\(result.output)")
        #expect(result.output.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: keys.directory.file("pipe")))
    }

    /// On TCP, whoever reaches the port reaches the stream unless TLS is required: said once at start-up.
    @Test(arguments: [([String](), "TCP port PORT without TLS: anyone who can reach it can read or write the stream"),
                      (["--tls-psk=keys.psk"], "--tls=on lets clients skip TLS: anyone who can reach TCP port PORT can read or write the stream"),
                      (["--tls=require", "--tls-psk=keys.psk"], nil)])
    func tcpWithoutRequiredTLSWarnsOnce(options: [String], warning: String?) throws {
        let keys = try TLSKeys()
        let port = try freeLoopbackPort()
        let result = try nbdStreaming(options + ["-i", "127.0.0.1", "-p", "\(port)", "write=pipe", "--run", "true"], in: keys.directory)
        #expect(result.status == 0, "\(result.output)")
        let warnings = result.output.split(separator: "\n").filter { $0.hasPrefix("nbd-streaming: warning:") }
        if let warning {
            #expect(warnings.count == 1, "\(result.output)")
            #expect(warnings.first?.contains(warning.replacingOccurrences(of: "PORT", with: "\(port)")) == true, "\(result.output)")
        } else {
            #expect(warnings.isEmpty, "\(result.output)")
        }
    }
}
