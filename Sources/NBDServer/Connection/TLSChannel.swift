import SystemPackage
import TLS

/// A connection's bytes inside a TLS session, once STARTTLS succeeded.
/// GnuTLS encrypts the records in user space, so payloads are copied
/// through memory; only when the kernel took the records over (kernel TLS)
/// may the server splice, because then the kernel encrypts what it splices.
public struct TLSChannel: ByteChannel {
    public let session: TLSSession
    /// The descriptors the records travel on: one socket, or `-s`'s standard input and output.
    public let transport: (input: FileDescriptor, output: FileDescriptor)
    public let spliceable: (input: FileDescriptor, output: FileDescriptor)?

    /// The server's side of the TLS handshake on `transport`, which must end
    /// by `deadline` (the connection's handshake deadline) if there is one;
    /// `heard` is called for every handshake message the client sends.
    static func accept(on transport: (input: FileDescriptor, output: FileDescriptor), credentials: TLSServerCredentials,
                       deadline: ContinuousClock.Instant?, heard: (() -> Void)?) throws(TLSError) -> TLSChannel {
        let session = try TLSSession.server(input: transport.input, output: transport.output, credentials: credentials)
        try session.handshake(deadline: deadline, onPeerMessage: heard)
        return TLSChannel(session: session, transport: transport)
    }

    init(session: TLSSession, transport: (input: FileDescriptor, output: FileDescriptor)) {
        self.session = session
        self.transport = transport
        // GnuTLS reports whether the kernel took the records over (gnutls_transport_is_ktls_enabled);
        // only then does a splice carry plaintext that the kernel encrypts.
        spliceable = session.kernelTLS == .duplex ? transport : nil
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        do {
            return try session.read(into: buffer)
        } catch .timedOut {
            // The handshake deadline's socket timeout (nothing else), reported as on a plain socket.
            throw Errno.resourceTemporarilyUnavailable
        }
    }

    public func write(_ buffers: [UnsafeRawBufferPointer]) throws {
        do {
            try session.write(buffers)
        } catch .timedOut {
            throw Errno.resourceTemporarilyUnavailable
        }
    }

    /// Sends close_notify, so the client can tell the end from a cut.
    public func finish() {
        try? session.bye()
    }

    /// One line for the `-v` log: what was negotiated, and which path the bytes take.
    var summary: String {
        let user = session.pskUsername.map { " for PSK user \($0)" } ?? ""
        let path = spliceable != nil
            ? "kernel TLS \(session.kernelTLS): payloads spliced through the kernel's encryption"
            : "kernel TLS \(session.kernelTLS): records encrypted by GnuTLS, payloads copied"
        return "TLS \(session.negotiated)\(user); \(path)"
    }
}
