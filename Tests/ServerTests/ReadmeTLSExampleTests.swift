import Foundation
import TestSupport
import Testing

/// The README's two-host TLS examples, run as written on one machine:
/// `localhost` for the backup host and a free port for 10809, the README's
/// own lines otherwise, with this build's nbd-streaming first on PATH.
@Suite struct ReadmeTLSExampleTests {
    static let section = "### Between hosts: TLS"

    /// The shell blocks of the README's TLS section, in order.
    static func blocks() throws -> [String] {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        guard let start = text.range(of: "\n\(section)\n") else { throw TestFailure("README.md has no \(section) section") }
        let rest = text[start.upperBound...]
        let body = rest.range(of: "\n### ").map { rest[..<$0.lowerBound] } ?? rest
        return body.components(separatedBy: "```sh\n").dropFirst().map { String($0.components(separatedBy: "\n```")[0]) }
    }

    @Test func theSectionHoldsThePreSharedKeyAndTheCertificateExamples() throws {
        let blocks = try Self.blocks()
        #expect(blocks.count == 2)
        #expect(blocks.first?.contains("--tls-psk=keys.psk") == true)
        #expect(blocks.last?.contains("--tls-verify-peer") == true)
    }

    @Test(arguments: [0, 1])
    func exampleRunsAsWritten(block index: Int) throws {
        let blocks = try Self.blocks()
        try #require(index < blocks.count)
        let directory = try TestDirectory()
        let image = testPattern(count: 4 << 20)
        _ = try directory.write(image, to: "disk.raw")
        let script = blocks[index]
            .replacingOccurrences(of: "backup.example.com", with: "localhost")
            .replacingOccurrences(of: "10809", with: "\(try freeLoopbackPort())")
        let binaries = URL(fileURLWithPath: ServerProcess.binary).deletingLastPathComponent().path
        // The example's server forks into the background; it must not outlive a failed run.
        defer {
            if let text = try? String(contentsOfFile: directory.file("nbd.pid"), encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(pid, SIGKILL)
            }
        }
        let result = try run("/bin/bash", ["-ec", "cd \"$0\"\n" + script, directory.path], seconds: 120,
                             environment: ["PATH": "\(binaries):\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")"])
        #expect(result.status == 0, "\(result.output)")
        let unpacked = try run("/bin/sh", ["-c", "gunzip -c \"$0/disk.raw.gz\" > \"$0/unpacked.raw\"", directory.path])
        #expect(unpacked.status == 0, "\(unpacked.output)")
        #expect(firstDifference(directory.contents(of: "unpacked.raw") ?? [], image) == nil)
    }
}
