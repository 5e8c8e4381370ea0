import Testing
@testable import NBDConformance

/// A deliberately broken server (or proxy) and the case that must catch it, with the failure kind it must report.
struct InjectedFault: Sendable, CustomTestStringConvertible {
    let name: String
    let caughtBy: String
    let kind: FailureKind
    /// Short for a fault that hangs, so its timeout costs little.
    var timeout: Double = 20
    var testDescription: String { name }
}
