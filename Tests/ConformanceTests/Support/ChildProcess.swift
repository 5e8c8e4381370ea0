import Foundation

/// Runs a program to completion with a deadline, capturing its output; on timeout it is killed, so no test hangs.
struct ChildProcess {
    let status: Int32
    let output: String
    let errorOutput: String

    static func run(_ executable: String, _ arguments: [String], seconds: Double = 120) throws -> ChildProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        // Read while it runs so a full pipe cannot stall the child.
        let collected = OutputCollector(output: output, errors: errors)
        guard finished.wait(timeout: .now() + seconds) == .success else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw ChildTimeout(command: ([executable] + arguments).joined(separator: " "), seconds: seconds)
        }
        let (stdout, stderr) = collected.wait()
        return ChildProcess(status: process.terminationStatus, output: stdout, errorOutput: stderr)
    }
}

/// Drains both pipes on background threads until end of file.
private final class OutputCollector: @unchecked Sendable {
    private var stdout = Data()
    private var stderr = Data()
    private let done = DispatchGroup()

    init(output: Pipe, errors: Pipe) {
        done.enter()
        done.enter()
        Thread.detachNewThread { [self] in
            stdout = output.fileHandleForReading.readDataToEndOfFile()
            done.leave()
        }
        Thread.detachNewThread { [self] in
            stderr = errors.fileHandleForReading.readDataToEndOfFile()
            done.leave()
        }
    }

    func wait() -> (String, String) {
        _ = done.wait(timeout: .now() + 10)
        return (String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}

struct ChildTimeout: Error, CustomStringConvertible {
    let command: String
    let seconds: Double
    var description: String { "\(command) did not finish within \(seconds) s" }
}
