import Foundation

/// The same results as JSON for scripts: the run's properties, a summary and one object per case.
public enum JSONReporter {
    struct Document: Encodable {
        let tool = "nbd-conformance"
        let startedAt: Date
        let seconds: Double
        let properties: [String: String]
        let summary: [String: Int]
        let exitStatus: Int32
        let results: [CaseResult]
    }

    public static func json(_ report: RunReport) throws -> Data {
        let document = Document(
            startedAt: report.startedAt, seconds: report.seconds,
            properties: Dictionary(report.properties.map { ($0.name, $0.value) }) { _, last in last },
            summary: ["total": report.results.count, "passed": report.count(.passed), "failed": report.count(.failed),
                      "skipped": report.count(.skipped), "errors": report.count(.error)],
            exitStatus: report.exitStatus, results: report.results)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(document)
    }
}
