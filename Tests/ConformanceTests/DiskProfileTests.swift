import Foundation
import Testing
@testable import NBDConformance

extension ServerRuns {
    /// `--profile disk` against real disk servers: nbdkit's memory plugin and qemu-nbd on a file in the case's
    /// directory. Every failure the profile reports on them is a documented deviation (docs/conformance.md),
    /// asserted here exactly, so a change in either the harness or the server shows.
    @Suite(.serialized)
    struct DiskProfileTests {
        static func nbdkitMemory() throws -> String {
            "'\(try BuiltProducts.tool("nbdkit"))' -f -U \"$SOCKET\" memory $SIZE"
        }

        /// `readOnly`: qemu-nbd's `-r`, an export that advertises NBD_FLAG_READ_ONLY.
        static func qemuNBD(readOnly: Bool = false) throws -> String {
            let qemuImg = try BuiltProducts.tool("qemu-img")
            let qemuNBD = try BuiltProducts.tool("qemu-nbd")
            return "'\(qemuImg)' create -q -f raw \"$DIR/disk\" $SIZE && exec '\(qemuNBD)' \(readOnly ? "-r " : "")-t -e 8 -f raw -k \"$SOCKET\" \"$DIR/disk\""
        }

        private static func diskRun(_ template: String, strict: Bool, junit: String? = nil) throws -> InProcessRun {
            try InProcessRun.run({
                $0.profile = .disk
                $0.strict = strict
                $0.jobs = 2
                $0.junitPath = junit
            }, deployment: .serverTemplate(template))
        }

        @Test func nbdkitMemoryPassesTheDiskCatalogUnderStrict() throws {
            let started = Date()
            let run = try Self.diskRun(try Self.nbdkitMemory(), strict: true)
            #expect(run.status == 0, "\(run.console)")
            #expect(run.ids(with: .failed).isEmpty && run.ids(with: .error).isEmpty)
            #expect(run.result("disk/random-workload")?.status == .passed)
            #expect(run.result("disk/multi-conn-flush-covers-all-connections")?.status == .passed)
            #expect(run.result("disk/block-status-agrees-with-data")?.status == .passed)
            #expect(run.report.properties["profile"] == "disk")
            // Issue 11's budget for the default disk catalog; it runs in a few seconds here.
            #expect(Date().timeIntervalSince(started) < 60)
        }

        /// qemu-nbd 7.2 answers a write past the end with EINVAL where the spec says it SHOULD use ENOSPC: a
        /// failure only under --strict, and the only one (docs/conformance.md, "What the disk profile found").
        @Test func qemuNBDDeviatesOnlyInTheWritePastEndErrno() throws {
            let lenient = try Self.diskRun(try Self.qemuNBD(), strict: false)
            #expect(lenient.status == 0, "\(lenient.console)")
            let strict = try Self.diskRun(try Self.qemuNBD(), strict: true)
            #expect(strict.ids(with: .failed) == ["disk/write-past-end-refused"], "\(strict.console)")
            #expect(strict.ids(with: .error).isEmpty)
            let finding = try #require(strict.result("disk/write-past-end-refused"))
            #expect(finding.message == "request #1 WRITE offset=16776704 length=1024 generation=2: expected failure (SHOULD be ENOSPC (28)), got failure EINVAL (22)")
            #expect(strict.result("disk/multi-conn-flush-covers-all-connections")?.status == .passed)
        }

        /// On a read-only export every write is refused, so the cases that write would judge nothing: they skip,
        /// saying why, and disk/read-only-refuses-writes checks the refusals. qemu-nbd 7.2 refuses with EINVAL
        /// where the spec says it SHOULD use EPERM: a failure only under --strict (docs/conformance.md).
        @Test func readOnlyExportSkipsTheWriteCasesAndChecksRefusals() throws {
            let path = NSTemporaryDirectory() + "junit-read-only-\(UUID().uuidString).xml"
            defer { try? FileManager.default.removeItem(atPath: path) }
            let lenient = try Self.diskRun(try Self.qemuNBD(readOnly: true), strict: false, junit: path)
            #expect(lenient.status == 0, "\(lenient.console)")
            #expect(lenient.result("disk/read-only-refuses-writes")?.status == .passed)
            #expect(lenient.result("disk/size-reported")?.status == .passed)
            let writing = Catalog.cases(for: .disk).filter { $0.profiles == [.disk] && $0.writesToExport && $0.runsByDefault }.map(\.id)
            #expect(writing.contains("disk/random-workload") && writing.contains("disk/read-back-request-sizes"))
            for id in writing {
                #expect(lenient.result(id)?.message == "the export is read-only (NBD_FLAG_READ_ONLY) and the case writes", "\(id)")
            }
            let skipped = try ChildProcess.run(try BuiltProducts.tool("xmllint"), ["--xpath", "string(//testcase[@name='random-workload']/skipped/@message)", path])
            #expect(skipped.output.trimmingCharacters(in: .newlines) == "the export is read-only (NBD_FLAG_READ_ONLY) and the case writes")
            let strict = try Self.diskRun(try Self.qemuNBD(readOnly: true), strict: true)
            #expect(strict.ids(with: .failed) == ["disk/read-only-refuses-writes"], "\(strict.console)")
            #expect(strict.result("disk/read-only-refuses-writes")?.message
                == "request #0 WRITE offset=0 length=512 generation=1: expected failure (SHOULD be EPERM (1)), got failure EINVAL (22)")
        }

