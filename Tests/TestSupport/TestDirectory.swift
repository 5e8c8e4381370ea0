import Foundation

/// A fresh directory per test, removed with everything in it when the test ends.
public final class TestDirectory {
    public let path: String

    public init() throws {
        var template = Array("/tmp/nbd-streaming-test.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp: \(String(cString: strerror(errno)))") }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }

    public func makeFIFO(_ name: String) throws -> String {
        let fifo = file(name)
        guard mkfifo(fifo, 0o600) == 0 else { throw TestFailure("mkfifo \(fifo): \(String(cString: strerror(errno)))") }
        return fifo
    }

    public func write(_ bytes: [UInt8], to name: String) throws -> String {
        let path = file(name)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw TestFailure("cannot write \(path)") }
        return path
    }

    public func contents(of name: String) -> [UInt8]? {
        FileManager.default.contents(atPath: file(name)).map { [UInt8]($0) }
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Repeats `condition` until it holds or `seconds` pass: every wait in these
/// tests is bounded, so a bug fails a test instead of hanging the run.
public func waitUntil(_ what: String, seconds: Double = 10, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while try !condition() {
        guard Date() < deadline else { throw TestFailure("timed out after \(seconds) s waiting for \(what)") }
        usleep(2_000)
    }
}

/// Deterministic, non-repeating test data: a run of zeroes in the stream can
/// then only come from zero-fill, never from the data itself.
public func testPattern(count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 56) | 1
    }
}
