import CLibNBD

/// What the server told about the export during negotiation.
extension NBDConnection {
    public func exportSize() throws -> UInt64 {
        let size = nbd_get_size(handle)
        guard size >= 0 else { throw NBDError.last() }
        return UInt64(size)
    }

    public func isReadOnly() throws -> Bool { try check(nbd_is_read_only(handle)) == 1 }
    public func canFlush() throws -> Bool { try check(nbd_can_flush(handle)) == 1 }
    public func canFUA() throws -> Bool { try check(nbd_can_fua(handle)) == 1 }
    public func canTrim() throws -> Bool { try check(nbd_can_trim(handle)) == 1 }
    public func canZero() throws -> Bool { try check(nbd_can_zero(handle)) == 1 }
    public func canFastZero() throws -> Bool { try check(nbd_can_fast_zero(handle)) == 1 }
    public func canCache() throws -> Bool { try check(nbd_can_cache(handle)) == 1 }
    public func canMultiConn() throws -> Bool { try check(nbd_can_multi_conn(handle)) == 1 }
    public func canMetaContext(_ name: String) throws -> Bool { try check(nbd_can_meta_context(handle, name)) == 1 }

    /// The advertised constraint, or 0 when the server sent no NBD_INFO_BLOCK_SIZE.
    public func blockSize(_ kind: BlockSizeKind) throws -> UInt64 {
        UInt64(try check(nbd_get_block_size(handle, kind.rawValue)))
    }

    /// "newstyle-fixed", "newstyle" or "oldstyle".
    public var protocolName: String { nbd_get_protocol(handle).map { String(cString: $0) } ?? "unknown" }
}
