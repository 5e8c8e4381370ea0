import Foundation
import TestSupport
import Testing
@testable import NBDConformance

extension ServerRuns {
    /// The tls group: on our server with both kinds of credentials, on nbdkit (proof the cases are not tuned to
    /// our server), on a target given by an nbds+unix:// URI, and against the faulty build's TLS faults. Keys
    /// and certificates are made per test (TLSKeys).
    @Suite(.serialized)
    struct TLSGroupTests {
        static let tlsCases = Catalog.cases(for: .streaming).filter { $0.group == "tls" }.map(\.id)
        static let noPipe = "the --server template passes neither $ARGS, $PIPE nor $DIR, so its server has no pipe to stream"

        private func tlsRun(_ setup: TLSSetup, template: String, filters: [String] = ["tls/*"]) throws -> InProcessRun {
            try InProcessRun.run({
                $0.tls = setup
                $0.filters = filters
                $0.jobs = 2
            }, deployment: .serverTemplate(template))
        }

        @Test func ourServerPassesTheGroupWithPreSharedKeys() throws {
            let keys = try TLSKeys()
            let server = try BuiltProducts.require(BuiltProducts.streamingServer)
            let run = try tlsRun(try .preSharedKeys(file: keys.pskFile), template: "'\(server)' -f -U $SOCKET $TLS $ARGS")
            #expect(run.status == 0, "\(run.console)")
            #expect(run.ids(with: .passed).sorted() == Self.tlsCases.sorted(), "\(run.console)")
            #expect(run.report.properties["tls"] == "PSK of user \(keys.username) from \(keys.pskFile)")
            #expect(run.result("tls/plaintext-behind-starttls-not-acted-on")?.message == "the server ended the session without answering NBD_OPT_STARTTLS")
        }

        /// With certificates only a server that checks clients could refuse the harness, so the wrong-key case skips.
        @Test func ourServerPassesTheGroupWithCertificates() throws {
            let keys = try TLSKeys()
            let server = try BuiltProducts.require(BuiltProducts.streamingServer)
            let run = try tlsRun(try .certificates(directory: keys.serverCertificates), template: "'\(server)' -f -U $SOCKET $TLS $ARGS")
            #expect(run.status == 0, "\(run.console)")
            #expect(run.ids(with: .passed).count == Self.tlsCases.count - 1, "\(run.console)")
            #expect(run.result("tls/wrong-key-refused-server-still-serves")?.message
                == "needs pre-shared keys: with certificates, only a server that checks clients could refuse the harness")
        }

        /// nbdkit 1.32 with its memory plugin: every case that needs no pipe passes; the workloads skip, saying why.
        @Test func nbdkitPassesEveryCaseThatNeedsNoPipe() throws {
            let keys = try TLSKeys()
            let nbdkit = try BuiltProducts.tool("nbdkit")
            let run = try tlsRun(try .preSharedKeys(file: keys.pskFile), template: "'\(nbdkit)' -f -U $SOCKET $TLS memory 64M")
            #expect(run.status == 0, "\(run.console)")
            #expect(run.ids(with: .failed).isEmpty && run.ids(with: .error).isEmpty, "\(run.console)")
            #expect(run.ids(with: .skipped).sorted() == ["tls/read-workload-byte-exact", "tls/write-workload-byte-exact"])
            #expect(run.result("tls/write-workload-byte-exact")?.message == Self.noPipe)
            #expect(run.ids(with: .passed).count == Self.tlsCases.count - 2)
            // nbdkit acknowledges STARTTLS, then its TLS layer chokes on the injected bytes.
            #expect(run.result("tls/plaintext-behind-starttls-not-acted-on")?.message?.hasPrefix("the TLS handshake failed on the injected bytes") == true)
        }

        /// A server already running with --tls=require, named by an nbds+unix:// URI that carries the key: the
        /// tls group and the rest of the catalog run through TLS, raw cases upgrading first.
        @Test func aTargetGivenByAnNBDSURIRunsThroughTLS() throws {
            let keys = try TLSKeys()
            let server = try BuiltProducts.require(BuiltProducts.streamingServer)
            let directory = try SpawnedServerEnvironment.makeTemporaryDirectory()
            defer { SpawnedServerEnvironment.removeDirectory(directory) }
            let socket = directory + "/nbd.sock", pipe = directory + "/pipe"
            try Fifo.create(at: pipe)
            let process = try NBDConformance.ServerProcess(
                command: "'\(server)' -f -U \(socket) --tls=require --tls-psk=\(keys.pskFile) write=\(pipe)", placeholders: [:],
                logPath: directory + "/server.log")
            defer { process.stop(grace: 2) }
            try SocketWaiter.waitUntilListening(path: socket, server: process, seconds: 10)
            let uri = "nbds+unix://\(keys.username)@/?socket=\(socket)&tls-psk-file=\(keys.pskFile)"
            let run = try InProcessRun.run({
                $0.tls = try? TLSSetup.named(byURI: uri)
                $0.filters = ["tls/*", "negotiation/unknown-option-answered-err-unsup", "sequential/write-16-in-flight"]
            }, deployment: .target(.uri(uri), pipe: pipe))
            #expect(run.status == 0, "\(run.console)")
            #expect(run.result("negotiation/unknown-option-answered-err-unsup")?.status == .passed, "\(run.console)")
            #expect(run.result("sequential/write-16-in-flight")?.status == .passed)
            #expect(run.result("tls/write-workload-byte-exact")?.status == .passed)
            #expect(run.result("tls/read-workload-byte-exact")?.message == "the target serves write mode")
            #expect(run.result("tls/negotiation-forgotten-after-starttls")?.message?.hasPrefix("the server requires TLS before any option") == true)
            #expect(run.result("tls/options-refused-before-starttls")?.status == .passed)
        }

