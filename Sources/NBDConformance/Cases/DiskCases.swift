import Glibc
import NBDClient

/// `--profile disk`: any writable random-access export checked against a model of a disk (DiskModel). The
/// negotiation cases that do not assume a stream are shared with the streaming profile.
enum DiskCases {
    private static let kib = Requests.kib
    private static let mib = Requests.mib
    static let diskSize: UInt64 = 16 * Requests.mib

    static let all: [ConformanceCase] = [
        diskCase(
            "disk/size-reported", "NBD_OPT_GO reports the export size the server was started with ($SIZE)",
            .spec(.must, "Option types", "In this case, the server MUST send at least one `NBD_REP_INFO`, with an `NBD_INFO_EXPORT` information type."),
            writes: false
        ) { context, _ in
            let connection = try context.connect()
            defer { try? connection.shutdown() }
            if let configured = context.configuredSize {
                try expectEqual(try connection.exportSize(), configured, "the export size")
            }
        },
        diskCase(
            "disk/read-back-request-sizes",
            "Writes of 1 B to 1 MiB (in pieces above a smaller advertised maximum) at unaligned offsets (or the advertised minimum block) read back exactly",
            .spec(.must, "Request types", "The server MUST write the data to disk, and then send the reply message."), layout: 2 * mib
        ) { context, advertised in
            var model = context.diskModel(advertised)
            let unit = advertised.alignment
            var offset: UInt64 = unit == 1 ? 3 : 0
            var writes: [DiskRequest] = []
            for (index, length) in [1, 512, 3, 4 * kib, 1000, 64 * kib, 65537, mib, 12345, 7].enumerated() {
                let aligned = (length + unit - 1) / unit * unit
                writes.append(.write(offset: offset, length: aligned, fua: false, generation: UInt64(index)))
                offset += aligned + (unit == 1 ? 5 : unit)
            }
            let reads = writes.compactMap { $0.range.map { DiskRequest.read(offset: $0.lowerBound, length: UInt64($0.count)) } }
            try context.runDisk(writes.map { [$0] } + [reads], model: &model)
        },
        diskCase(
            "disk/overwrites-read-back-latest",
            "Overlapping writes one after another: each read returns what was written last",
            .spec(.must, "Request types", "The server MUST write the data to disk, and then send the reply message.")
        ) { context, advertised in
            var model = context.diskModel(advertised)
            let unit = max(advertised.alignment, 512)
            try context.runDisk([
                [.write(offset: 0, length: 64 * unit, fua: false, generation: 1)],
                [.write(offset: 8 * unit, length: 8 * unit, fua: false, generation: 2)],
                [.read(offset: 0, length: 64 * unit)],
                [.write(offset: 4 * unit, length: 8 * unit, fua: false, generation: 3)],
                [.read(offset: 0, length: 32 * unit)],
            ], model: &model)
        },
        diskCase(
            "disk/pipelined-64-in-flight",
            "512 writes then 512 reads of 4 KiB, 64 in flight, at scattered offsets: every reply carries its own request's data",
            .spec(.must, "Transmission", "the server MUST use the same value for cookie as was sent by the client in the corresponding request")
        ) { context, advertised in
            var model = context.diskModel(advertised)
            let unit = max(advertised.alignment, 4 * kib)
            let slots = context.workArea / unit
            // A permutation of the slots (stride coprime with the slot count), so requests in flight never overlap.
            let offsets = (0 ..< min(512, slots)).map { ($0 * 2_654_435_761 % slots) * unit }
            let writes = offsets.enumerated().map { DiskRequest.write(offset: $1, length: unit, fua: false, generation: UInt64($0)) }
            let reads = offsets.reversed().map { DiskRequest.read(offset: $0, length: unit) }
            try context.runDisk(chunked(writes, 64) + chunked(reads, 64), model: &model)
        },
        diskCase(
            "disk/random-workload",
            "A seeded random mix of the advertised commands, 16 in flight, gives exactly the replies and data the disk model predicts",
            .spec(.must, "Request types", "The server MUST write the data to disk, and then send the reply message.")
        ) { context, advertised in
            var model = context.diskModel(advertised)
            var generator = RandomDiskWorkload(seed: context.seed)
            let area = context.workArea
            let batches = generator.batches(count: 1500, depth: 16, size: area, advertised: advertised)
            // A final read of everything the model knows shows any write that landed in the wrong place.
            let sweep = stride(from: 0, to: area, by: Int(mib)).map { DiskRequest.read(offset: $0, length: min(mib, area - $0)) }
            try context.runDisk(batches + chunked(sweep, 4), model: &model)
        },
        diskCase(
            "disk/write-past-end-refused",
            "A write crossing the end of the export fails (under --strict: with ENOSPC); the blocks before it read back",
            .spec(.must, "Request types", "If an error occurs, the server MUST set the appropriate error code in the error field.")
        ) { context, advertised in
            var model = context.diskModel(advertised)
            let unit = max(advertised.alignment, 512)
            let end = context.exportSize
            try context.runDisk([
                [.write(offset: end - 2 * unit, length: 2 * unit, fua: false, generation: 1)],
                [.write(offset: end - unit, length: 2 * unit, fua: false, generation: 2)],
                [.write(offset: end, length: unit, fua: false, generation: 3)],
                [.read(offset: end - 2 * unit, length: 2 * unit)],
            ], model: &model)
        },
        diskCase(
            "disk/read-past-end-einval",
            "A read crossing the end of the export fails with EINVAL",
            .spec(.should, "Error values", "It SHOULD return `NBD_EINVAL` if it receives a read or trim request including one or more sectors beyond the size of the device"),
            writes: false
        ) { context, advertised in
            var model = context.diskModel(advertised)
            let unit = max(advertised.alignment, 512)
            try context.runDisk([[.read(offset: context.exportSize - unit, length: 2 * unit)], [.read(offset: context.exportSize, length: unit)]],
                                model: &model)
        },
        diskCase(
            "disk/misaligned-requests-einval",
            "With a minimum block size advertised, requests not aligned to it fail with EINVAL",
            .spec(.should, "Size constraints", "The server SHOULD report an `NBD_EINVAL` error if the client's request is not aligned to advertised minimum block size boundaries or would exceed the export size.")
        ) { context, advertised in
            guard advertised.minimumBlock > 1 else { throw CaseSkip("the server advertises no minimum block size above 1") }
            let unit = advertised.minimumBlock
            let connection = try context.connect()
            defer { try? connection.shutdown() }
            for (offset, length) in [(unit / 2, unit), (0, unit + 1)] {
                let error = try expectThrows("a READ of \(length) at \(offset)") { _ = try connection.pread(count: Int(length), offset: offset) }
                try expectEqual(errnoName(error.errno), errnoName(EINVAL), "the error of a misaligned READ")
            }
        },
        diskCase(
            "disk/write-zeroes-read-back-zero",
            "WRITE_ZEROES, with and without NO_HOLE, reads back as zeroes and leaves the bytes around it alone",
            .spec(.must, "Request types", "but it MUST ensure that the data reads back as zero")
        ) { context, advertised in
            guard advertised.zero else { throw CaseSkip("the server does not advertise NBD_FLAG_SEND_WRITE_ZEROES") }
            var model = context.diskModel(advertised)
            let unit = max(advertised.alignment, 512)
            try context.runDisk([
                [.write(offset: 0, length: 256 * unit, fua: false, generation: 1)],
                [.zero(offset: 8 * unit, length: 16 * unit, noHole: false)],
                [.zero(offset: 64 * unit, length: 100 * unit, noHole: true)],
                [.read(offset: 0, length: 256 * unit)],
            ], model: &model)
        },
        fastZeroCase(
            "disk/fast-zero-as-advertised",
            "WRITE_ZEROES with FAST_ZERO either zeroes the range or fails with ENOTSUP; the data around it stays",
            .spec(.must, "Request types", "MUST fail quickly with `NBD_ENOTSUP` unless the request can be serviced in less time than a corresponding `NBD_CMD_WRITE`"),
            judgesRefusedRange: false
        ),
        fastZeroCase(
            "disk/fast-zero-refusal-leaves-data",
            "A WRITE_ZEROES with FAST_ZERO refused with ENOTSUP leaves the range as it was",
            .spec(.should, "Request types", "SHOULD NOT alter the contents of the export when returning an `NBD_ENOTSUP` failure"),
            judgesRefusedRange: true
        ),
        diskCase(
            "disk/trim-then-write",
            "TRIM succeeds and a later write over the trimmed range reads back exactly",
            .spec(.must, "Request types", "After issuing this command, a client MUST NOT make any assumptions about the contents of the export affected by this command, until overwriting it again")
        ) { context, advertised in
            guard advertised.trim else { throw CaseSkip("the server does not advertise NBD_FLAG_SEND_TRIM") }
            var model = context.diskModel(advertised)
            let unit = max(advertised.alignment, 4 * kib)
            try context.runDisk([
                [.write(offset: 0, length: 64 * unit, fua: false, generation: 1)],
                [.trim(offset: 0, length: 32 * unit)],
                [.write(offset: 8 * unit, length: 8 * unit, fua: false, generation: 2)],
                [.read(offset: 0, length: 64 * unit)],
            ], model: &model)
        },
        diskCase(
            "disk/flush-fua-cache-answered",
            "FLUSH, FUA writes and CACHE are answered as advertised and change no data",
            .spec(.must, "Request types", "there MUST NOT be any difference in semantics compared to if the client had not used this command")
        ) { context, advertised in
            var model = context.diskModel(advertised)
            let unit = max(advertised.alignment, 512)
            var batches: [[DiskRequest]] = [[.write(offset: 0, length: 16 * unit, fua: advertised.fua, generation: 1)]]
            if advertised.flush { batches.append([.flush]) }
            if advertised.cache { batches.append([.cache(offset: 0, length: 32 * unit)]) }
            batches.append([.read(offset: 0, length: 32 * unit)])
            try context.runDisk(batches, model: &model)
        },
        diskCase(
            "disk/block-status-agrees-with-data",
            "base:allocation extents cover the request start, are non-empty, and no extent marked ZERO reads back non-zero",
            .spec(.must, "`base:allocation` metadata context", "if set, the block contents read as all zeroes")
        ) { context, advertised in
            var model = context.diskModel(advertised)
            let unit = max(advertised.alignment, 4 * kib)
            var setup: [[DiskRequest]] = [[.write(offset: 16 * unit, length: 16 * unit, fua: false, generation: 1)]]
            if advertised.zero { setup.append([.zero(offset: 40 * unit, length: 16 * unit, noHole: false)]) }
            try context.runDisk(setup, model: &model)
            let connection = try context.connect { try $0.addMetaContext("base:allocation") }
            defer { try? connection.shutdown() }
            guard try connection.canMetaContext("base:allocation") else { throw CaseSkip("the server does not offer base:allocation") }
            // The first 128 blocks, asked about and read in pieces within the request limit.
            for piece in RequestPieces.split(offset: 0, length: min(context.exportSize, 128 * unit), limit: advertised.requestLimit, { (offset: $0, length: $1) }) {
                let extents = try expectSuccess("NBD_CMD_BLOCK_STATUS") { try connection.blockStatus(count: piece.length, offset: piece.offset) }
                try expect(!extents.isEmpty && extents.allSatisfy { $0.length > 0 }, "at least one descriptor, each of non-zero length",
                           expected: ">= 1 descriptor, lengths > 0", actual: "\(extents)")
                let data = try connection.pread(count: Int(piece.length), offset: piece.offset)
                var position: UInt64 = 0
                for extent in extents where position < piece.length {
                    let end = min(piece.length, position + UInt64(extent.length))
                    if extent.flags & 2 != 0, let nonZero = (position ..< end).first(where: { data[Int($0)] != 0 }) {
                        throw CaseFailure("an extent marked NBD_STATE_ZERO reads back non-zero",
                                          details: "extent at \(piece.offset + position), length \(extent.length), flags \(extent.flags); "
                                              + "byte \(piece.offset + nonZero) is 0x\(String(data[Int(nonZero)], radix: 16))",
                                          kind: .wrongReply)
                    }
                    position = end
                }
            }
        },
        diskCase(
            "disk/multi-conn-flush-covers-all-connections",
            "With CAN_MULTI_CONN, a write on one connection, FLUSH on a second, and a read on a third sees the write",
            .spec(.must, "Transmission flags", "then the effects of `NBD_CMD_FLUSH` and `NBD_CMD_FLAG_FUA` MUST be visible across all connections when the server sends its reply to that command to the client.")
        ) { context, advertised in
            guard advertised.multiConn else { throw CaseSkip("the server does not advertise NBD_FLAG_CAN_MULTI_CONN") }
            guard advertised.flush else { throw CaseSkip("the server does not advertise NBD_FLAG_SEND_FLUSH") }
            var model = context.diskModel(advertised)
            let unit = max(advertised.alignment, 4 * kib)
            let (writer, flusher, reader) = (try context.connect(), try context.connect(), try context.connect())
            defer { [writer, flusher, reader].forEach { try? $0.shutdown() } }
            // The reader reads first, so a server with a per-connection cache has something stale to serve.
            try context.runDisk([[.read(offset: 0, length: 64 * unit)]], model: &model, on: reader)
            try context.runDisk([[.write(offset: 0, length: 64 * unit, fua: false, generation: 1)]], model: &model, on: writer)
            try context.runDisk([[.flush]], model: &model, on: flusher)
            try context.runDisk([[.read(offset: 0, length: 64 * unit)]], model: &model, on: reader)
        },
        diskCase(
            "disk/structured-read-chunks-cover-once",
            "Structured READ replies carry the request's cookie and chunks that cover the range exactly once, with the data written",
            .spec(.must, "Request types", "The server MUST NOT send content chunks that overlap with any earlier content or error chunk")
        ) { context, advertised in
            var model = context.diskModel(advertised)
            let unit = max(advertised.alignment, 4 * kib)
            // Data, a zeroed run and bytes never written, so servers that send holes send them too.
            var setup: [[DiskRequest]] = [[.write(offset: 0, length: 32 * unit, fua: false, generation: 1)]]
            if advertised.zero { setup.append([.zero(offset: 8 * unit, length: 8 * unit, noHole: false)]) }
            try context.runDisk(setup, model: &model)
            let socket = try context.rawSocket()
            try socket.enterTransmissionWithStructuredReplies()
            let reads = [(0, 64 * unit), (unit, 20 * unit), (0, 1 << 20)].map { ($0, min($1, advertised.requestLimit)) }
            for (index, (offset, length)) in reads.enumerated() {
                let expected = model.apply(.read(offset: offset, length: length)).1!
                try StructuredReadCheck.check(socket, offset: offset, length: UInt32(length), cookie: 0xC0DE_0000 + UInt64(index), expected: expected)
            }
            try socket.sendDisconnect()
        },
        diskCase(
            "disk/read-only-refuses-writes",
            "A read-only export refuses WRITE, WRITE_ZEROES and TRIM (under --strict: with EPERM)",
            .spec(.must, "Transmission flags", "If this flag is set, the server MUST error subsequent write operations to the export."),
            writes: false
        ) { context, advertised in
            guard advertised.readOnly else { throw CaseSkip("the export is writable") }
            var model = context.diskModel(advertised)
            try context.runDisk([
                [.write(offset: 0, length: 512, fua: false, generation: 1)], [.zero(offset: 0, length: 512, noHole: false)],
                [.trim(offset: 0, length: 512)],
            ], model: &model)
        },
    ]

