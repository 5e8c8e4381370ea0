import Foundation
@testable import NBDConformance

/// Runs the harness in this process with a console that records instead of printing, and returns the JSON
/// report it wrote alongside the exit status.
struct InProcessRun {
    let status: Int32
    let report: DecodedReport
    let console: String

    static func run(_ configure: (inout RunConfiguration) -> Void, deployment: RunConfiguration.Deployment, seed: UInt64 = 42) throws -> InProcessRun {
        let directory = try SpawnedServerEnvironment.makeTemporaryDirectory()
        defer { SpawnedServerEnvironment.removeDirectory(directory) }
        var configuration = RunConfiguration(deployment: deployment, seed: seed)
        configuration.jsonPath = directory + "/report.json"
        configure(&configuration)
        let console = ConsoleCapture()
        let status = ConformanceRun.execute(configuration, console: ConsoleReporter(write: console.append))
        let data = try Data(contentsOf: URL(fileURLWithPath: configuration.jsonPath!))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return InProcessRun(status: status, report: try decoder.decode(DecodedReport.self, from: data), console: console.text)
    }

    func result(_ id: String) -> CaseResult? { report.results.first { $0.id == id } }
    func ids(with status: CaseResult.Status) -> [String] { report.results.filter { $0.status == status }.map(\.id) }
}

/// The JSON report as scripts see it.
struct DecodedReport: Decodable {
    let properties: [String: String]
    let summary: [String: Int]
    let exitStatus: Int32
    let results: [CaseResult]
}

final class ConsoleCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""
    func append(_ text: String) { lock.withLock { buffer += text } }
    var text: String { lock.withLock { buffer } }
}
