@testable import StreamingPlugin
import Testing

@Suite struct ReorderWindowTests {
    typealias Segment = ReorderWindow.Segment

    func data(_ offset: UInt64, _ bytes: [UInt8]) -> Segment { Segment(offset: offset, content: .data(bytes[...])) }

    @Test func segmentsStaySortedAndCountTheirMemory() {
        var window = ReorderWindow(capacity: 10)
        window.hold(data(20, [3, 3]))
        window.hold(data(10, [1, 1, 1]))
        window.hold(Segment(offset: 30, content: .zeroes(1000)))
        #expect(window.segments.map(\.offset) == [10, 20, 30])
        // Zeroes cost no memory.
        #expect(window.heldBytes == 5)
        #expect(!window.isOverfull)
        window.hold(data(40, [UInt8](repeating: 4, count: 6)))
        #expect(window.isOverfull)
    }

    @Test func laterWriteReplacesTheBytesItOverlaps() {
        var window = ReorderWindow(capacity: 100)
        window.hold(data(10, [1, 1, 1, 1, 1, 1]))  // 10..<16
        window.hold(data(12, [2, 2]))  // 12..<14 splits it
        #expect(window.segments == [data(10, [1, 1]), data(12, [2, 2]), data(14, [1, 1])])
        #expect(window.heldBytes == 6)
        window.forget(from: 11, to: 15)
        #expect(window.segments == [data(10, [1]), data(15, [1])])
        #expect(window.heldBytes == 2)
    }

    @Test func overlayCopiesHeldDataOverZeroes() {
        var window = ReorderWindow(capacity: 100)
        window.hold(data(2, [7, 8]))
        window.hold(Segment(offset: 5, content: .zeroes(2)))
        var buffer = [UInt8](repeating: 0, count: 6)
        buffer.withUnsafeMutableBytes { window.overlay($0, offset: 1) }
        #expect(buffer == [0, 7, 8, 0, 0, 0])
        #expect(window.holdsData(from: 0, to: 3))
        #expect(!window.holdsData(from: 4, to: 100))
    }

    @Test func removeFirstReleasesMemory() {
        var window = ReorderWindow(capacity: 100)
        window.hold(data(5, [1, 2, 3]))
        window.hold(data(1, [9]))
        #expect(window.removeFirst() == data(1, [9]))
        #expect(window.heldBytes == 3)
        #expect(window.first == data(5, [1, 2, 3]))
    }
}

@Suite struct RetentionBufferTests {
    @Test func keepsTheNewestBytesAcrossTheRingsEdge() {
        var buffer = RetentionBuffer(capacity: 5)
        let first: [UInt8] = [1, 2, 3, 4], second: [UInt8] = [5, 6, 7]
        first.withUnsafeBytes { buffer.append($0) }
        second.withUnsafeBytes { buffer.append($0) }
        #expect(buffer.end == 7 && buffer.start == 2 && buffer.count == 5)
        var out = [UInt8](repeating: 0, count: 5)
        out.withUnsafeMutableBytes { buffer.copy(from: 2, into: $0) }
        #expect(out == [3, 4, 5, 6, 7])
    }

    @Test func anAppendLargerThanTheRingKeepsItsTail() {
        var buffer = RetentionBuffer(capacity: 3)
        let bytes: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        bytes.withUnsafeBytes { buffer.append($0) }
        var out = [UInt8](repeating: 0, count: 3)
        out.withUnsafeMutableBytes { buffer.copy(from: 5, into: $0) }
        #expect(out == [6, 7, 8])
        #expect(buffer.start == 5)
    }

    @Test func zeroCapacityOnlyCounts() {
        var buffer = RetentionBuffer(capacity: 0)
        [UInt8](repeating: 1, count: 10).withUnsafeBytes { buffer.append($0) }
        #expect(buffer.end == 10 && buffer.count == 0)
    }
}
