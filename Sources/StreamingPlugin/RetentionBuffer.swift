/// The last bytes read from the pipe (`retain=`), kept so that reads arriving
/// slightly out of order, or re-reading recent data, can still be served.
/// A ring: memory is the capacity, allocated once.
struct RetentionBuffer: ~Copyable {
    let capacity: Int
    private let storage: UnsafeMutableRawBufferPointer
    /// Stream offset one past the newest retained byte (the highwater).
    private(set) var end: UInt64 = 0
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        storage = .allocate(byteCount: max(capacity, 1), alignment: 16)
    }

    deinit { storage.deallocate() }

    /// The oldest stream offset still retained.
    var start: UInt64 { end - UInt64(count) }

    /// Records bytes that were just read from the pipe at `end`.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard capacity > 0 else {
            end += UInt64(bytes.count)
            return
        }
        // Only the newest `capacity` bytes can matter.
        let kept = UnsafeRawBufferPointer(rebasing: bytes[max(0, bytes.count - capacity)...])
        forEachRun(from: end + UInt64(bytes.count - kept.count), count: kept.count) { ring, linear in
            UnsafeMutableRawBufferPointer(rebasing: storage[ring]).copyMemory(from: UnsafeRawBufferPointer(rebasing: kept[linear]))
        }
        end += UInt64(bytes.count)
        count = min(capacity, count + bytes.count)
    }

    /// Copies retained bytes from `offset` into `buffer`; the range must lie in [start, end).
    func copy(from offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) {
        precondition(offset >= start && offset + UInt64(buffer.count) <= end, "range not retained")
        forEachRun(from: offset, count: buffer.count) { ring, linear in
            UnsafeMutableRawBufferPointer(rebasing: buffer[linear]).copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[ring]))
        }
    }

    /// Splits `count` bytes from stream offset `offset` into the runs that do
    /// not cross the ring's edge: where each lies in the ring, and in a linear buffer.
    private func forEachRun(from offset: UInt64, count: Int, _ body: (Range<Int>, Range<Int>) -> Void) {
        var position = Int(offset % UInt64(capacity))
        var done = 0
        while done < count {
            let run = min(count - done, capacity - position)
            body(position..<position + run, done..<done + run)
            done += run
            position = (position + run) % capacity
        }
    }
}