    /// Writes 64 blocks, asks for a fast zero of the first 32 (or of the request limit) and reads the 64 back. The
    /// MUST case accepts either answer and does not judge the range after a refusal; the SHOULD case
    /// (`judgesRefusedRange`) checks only that a refusal left the range as it was.
    private static func fastZeroCase(_ id: String, _ summary: String, _ requirement: Requirement, judgesRefusedRange: Bool) -> ConformanceCase {
        diskCase(id, summary, requirement) { context, advertised in
            guard advertised.fastZero else { throw CaseSkip("the server does not advertise NBD_FLAG_SEND_FAST_ZERO") }
            var model = context.diskModel(advertised)
            let unit = max(advertised.alignment, 512)
            let zeroed = min(32 * unit, model.requestLimit)
            try context.runDisk([[.write(offset: 0, length: 64 * unit, fua: false, generation: 1)]], model: &model)
            let connection = try context.connect()
            defer { try? connection.shutdown() }
            let refusal: NBDError?
            do {
                try connection.zero(count: zeroed, offset: 0, flags: .fastZero)
                refusal = nil
            } catch let error as NBDError {
                refusal = error
            }
            if judgesRefusedRange {
                guard let refusal else { throw CaseSkip("the server did the fast zero, so there is no refusal to check") }
                guard refusal.errno == ENOTSUP else {
                    throw CaseSkip("the fast zero failed with \(errnoName(refusal.errno)), not ENOTSUP (disk/fast-zero-as-advertised judges that)")
                }
            } else if let refusal {
                try expectEqual(errnoName(refusal.errno), errnoName(ENOTSUP), "the error of a fast zero that is refused")
                model.forget(0 ..< zeroed)
                context.note("fast zero refused with ENOTSUP")
            } else {
                _ = model.apply(.zero(offset: 0, length: zeroed, noHole: false))
                context.note("fast zero succeeded")
            }
            try context.runDisk([[.read(offset: 0, length: 64 * unit)]], model: &model, on: connection)
        }
    }

