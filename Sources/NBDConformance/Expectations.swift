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

/// Runs `body`, which must fail with `errno` (or with any error when `errno` is nil).
func expectFailure(_ errno: Int32?, _ what: String, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as NBDError {
        guard let errno, error.errno != errno else { return }
        throw CaseFailure("\(what) failed with the wrong error", details: "expected: \(errnoName(errno))\nactual:   \(error)")
    }
    throw CaseFailure("\(what) succeeded", details: "expected: failure\(errno.map { " \(errnoName($0))" } ?? "")\nactual:   success")
}

/// Runs `body`, which must succeed; an NBDError becomes a failure naming the step.
@discardableResult
func expectSuccess<T>(_ what: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as NBDError {
        throw CaseFailure("\(what) failed", details: "expected: success\nactual:   \(error)", kind: "nbd-error")
    }
}
