import ArgumentParser
import Glibc

/// The reading end of a pipe: the reader of nbd-streaming's write mode, or the consumer of the bare pipe.
struct DrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain", abstract: "Read PATH to end of file and drop the bytes; timed from open to end of file.")

    @Argument(help: "The FIFO (or any file) to read.")
    var path: String

    @Flag(help: "Move the bytes with splice() into /dev/null instead of copying them with read().")
    var splice = false

    @Option(help: "Bytes asked for per call.")
    var chunk: ByteCount = ByteCount(argument: "1M")!

    func run() throws {
        let source = try openOrThrow(path, O_RDONLY)
        defer { close(source) }
        let start = monotonicSeconds()
        let (bytes, calls) = splice ? try spliceToNull(from: source, chunk: chunk.value) : try readToEnd(source, chunk: chunk.value)
        report("drain", bytes: bytes, seconds: monotonicSeconds() - start, requests: calls)
    }
}

/// The writing end of a pipe: the feeder of nbd-streaming's read mode, or the producer of the bare pipe.
struct FeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed", abstract: "Write --size bytes of pattern data into PATH, then close it; timed from open to the last write.")

    @Argument(help: "The FIFO (or any file) to write.")
    var path: String

    @Option(help: "Bytes to write.")
    var size: ByteCount

    @Flag(help: "Hand the pages over with vmsplice() instead of copying them with write().")
    var splice = false

    @Option(help: "Bytes offered per call.")
    var chunk: ByteCount = ByteCount(argument: "1M")!

    func run() throws {
        // A reader that goes away must end the feed with an error, not kill it silently.
        signal(SIGPIPE, SIG_IGN)
        let sink = try openOrThrow(path, O_WRONLY)
        defer { close(sink) }
        let start = monotonicSeconds()
        let calls = try writePattern(to: sink, size: size.value, chunk: chunk.value, gift: splice)
        report("feed", bytes: size.value, seconds: monotonicSeconds() - start, requests: calls)
    }
}

private func openOrThrow(_ path: String, _ flags: Int32) throws -> Int32 {
    while true {
        let descriptor = open(path, flags | O_CLOEXEC)
        if descriptor >= 0 { return descriptor }
        if errno != EINTR { throw SystemCallError("open \(path)") }
    }
}
