import Foundation
import Synchronization

/// Reads first returned per (offset, length), shared by every connection: what `stale-read` serves again.
let staleCache = Mutex<[String: [UInt8]]>([:])

/// One client relayed to its own upstream connection. The handshake is relayed option by option (libnbd sends
/// one at a time); in transmission one thread carries requests and another replies, and the fault is applied
/// to the messages as they pass.
final class ProxyConnection: Sendable {
    private let client: Socket
    private let upstream: Socket
    private let fault: Fault?
    private struct State {
        /// Requests in flight by cookie, so a simple READ reply's payload length is known.
        var requests: [UInt64: Request] = [:]
        var repliesSeen = 0
        /// `flush-covers-own-connection-only`: writes acknowledged but not yet sent upstream.
        var heldWrites: [Request] = []
        /// Cookies of held writes sent upstream at FLUSH, whose replies the client must not see.
        var swallowed: Set<UInt64> = []
        var nextPrivateCookie: UInt64 = 1 << 63
    }
    private let state = Mutex(State())
    /// The client socket is written by both threads in the held-writes fault.
    private let clientWrites = Mutex(())

    init(client: Socket, upstream: Socket, fault: Fault?) {
        self.client = client
        self.upstream = upstream
        self.fault = fault
    }

    func run() {
        defer {
            client.shutdownBoth()
            upstream.shutdownBoth()
            close(client.fd)
            close(upstream.fd)
        }
        guard relayHandshake() else { return }
        let repliesDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [self] in
            relayReplies()
            client.shutdownBoth()
            repliesDone.signal()
        }
        relayRequests()
        upstream.shutdownBoth()
        // The reply thread ends once upstream is shut down; its descriptors are closed after it.
        repliesDone.wait()
    }

    // MARK: Handshake

    /// Relays the greeting and options; true when transmission starts, false if the session ended first.
    private func relayHandshake() -> Bool {
        guard let greeting = upstream.read(18), client.write(greeting), let clientFlags = client.read(4), upstream.write(clientFlags)
        else { return false }
        let noZeroes = greeting.integer(at: 16, width: 2) & NBD.flagNoZeroes != 0 && clientFlags.integer(at: 0, width: 4) & NBD.flagNoZeroes != 0
        while true {
            guard let header = client.read(16) else { return false }
            let option = header.integer(at: 8, width: 4)
            let length = Int(header.integer(at: 12, width: 4))
            guard length <= 1 << 20 else { return false }
            guard let data = client.read(length), upstream.write(header + data) else { return false }
            if option == NBD.optionExportName {
                guard let info = upstream.read(10 + (noZeroes ? 0 : 124)), client.write(info) else { return false }
                return true
            }
            while true {
                guard let reply = upstream.read(20) else { return false }
                let type = reply.integer(at: 12, width: 4)
                guard let payload = upstream.read(Int(reply.integer(at: 16, width: 4))), client.write(reply + payload) else { return false }
                guard type == NBD.replyAck || type & NBD.replyErrorBit != 0 else { continue }
                if option == NBD.optionGo, type == NBD.replyAck { return true }
                if option == NBD.optionAbort { return false }
                break
            }
        }
    }

    // MARK: Requests

    private func relayRequests() {
        while let header = client.read(28) {
            var request = Request(header: header, payload: [])
            if request.type == NBD.Command.write.rawValue {
                guard let payload = client.read(Int(request.length)) else { return }
                request.payload = payload
            }
            state.withLock { $0.requests[request.cookie] = request }
            switch (fault, NBD.Command(rawValue: request.type)) {
            case (.offByOneWrite, .write):
                request.offset += 1
            case (.zeroesAtWrongOffset, .writeZeroes):
                request.offset += 512
            case (.flushCoversOwnConnectionOnly, .write) where request.flags & NBD.commandFlagFUA == 0:
                state.withLock { $0.heldWrites.append(request) }
                sendToClient(Self.simpleReply(cookie: request.cookie))
                continue
            case (.flushCoversOwnConnectionOnly, .flush):
                let held = state.withLock { state -> [Request] in
                    defer { state.heldWrites = [] }
                    return state.heldWrites.map { write in
                        var copy = write
                        copy.header.setInteger(state.nextPrivateCookie, at: 8, width: 8)
                        state.swallowed.insert(state.nextPrivateCookie)
                        state.requests[state.nextPrivateCookie] = copy
                        state.nextPrivateCookie += 1
                        return copy
                    }
                }
                for write in held where !upstream.write(write.header + write.payload) { return }
            default:
                break
            }
            guard upstream.write(request.header + request.payload) else { return }
            if request.type == NBD.Command.disconnect.rawValue { return }
        }
    }

    private static func simpleReply(cookie: UInt64) -> [UInt8] {
        var reply = [UInt8](repeating: 0, count: 16)
        reply.setInteger(NBD.simpleReplyMagic, at: 0, width: 4)
        reply.setInteger(cookie, at: 8, width: 8)
        return reply
    }

    private func sendToClient(_ bytes: [UInt8]) {
        clientWrites.withLock { _ in _ = client.write(bytes) }
    }

    // MARK: Replies

    private func relayReplies() {
        while let magicBytes = upstream.read(4) {
            let magic = magicBytes.integer(at: 0, width: 4)
            if magic == NBD.simpleReplyMagic {
                guard let rest = upstream.read(12) else { return }
                var reply = magicBytes + rest
                let cookie = reply.integer(at: 8, width: 8)
                let request = state.withLock { $0.requests.removeValue(forKey: cookie) }
                var data: [UInt8] = []
                if reply.integer(at: 4, width: 4) == 0, let request, request.type == NBD.Command.read.rawValue {
                    guard let payload = upstream.read(Int(request.length)) else { return }
                    data = payload
                    if fault == .staleRead { data = stale(data, offset: request.offset) }
                }
                if state.withLock({ $0.swallowed.remove(cookie) }) != nil { continue }
                corruptCookie(&reply, at: 8)
                sendToClient(reply + data)
            } else if magic == NBD.structuredReplyMagic {
                guard let rest = upstream.read(16) else { return }
                var header = magicBytes + rest
                let flags = header.integer(at: 4, width: 2)
                let type = header.integer(at: 6, width: 2)
                let cookie = header.integer(at: 8, width: 8)
                guard var payload = upstream.read(Int(header.integer(at: 16, width: 4))) else { return }
                if flags & NBD.chunkFlagDone != 0 { state.withLock { _ = $0.requests.removeValue(forKey: cookie) } }
                if state.withLock({ flags & NBD.chunkFlagDone != 0 ? $0.swallowed.remove(cookie) != nil : $0.swallowed.contains(cookie) }) {
                    continue
                }
                if type == NBD.chunkOffsetData {
                    if fault == .staleRead {
                        payload = Array(payload[0 ..< 8]) + stale(Array(payload[8...]), offset: payload.integer(at: 0, width: 8))
                    }
                    if fault == .overlappingChunks {
                        var first = header
                        first.setInteger(flags & ~NBD.chunkFlagDone, at: 4, width: 2)
                        sendToClient(first + payload)
                    }
                }
                if type == NBD.chunkBlockStatus, fault == .extentsThatLie {
                    for descriptor in stride(from: 4, to: payload.count, by: 8) {
                        payload.setInteger(payload.integer(at: descriptor + 4, width: 4) | NBD.stateZero, at: descriptor + 4, width: 4)
                    }
                }
                corruptCookie(&header, at: 8)
                sendToClient(header + payload)
            } else {
                return
            }
        }
    }

    /// `wrong-cookie`: the tenth reply of the connection names another request.
    private func corruptCookie(_ message: inout [UInt8], at offset: Int) {
        guard fault == .wrongCookie else { return }
        let count = state.withLock { state -> Int in
            state.repliesSeen += 1
            return state.repliesSeen
        }
        if count == 10 { message.setInteger(message.integer(at: offset, width: 8) ^ 0x5A5A, at: offset, width: 8) }
    }

    private func stale(_ data: [UInt8], offset: UInt64) -> [UInt8] {
        let key = "\(offset)+\(data.count)"
        return staleCache.withLock { cache in
            if let first = cache[key] { return first }
            cache[key] = data
            return data
        }
    }
}
