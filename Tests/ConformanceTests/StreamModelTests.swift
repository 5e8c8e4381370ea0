import Glibc
import Testing
@testable import NBDConformance

/// The model is the oracle for every stream case, so its reading of the contract is pinned down here.
struct StreamModelTests {
    @Test func writeModeAppendsZeroFillsAndRejectsBackwardWritesForGood() {
        var model = StreamModel(mode: .write, exportSize: 1 << 20)
        #expect(model.apply(.write(offset: 0, length: 100, fua: false)) == .success)
        #expect(model.apply(.write(offset: 150, length: 10, fua: false)) == .success)
        #expect(model.apply(.read(offset: 160, length: 10)) == .data(.zeroes))
        #expect(model.stream.runs.map(\.content) == [.pattern, .zeroes, .pattern])
        #expect(model.stream.length == 160)
        #expect(model.apply(.write(offset: 159, length: 1, fua: false)) == .failure(errno: EIO))
        #expect(model.apply(.write(offset: 160, length: 1, fua: false)) == .failure(errno: EIO))
        #expect(model.apply(.flush) == .failure(errno: EIO))
        #expect(model.stream.length == 160)
    }

    @Test func outOfRangeRequestsLeaveTheStreamAlone() {
        var model = StreamModel(mode: .write, exportSize: 1000)
        #expect(model.apply(.write(offset: 990, length: 11, fua: false)) == .refused(preferring: ENOSPC))
        #expect(model.apply(.read(offset: 1000, length: 1)) == .refused(preferring: EINVAL))
        #expect(model.apply(.write(offset: 0, length: StreamModel.defaultMaximumPayload + 1, fua: false)) == .anyFailure)
        #expect(model.stream.length == 0)
        #expect(!model.inErrorState)
    }

    @Test func readModeDiscardsGapsAndFailsAtEndOfFile() {
        var model = StreamModel(mode: .read, exportSize: 1 << 20, pipeLength: 300)
        #expect(model.apply(.read(offset: 0, length: 100)) == .data(.pattern))
        #expect(model.apply(.read(offset: 200, length: 50)) == .data(.pattern))
        #expect(model.apply(.write(offset: 250, length: 1, fua: false)) == .refused(preferring: EPERM))
        #expect(model.apply(.read(offset: 250, length: 51)) == .failure(errno: EIO))
        #expect(model.apply(.read(offset: 250, length: 1)) == .failure(errno: EIO))
        #expect(model.stream.length == 250)
    }

    @Test func randomWorkloadsAreReproducibleFromTheSeed() {
        var first = RandomWorkload(seed: 99)
        var second = RandomWorkload(seed: 99)
        var other = RandomWorkload(seed: 100)
        let workload = first.writeMode(count: 200, exportSize: 64 << 20)
        #expect(workload == second.writeMode(count: 200, exportSize: 64 << 20))
        #expect(workload != other.writeMode(count: 200, exportSize: 64 << 20))
    }

    @Test func patternDependsOnlyOnSeedAndOffset() {
        let pattern = StreamPattern(seed: 5)
        let whole = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        let part = UnsafeMutableRawBufferPointer.allocate(byteCount: 13, alignment: 8)
        defer {
            whole.deallocate()
            part.deallocate()
        }
        pattern.fill(whole, streamOffset: 1000)
        pattern.fill(part, streamOffset: 1003)
        #expect(Array(whole[3 ..< 16]) == Array(part))
        #expect(Array(part) != Array(repeating: part[0], count: 13))
    }
}
