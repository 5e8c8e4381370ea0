import Glibc

/// One request of the disk profile; the data of a write comes from the pattern of its `generation`, so a byte
/// written twice changes.
public enum DiskRequest: Sendable, Equatable, CustomStringConvertible {
    case write(offset: UInt64, length: UInt64, fua: Bool, generation: UInt64)
    case read(offset: UInt64, length: UInt64)
    case zero(offset: UInt64, length: UInt64, noHole: Bool)
    case trim(offset: UInt64, length: UInt64)
    case cache(offset: UInt64, length: UInt64)
    case flush

    public var description: String {
        switch self {
        case .write(let offset, let length, let fua, let generation):
            "WRITE\(fua ? "+FUA" : "") offset=\(offset) length=\(length) generation=\(generation)"
        case .read(let offset, let length): "READ offset=\(offset) length=\(length)"
        case .zero(let offset, let length, let noHole): "WRITE_ZEROES\(noHole ? "+NO_HOLE" : "") offset=\(offset) length=\(length)"
        case .trim(let offset, let length): "TRIM offset=\(offset) length=\(length)"
        case .cache(let offset, let length): "CACHE offset=\(offset) length=\(length)"
        case .flush: "FLUSH"
        }
    }

    /// The bytes the request covers, nil for FLUSH.
    var range: Range<UInt64>? {
        switch self {
        case .write(let offset, let length, _, _), .read(let offset, let length), .zero(let offset, let length, _),
             .trim(let offset, let length), .cache(let offset, let length):
            offset ..< offset &+ length
        case .flush: nil
        }
    }
}

/// A disk as the spec describes it: reads return what was last written; WRITE_ZEROES reads back as zeroes;
/// after TRIM the client "MUST NOT make any assumptions about the contents" (proto.md § Request types), so those
/// bytes, like those never written, are not judged. Out-of-range and read-only refusals follow § Error values; the
/// spec does not make a failed write all-or-nothing, so the bytes inside the export that a refused one covers are
/// not judged either.
struct DiskModel {
    let size: UInt64
    let readOnly: Bool
    /// The longest request `runDisk` sends (`Advertised.requestLimit`); a longer one goes as pieces.
    let requestLimit: UInt64
    /// The bytes the case touched, in 1 MiB pages, so a large export costs only what the case writes.
    private var pages: [UInt64: Page] = [:]
    let seed: UInt64

    private static let pageSize: UInt64 = 1 << 20

    private struct Page {
        var bytes = [UInt8](repeating: 0, count: Int(DiskModel.pageSize))
        /// Whether the model knows the byte: written or zeroed since the case started, and not trimmed since.
        var known = [Bool](repeating: false, count: Int(DiskModel.pageSize))
    }

    init(size: UInt64, readOnly: Bool, seed: UInt64, requestLimit: UInt64 = StreamModel.defaultMaximumPayload) {
        self.size = size
        self.readOnly = readOnly
        self.seed = seed
        self.requestLimit = requestLimit
    }

    /// What a read must return where the model knows it.
    struct Expectation {
        let bytes: [UInt8]
        let known: [Bool]
    }

    /// Calls `body` for each page piece of `range`: the page, the range within it, and the offset within `range`.
    private mutating func forEachPiece(of range: Range<UInt64>, create: Bool, _ body: (inout Page, Range<Int>, Int) -> Void) {
        var position = range.lowerBound
        while position < range.upperBound {
            let number = position / Self.pageSize
            let start = position % Self.pageSize
            let end = min(Self.pageSize, start + (range.upperBound - position))
            if pages[number] == nil, create { pages[number] = Page() }
            if pages[number] != nil { body(&pages[number]!, Int(start) ..< Int(end), Int(position - range.lowerBound)) }
            position += end - start
        }
    }

    /// The outcome the server owes, and the model's new state if the request succeeds.
    mutating func apply(_ request: DiskRequest) -> (ExpectedOutcome, Expectation?) {
        guard let range = request.range else { return (.success, nil) }
        let isWrite: Bool
        switch request {
        case .write, .zero, .trim: isWrite = true
        default: isWrite = false
        }
        if isWrite, readOnly { return (.refused(preferring: EPERM), nil) }
        guard range.upperBound <= size, range.lowerBound <= range.upperBound else {
            if isWrite, range.lowerBound < size { forget(range.lowerBound ..< size) }
            switch request {
            case .write, .zero: return (.refused(preferring: ENOSPC), nil)
            default: return (.refused(preferring: EINVAL), nil)
            }
        }
        switch request {
        case .write(let offset, _, _, let generation):
            let pattern = Self.pattern(seed: seed, generation: generation)
            forEachPiece(of: range, create: true) { page, piece, at in
                page.bytes.withUnsafeMutableBytes { all in
                    pattern.fill(UnsafeMutableRawBufferPointer(rebasing: all[piece]), streamOffset: offset + UInt64(at))
                }
                for index in piece { page.known[index] = true }
            }
        case .zero:
            forEachPiece(of: range, create: true) { page, piece, _ in
                for index in piece {
                    page.bytes[index] = 0
                    page.known[index] = true
                }
            }
        case .trim:
            forget(range)
        case .read:
            var bytes = [UInt8](repeating: 0, count: range.count)
            var known = [Bool](repeating: false, count: range.count)
            forEachPiece(of: range, create: false) { page, piece, at in
                bytes.replaceSubrange(at ..< at + piece.count, with: page.bytes[piece])
                known.replaceSubrange(at ..< at + piece.count, with: page.known[piece])
            }
            return (.success, Expectation(bytes: bytes, known: known))
        case .cache, .flush:
            break
        }
        return (.success, nil)
    }

    /// Stops judging the bytes of `range`: trimmed, or where a refused write may have landed.
    mutating func forget(_ range: Range<UInt64>) {
        forEachPiece(of: range, create: false) { page, piece, _ in
            for index in piece { page.known[index] = false }
        }
    }

    /// The bytes a write of `generation` carries at each offset.
    static func pattern(seed: UInt64, generation: UInt64) -> StreamPattern {
        StreamPattern(seed: seed &+ generation &* 0x9E37_79B9_7F4A_7C15)
    }
}
