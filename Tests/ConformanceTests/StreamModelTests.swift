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

    /// A WRITE_ZEROES longer than the maximum payload may be refused with EOVERFLOW or EINVAL; either way the write
    /// beyond it makes the same stream.
    @Test func zeroesOverTheMaximumMayBeRefused() {
        var model = StreamModel(mode: .write, exportSize: 1 << 30, maximumPayload: 1 << 20)
        #expect(model.apply(.zero(offset: 0, length: 1 << 20)) == .success)
        #expect(model.apply(.zero(offset: 1 << 20, length: 4 << 20)) == .successOrFailure(errnos: [EOVERFLOW, EINVAL]))
        #expect(model.apply(.write(offset: 5 << 20, length: 10, fua: false)) == .success)
        #expect(model.stream.length == (5 << 20) + 10)
    }

    /// Workloads use only what the server advertised: without FLUSH, FUA and WRITE_ZEROES none is sent.
    @Test func randomWriteWorkloadSendsOnlyAdvertisedCommands() {
        for seed: UInt64 in 1 ... 20 {
            var generator = RandomWorkload(seed: seed)
            let requests = generator.writeMode(count: 300, exportSize: 64 << 20, advertised: [])
            #expect(!requests.contains { request in
                switch request {
                case .flush, .zero, .write(_, _, true): true
                case .write, .read: false
                }
            }, "seed \(seed)")
        }
        var generator = RandomWorkload(seed: 1)
        let everything = generator.writeMode(count: 300, exportSize: 64 << 20, advertised: .all)
        #expect(everything.contains(.flush) && everything.contains { if case .write(_, _, true) = $0 { true } else { false } })
    }

    /// A request longer than the limit goes as consecutive pieces within it, covering the same bytes.
    @Test func longRequestsSplitWithinTheLimit() {
        #expect(StreamRequest.write(offset: 10, length: 250, fua: true).split(within: 100)
            == [.write(offset: 10, length: 100, fua: true), .write(offset: 110, length: 100, fua: true), .write(offset: 210, length: 50, fua: true)])
        #expect(StreamRequest.read(offset: 0, length: 100).split(within: 100) == [.read(offset: 0, length: 100)])
        #expect(StreamRequest.zero(offset: 0, length: 0).split(within: 100) == [.zero(offset: 0, length: 0)])
        #expect(StreamRequest.read(offset: .max - 10, length: 300).split(within: 100) == [.read(offset: .max - 10, length: 300)])
        #expect(DiskRequest.trim(offset: 4096, length: 12288).split(within: 8192) == [.trim(offset: 4096, length: 8192), .trim(offset: 12288, length: 4096)])
    }

    /// The limit is the advertised maximum in whole preferred blocks (minimum blocks if the preferred is larger),
    /// and never more than the 32 MiB a workload assumes without one.
    @Test func requestLimitFollowsTheAdvertisedBlockSizes() {
        var advertised = Advertised()
        #expect(advertised.requestLimit == 32 << 20)
        (advertised.minimumBlock, advertised.preferredBlock, advertised.maximumPayload) = (1, 4096, 65536 + 100)
        #expect(advertised.requestLimit == 65536)
        (advertised.minimumBlock, advertised.preferredBlock, advertised.maximumPayload) = (512, 1 << 20, 3 * 512 + 7)
        #expect(advertised.requestLimit == 3 * 512)
        advertised.maximumPayload = 0xFFFF_FFFF
        #expect(advertised.requestLimit == 32 << 20)
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
