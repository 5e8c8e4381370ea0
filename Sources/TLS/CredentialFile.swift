import SystemPackage
import Glibc

/// The bytes of a key, certificate or PSK file, read whole so that every
/// error can name the file (GnuTLS's own loaders do not say which one failed).
struct CredentialFile {
    /// Credentials are a few kilobytes; anything far larger is not one.
    static let sizeLimit = 1 << 20

    let path: String
    let bytes: [UInt8]

    init(path: String) throws(TLSError) {
        self.path = path
        do {
            let descriptor = try FileDescriptor.open(path, .readOnly, options: .closeOnExec)
            defer { try? descriptor.close() }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 16384)
            while true {
                let count = try chunk.withUnsafeMutableBytes { try descriptor.read(into: $0) }
                if count == 0 { break }
                bytes += chunk[..<count]
                if bytes.count > Self.sizeLimit { throw TLSError.invalidFile(path: path, reason: "larger than 1 MiB, not a credentials file") }
            }
            self.bytes = bytes
        } catch let error as TLSError {
            throw error
        } catch let error as Errno {
            throw .unreadableFile(path: path, reason: error.description)
        } catch {
            throw .unreadableFile(path: path, reason: "\(error)")
        }
    }

    /// Whether a file exists at `path` (readable or not), for optional files.
    static func exists(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0
    }
}