    private static func chunked(_ requests: [DiskRequest], _ size: Int) -> [[DiskRequest]] {
        stride(from: 0, to: requests.count, by: size).map { Array(requests[$0 ..< min($0 + size, requests.count)]) }
    }

    /// A disk case: it asks what the server advertises first, so every request stays within it.
    private static func diskCase(
        _ id: String, _ summary: String, _ requirement: Requirement, writes: Bool = true, layout: UInt64 = Requests.mib,
        body: @escaping @Sendable (CaseContext, Advertised) throws -> Void
    ) -> ConformanceCase {
        ConformanceCase(id, summary, requirement, profile: .disk, writesToExport: writes, mode: nil, size: diskSize, role: .negotiation) { context in
            // A live export smaller than the case's fixed layout gets no such case.
            if writes, context.exportSize < layout {
                throw CaseSkip("the export (\(context.exportSize) bytes) is smaller than the \(layout) bytes the case lays out")
            }
            let advertised = try context.advertised()
            // Every write would be refused, so reads would judge nothing: disk/read-only-refuses-writes is the case.
            if writes, advertised.readOnly { throw CaseSkip("the export is read-only (NBD_FLAG_READ_ONLY) and the case writes") }
            try body(context, advertised)
        }
    }
}

extension CaseContext {
    /// Where the workloads run: the first 16 MiB, or the whole export if smaller, so a large live export costs the
    /// same as the default one.
    var workArea: UInt64 { min(exportSize, DiskCases.diskSize) }

