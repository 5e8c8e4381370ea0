import TestSupport
import NBDProtocol

/// What one hostile client sends, drawn from a generator seeded per session:
/// a handshake of real, lying and byte-mutated options, then (if it reaches
/// transmission) requests with extreme fields, lying payloads and cut-offs.
///
/// It never moves the stream, by construction: every WRITE and WRITE_ZEROES
/// header it builds (and, when asked, every READ: in read mode one takes
/// bytes from the pipe, and beside a live stream in write mode one below the
/// highwater is an error the contract calls for) is one the protocol forbids (an unknown flag, zero length,
/// or a range past the export's end), and byte 0x25, the first byte of the
/// request magic, appears nowhere else in the session. However a lie or a
/// mutation shifts the server's framing, a request header can then only be
/// found where one was built. So a well-behaved client afterwards must find
/// the stream exactly as if no hostile client had come.
struct HostileSession {
    private(set) var bytes: [UInt8] = []
    /// Where a request header was built: the only offsets 0x25 may occupy.
    private var headerStarts: Set<Int> = []
    /// Leave as soon as everything is sent, without reading a reply.
    let leavesAbruptly: Bool
    private let exportSize: UInt64
    /// READs are built forbidden too.
    private let forbidsReads: Bool
    private var rng: SeededGenerator

    static let requestMagicFirstByte: UInt8 = 0x25

