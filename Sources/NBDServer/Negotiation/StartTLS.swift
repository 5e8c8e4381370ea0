import NBDProtocol
import SystemPackage
import TLS

/// NBD_OPT_STARTTLS and `--tls=require`, as the spec's "TLS support" section
/// and the STARTTLS history of other protocols ask: nothing the client sent
/// in plaintext behind the request is ever read as TLS input, and nothing
/// negotiated before the upgrade survives it.
extension Negotiation {
    /// Under `--tls=require`, before the upgrade, every option but STARTTLS and ABORT.
    func mustRefuseBeforeTLS(_ code: OptionCode) -> Bool {
        configuration.tls.isRequired && !encrypted && code != .startTLS && code != .abort
    }

    /// Answers STARTTLS and, after NBD_REP_ACK, runs the TLS handshake;
    /// returns why the connection ends, if it does.
    mutating func startTLS(_ payload: [UInt8]) throws -> Ending? {
        guard payload.isEmpty else {
            try reply(.error(.startTLS, .errInvalid, message: "NBD_OPT_STARTTLS takes no payload"))
            return nil
        }
        guard let credentials = configuration.tls.credentials else {
            // As nbdkit built with GnuTLS answers when TLS is off.
            try reply(.error(.startTLS, .errPolicy, message: "TLS is not enabled on this server"))
            return nil
        }
        guard !encrypted else {
            try reply(.error(.startTLS, .errInvalid, message: "TLS is already on"))
            return nil
        }
        // The client must wait for the reply before it sends anything more;
        // bytes already here were sent in plaintext and may be an attacker's.
        guard connection.buffered.isEmpty else { return .plaintextAfterStartTLS(connection.buffered.count) }
        guard let transport = connection.transport else {
            try reply(.error(.startTLS, .errPolicy, message: "TLS needs a socket"))
            return nil
        }
        try reply(OptionReply(option: .startTLS, type: .ack))
        let channel: TLSChannel
        do {
            // The TLS handshake's messages count as heard, as the bytes the connection reads itself do.
            let heard = connection.handshakeSlot.map { slot in { slot.heard() } }
            channel = try TLSChannel.accept(on: transport, credentials: credentials, deadline: connection.deadline, heard: heard)
        } catch .timedOut {
            throw Errno.resourceTemporarilyUnavailable
        } catch {
            return .tlsHandshakeFailed(error.description)
        }
        connection.upgrade(to: decorateChannel(channel))
        encrypted = true
        session = Session()
        logger.debug("\(channel.summary)")
        return nil
    }
}
