import Glibc
import Testing
@testable import NBDConformance

/// The disk model is the oracle of the disk profile, so its reading of the spec is pinned down here.
struct DiskModelTests {
    private func read(_ model: inout DiskModel, _ offset: UInt64, _ length: UInt64) -> DiskModel.Expectation {
        model.apply(.read(offset: offset, length: length)).1!
    }

    @Test func readsReturnTheLastWriteAndZeroesAndForgetTrimmedBytes() {
        var model = DiskModel(size: 4 << 20, readOnly: false, seed: 3)
        #expect(read(&model, 0, 16).known.allSatisfy { !$0 })
        #expect(model.apply(.write(offset: (1 << 20) - 8, length: 16, fua: false, generation: 1)).0 == .success)
        let written = read(&model, (1 << 20) - 8, 16)
        #expect(written.known.allSatisfy { $0 })
        var expected = [UInt8](repeating: 0, count: 16)
        expected.withUnsafeMutableBytes { DiskModel.pattern(seed: 3, generation: 1).fill($0, streamOffset: (1 << 20) - 8) }
        #expect(written.bytes == expected)
        _ = model.apply(.zero(offset: 1 << 20, length: 4, noHole: true))
        #expect(Array(read(&model, 1 << 20, 8).bytes.prefix(4)) == [0, 0, 0, 0])
        #expect(Array(read(&model, 1 << 20, 8).bytes.suffix(4)) == Array(expected.suffix(4)))
        _ = model.apply(.trim(offset: (1 << 20) - 8, length: 4))
        #expect(read(&model, (1 << 20) - 8, 8).known == [false, false, false, false, true, true, true, true])
    }

    @Test func refusalsFollowTheErrorValuesSection() {
        var model = DiskModel(size: 1 << 20, readOnly: false, seed: 1)
        #expect(model.apply(.write(offset: (1 << 20) - 1, length: 2, fua: false, generation: 1)).0 == .refused(preferring: ENOSPC))
        #expect(model.apply(.zero(offset: 1 << 20, length: 1, noHole: false)).0 == .refused(preferring: ENOSPC))
        #expect(model.apply(.read(offset: 1 << 20, length: 1)).0 == .refused(preferring: EINVAL))
        #expect(model.apply(.trim(offset: (1 << 20) - 1, length: 2)).0 == .refused(preferring: EINVAL))
        // A refused write may have landed inside the export: the spec does not make it all-or-nothing.
        _ = model.apply(.write(offset: (1 << 20) - 8, length: 8, fua: false, generation: 2))
        #expect(model.apply(.write(offset: (1 << 20) - 4, length: 8, fua: false, generation: 3)).0 == .refused(preferring: ENOSPC))
        #expect(model.apply(.read(offset: (1 << 20) - 8, length: 8)).1!.known == [true, true, true, true, false, false, false, false])
        var readOnly = DiskModel(size: 1 << 20, readOnly: true, seed: 1)
        #expect(readOnly.apply(.write(offset: 0, length: 1, fua: false, generation: 1)).0 == .refused(preferring: EPERM))
        #expect(readOnly.apply(.trim(offset: 0, length: 1)).0 == .refused(preferring: EPERM))
        #expect(readOnly.apply(.read(offset: 0, length: 1)).0 == .success)
    }
}
