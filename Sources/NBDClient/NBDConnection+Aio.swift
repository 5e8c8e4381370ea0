import CLibNBD

/// Commands submitted without waiting, for keeping several requests in flight. Completions run inside
/// `pollOnce()` on the calling thread and receive the command's errno (0 on success). Buffers must stay
/// valid until their completion has run.
extension NBDConnection {
    @discardableResult
    public func submitPread(
        into buffer: UnsafeMutableRawBufferPointer, offset: UInt64, flags: CommandFlags = [],
        completion: @escaping (Int32) -> Void
    ) throws -> Int64 {
        try check(nbd_aio_pread(handle, buffer.baseAddress!, buffer.count, offset, makeCompletion(completion), flags.rawValue))
    }

    @discardableResult
    public func submitPwrite(
        _ buffer: UnsafeRawBufferPointer, offset: UInt64, flags: CommandFlags = [],
        completion: @escaping (Int32) -> Void
    ) throws -> Int64 {
        try check(nbd_aio_pwrite(handle, buffer.baseAddress!, buffer.count, offset, makeCompletion(completion), flags.rawValue))
    }

    @discardableResult
    public func submitZero(
        count: UInt64, offset: UInt64, flags: CommandFlags = [], completion: @escaping (Int32) -> Void
    ) throws -> Int64 {
        try check(nbd_aio_zero(handle, count, offset, makeCompletion(completion), flags.rawValue))
    }

    @discardableResult
    public func submitTrim(count: UInt64, offset: UInt64, completion: @escaping (Int32) -> Void) throws -> Int64 {
        try check(nbd_aio_trim(handle, count, offset, makeCompletion(completion), 0))
    }

    @discardableResult
    public func submitCache(count: UInt64, offset: UInt64, completion: @escaping (Int32) -> Void) throws -> Int64 {
        try check(nbd_aio_cache(handle, count, offset, makeCompletion(completion), 0))
    }

    @discardableResult
    public func submitFlush(completion: @escaping (Int32) -> Void) throws -> Int64 {
        try check(nbd_aio_flush(handle, makeCompletion(completion), 0))
    }

    /// Commands submitted and not yet completed.
    public var inFlight: Int { Int(nbd_aio_in_flight(handle)) }

    /// Polls until at most `limit` commands are in flight; fails if the connection dies first.
    public func waitUntilInFlight(atMost limit: Int) throws {
        try wait { inFlight > limit && !isDead }
        if inFlight > limit { try checkAlive() }
    }
}
