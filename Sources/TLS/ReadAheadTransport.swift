import CGnuTLS
import SystemIO
import SystemPackage

/// GnuTLS's input once the handshake is over and the kernel has not taken
/// the records: ciphertext read from the socket in large pieces. GnuTLS's own
/// transport reads each record with two recv(2) calls, its header then its
/// body; here one call brings whatever has arrived, often many records.
/// (Measured: a few percent less server CPU; docs/design.md, "TLS".)
final class ReadAheadTransport {
    static let capacity = 256 * 1024
    /// A TLS record's header: type, version, length.
    static let recordHeaderLength = 5

    private let input: FileDescriptor
    private let output: FileDescriptor
    private let session: gnutls_session_t
    private let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
    private var start = 0
    private var end = 0
    /// The last read failed with EAGAIN: the socket's receive timeout expired.
    private var timedOut = false

    init(input: FileDescriptor, output: FileDescriptor, session: gnutls_session_t) {
        self.input = input
        self.output = output
        self.session = session
    }

    deinit { storage.deallocate() }

    /// Takes over GnuTLS's reads; sends stay GnuTLS's own, on `output`.
    func install() {
        gnutls_transport_set_ptr2(session, Unmanaged.passUnretained(self).toOpaque(),
                                  UnsafeMutableRawPointer(bitPattern: Int(output.rawValue)))
        gnutls_transport_set_pull_function(session) { pointer, destination, count in
            Unmanaged<ReadAheadTransport>.fromOpaque(pointer!).takeUnretainedValue().pull(into: destination!, count: count)
        }
        // Set with the pull function: GnuTLS's default would take this object's pointer for a descriptor
        // whenever it waits with a timeout.
        gnutls_transport_set_pull_timeout_function(session) { pointer, milliseconds in
            Unmanaged<ReadAheadTransport>.fromOpaque(pointer!).takeUnretainedValue().wait(milliseconds: milliseconds)
        }
    }

    private var buffered: Int { end - start }

    /// A whole record waits here, so decrypting it needs no wait on the socket.
    var holdsRecord: Bool {
        guard buffered >= Self.recordHeaderLength else { return false }
        let length = Int(storage[start + 3]) << 8 | Int(storage[start + 4])
        return buffered >= Self.recordHeaderLength + length
    }

    /// Whether the read behind GnuTLS's last GNUTLS_E_AGAIN timed out; asking clears it.
    func takeTimedOut() -> Bool {
        defer { timedOut = false }
        return timedOut
    }

    private func pull(into destination: UnsafeMutableRawPointer, count: Int) -> Int {
        if start == end {
            start = 0
            end = 0
            do {
                end = try input.readAvailable(into: storage)
            } catch {
                timedOut = error == .resourceTemporarilyUnavailable
                gnutls_transport_set_errno(session, error.rawValue)
                return -1
            }
            guard end > 0 else { return 0 }
        }
        let taken = min(count, end - start)
        destination.copyMemory(from: storage.baseAddress! + start, byteCount: taken)
        start += taken
        return taken
    }

    /// GnuTLS asks whether input is ready within `milliseconds`: >0 yes, 0 no, -1 an error.
    private func wait(milliseconds: UInt32) -> Int32 {
        if start < end { return 1 }
        let timeout: Duration? = milliseconds == CGNUTLS_INDEFINITE_TIMEOUT ? nil : .milliseconds(milliseconds)
        do {
            return try Poll.wait([(input, .readable)], timeout: timeout)[0].isEmpty ? 0 : 1
        } catch {
            gnutls_transport_set_errno(session, error.rawValue)
            return -1
        }
    }
}
