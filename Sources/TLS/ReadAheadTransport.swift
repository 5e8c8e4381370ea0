import CGnuTLS
import Glibc

/// GnuTLS's input once the handshake is over and the kernel has not taken
/// the records: ciphertext read from the socket in large pieces. GnuTLS's own
/// transport reads each record with two recv(2) calls, its header then its
/// body; here one call brings whatever has arrived, often many records.
/// (Measured: a few percent less server CPU; docs/design.md, "TLS".)
final class ReadAheadTransport {
    static let capacity = 256 * 1024
    /// A TLS record's header: type, version, length.
    static let recordHeaderLength = 5

    private let socket: Int32
    private let session: gnutls_session_t
    private let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
    private var start = 0
    private var end = 0

    init(socket: Int32, session: gnutls_session_t) {
        self.socket = socket
        self.session = session
    }

    deinit { storage.deallocate() }

    /// Takes over GnuTLS's reads; sends stay GnuTLS's own.
    func install() {
        gnutls_transport_set_ptr2(session, Unmanaged.passUnretained(self).toOpaque(),
                                  UnsafeMutableRawPointer(bitPattern: Int(socket)))
        gnutls_transport_set_pull_function(session) { pointer, destination, count in
            Unmanaged<ReadAheadTransport>.fromOpaque(pointer!).takeUnretainedValue().pull(into: destination!, count: count)
        }
        // Set with the pull function: GnuTLS's default would take this object's pointer for a descriptor
        // whenever it waits with a timeout.
        gnutls_transport_set_pull_timeout_function(session) { pointer, milliseconds in
            Unmanaged<ReadAheadTransport>.fromOpaque(pointer!).takeUnretainedValue().wait(milliseconds: milliseconds)
        }
    }

    var buffered: Int { end - start }

    /// A whole record waits here, so decrypting it needs no wait on the socket.
    var holdsRecord: Bool {
        guard buffered >= Self.recordHeaderLength else { return false }
        let length = Int(storage[start + 3]) << 8 | Int(storage[start + 4])
        return buffered >= Self.recordHeaderLength + length
    }

    private func pull(into destination: UnsafeMutableRawPointer, count: Int) -> Int {
        if start == end {
            start = 0
            end = 0
            let received = refill()
            guard received > 0 else { return received }
            end = received
        }
        let taken = min(count, end - start)
        destination.copyMemory(from: storage.baseAddress! + start, byteCount: taken)
        start += taken
        return taken
    }

    private func refill() -> Int {
        while true {
            let received = recv(socket, storage.baseAddress, storage.count, 0)
            if received >= 0 { return received }
            if errno == EINTR { continue }
            gnutls_transport_set_errno(session, errno)
            return -1
        }
    }

    /// GnuTLS asks whether input is ready within `milliseconds`: >0 yes, 0 no.
    private func wait(milliseconds: UInt32) -> Int32 {
        if start < end { return 1 }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let timeout = milliseconds == CGNUTLS_INDEFINITE_TIMEOUT ? -1 : Int32(clamping: milliseconds)
        while true {
            let ready = poll(&descriptor, 1, timeout)
            if ready >= 0 || errno != EINTR { return ready }
        }
    }
}
