/// Builders for the request shapes the catalog uses.
enum Requests {
    static let kib: UInt64 = 1024
    static let mib: UInt64 = 1024 * 1024

    /// Back-to-back writes of the given lengths from `start`.
    static func sequentialWrites(_ lengths: [UInt64], from start: UInt64 = 0, fua: Bool = false) -> [StreamRequest] {
        var offset = start
        return lengths.map { length in
            defer { offset += length }
            return .write(offset: offset, length: length, fua: fua)
        }
    }

    /// Back-to-back reads of the given lengths from `start`.
    static func sequentialReads(_ lengths: [UInt64], from start: UInt64 = 0) -> [StreamRequest] {
        var offset = start
        return lengths.map { length in
            defer { offset += length }
            return .read(offset: offset, length: length)
        }
    }

    /// The request sizes the issue names, with odd sizes between them so no request is block-aligned by luck.
    static let mixedSizes: [UInt64] = [1, 512, 3, 4 * kib, 1000, 64 * kib, 65537, mib, 12345, 32 * mib, 7]
}
