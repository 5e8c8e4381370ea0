import Foundation
import Logging
import NBDServer
@testable import StreamingPlugin
import Testing

/// The plugin over a regular file, in process: the windows' exact effect on
/// the bytes streamed, without sockets or timing.
@Suite final class WindowedPluginTests {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("window-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: path, contents: nil)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func plugin(_ mode: StreamingConfiguration.Mode, reorder: UInt64 = 0, retain: UInt64 = 0) throws -> StreamingPlugin {
        let configuration = StreamingConfiguration(mode: mode, path: path, size: 1 << 30, reorder: reorder, retain: retain)
        return try StreamingPlugin(configuration: configuration, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    var streamed: [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }

    func write(_ plugin: StreamingPlugin, _ bytes: [UInt8], at offset: UInt64, fua: Bool = false) throws {
        try bytes.withUnsafeBytes { buffer in try plugin.write(buffer, offset: offset, fua: fua) }
    }

    @Test func permutedWritesComeOutInOrder() throws {
        let plugin = try plugin(.write, reorder: 1 << 20)
        try plugin.openConnection()
        try write(plugin, [3, 3], at: 4)
        try write(plugin, [2, 2], at: 2)
        #expect(streamed.isEmpty)
        try write(plugin, [1, 1], at: 0)
        #expect(streamed == [1, 1, 2, 2, 3, 3])
        #expect(plugin.export.canMultiConn)
    }

    @Test func flushZeroFillsGapsThatNoWriteFilled() throws {
        let plugin = try plugin(.write, reorder: 1 << 20)
        try plugin.openConnection()
        try write(plugin, [9], at: 3)
        try plugin.flush()
        #expect(streamed == [0, 0, 0, 9])
        // The gap is streamed now: writing into it is the backward-seek error.
        #expect(throws: PluginError.self) { try write(plugin, [1], at: 0) }
    }

    @Test func fuaFlushesToo() throws {
        let plugin = try plugin(.write, reorder: 1 << 20)
        try plugin.openConnection()
        try write(plugin, [9], at: 2, fua: true)
        #expect(streamed == [0, 0, 9])
    }

    @Test func fullWindowGivesUpOnTheOldestGap() throws {
        let plugin = try plugin(.write, reorder: 4)
        try plugin.openConnection()
        try write(plugin, [2, 2, 2], at: 10)
        try write(plugin, [3, 3], at: 20)  // 5 bytes held > 4: the gap before 10 is filled
        #expect(streamed == [UInt8](repeating: 0, count: 10) + [2, 2, 2])
        let error = #expect(throws: PluginError.self) { try write(plugin, [1], at: 0) }
        #expect(error?.message.contains("reorder=1M or more would be needed") == true)
    }

    @Test func manyTinyHeldWritesAreBoundedByCountNotJustBytes() throws {
        let plugin = try plugin(.write, reorder: 1 << 30)
        try plugin.openConnection()
        // One-byte zero writes cost no data, but each is a segment to keep and scan.
        for index in 1...UInt64(ReorderWindow.maximumSegments + 10) {
            try plugin.writeZeroes(length: 1, offset: index * 2, fua: false)
        }
        // Past the cap the oldest gaps gave way: the stream moved although byte 0 never came.
        #expect(streamed.count > 0)
        #expect(streamed.allSatisfy { $0 == 0 })
    }

    @Test func lastConnectionLeavingStreamsWhatIsHeld() throws {
        let plugin = try plugin(.write, reorder: 1 << 20)
        try plugin.openConnection()
        try plugin.openConnection()
        try write(plugin, [5], at: 1)
        plugin.closeConnection()
        #expect(streamed.isEmpty)
        plugin.closeConnection()
        #expect(streamed == [0, 5])
        #expect(plugin.shutdown(patience: .zero) == nil)
    }

    @Test func errorStateLetsHeldWritesGo() throws {
        let plugin = try plugin(.write, reorder: 1 << 20)
        try plugin.openConnection()
        try write(plugin, [1, 1], at: 0)
        try write(plugin, [5], at: 9)
        #expect(throws: PluginError.self) { try write(plugin, [0], at: 1) }
        plugin.closeConnection()
        // Nothing more reaches a failed stream, held or not.
        #expect(streamed == [1, 1])
        #expect(plugin.shutdown(patience: .zero)?.message.contains("seek backwards") == true)
    }

    @Test func heldDataReadsBackAndIsReportedAsData() throws {
        let plugin = try plugin(.write, reorder: 1 << 20)
        try plugin.openConnection()
        try write(plugin, [7, 7], at: 2)
        var buffer = [UInt8](repeating: 0xff, count: 5)
        try buffer.withUnsafeMutableBytes { try plugin.read(into: $0, offset: 0) }
        #expect(buffer == [0, 0, 7, 7, 0])
        #expect(try plugin.extents(length: 4, offset: 0).allSatisfy { $0.kind == .data })
    }

    @Test func stopWithHeldDataReportsAnIncompleteStream() throws {
        let plugin = try plugin(.write, reorder: 1 << 20)
        try plugin.openConnection()
        try write(plugin, [5], at: 1)
        #expect(plugin.shutdown(patience: .zero)?.message.contains("1 bytes held in the reorder window were never streamed") == true)
    }

    @Test func retainServesRecentAndSkippedBytes() throws {
        _ = FileManager.default.createFile(atPath: path, contents: Data((0..<100).map { UInt8($0) }))
        let plugin = try plugin(.read, retain: 16)
        try plugin.openConnection()
        func read(_ count: Int, at offset: UInt64) throws -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: count)
            try buffer.withUnsafeMutableBytes { try plugin.read(into: $0, offset: offset) }
            return buffer
        }
        #expect(try read(10, at: 20) == Array(20..<30))  // skips 0..<20, keeping 14..<30
        #expect(try read(6, at: 14) == Array(14..<20))  // skipped over, still retained
        #expect(try read(8, at: 26) == Array(26..<34))  // half replayed, half new
        let error = #expect(throws: PluginError.self) { _ = try read(1, at: 10) }
        #expect(error?.message.contains("retain=1M or more would be needed") == true)
    }
}
