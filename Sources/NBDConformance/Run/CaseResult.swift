/// The verdict on one case, as every reporter sees it.
public struct CaseResult: Sendable, Codable {
    public enum Status: String, Sendable, Codable {
        case passed
        case failed
        case skipped
        /// A harness or infrastructure fault, not the server's.
        case error
    }

    public let id: String
    public let group: String
    public let name: String
    public let summary: String
    public let level: RequirementLevel
    /// The requirement the case checks, as `Requirement.citation` words it.
    public let requirement: String
    public let status: Status
    public let message: String?
    public let kind: FailureKind?
    public let details: String?
    public let seconds: Double

    init(_ testCase: ConformanceCase, status: Status, message: String? = nil, kind: FailureKind? = nil, details: String? = nil, seconds: Double) {
        id = testCase.id
        group = testCase.group
        name = testCase.name
        summary = testCase.summary
        level = testCase.level
        requirement = testCase.requirement.citation
        self.status = status
        self.message = message
        self.kind = kind
        self.details = details
        self.seconds = seconds
    }
}
