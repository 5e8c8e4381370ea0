/// A client "MUST NOT request a length larger than the maximum payload size" for READ and WRITE, and a server
/// "MAY reply with an `NBD_EOVERFLOW` or `NBD_EINVAL` error" to a WRITE_ZEROES, TRIM or CACHE whose effect is
/// longer (proto.md § Size constraints). So a workload's longer request is sent as consecutive pieces, each judged
/// by the model on its own: the bytes the workload means stay the same.
enum RequestPieces {
    /// `length` bytes from `offset` as consecutive ranges of at most `limit` bytes, each made into a request by
    /// `piece`; a range that would run past 2^64 (only requests far beyond any export's end) stays whole, since it
    /// is refused anyway.
    static func split<Request>(offset: UInt64, length: UInt64, limit: UInt64, _ piece: (UInt64, UInt64) -> Request) -> [Request] {
        guard limit > 0, length > limit, offset <= .max - length else { return [piece(offset, length)] }
        return stride(from: UInt64(0), to: length, by: Int(limit)).map { start in piece(offset + start, min(limit, length - start)) }
    }
}

extension StreamRequest {
    /// This request, or its pieces where it is longer than `limit`.
    func split(within limit: UInt64) -> [StreamRequest] {
        switch self {
        case .write(let offset, let length, let fua): RequestPieces.split(offset: offset, length: length, limit: limit) { .write(offset: $0, length: $1, fua: fua) }
        case .zero(let offset, let length): RequestPieces.split(offset: offset, length: length, limit: limit, StreamRequest.zero)
        case .read(let offset, let length): RequestPieces.split(offset: offset, length: length, limit: limit, StreamRequest.read)
        case .flush: [self]
        }
    }
}

extension DiskRequest {
    /// This request, or its pieces where it is longer than `limit`; a write's pieces carry its generation, so
    /// their bytes are the ones it would have written.
    func split(within limit: UInt64) -> [DiskRequest] {
        switch self {
        case .write(let offset, let length, let fua, let generation):
            RequestPieces.split(offset: offset, length: length, limit: limit) { .write(offset: $0, length: $1, fua: fua, generation: generation) }
        case .read(let offset, let length): RequestPieces.split(offset: offset, length: length, limit: limit, DiskRequest.read)
        case .zero(let offset, let length, let noHole):
            RequestPieces.split(offset: offset, length: length, limit: limit) { .zero(offset: $0, length: $1, noHole: noHole) }
        case .trim(let offset, let length): RequestPieces.split(offset: offset, length: length, limit: limit, DiskRequest.trim)
        case .cache(let offset, let length): RequestPieces.split(offset: offset, length: length, limit: limit, DiskRequest.cache)
        case .flush: [self]
        }
    }
}
