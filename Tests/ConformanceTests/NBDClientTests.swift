import Foundation
import Glibc
import NBDClient
import Testing

/// The libnbd wrapper against a real server: nbdkit's memory plugin on the connection's own stdin/stdout
/// (`nbdkit -s`), which libnbd starts and ends with the handle, so no process outlives a test.
struct NBDClientTests {
    private func memoryServer(_ size: String = "1M", configure: (NBDConnection) throws -> Void = { _ in }) throws -> NBDConnection {
        let connection = try NBDConnection()
        try configure(connection)
        try connection.connect(.command([try BuiltProducts.tool("nbdkit"), "-s", "--exit-with-parent", "--log=null", "memory", size]))
        return connection
    }

    @Test func writesReadBackAndExportInfoIsReported() throws {
        let connection = try memoryServer()
        #expect(try connection.exportSize() == 1 << 20)
        #expect(try connection.isReadOnly() == false)
        #expect(try connection.canFlush())
        let bytes = (0 ..< 5000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try connection.pwrite(bytes, offset: 4096, flags: .fua)
        #expect(try connection.pread(count: 5000, offset: 4096) == bytes)
        try connection.zero(count: 1000, offset: 4096)
        #expect(try connection.pread(count: 1000, offset: 4096) == [UInt8](repeating: 0, count: 1000))
        try connection.flush()
        try connection.cache(count: 4096, offset: 0)
        try connection.trim(count: 4096, offset: 8192)
        #expect(connection.protocolName == "newstyle-fixed")
        #expect(connection.handshakeFlags.contains(.fixedNewstyle))
        try connection.shutdown()
    }

    @Test func serverErrorsCarryErrnoAndMessage() throws {
        let connection = try memoryServer { try $0.setStrictMode([]) }
        let error = try #require(throws: NBDError.self) { try connection.pwrite([1, 2, 3], offset: (1 << 20) - 1) }
        #expect(error.errno == ENOSPC)
        #expect(error.message.contains("write: command failed"))
    }

    @Test func strictModeRejectsOutOfBoundsBeforeSending() throws {
        let connection = try memoryServer()
        #expect(connection.strictMode.contains(.bounds))
        let error = try #require(throws: NBDError.self) { _ = try connection.pread(count: 2, offset: 1 << 20) }
        #expect(error.errno == EINVAL)
    }

    @Test func manyRequestsInFlightAllComplete() throws {
        let connection = try memoryServer("4M")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0x5A)
        var completed = 0
        var maximumInFlight = 0
        for index in 0 ..< 256 {
            try connection.waitUntilInFlight(atMost: 31)
            try connection.submitPwrite(UnsafeRawBufferPointer(buffer), offset: UInt64(index) * 4096) { error in
                if error == 0 { completed += 1 }
            }
            maximumInFlight = max(maximumInFlight, connection.inFlight)
        }
        try connection.waitUntilInFlight(atMost: 0)
        #expect(completed == 256)
        #expect(maximumInFlight > 1)
        #expect(try connection.pread(count: 4096, offset: 255 * 4096) == [UInt8](repeating: 0x5A, count: 4096))
    }

    @Test func optionModeListsInfoAndMetaContexts() throws {
        let connection = try memoryServer { try $0.setOptionMode(true) }
        #expect(try connection.listExports().count >= 1)
        try connection.info()
        #expect(try connection.exportSize() == 1 << 20)
        try connection.addMetaContext("base:allocation")
        #expect(try connection.listMetaContexts() == ["base:allocation"])
        try connection.go()
        #expect(try connection.canMetaContext("base:allocation"))
        let extents = try connection.blockStatus(count: 65536, offset: 0)
        #expect(extents.reduce(0) { $0 + UInt64($1.length) } >= 65536)
    }

    @Test func cancellationEndsAWaitThatWouldNeverFinish() throws {
        let cancellation = Cancellation()
        let connection = try NBDConnection(cancellation: cancellation)
        try connection.connect(.command([try BuiltProducts.tool("nbdkit"), "-s", "--exit-with-parent", "--log=null", "--filter=delay", "memory", "1M", "delay-read=60"]))
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { cancellation.cancel(reason: "test") }
        let error = try #require(throws: NBDError.self) { _ = try connection.pread(count: 512, offset: 0) }
        #expect(error.errno == ECANCELED)
    }

    @Test(arguments: [
        ("unix:/run/nbd.sock", NBDEndpoint.unix(path: "/run/nbd.sock")),
        ("tcp:localhost:10809", .tcp(host: "localhost", port: "10809")),
        ("tcp:[::1]:10809", .tcp(host: "::1", port: "10809")),
        ("nbd+unix:///?socket=/tmp/s", .uri("nbd+unix:///?socket=/tmp/s")),
    ])
    func endpointsParse(_ text: String, _ endpoint: NBDEndpoint) {
        #expect(NBDEndpoint(parsing: text) == endpoint)
    }

    @Test(arguments: ["", "unix:", "tcp:host", "tcp:host:port", "http://x", "/tmp/sock"])
    func malformedEndpointsAreRejected(_ text: String) {
        #expect(NBDEndpoint(parsing: text) == nil)
    }

    @Test func libraryVersionIsReported() {
        #expect(NBDConnection.libraryVersion().hasPrefix("1."))
    }
}