    /// A model of this case's export, knowing none of its bytes yet.
    func diskModel(_ advertised: Advertised) -> DiskModel {
        DiskModel(size: exportSize, readOnly: advertised.readOnly, seed: seed, requestLimit: advertised.requestLimit)
    }
}

/// Runs `body`, which must fail with an NBDError; returns it.
func expectThrows(_ what: String, _ body: () throws -> Void) throws -> NBDError {
    do {
        try body()
    } catch let error as NBDError {
        return error
    }
    throw CaseFailure("\(what) succeeded", details: "expected: failure\nactual:   success", kind: .wrongReply)
}

/// The structured-reply rules for READ, checked on the raw wire (libnbd reassembles chunks and hides them).
enum StructuredReadCheck {
    /// Reads `length` bytes at `offset` with cookies no other request uses, and checks that the chunks carry the
    /// request's cookie, stay within the request, cover it exactly once, end with NBD_REPLY_FLAG_DONE, and that
    /// the bytes match `expected` where it knows them.
    static func check(_ socket: RawNBDSocket, offset: UInt64, length: UInt32, cookie: UInt64, expected: DiskModel.Expectation) throws {
        try socket.sendRead(cookie: cookie, offset: offset, length: length)
        var covered = [Bool](repeating: false, count: Int(length))
        while true {
            let chunk = try socket.readStructuredChunk(maximumPayload: length + 8)
            try expectEqual(chunk.cookie, cookie, "the chunk's cookie")
            switch Wire.Chunk(rawValue: chunk.type) {
            case .offsetData, .offsetHole:
                let payload = chunk.payload
                try expect(payload.count >= (chunk.type == Wire.Chunk.offsetData.rawValue ? 9 : 12), "a data or hole chunk has its fields",
                           expected: "offset and data (or hole size)", actual: "\(payload.count) bytes")
                let start = RawNBDSocket.integer(Array(payload[0 ..< 8]))
                let size = chunk.type == Wire.Chunk.offsetData.rawValue ? UInt64(payload.count - 8) : RawNBDSocket.integer(Array(payload[8 ..< 12]))
                try expect(start >= offset && start + size <= offset + UInt64(length), "the chunk lies within the request",
                           expected: "within \(offset) ..< \(offset + UInt64(length))", actual: "\(start) ..< \(start + size)")
                for index in Int(start - offset) ..< Int(start - offset + size) {
                    if covered[index] {
                        throw CaseFailure("chunks overlap at request byte \(index)", details: "chunk \(start) ..< \(start + size) covers bytes already sent",
                                          kind: .wrongReply)
                    }
                    covered[index] = true
                    let byte: UInt8 = chunk.type == Wire.Chunk.offsetData.rawValue ? payload[8 + index - Int(start - offset)] : 0
                    if expected.known[index], byte != expected.bytes[index] {
                        throw CaseFailure("different data at request byte \(index)",
                                          details: "expected 0x\(String(expected.bytes[index], radix: 16)), read 0x\(String(byte, radix: 16))", kind: .wrongReply)
                    }
                }
            case Wire.Chunk.none?:
                break
            default:
                throw CaseFailure("the read failed: chunk type 0x\(String(chunk.type, radix: 16))", kind: .wrongReply)
            }
            if chunk.isDone { break }
        }
        if let hole = covered.firstIndex(of: false) {
            throw CaseFailure("the chunks leave request byte \(hole) uncovered", kind: .wrongReply)
        }
    }
}
