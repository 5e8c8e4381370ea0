import Foundation
import NBDClient
import TestSupport
import Testing

/// nbdkit's TLS options: spelled as nbdkit spells them, before or after the
/// parameters, and checked before the server creates or listens on anything.
@Suite struct TLSCommandLineTests {
    /// Runs the server from inside `directory`, so relative paths are tested too; `asUser` runs it as a user
    /// other than root, who finds nbdkit's default certificates under $HOME.
    func nbdStreaming(_ arguments: [String], in directory: TestDirectory, home: String? = nil, asUser: Bool = false) throws -> CommandResult {
        try run("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", directory.path] + (asUser ? Self.notRoot : []) + [ServerProcess.binary] + arguments,
                seconds: 30, environment: ["HOME": home ?? directory.path])
    }

    /// A command prefix that runs the rest as a user other than root: nbdkit, and so nbd-streaming, looks for
    /// root's certificates in /etc/pki/nbdkit and for anyone else's under $HOME. As root the test takes a user
    /// namespace in which it is user 1000 (files it made stay its own); as anyone else it needs nothing.
    static var notRoot: [String] {
        geteuid() == 0 ? ["unshare", "--user", "--map-user=1000", "--map-group=1000", "--"] : []
    }

    /// A home directory holding the generated server files where nbdkit looks by default: ~/.pki/nbdkit.
    func homeWithDefaultCertificates(_ keys: TLSKeys) throws -> String {
        let home = keys.directory.file("home")
        try FileManager.default.createDirectory(atPath: home + "/.pki", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: keys.serverCertificates, toPath: home + "/.pki/nbdkit")
        return home
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

    /// As nbdkit 1.32 does: credentials, found in ~/.pki/nbdkit or given, do
    /// not stop -o, whose handshake has no STARTTLS; the server serves in
    /// plaintext. Only --tls=require is refused with -o (oldstyleCannotRequireTLS).
    @Test(arguments: [[], ["--tls=on"], ["--tls-psk=keys.psk"]])
    func oldstyleServesWhateverCredentialsAreFound(options: [String]) throws {
        let keys = try TLSKeys()
        let home = try homeWithDefaultCertificates(keys)
        let result = try nbdStreaming(["-o", "-U", "-", "write=pipe", "size=1k", "--run", "nbdinfo --size \"$uri\""] + options,
                                      in: keys.directory, home: home, asUser: true)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("1024\n"), "\(result.output)")
    }

    /// As nbdkit 1.32 does: -s serves on standard input and output whatever
    /// credentials are found, and offers STARTTLS there (libnbd's
    /// connect_command hands the server a socket). A TLS client that trusts
    /// only the generated CA proves the certificates came from ~/.pki/nbdkit.
    @Test(arguments: [([String](), "plaintext"), ([], "certificates"), (["--tls=require", "--tls-psk=keys.psk"], "psk")])
    func singleServesWhateverCredentialsAreFound(options: [String], client: String) throws {
        let keys = try TLSKeys()
        let home = try homeWithDefaultCertificates(keys)
        let pipe = try keys.directory.makeFIFO("pipe")
        let reader = try PipeReader(path: pipe)
        let connection = try NBDConnection()
        switch client {
        case "certificates": try connection.requireTLS(certificates: keys.anonymousClient)
        case "psk": try connection.requireTLS(preSharedKeyFile: keys.pskFile, username: keys.username)
        default: break
        }
        let command = Self.notRoot + ["env", "HOME=\(home)", ServerProcess.binary, "-s", "write=\(pipe)", "size=4"]
        try connection.connect(.command(command + options.map { $0.replacingOccurrences(of: "keys.psk", with: keys.pskFile) }))
        #expect(try connection.exportSize() == 4)
        try connection.pwrite([5, 6, 7, 8], offset: 0)
        try connection.shutdown()
        #expect(try reader.contents() == [5, 6, 7, 8])
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
