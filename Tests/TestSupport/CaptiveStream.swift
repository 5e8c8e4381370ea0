import Foundation

/// `nbd-streaming -U - ... --run CLIENT` over a FIFO, with the pipe's other end
/// played by the test: how the interop tests stream `data` through real clients.
public struct CaptiveStream {
    public let directory: TestDirectory
    public let data: [UInt8]
    /// The image file clients copy from, holding `data`.
    public let image: String

    public init(data: [UInt8]) throws {
        directory = try TestDirectory()
        self.data = data
        image = try directory.write(data, to: "input.raw")
    }

    /// Write mode: what `client` wrote, as it came out of the pipe.
    public func write(_ parameters: [String] = [], client: String) throws -> (result: CommandResult, streamed: [UInt8]) {
        let pipe = try directory.makeFIFO("out-\(UUID().uuidString)")
        let reader = try PipeReader(path: pipe)
        let result = try run(ServerProcess.binary, ["-U", "-", "write=\(pipe)", "size=\(data.count)"] + parameters + ["--run", client],
                             seconds: 120)
        return (result, try reader.contents(within: 60))
    }

    /// Read mode: `data` fed into the pipe; `client` writes what it read to the
    /// path that replaces OUTPUT, which is returned.
    public func read(_ parameters: [String] = [], client: String) throws -> (result: CommandResult, output: [UInt8]?) {
        let pipe = try directory.makeFIFO("in-\(UUID().uuidString)")
        let writer = PipeWriter(path: pipe, bytes: data)
        let output = directory.file("output-\(UUID().uuidString)")
        let result = try run(ServerProcess.binary, ["-U", "-", "read=\(pipe)", "size=\(data.count)"] + parameters
            + ["--run", client.replacingOccurrences(of: "OUTPUT", with: output)], seconds: 120)
        _ = writer.finished()
        return (result, FileManager.default.contents(atPath: output).map { [UInt8]($0) })
    }
}
