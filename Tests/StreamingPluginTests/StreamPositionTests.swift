import NBDServer
@testable import StreamingPlugin
import Testing

/// The stream's rules without any I/O.
@Suite struct StreamPositionTests {
    @Test func writesAppendAndPlanTheGap() throws {
        var position = StreamPosition(mode: .write)
        #expect(try position.planWrite(offset: 0, length: 1) == 0)
        position.advance(to: 100)
        #expect(try position.planWrite(offset: 100, length: 1) == 0)
        #expect(try position.planWrite(offset: 150, length: 1) == 50)
    }

    @Test func backwardWriteEntersTheErrorStateForGood() throws {
        var position = StreamPosition(mode: .write)
        position.advance(to: 100)
        #expect(throws: PluginError.self) { try position.planWrite(offset: 99, length: 1) }
        #expect(position.failure?.contains("client tried to seek backwards and write") == true)
        // Even a request that would have been fine now fails, with the first cause.
        let later = #expect(throws: PluginError.self) { try position.planWrite(offset: 100, length: 1) }
        #expect(later?.errno == .ioError)
        #expect(later?.message.contains("seek backwards") == true)
        #expect(throws: PluginError.self) { try position.checkHealthy() }
    }

    @Test func writeModeReadsAtOrAboveTheHighwaterAreZeroesBelowAreFatal() throws {
        var position = StreamPosition(mode: .write)
        position.advance(to: 10)
        #expect(try position.planRead(offset: 10, length: 1) == .zeroes)
        #expect(try position.planRead(offset: 1 << 40, length: 1) == .zeroes)
        #expect(throws: PluginError.self) { try position.planRead(offset: 9, length: 1) }
        #expect(position.failure != nil)
    }

    @Test func readModeReadsStreamSkipForwardAndFailBackward() throws {
        var position = StreamPosition(mode: .read)
        #expect(try position.planRead(offset: 0, length: 1) == .stream(gap: 0))
        position.advance(to: 10)
        #expect(try position.planRead(offset: 30, length: 1) == .stream(gap: 20))
        #expect(throws: PluginError.self) { try position.planRead(offset: 5, length: 1) }
        #expect(position.failure?.contains("seek backwards and read") == true)
    }

    @Test func firstFailureIsKept() {
        var position = StreamPosition(mode: .write)
        position.fail("first")
        position.fail("second")
        #expect(position.failure == "first")
    }

    @Test func extentsSplitAtTheHighwaterInWriteMode() {
        var position = StreamPosition(mode: .write)
        position.advance(to: 1000)
        #expect(position.extents(length: 500, offset: 0) == [PluginExtent(length: 500, kind: .data)])
        #expect(position.extents(length: 500, offset: 800) == [PluginExtent(length: 200, kind: .data), PluginExtent(length: 300, kind: [.hole, .zero])])
        #expect(position.extents(length: 500, offset: 1000) == [PluginExtent(length: 500, kind: [.hole, .zero])])
        #expect(StreamPosition(mode: .read).extents(length: 500, offset: 0) == [PluginExtent(length: 500, kind: .data)])
    }
}
