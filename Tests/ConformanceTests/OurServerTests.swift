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
            #expect(run.report.results.count == Catalog.cases(for: .streaming).filter { $0.level == .must && !$0.isLong && $0.windows == .none }.count)
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
                // Memory use is not what --strict adds; defaultCatalogPassesWithinSixtySeconds runs these.
                $0.excludes = ["oversized/write-zeroes-4gib", "oversized/forward-gap-1gib"]
            }, deployment: .serverTemplate("'\(server)' -f -U $SOCKET $ARGS"))
            #expect(run.ids(with: .failed).isEmpty && run.ids(with: .error).isEmpty, "\(run.console)")
            for testCase in Catalog.cases(for: .streaming) where testCase.level != .must && testCase.windows == .none {
                #expect(run.result(testCase.id) != nil, "\(testCase.id) did not run under --strict")
            }
            #expect(run.result("negotiation/block-sizes-reported")?.message == "minimum 1, preferred 4096, maximum 33554432")
            #expect(run.result("oversized/payload-over-advertised-maximum-rejected")?.status == .passed)
            #expect(run.result("oversized/payload-over-32m-without-maximum")?.status == .skipped)
        }

        /// A server started outside the harness streams once: negotiation first, then the workload through the
        /// pipe, then the error probes; cases needing their own server are skipped with the reason.
        @Test(arguments: [
            (StreamMode.write, "sequential/write-request-sizes", "seeking/backward-write-enters-error-state"),
            (StreamMode.read, "sequential/read-request-sizes", "seeking/backward-read-enters-error-state"),
        ])
        func targetModeRunsTheSharedStreamInOrder(_ mode: StreamMode, workload: String, probe: String) throws {
            try withTarget(mode: mode) { socket, pipe in
                let run = try InProcessRun.run({ $0.timeout = 20 }, deployment: .target(.unix(path: socket), pipe: pipe))
                #expect(run.status == 0, "\(run.console)")
                #expect(run.result(workload)?.status == .passed)
                #expect(run.result(probe)?.status == .passed)
                #expect(run.result("negotiation/unknown-option-answered-err-unsup")?.status == .passed)
                #expect(run.result("sequential/flush")?.message == "needs a fresh server (--server)")
                #expect(run.ids(with: .passed).count >= 10)
                // Results are reported in the order the cases ran.
                let order = run.report.results.map(\.id)
                #expect(order.firstIndex(of: "negotiation/abort-acknowledged-and-closed")! < order.firstIndex(of: workload)!)
                #expect(order.firstIndex(of: workload)! < order.firstIndex(of: probe)!)
            }
        }

        @Test func targetErrorStateRefusesNewConnections() throws {
            try withTarget(mode: .write) { socket, pipe in
                let run = try InProcessRun.run({ _ in }, deployment: .target(.unix(path: socket), pipe: pipe))
                let order = run.report.results.map(\.id)
                #expect(run.result("seeking/error-state-refuses-new-connections")?.status == .passed, "\(run.console)")
                #expect(order.firstIndex(of: "seeking/backward-write-enters-error-state")! < order.firstIndex(of: "seeking/error-state-refuses-new-connections")!)
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
            let process = try ServerProcess(command: "'\(server)' -f -U \(socket) \(mode.rawValue)=\(pipe) size=64M", placeholders: [:],
                                            logPath: directory + "/server.log")
            defer { process.stop(grace: 2) }
            try SocketWaiter.waitUntilListening(path: socket, server: process, seconds: 10)
            try body(socket, pipe)
        }
    }
}
