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
        var position = Int((end + UInt64(bytes.count - kept.count)) % UInt64(capacity))
        var copied = 0
        while copied < kept.count {
            let run = min(kept.count - copied, capacity - position)
            UnsafeMutableRawBufferPointer(rebasing: storage[position..<position + run])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: kept[copied..<copied + run]))
            copied += run
            position = (position + run) % capacity
        }
        end += UInt64(bytes.count)
        count = min(capacity, count + bytes.count)
    }

    /// Copies retained bytes from `offset` into `buffer`; the range must lie in [start, end).
    func copy(from offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) {
        precondition(offset >= start && offset + UInt64(buffer.count) <= end, "range not retained")
        var position = Int(offset % UInt64(capacity))
        var copied = 0
        while copied < buffer.count {
            let run = min(buffer.count - copied, capacity - position)
            UnsafeMutableRawBufferPointer(rebasing: buffer[copied..<copied + run])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[position..<position + run]))
            copied += run
            position = (position + run) % capacity
        }
    }
}
