import Glibc
import Logging
import NBDProtocol
@testable import NBDServer
import Synchronization
import SystemPackage
import Testing

/// Transmission over a real socketpair with a plugin that records its calls:
/// a burst the client pipelined arrives in one read, consecutive WRITEs reach
/// the plugin merged, and every reply leaves only after the plugin took the
/// bytes (and the FLUSH) it answers for.
@Suite struct PipelinedWritesTests {
    /// One plugin call, with the number of reply bytes the client could
    /// already read when it was made.
    struct Call: Equatable {
        let name: String
        let offset: UInt64
        let length: Int
        let fua: Bool
        let repliesAlreadySent: Int
    }

    final class RecordingPlugin: NBDPlugin {
        let export = ExportDescription(size: 1 << 20, isReadOnly: false, maximumPayload: 64 * 1024)
        let client: FileDescriptor
        private let recorded = Mutex<(calls: [Call], bytes: [UInt8])>(([], []))

        init(client: FileDescriptor) { self.client = client }

        var calls: [Call] { recorded.withLock { $0.calls } }
        var bytes: [UInt8] { recorded.withLock { $0.bytes } }

        /// Replies the server has sent so far, peeked at without taking them.
        private func repliesSent() -> Int {
            var peek = [UInt8](repeating: 0, count: 4096)
            let count = peek.withUnsafeMutableBytes { recv(client.rawValue, $0.baseAddress, $0.count, Int32(MSG_PEEK | MSG_DONTWAIT)) }
            return max(0, count) / Reply.simpleHeaderLength
        }

        private func record(_ name: String, _ offset: UInt64, _ length: Int, _ fua: Bool, _ data: UnsafeRawBufferPointer? = nil) {
            let call = Call(name: name, offset: offset, length: length, fua: fua, repliesAlreadySent: repliesSent())
            recorded.withLock {
                $0.calls.append(call)
                if let data { $0.bytes += data }
            }
        }

        func openConnection() throws(PluginError) {}
        func closeConnection() {}
        func write(_ data: UnsafeRawBufferPointer, offset: UInt64, fua: Bool) throws(PluginError) {
            record("write", offset, data.count, fua, data)
        }
        func flush() throws(PluginError) { record("flush", 0, 0, false) }
        func read(into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) throws(PluginError) { unexpected() }
        func writeZeroes(length: UInt32, offset: UInt64, fua: Bool) throws(PluginError) { unexpected() }
        func cache(length: UInt32, offset: UInt64) throws(PluginError) { unexpected() }
        func extents(length: UInt32, offset: UInt64) throws(PluginError) -> [PluginExtent] { unexpected() }
        func shutdown(patience: Duration) -> PluginError? { nil }

        private func unexpected() -> Never { preconditionFailure("the burst holds only WRITE and FLUSH") }
    }

    static let block = 4096

    static func write(_ cookie: UInt64, at offset: UInt64, fua: Bool = false) -> [UInt8] {
        RequestHeader(flags: fua ? [.fua] : [], command: .write, cookie: cookie, offset: offset, length: UInt32(block)).encode()
            + [UInt8](repeating: UInt8(truncatingIfNeeded: cookie), count: block)
    }

    static func request(_ command: Command, _ cookie: UInt64) -> [UInt8] {
        RequestHeader(command: command, cookie: cookie, offset: 0, length: 0).encode()
    }

    @Test func aBurstIsMergedUpToWhatBreaksItAndEachReplyFollowsItsBytes() throws {
        let k = UInt64(Self.block)
        let burst = Self.write(1, at: 0) + Self.write(2, at: k, fua: true) + Self.write(3, at: 2 * k)
            + Self.request(.flush, 4)
            + Self.write(5, at: 3 * k)
            + Self.write(6, at: 1 << 20)  // past the end: refused, and it ends the run
            + Self.write(7, at: 4 * k)
            + Self.write(8, at: 8 * k)     // not where the stream left off
            + Self.request(.disconnect, 9)

        var ends: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0 else { throw Errno(rawValue: errno) }
        let server = FileDescriptor(rawValue: ends[0]), client = FileDescriptor(rawValue: ends[1])
        defer { try? client.close() }
        _ = try client.writeAll(burst)
        let plugin = RecordingPlugin(client: client)
        let connection = Connection(channel: PlainChannel(input: server, output: server))
        let transmission = Transmission(connection: connection, plugin: plugin, session: Session(), configuration: ServerConfiguration(),
                                        logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        try transmission.run()
        try server.close()

        #expect(plugin.calls == [
            Call(name: "write", offset: 0, length: 3 * Self.block, fua: true, repliesAlreadySent: 0),
            Call(name: "flush", offset: 0, length: 0, fua: false, repliesAlreadySent: 3),
            Call(name: "write", offset: 3 * k, length: Self.block, fua: false, repliesAlreadySent: 4),
            Call(name: "write", offset: 4 * k, length: Self.block, fua: false, repliesAlreadySent: 6),
            Call(name: "write", offset: 8 * k, length: Self.block, fua: false, repliesAlreadySent: 7),
        ])
        #expect(plugin.bytes == [1, 2, 3, 5, 7, 8].flatMap { [UInt8](repeating: $0, count: Self.block) })

        var sent = [UInt8](repeating: 0, count: 4096)
        let count = try sent.withUnsafeMutableBytes { try client.read(into: $0) }
        let replies = try stride(from: 0, to: count, by: Reply.simpleHeaderLength).map {
            try ReplyHeader.decode(Array(sent[$0..<$0 + Reply.simpleHeaderLength]))
        }
        #expect(replies == (1...8).map { ReplyHeader.simple(cookie: $0, error: $0 == 6 ? .noSpace : .ok) })
    }
}
