import CLibNBD

/// Blocking transmission commands; each waits for its reply and throws an NBDError with the server's errno on failure.
extension NBDConnection {
    public func pread(into buffer: UnsafeMutableRawBufferPointer, offset: UInt64, flags: CommandFlags = []) throws {
        let cookie = try check(nbd_aio_pread(handle, buffer.baseAddress!, buffer.count, offset, clibnbd_null_completion(), flags.rawValue))
        try waitForCommand(cookie)
    }

    public func pread(count: Int, offset: UInt64, flags: CommandFlags = []) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { (buffer) throws in
            try pread(into: buffer, offset: offset, flags: flags)
        }
        return bytes
    }

    public func pwrite(_ buffer: UnsafeRawBufferPointer, offset: UInt64, flags: CommandFlags = []) throws {
        let cookie = try check(nbd_aio_pwrite(handle, buffer.baseAddress!, buffer.count, offset, clibnbd_null_completion(), flags.rawValue))
        try waitForCommand(cookie)
    }

    public func pwrite(_ bytes: [UInt8], offset: UInt64, flags: CommandFlags = []) throws {
        try bytes.withUnsafeBytes { (buffer) throws in try pwrite(buffer, offset: offset, flags: flags) }
    }

    public func zero(count: UInt64, offset: UInt64, flags: CommandFlags = []) throws {
        try waitForCommand(try check(nbd_aio_zero(handle, count, offset, clibnbd_null_completion(), flags.rawValue)))
    }

    public func flush() throws {
        try waitForCommand(try check(nbd_aio_flush(handle, clibnbd_null_completion(), 0)))
    }

    public func trim(count: UInt64, offset: UInt64, flags: CommandFlags = []) throws {
        try waitForCommand(try check(nbd_aio_trim(handle, count, offset, clibnbd_null_completion(), flags.rawValue)))
    }

    public func cache(count: UInt64, offset: UInt64, flags: CommandFlags = []) throws {
        try waitForCommand(try check(nbd_aio_cache(handle, count, offset, clibnbd_null_completion(), flags.rawValue)))
    }

    /// NBD_CMD_BLOCK_STATUS for `context` (base:allocation unless told); returns that context's extents.
    public func blockStatus(
        count: UInt64, offset: UInt64, context: String = "base:allocation", flags: CommandFlags = []
    ) throws -> [Extent] {
        var extents: [Extent] = []
        let callback = makeExtentCallback { name, _, received in
            if name == context { extents.append(contentsOf: received) }
        }
        try waitForCommand(try check(nbd_aio_block_status(handle, count, offset, callback, clibnbd_null_completion(), flags.rawValue)))
        return extents
    }
}
