import Foundation
import Testing
@testable import NBDConformance

extension ServerRuns {
    /// A server may advertise a maximum payload far below 32 MiB (proto.md § Size constraints: at least the
    /// preferred block size), and a client that asked for the block sizes MUST stay within it. nbdkit's
    /// blocksize-policy filter makes real servers that advertise 64 KiB and refuse anything longer with EINVAL:
    /// every workload must still pass on them.
    @Suite(.serialized)
    struct AdvertisedMaximumTests {
        private static let policy = "--filter=blocksize-policy"
        private static let limits = "blocksize-maximum=64K blocksize-error-policy=error"

        /// nbd-streaming behind nbdkit's nbd plugin: noparallel keeps each connection's requests in order, as the
        /// stream needs; `--run` starts nbdkit once nbd-streaming listens on its private socket.
        private static func streamingBehindPolicy() throws -> String {
            let server = try BuiltProducts.require(BuiltProducts.streamingServer)
            let nbdkit = try BuiltProducts.tool("nbdkit")
            let proxy = "exec '\(nbdkit)' -f -U \"$SOCKET\" \(policy) --filter=noparallel nbd socket=\"$unixsocket\" \(limits)"
            return "exec '\(server)' -U - --run '\(proxy)' $ARGS"
        }

        @Test func streamingWorkloadsStayWithinA64KiBMaximum() throws {
            let run = try InProcessRun.run({
                $0.jobs = 2
                $0.filters = ["negotiation/block-sizes-reported", "sequential/*", "seeking/random-*", "oversized/payload-over-advertised-maximum",
                              "oversized/last-byte-and-exact-end"]
                $0.strict = true
            }, deployment: .serverTemplate(try Self.streamingBehindPolicy()))
            #expect(run.status == 0, "\(run.console)")
            #expect(run.ids(with: .skipped).isEmpty, "\(run.console)")
            #expect(run.result("negotiation/block-sizes-reported")?.message == "minimum 1, preferred 4096, maximum 65536")
            // Each sends requests over 64 KiB, which now go as pieces.
            for id in ["sequential/write-request-sizes", "sequential/read-request-sizes", "sequential/fua", "seeking/random-write-workload",
                       "seeking/random-read-workload", "oversized/last-byte-and-exact-end"] {
                #expect(run.result(id)?.status == .passed, "\(id)")
            }
            #expect(run.result("oversized/payload-over-advertised-maximum")?.message?
                .hasPrefix("the WRITE offset=4096 length=65537 over the maximum was refused") == true)
        }

        @Test func diskWorkloadsStayWithinA64KiBMaximumAndMinimumBlock() throws {
            let nbdkit = try BuiltProducts.tool("nbdkit")
            let run = try InProcessRun.run({
                $0.profile = .disk
                $0.strict = true
                $0.jobs = 2
            }, deployment: .serverTemplate("'\(nbdkit)' -f -U $SOCKET \(Self.policy) memory $SIZE blocksize-minimum=4K \(Self.limits)"))
            #expect(run.status == 0, "\(run.console)")
            for id in ["disk/read-back-request-sizes", "disk/random-workload", "disk/write-zeroes-read-back-zero", "disk/trim-then-write",
                       "disk/block-status-agrees-with-data", "disk/structured-read-chunks-cover-once", "disk/misaligned-requests-einval"] {
                #expect(run.result(id)?.status == .passed, "\(id)")
            }
        }
    }
}
