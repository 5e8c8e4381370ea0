/// Seeded workloads that mix appends, forward gaps, zeroes, flushes and reads, and sometimes end with a backward
/// write and a request after it. The model decides every expected outcome, so the generator need not.
struct RandomWorkload {
    /// xorshift64*: tiny, and the sequence depends only on the seed.
    struct Generator {
        private var state: UInt64

        init(seed: UInt64) { state = seed ^ 0x5DEE_CE66_D1CE_4E5B }

        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }

        mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }
    }

    private var random: Generator

    init(seed: UInt64) { random = Generator(seed: seed) }

    private mutating func below(_ bound: UInt64) -> UInt64 { random.below(bound) }

    /// A request length (mostly under 8 KiB, one in four up to 256 KiB) and, one time in five, a forward gap before it.
    private mutating func nextGapAndLength() -> (gap: UInt64, length: UInt64) {
        let length = 1 + below(below(4) == 0 ? 256 * 1024 : 8192)
        let gap = below(5) == 0 ? below(128 * 1024) : 0
        return (gap, length)
    }

    /// `count` write-mode requests staying within `exportSize` and using only the commands and flags the server
    /// advertised (FLUSH, FUA, WRITE_ZEROES).
    mutating func writeMode(count: Int, exportSize: UInt64, advertised: Commands = .all, mayEnd: Bool = true) -> [StreamRequest] {
        var requests: [StreamRequest] = []
        var highwater: UInt64 = 0
        for _ in 0 ..< count {
            let (gap, length) = nextGapAndLength()
            guard highwater + gap + length <= exportSize else { break }
            // Every draw is made whatever was advertised, so one seed gives the same sizes on every server.
            let kind = below(10)
            let fua = below(8) == 0 && advertised.contains(.fua)
            switch kind {
            case 0 where advertised.contains(.writeZeroes): requests.append(.zero(offset: highwater + gap, length: length))
            case 1 where advertised.contains(.flush): requests.append(.flush)
            case 2: requests.append(.read(offset: highwater + gap, length: min(length, 65536)))
            default: requests.append(.write(offset: highwater + gap, length: length, fua: fua))
            }
            if case .zero = requests.last! { highwater += gap + length }
            if case .write = requests.last! { highwater += gap + length }
        }
        if below(2) == 0, highwater > 0, mayEnd {
            let back = below(highwater)
            requests.append(.write(offset: back, length: 1 + below(4096), fua: false))
            requests.append(.write(offset: highwater, length: 512, fua: false))
        }
        return requests
    }

    /// `count` read-mode reads, with forward gaps that the server must read and discard.
    mutating func readMode(count: Int, exportSize: UInt64, mayEnd: Bool = true) -> [StreamRequest] {
        var requests: [StreamRequest] = []
        var highwater: UInt64 = 0
        for _ in 0 ..< count {
            let (gap, length) = nextGapAndLength()
            guard highwater + gap + length <= exportSize else { break }
            requests.append(.read(offset: highwater + gap, length: length))
            highwater += gap + length
        }
        if below(2) == 0, highwater > 0, mayEnd {
            requests.append(.read(offset: below(highwater), length: 512))
            requests.append(.read(offset: highwater, length: 512))
        }
        return requests
    }

    /// The optional commands and flags a workload may use.
    struct Commands: OptionSet {
        let rawValue: Int
        static let flush = Commands(rawValue: 1 << 0)
        static let fua = Commands(rawValue: 1 << 1)
        static let writeZeroes = Commands(rawValue: 1 << 2)
        static let all: Commands = [.flush, .fua, .writeZeroes]

        init(rawValue: Int) { self.rawValue = rawValue }

        init(_ advertised: Advertised) {
            self = []
            if advertised.flush { insert(.flush) }
            if advertised.fua { insert(.fua) }
            if advertised.zero { insert(.writeZeroes) }
        }
    }
}
