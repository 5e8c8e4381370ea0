import NBDProtocol

/// The way into transmission for one client: a transmission slot first, then
/// the plugin's consent (it refuses once the stream has failed). Negotiation
/// asks at GO, EXPORT_NAME and the oldstyle greeting, and at INFO, which
/// tells what a GO would get; it gives both back on every way out.
struct Admission {
    let plugin: any NBDPlugin
    let slots: ConnectionSlots
    let slot: HandshakeSlot

    enum Refusal: Error {
        /// Every transmission slot is taken (`--max-connections`).
        case full(capacity: Int)
        case plugin(PluginError)

        var message: String {
            switch self {
            case let .full(capacity): "\(capacity) clients are already in transmission (--max-connections \(capacity))"
            case let .plugin(error): error.message
            }
        }

        /// The slots are the server's policy; a plugin's refusal means the
        /// export cannot be had now.
        var replyType: OptionReplyType {
            switch self {
            case .full: .errPolicy
            case .plugin: .errUnknown
            }
        }
    }

    func open() throws(Refusal) {
        guard slots.enterTransmission(slot) else { throw .full(capacity: slots.transmissionCapacity) }
        do { try plugin.openConnection() } catch {
            slots.leaveTransmission(slot)
            throw .plugin(error)
        }
    }

    func close() {
        plugin.closeConnection()
        slots.leaveTransmission(slot)
    }
}
