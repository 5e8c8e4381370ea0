import Foundation
import Testing
@testable import NBDConformance

extension ServerRuns {
    /// The catalog against our own nbd-streaming: everything passes, within the time budget the issue sets.
    @Suite(.serialized)
    struct OurServerTests {
        @Test func defaultCatalogPassesWithinSixtySeconds() throws {
            let server = try BuiltProducts.require(BuiltProducts.streamingServer)
            let started = Date()
            let run = try InProcessRun.run({ $0.jobs = 2 }, deployment: .serverTemplate("'\(server)' -f -U $SOCKET $ARGS"))
            let seconds = Date().timeIntervalSince(started)
            #expect(run.ids(with: .failed).isEmpty, "\(run.console)")
            #expect(run.ids(with: .error).isEmpty, "\(run.console)")
            #expect(run.status == 0)
            #expect(run.report.results.count == Catalog.cases(for: .streaming).filter(\.runsByDefault).count)
            #expect(seconds < 60, "the default run took \(seconds) s")
            #expect(run.report.exitStatus == run.status)
            #expect(run.report.summary["total"] == run.report.results.count)
        }

        /// Under --strict the SHOULD cases run and the recommended errnos are checked; the MAY cases report.
        @Test func strictCatalogPasses() throws {
            let server = try BuiltProducts.require(BuiltProducts.streamingServer)
            let run = try InProcessRun.run({
                $0.strict = true
                $0.jobs = 2
                // Memory use is not what --strict adds; defaultCatalogPassesWithinSixtySeconds runs this one.
                $0.excludes = ["oversized/forward-gap-1gib"]
            }, deployment: .serverTemplate("'\(server)' -f -U $SOCKET $ARGS"))
            #expect(run.ids(with: .failed).isEmpty && run.ids(with: .error).isEmpty, "\(run.console)")
            for testCase in Catalog.cases(for: .streaming) where testCase.level != .must && testCase.windows == .none {
                #expect(run.result(testCase.id) != nil, "\(testCase.id) did not run under --strict")
            }
            #expect(run.result("negotiation/block-sizes-reported")?.message == "minimum 1, preferred 4096, maximum 33554432")
            #expect(run.result("oversized/payload-over-advertised-maximum")?.message?.hasPrefix("the WRITE offset=4096 length=33554433 over the maximum was refused") == true)
            #expect(run.result("oversized/payload-over-32m-without-maximum")?.status == .skipped)
            #expect(run.result("oversized/write-zeroes-4gib")?.status == .passed)
        }

        /// A server started outside the harness streams once, and the catalog runs as segments of that one stream:
        /// negotiation first, then every case that leaves the stream usable, then one that ends it. Every case of
        /// the target's mode runs except the two that need a server of their own and the second stream-ender; the
        /// 1 GiB gap is left out here for time (it runs as a segment too).
        @Test(arguments: [
            (StreamMode.write, 25, "seeking/backward-write-enters-error-state", "seeking/read-below-highwater-enters-error-state"),
            (StreamMode.read, 16, "sequential/read-end-of-file-is-eio", "seeking/backward-read-enters-error-state"),
        ])
        func targetModeChainsTheCatalogOnOneStream(_ mode: StreamMode, runnable: Int, ender: String, secondEnder: String) throws {
            try withTarget(mode: mode) { socket, pipe in
                let run = try InProcessRun.run({
                    $0.excludes = ["oversized/forward-gap-1gib"]
                }, deployment: .target(.unix(path: socket), pipe: pipe))
                #expect(run.status == 0, "\(run.console)")
                let excluded = run.report.results.filter { $0.message == "excluded" }.count
                #expect(run.ids(with: .passed).count + (mode == .write ? excluded : 0) == runnable, "\(run.console)")
                #expect(run.result(ender)?.status == .passed)
                #expect(run.result(secondEnder)?.message == "ends the stream, which \(ender) already ended (one such case per target run)")
                #expect(run.result("oversized/last-byte-and-exact-end")?.message == "fills the export to its last byte, so it needs an export of its own")
                #expect(run.result("oversized/payload-over-advertised-maximum")?.message
                    == "the stream's length depends on the server's answer, so it needs a server of its own")
                let other = mode == .write ? "sequential/read-request-sizes" : "sequential/write-request-sizes"
                #expect(run.result(other)?.message == "the target serves \(mode.rawValue) mode")
                // Every skip names its reason; results are reported in the order the cases ran.
                #expect(run.report.results.filter { $0.status == .skipped }.allSatisfy { !($0.message ?? "").isEmpty })
                let order = run.report.results.map(\.id)
                #expect(order.firstIndex(of: "negotiation/abort-acknowledged")! < order.firstIndex(of: ender)!)
            }
        }

        @Test func targetErrorStateRefusesNewConnections() throws {
            try withTarget(mode: .write) { socket, pipe in
                let run = try InProcessRun.run({ $0.filters = ["seeking/*", "sequential/write-64-in-flight"] },
                                               deployment: .target(.unix(path: socket), pipe: pipe))
                let order = run.report.results.map(\.id)
                #expect(run.result("seeking/error-state-refuses-new-connections")?.status == .passed, "\(run.console)")
                #expect(order.firstIndex(of: "seeking/backward-write-enters-error-state")! < order.firstIndex(of: "seeking/error-state-refuses-new-connections")!)
                #expect(run.result("sequential/write-64-in-flight")?.status == .passed)
            }
        }

        @Test func targetWithoutPipeSkipsTheStreamCases() throws {
            try withTarget(mode: .write) { socket, _ in
                let run = try InProcessRun.run({ _ in }, deployment: .target(.unix(path: socket), pipe: nil))
                #expect(run.status == 0, "\(run.console)")
                #expect(run.result("sequential/write-request-sizes")?.message == "needs --pipe to see the stream")
                #expect(run.result("negotiation/write-mode-size-and-flags")?.status == .passed)
            }
        }

        /// Our server on a socket and FIFO of its own, started and stopped here like a user's long-running server.
        private func withTarget(mode: StreamMode, _ body: (String, String) throws -> Void) throws {
            let server = try BuiltProducts.require(BuiltProducts.streamingServer)
            let directory = try SpawnedServerEnvironment.makeTemporaryDirectory()
            defer { SpawnedServerEnvironment.removeDirectory(directory) }
            let socket = directory + "/nbd.sock"
            let pipe = directory + "/pipe"
            try Fifo.create(at: pipe)
            // The default size (2^63 - 2^30), so every segment of the catalog fits after the ones before it.
            let process = try ServerProcess(command: "'\(server)' -f -U \(socket) \(mode.rawValue)=\(pipe)", placeholders: [:],
                                            logPath: directory + "/server.log")
            defer { process.stop(grace: 2) }
            try SocketWaiter.waitUntilListening(path: socket, server: process, seconds: 10)
            try body(socket, pipe)
        }
    }
}