    init(seed: UInt64, exportSize: UInt64, forbidsReads: Bool = false) throws {
        rng = SeededGenerator(seed: seed)
        self.exportSize = exportSize
        self.forbidsReads = forbidsReads
        leavesAbruptly = rng.chance(30)
        if rng.chance(5) {
            bytes = (0..<Int.random(in: 0...4096, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        } else {
            let entersTransmission = buildHandshake()
            if entersTransmission {
                for _ in 0..<Int.random(in: 0...30, using: &rng) { appendRequest() }
            }
        }
        if rng.chance(20) { bytes.removeLast(Int.random(in: 0...min(40, bytes.count), using: &rng)) }
        try sanitize()
    }

    // MARK: Handshake

    /// Client flags and options, perhaps byte-mutated; true if it ends in a
    /// GO or EXPORT_NAME, after which requests follow.
    private mutating func buildHandshake() -> Bool {
        var handshake = ByteWriter()
        handshake.write(rng.chance(85) ? rng.pick([ClientFlags.known, .fixedNewstyle]).rawValue : UInt32.random(in: 0...UInt32.max, using: &rng))
        // Now and then a haggler: harmless LISTs up to and past the 64-option cap.
        let haggles = rng.chance(5)
        let count = haggles ? Int.random(in: 60...70, using: &rng) : Int.random(in: 0...8, using: &rng)
        for _ in 0..<count { handshake.write(haggles ? OptionHeader(code: .list, length: 0).encode() : option()) }
        let ending = Int.random(in: 0..<100, using: &rng)
        if ending < 60 {
            let payload = InfoRequest(exportName: "", requests: [.blockSize]).encode()
            handshake.write(OptionHeader(code: .go, length: UInt32(payload.count)).encode() + payload)
        } else if ending < 75 {
            handshake.write(OptionHeader(code: .exportName, length: 0).encode())
        }
        bytes = handshake.bytes
        if rng.chance(40) {
            for _ in 0..<Int.random(in: 1...8, using: &rng) { mutate() }
        }
        return ending < 75
    }

    private mutating func option() -> [UInt8] {
        let code: OptionCode = rng.pick([.go, .info, .list, .structuredReply, .listMetaContext, .setMetaContext,
                                         .startTLS, .exportName, .abort, .peekExport, .extendedHeaders,
                                         OptionCode(rawValue: UInt32.random(in: 0...UInt32.max, using: &rng))])
        let payload: [UInt8] = switch code {
        case .go, .info:
            InfoRequest(exportName: name(), requests: (0..<Int.random(in: 0...6, using: &rng)).map { _ in InfoType(rawValue: UInt16.random(in: 0...5, using: &rng)) }).encode()
        case .listMetaContext, .setMetaContext:
            MetaContextRequest(exportName: name(), queries: (0..<Int.random(in: 0...4, using: &rng)).map { _ in
                rng.pick(["base:allocation", "base:", "", "qemu:dirty-bitmap:x", name()])
            }).encode()
        default:
            rng.chance(70) ? [] : randomBytes(upTo: 300)
        }
        // A length that lies, in either direction, or is absurd.
        let length = rng.chance(15)
            ? rng.pick([0, 1, 0xffff_ffff, NBDLimits.maximumOptionLength, NBDLimits.maximumOptionLength + 1, UInt32(payload.count) + 7, UInt32(payload.count / 2)])
            : UInt32(payload.count)
        return OptionHeader(code: code, length: length).encode() + payload
    }

    /// Export names: the usual ones, one just over the spec's 4096-byte cap,
    /// and bytes that are not UTF-8 (the encoder takes a String, so those are
    /// spliced in as a mutation instead).
    private mutating func name() -> String {
        rng.pick(["", "stream", String(repeating: "n", count: NBDLimits.maximumStringLength + 1), "\u{0}", "é"])
    }

    /// One byte-level mutation of the handshake.
    private mutating func mutate() {
        guard !bytes.isEmpty else { return }
        let at = Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: bytes[at] ^= 1 << UInt8.random(in: 0...7, using: &rng)
        case 1: bytes[at] = UInt8.random(in: 0...255, using: &rng)
        case 2: bytes.insert(contentsOf: randomBytes(upTo: 16), at: at)
        case 3: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...16, using: &rng)))
        case 4: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + Int.random(in: 1...32, using: &rng))], at: at)
        default:
            // An interesting 32-bit value over whatever field is there.
            var value = ByteWriter()
            value.write(rng.pick([0, 1, 0xffff_ffff, 0x8000_0000, 4096, 4097, 65536, 65537] as [UInt32]))
            for (index, byte) in value.bytes.enumerated() where at + index < bytes.count { bytes[at + index] = byte }
        }
    }

    // MARK: Transmission

    private mutating func appendRequest() {
        let command: Command = rng.pick([.read, .read, .read, .write, .write, .writeZeroes, .flush, .cache,
                                         .blockStatus, .trim, .disconnect,
                                         Command(rawValue: UInt16.random(in: 8...UInt16.max, using: &rng))])
        // Mostly flags a command may carry, so requests get past the flag check
        // to the length and range checks and to the plugin.
        var flags = CommandFlags(rawValue: rng.pick([0, 0, 0, 0, UInt16.random(in: 0..<32, using: &rng), UInt16.random(in: 0...UInt16.max, using: &rng)]))
        var offset: UInt64 = rng.pick([0, 1, 4095, exportSize - 1, exportSize, UInt64.max, UInt64.random(in: 0..<exportSize, using: &rng)])
        var length: UInt32 = rng.pick([0, 1, 512, 4096, 1 << 20, 32 << 20, (32 << 20) + 1, (128 << 20) + 1, UInt32.max,
                               UInt32.random(in: 0..<65536, using: &rng)])
        if movesTheStream(command) {
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: flags.insert(CommandFlags(rawValue: 0x8000))  // no such flag
            case 1: length = 0
            default:
                offset = exportSize  // one byte or more past the end
                length = max(length, 1)
            }
        }
        headerStarts.insert(bytes.count)
        var header = RequestHeader(flags: flags, command: command, cookie: rng.next(), offset: offset, length: length).encode()
        if rng.chance(3) { header[0] = 0x26 }  // a bad magic: the server must hang up
        bytes += header
        if command == .write {
            // Payloads of zeroes (never the magic), often shorter than announced.
            let sent = rng.chance(60) && length <= 1 << 18 ? Int(length) : Int.random(in: 0...Int(min(length, 1 << 18)), using: &rng)
            bytes += [UInt8](repeating: 0, count: sent)
        }
    }

    // MARK: The invariant

    private func movesTheStream(_ command: Command) -> Bool {
        command == .write || command == .writeZeroes || (forbidsReads && command == .read)
    }

    /// Removes the request magic's first byte from everywhere but the built
    /// headers, then checks that no built header is a request the server could
    /// accept and that moves the stream: a broken generator must fail the
    /// test, not weaken it.
    private mutating func sanitize() throws {
        for index in bytes.indices where bytes[index] == Self.requestMagicFirstByte && !headerStarts.contains(index) {
            bytes[index] = Self.requestMagicFirstByte - 1
        }
        for start in headerStarts where start + NBDLimits.requestHeaderLength <= bytes.count {
            guard let header = try? RequestHeader.decode(Array(bytes[start..<start + NBDLimits.requestHeaderLength])),
                  movesTheStream(header.command) else { continue }
            let (end, overflow) = header.offset.addingReportingOverflow(UInt64(header.length))
            let forbidden = header.flags.contains(CommandFlags(rawValue: 0x8000)) || header.length == 0 || overflow || end > exportSize
            guard forbidden else { throw TestFailure("the hostile generator built an acceptable \(header.command): \(header)") }
        }
    }

    private mutating func randomBytes(upTo count: Int) -> [UInt8] {
        (0..<Int.random(in: 0...count, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }
}