        static let faults: [InjectedFault] = [
            InjectedFault(name: "plaintext-under-require", caughtBy: "tls/options-refused-before-starttls", kind: .assertion),
            InjectedFault(name: "keep-pre-tls-state", caughtBy: "tls/negotiation-forgotten-after-starttls", kind: .assertion),
            InjectedFault(name: "accept-second-starttls", caughtBy: "tls/second-starttls-invalid", kind: .assertion),
            InjectedFault(name: "act-on-plaintext-behind-starttls", caughtBy: "tls/plaintext-behind-starttls-not-acted-on", kind: .assertion),
            InjectedFault(name: "exit-after-failed-handshake", caughtBy: "tls/wrong-key-refused-server-still-serves", kind: .assertion),
        ]

        /// Each TLS fault of the faulty build fails the case meant to catch it, with no harness error.
        @Test(arguments: faults)
        func faultFailsTheCaseMeantToCatchIt(_ fault: InjectedFault) throws {
            let keys = try TLSKeys()
            let faulty = try BuiltProducts.require(BuiltProducts.faultyServer)
            let run = try tlsRun(try .preSharedKeys(file: keys.pskFile), template: "NBD_FAULT=\(fault.name) '\(faulty)' -f -U $SOCKET $TLS $ARGS")
            let verdict = try #require(run.result(fault.caughtBy), "\(fault.caughtBy) did not run")
            #expect(verdict.status == .failed, "\(run.console)")
            #expect(verdict.kind == fault.kind, "\(verdict.message ?? "") \(verdict.details ?? "")")
            #expect(run.status == 1)
            #expect(run.ids(with: .error).isEmpty, "harness errors: \(run.console)")
        }

        /// Under --tls=require served as on, a plaintext NBD_OPT_EXPORT_NAME enters transmission: caught too.
        @Test func plaintextExportNameUnderRequireIsCaught() throws {
            let keys = try TLSKeys()
            let faulty = try BuiltProducts.require(BuiltProducts.faultyServer)
            let run = try tlsRun(try .preSharedKeys(file: keys.pskFile), template: "NBD_FAULT=plaintext-under-require '\(faulty)' -f -U $SOCKET $TLS $ARGS",
                                 filters: ["tls/export-name-before-starttls-ends-the-session"])
            let verdict = try #require(run.result("tls/export-name-before-starttls-ends-the-session"))
            #expect(verdict.status == .failed, "\(run.console)")
            #expect(verdict.message?.contains("no export size and flags are sent") == true, "\(verdict.message ?? "")")
        }

        /// A template that cannot hand the tls group's servers their options is a usage error, not a red run.
        @Test func aTemplateWithoutTLSIsAUsageError() throws {
            let keys = try TLSKeys()
            let server = try BuiltProducts.require(BuiltProducts.streamingServer)
            let result = try ChildProcess.run(try BuiltProducts.require(BuiltProducts.conformance),
                                              ["--tls-psk", keys.pskFile, "--server", "'\(server)' -f -U $SOCKET $ARGS"])
            #expect(result.status == 2, "\(result.output)")
            #expect(result.errorOutput.contains("the --server template has no $TLS"), "\(result.errorOutput)")
        }

        /// Without credentials the group is not selected, and a filter naming it says what it needs.
        @Test func withoutCredentialsTheGroupDoesNotRun() throws {
            let selection = try CaseSelection(catalog: Catalog.cases(for: .streaming), filters: [], excludes: [], strict: true, long: true, windows: true)
            #expect(!selection.entries.contains { $0.testCase.group == "tls" })
            #expect(throws: UsageError.self) {
                try CaseSelection(catalog: Catalog.cases(for: .streaming), filters: ["tls/*"], excludes: [], strict: false, long: false)
            }
            let withTLS = try CaseSelection(catalog: Catalog.cases(for: .streaming), filters: [], excludes: [], strict: false, long: false, tls: true)
            #expect(withTLS.entries.filter { $0.testCase.group == "tls" }.count == Self.tlsCases.count)
        }
    }
}