        /// Seeded workloads are replayable: the same seed gives the same requests, another seed others.
        @Test func randomDiskWorkloadIsReproducibleFromTheSeed() throws {
            let advertised = Advertised(flush: true, fua: true, trim: true, zero: true, cache: true)
            var first = RandomDiskWorkload(seed: 7)
            var second = RandomDiskWorkload(seed: 7)
            var other = RandomDiskWorkload(seed: 8)
            let workload = first.batches(count: 200, depth: 16, size: 16 << 20, advertised: advertised)
            #expect(workload == second.batches(count: 200, depth: 16, size: 16 << 20, advertised: advertised))
            #expect(workload != other.batches(count: 200, depth: 16, size: 16 << 20, advertised: advertised))
            for batch in workload {
                let ranges = batch.compactMap(\.range)
                #expect(!ranges.enumerated().contains { index, range in ranges[(index + 1)...].contains { $0.overlaps(range) } })
            }
        }

        @Test func diskJUnitValidates() throws {
            let path = NSTemporaryDirectory() + "junit-disk-\(UUID().uuidString).xml"
            defer { try? FileManager.default.removeItem(atPath: path) }
            _ = try Self.diskRun(try Self.qemuNBD(), strict: true, junit: path)
            let result = try ChildProcess.run(try BuiltProducts.tool("xmllint"), ["--noout", "--schema", BuiltProducts.junitSchema, path])
            #expect(result.status == 0, "\(result.errorOutput)")
            let failure = try ChildProcess.run(try BuiltProducts.tool("xmllint"), ["--xpath", "string(//testcase[@name='write-past-end-refused']/failure)", path])
            #expect(failure.output.contains(#"MUST proto.md § Request types: "If an error occurs, the server MUST set the appropriate error code in the error field.""#))
        }

        /// A live export: without --allow-writes only the cases that do not write run, and nothing is written.
        @Test func targetRunsTheReadOnlySubsetUnlessWritesAreAllowed() throws {
            let nbdkit = try BuiltProducts.tool("nbdkit")
            let directory = try SpawnedServerEnvironment.makeTemporaryDirectory()
            defer { SpawnedServerEnvironment.removeDirectory(directory) }
            let socket = directory + "/nbd.sock"
            let server = try ServerProcess(command: "'\(nbdkit)' -f -U '\(socket)' memory 64M", placeholders: [:], logPath: directory + "/log")
            defer { server.stop(grace: 2) }
            try SocketWaiter.waitUntilListening(path: socket, server: server, seconds: 10)
            let readOnly = try InProcessRun.run({ $0.profile = .disk }, deployment: .target(.unix(path: socket), pipe: nil))
            #expect(readOnly.status == 0, "\(readOnly.console)")
            #expect(readOnly.result("disk/random-workload")?.message == "writes to the live export: needs --allow-writes")
            #expect(readOnly.result("disk/read-past-end-einval") == nil)
            #expect(readOnly.result("negotiation/list-exports")?.status == .passed)
            let writable = try InProcessRun.run({
                $0.profile = .disk
                $0.allowWrites = true
            }, deployment: .target(.unix(path: socket), pipe: nil))
            #expect(writable.status == 0, "\(writable.console)")
            #expect(writable.result("disk/random-workload")?.status == .passed)
            #expect(writable.result("disk/size-reported")?.status == .passed)
        }

        @Test func diskProfileNeedsAServerOrATarget() throws {
            let result = try ChildProcess.run(try BuiltProducts.require(BuiltProducts.conformance), ["--profile", "disk"])
            #expect(result.status == 2)
            #expect(result.errorOutput.contains("--profile disk needs --server"))
        }
    }
}
