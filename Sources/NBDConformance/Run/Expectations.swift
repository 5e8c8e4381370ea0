import NBDClient

/// Assertions for case bodies; each throws a CaseFailure whose details give the expected and actual values.
func expect(_ condition: Bool, _ message: @autoclosure () -> String, expected: @autoclosure () -> String = "", actual: @autoclosure () -> String = "") throws {
    guard !condition else { return }
    let expectedText = expected()
    throw CaseFailure(message(), details: expectedText.isEmpty ? "" : "expected: \(expectedText)\nactual:   \(actual())")
}

func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ message: @autoclosure () -> String) throws {
    try expect(actual == expected, message(), expected: "\(expected)", actual: "\(actual)")
}

/// Runs `body`, which must succeed; an NBDError becomes a failure naming the step.
@discardableResult
func expectSuccess<T>(_ what: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as NBDError {
        throw CaseFailure("\(what) failed", details: "expected: success\nactual:   \(error)", kind: .nbdError)
    }
}
