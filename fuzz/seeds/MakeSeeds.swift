// Writes the seed corpus (fixtures/fuzz-corpus/): one valid message of each
// kind the decoders read, made by the project's own encoders so the seeds
// cannot drift from the wire format. Run by scripts/fuzz-corpus.sh.
import Foundation

@main
enum MakeSeeds {
    static func option(_ code: OptionCode, _ payload: [UInt8] = []) -> [UInt8] {
        OptionHeader(code: code, length: UInt32(payload.count)).encode() + payload
    }

    static func request(_ command: Command, flags: CommandFlags = [], offset: UInt64 = 0, length: UInt32, payload: [UInt8] = []) -> [UInt8] {
        RequestHeader(flags: flags, command: command, cookie: 0x1234, offset: offset, length: length).encode() + payload
    }

    static let seeds: [String: [UInt8]] = [
        "client-flags": { var w = ByteWriter(); w.write(ClientFlags.known.rawValue); return w.bytes }(),
        "opt-go": option(.go, InfoRequest(exportName: "", requests: [.name, .blockSize]).encode()),
        "opt-info-named": option(.info, InfoRequest(exportName: "stream", requests: [.export, .description]).encode()),
        "opt-export-name": option(.exportName, Array("stream".utf8)),
        "opt-list": option(.list),
        "opt-abort": option(.abort),
        "opt-structured-reply": option(.structuredReply),
        "opt-set-meta": option(.setMetaContext, MetaContextRequest(exportName: "", queries: ["base:allocation"]).encode()),
        "opt-list-meta": option(.listMetaContext, MetaContextRequest(exportName: "x", queries: []).encode()),
        "info-request": InfoRequest(exportName: "disk", requests: [.blockSize]).encode(),
        "meta-request": MetaContextRequest(exportName: "", queries: ["base:", "qemu:dirty-bitmap:a"]).encode(),
        "req-read": request(.read, flags: .dontFragment, offset: 4096, length: 512),
        "req-write": request(.write, flags: .fua, length: 4, payload: [1, 2, 3, 4]),
        "req-write-zeroes": request(.writeZeroes, flags: [.noHole, .fastZero], offset: 1 << 20, length: 1 << 16),
        "req-block-status": request(.blockStatus, flags: .requestOne, length: 1 << 20),
        "req-disc": request(.disconnect, length: 0),
        "reply-simple": Reply.simple(cookie: 7, error: .invalid),
        "reply-data": Reply.offsetDataHeader(cookie: 7, offset: 0, dataLength: 3, done: true) + [9, 9, 9],
        "reply-error": Reply.errorChunk(cookie: 7, error: .io, message: "the reader went away"),
        "reply-block-status": Reply.blockStatus(cookie: 7, contextID: 1, extents: [Extent(length: 4096, flags: [.hole, .zero])]),
        "opt-reply-server": OptionReply.server(name: "stream", description: "streaming").encode(),
        "opt-reply-info": OptionReply.infoBlockSize(.go, BlockSizeConstraints(minimum: 1, preferred: 4096, maximum: 1 << 25)).encode(),
        "opt-reply-error": OptionReply.error(.go, .errTooBig, message: "too big").encode(),
    ]

    static func main() throws {
        let directory = CommandLine.arguments[1]
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, bytes) in seeds {
            try Data(bytes).write(to: URL(fileURLWithPath: "\(directory)/\(name).bin"))
        }
        print("wrote \(seeds.count) seeds to \(directory)")
    }
}
