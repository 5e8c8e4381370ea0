/// Writes that arrived ahead of the highwater (`reorder=`), held until the
/// bytes before them arrive. Pure bookkeeping: the plugin decides when held
/// data goes to the pipe. Segments never overlap: a later write over held
/// bytes replaces them, as it would on a disk.
struct ReorderWindow {
    struct Segment: Equatable {
        enum Content: Equatable {
            case data(ArraySlice<UInt8>)
            /// WRITE_ZEROES costs no memory while held.
            case zeroes(UInt64)
        }

        var offset: UInt64
        var content: Content

        var length: UInt64 {
            switch content {
            case let .data(bytes): UInt64(bytes.count)
            case let .zeroes(count): count
            }
        }

        var end: UInt64 { offset + length }

        /// Memory the segment holds.
        var heldBytes: UInt64 {
            if case let .data(bytes) = content { UInt64(bytes.count) } else { 0 }
        }

        /// The part of the segment within [from, to), if any.
        func clipped(from: UInt64, to: UInt64) -> Segment? {
            let start = max(offset, from), stop = min(end, to)
            guard start < stop else { return nil }
            switch content {
            case let .data(bytes):
                let base = bytes.startIndex + Int(start - offset)
                return Segment(offset: start, content: .data(bytes[base..<base + Int(stop - start)]))
            case .zeroes:
                return Segment(offset: start, content: .zeroes(stop - start))
            }
        }
    }

    /// Bytes of data the window may hold; zero disables it.
    let capacity: UInt64
    /// Segments the window may hold, whatever their size: a client sending
    /// tiny writes (or zeroes, which cost no data) cannot grow the bookkeeping,
    /// and every scan of it stays short.
    static let maximumSegments = 1024
    /// Sorted by offset.
    private(set) var segments: [Segment] = []
    private(set) var heldBytes: UInt64 = 0

    init(capacity: UInt64) {
        self.capacity = capacity
    }

    var isOverfull: Bool { heldBytes > capacity || segments.count > Self.maximumSegments }
    var first: Segment? { segments.first }

    /// Holds `segment`, replacing whatever it overlaps.
    mutating func hold(_ segment: Segment) {
        forget(from: segment.offset, to: segment.end)
        let index = segments.firstIndex { $0.offset > segment.offset } ?? segments.endIndex
        segments.insert(segment, at: index)
        heldBytes += segment.heldBytes
    }

    /// Drops held bytes in [from, to): a newer write covers them.
    mutating func forget(from: UInt64, to: UInt64) {
        guard segments.contains(where: { $0.offset < to && $0.end > from }) else { return }
        segments = segments.flatMap { segment -> [Segment] in
            guard segment.offset < to && segment.end > from else { return [segment] }
            return [segment.clipped(from: segment.offset, to: from), segment.clipped(from: to, to: segment.end)].compactMap { $0 }
        }
        heldBytes = segments.reduce(0) { $0 + $1.heldBytes }
    }

    mutating func removeFirst() -> Segment {
        let segment = segments.removeFirst()
        heldBytes -= segment.heldBytes
        return segment
    }

    mutating func removeAll() {
        segments.removeAll()
        heldBytes = 0
    }

    /// Copies held data over `buffer`, which the caller has zeroed and which
    /// stands for the bytes from `offset`.
    func overlay(_ buffer: UnsafeMutableRawBufferPointer, offset: UInt64) {
        let end = offset + UInt64(buffer.count)
        for segment in segments where segment.offset < end && segment.end > offset {
            guard let part = segment.clipped(from: offset, to: end), case let .data(bytes) = part.content else { continue }
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[Int(part.offset - offset)...])
            bytes.withUnsafeBytes { target.copyMemory(from: $0) }
        }
    }

    /// Whether any held data (not zeroes) lies in [offset, offset + length).
    func holdsData(from offset: UInt64, to end: UInt64) -> Bool {
        segments.contains { $0.heldBytes > 0 && $0.offset < end && $0.end > offset }
    }
}
