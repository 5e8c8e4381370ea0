import NBDClient

enum TransferDirection: String, Sendable {
    case write
    case read
}

/// Streams `size` bytes from offset 0 upwards with up to `inFlight` aio requests outstanding, as a streaming
/// server needs (strictly ascending offsets, submitted in order). Completions run inside `pollOnce` on this
/// thread, so the slot list and the first error need no lock.
struct SequentialTransfer {
    let direction: TransferDirection
    let size: Int
    let requestSize: Int
    let inFlight: Int

    struct Result {
        let bytes: Int
        let seconds: Double
        let requests: Int
    }

    func run(on connection: NBDConnection) throws -> Result {
        let exportSize = try connection.exportSize()
        guard UInt64(size) <= exportSize else {
            throw NBDError(errno: 0, message: "--size \(size) is larger than the export (\(exportSize) bytes)")
        }
        // One buffer per request in flight, as a real client would have, allocated and filled before the clock starts.
        let slots = (0..<inFlight).map { index in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: requestSize, alignment: 4096)
            for offset in 0..<requestSize { buffer[offset] = UInt8(truncatingIfNeeded: offset &* 31 &+ index &+ 1) }
            return buffer
        }
        defer { slots.forEach { $0.deallocate() } }

        var freeSlots = Array(slots.indices)
        var firstError: Int32 = 0
        var offset = 0
        var requests = 0
        let start = monotonicSeconds()
        while offset < size || connection.inFlight > 0 {
            while offset < size, firstError == 0, let slot = freeSlots.popLast() {
                let count = min(requestSize, size - offset)
                let buffer = UnsafeMutableRawBufferPointer(rebasing: slots[slot][0..<count])
                let completion: (Int32) -> Void = { error in
                    if firstError == 0 { firstError = error }
                    freeSlots.append(slot)
                }
                switch direction {
                case .write: try connection.submitPwrite(UnsafeRawBufferPointer(buffer), offset: UInt64(offset), completion: completion)
                case .read: try connection.submitPread(into: buffer, offset: UInt64(offset), completion: completion)
                }
                offset += count
                requests += 1
            }
            if firstError != 0 { break }
            if connection.inFlight > 0 { try connection.pollOnce() }
        }
        if firstError != 0 {
            throw NBDError(errno: firstError, message: "a \(direction.rawValue) before offset \(offset) failed")
        }
        return Result(bytes: size, seconds: monotonicSeconds() - start, requests: requests)
    }
}
