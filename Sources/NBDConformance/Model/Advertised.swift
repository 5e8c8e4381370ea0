import NBDClient

/// What the server advertised at NBD_OPT_GO: transmission flags and block sizes. Workloads are generated within
/// it; requests outside it are sent only by the cases that check how they are refused.
struct Advertised: Sendable {
    var readOnly = false
    var flush = false
    var fua = false
    var trim = false
    var zero = false
    var fastZero = false
    var cache = false
    var multiConn = false
    /// 0 when the server sent no NBD_INFO_BLOCK_SIZE.
    var minimumBlock: UInt64 = 0
    var preferredBlock: UInt64 = 0
    var maximumPayload: UInt64 = 0

    init(readOnly: Bool = false, flush: Bool = false, fua: Bool = false, trim: Bool = false, zero: Bool = false, cache: Bool = false) {
        self.readOnly = readOnly
        self.flush = flush
        self.fua = fua
        self.trim = trim
        self.zero = zero
        self.cache = cache
    }

    init(_ connection: NBDConnection) throws {
        readOnly = try connection.isReadOnly()
        flush = try connection.canFlush()
        fua = try connection.canFUA()
        trim = try connection.canTrim()
        zero = try connection.canZero()
        fastZero = try connection.canFastZero()
        cache = try connection.canCache()
        multiConn = try connection.canMultiConn()
        minimumBlock = try connection.blockSize(.minimum)
        preferredBlock = try connection.blockSize(.preferred)
        maximumPayload = try connection.blockSize(.maximum)
    }

    /// The largest payload a workload may send: the advertised maximum, else the 32 MiB a server SHOULD support.
    var workloadMaximumPayload: UInt64 {
        maximumPayload == 0 ? StreamModel.defaultMaximumPayload : min(maximumPayload, StreamModel.defaultMaximumPayload)
    }

    /// Requests must be multiples of this: the advertised minimum block size, else 1.
    var alignment: UInt64 { max(minimumBlock, 1) }

    /// The longest request a workload sends, longer ones going as pieces (`StreamRequest.split(within:)`): the
    /// maximum payload above, in whole preferred blocks (whole minimum blocks where the preferred one is larger).
    var requestLimit: UInt64 {
        let maximum = workloadMaximumPayload
        let block = preferredBlock > 0 && preferredBlock <= maximum ? preferredBlock : alignment
        return max(maximum / block * block, alignment)
    }
}
