/// How strongly the source asks for the behaviour a case checks, in the source's own word. MUST cases run by
/// default; SHOULD cases under `--strict`; MAY cases (also `--strict`) only report what the server chose among
/// behaviours the spec permits, and fail only when the exchange itself breaks.
public enum RequirementLevel: String, Sendable, Codable {
    case must = "MUST"
    case should = "SHOULD"
    case may = "MAY"
}

/// What one case checks, in the spirit of h2spec: the level, where it is written, and the words themselves.
public struct Requirement: Sendable {
    public let level: RequirementLevel
    /// `proto.md § Section`, RFC 8446 (TLS 1.3), the man page, nbdkit's plugin source, or this project's docs.
    public let source: String
    /// A short sentence quoted exactly (whitespace folded), or the man-page line.
    public let quote: String

    /// A requirement of the NBD protocol (NetworkBlockDevice/nbd doc/proto.md), quoted from `section`.
    static func spec(_ level: RequirementLevel, _ section: String, _ quote: String) -> Requirement {
        Requirement(level: level, source: "proto.md § \(section)", quote: quote)
    }

    /// A requirement of TLS 1.3 itself (RFC 8446), quoted from `section`: what the spec's "all further data
    /// MUST be sent and received over TLS" holds a server to once the session is up.
    static func tls13(_ level: RequirementLevel, _ section: String, _ quote: String) -> Requirement {
        Requirement(level: level, source: "RFC 8446 § \(section)", quote: quote)
    }

    /// The streaming contract as the man page words it; the man page states behaviour, so its level is MUST.
    static func manPage(_ quote: String) -> Requirement {
        Requirement(level: .must, source: "nbdkit-streaming-plugin(1)", quote: quote)
    }

    /// The streaming contract where only the reference implementation states it: its error message.
    static func reference(_ quote: String) -> Requirement {
        Requirement(level: .must, source: "nbdkit 1.24.1 plugins/streaming/streaming.c", quote: quote)
    }

    /// Behaviour this project documents for its own extensions (nbd-streaming's windows).
    static func project(_ document: String, _ quote: String) -> Requirement {
        Requirement(level: .must, source: document, quote: quote)
    }

    /// What any server owes every other client: a hostile one ends at most its own session. The spec permits
    /// that disconnect ("it MAY initiate a hard disconnect"); docs/conformance.md states the baseline.
    static func robustness(_ quote: String) -> Requirement {
        Requirement(level: .must, source: "docs/conformance.md (robustness)", quote: quote)
    }

    /// The requirement as one line: `MUST proto.md § NBD_CMD_WRITE: "…"`.
    public var citation: String { "\(level.rawValue) \(source): \"\(quote)\"" }
}
