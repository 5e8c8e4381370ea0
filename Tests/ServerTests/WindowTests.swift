import Foundation
import NBDClient
import TestSupport
import Testing

/// reorder= and retain=: out-of-order clients and several connections on one
/// stream, with the exact bytes checked.
@Suite struct WindowTests {
    let fixture: DrainedPipe
    init() throws { fixture = try DrainedPipe() }

    @Test func connectionsShareOneWindowAndOneHighwater() throws {
        let server = try ServerProcess(["write=\(fixture.path)", "reorder=1M"], in: fixture.directory)
        let first = try server.connect(), second = try server.connect()
        #expect(try first.canMultiConn())
        try first.pwrite([3, 3], offset: 4)
        try second.pwrite([2, 2], offset: 2)
        try first.pwrite([1, 1], offset: 0)
        try first.shutdown()
        try second.shutdown()
        server.stop()
        #expect(try fixture.reader.contents() == [1, 1, 2, 2, 3, 3])
    }

    @Test func flushOnOneConnectionCoversWritesHeldForAnother() throws {
        let server = try ServerProcess(["write=\(fixture.path)", "reorder=1M"], in: fixture.directory)
        let first = try server.connect(), second = try server.connect()
        try first.pwrite([9], offset: 3)
        try second.flush()
        // The flush streamed the held write behind zeroes: the gap is gone.
        let late = #expect(throws: NBDError.self) { try first.pwrite([1], offset: 0) }
        #expect(late?.errno == EIO)
        server.stop()
        #expect(try fixture.reader.contents() == [0, 0, 0, 9])
        #expect(server.log.contains("reorder=1M or more would be needed"))
    }

    @Test func withoutAWindowMultiConnIsNotAdvertised() throws {
        let server = try ServerProcess(["write=\(fixture.path)"], in: fixture.directory)
        #expect(try !server.connect().canMultiConn())
    }
}

/// qemu-img and nbdcopy with many requests in flight, with and without windows.
@Suite struct OutOfOrderInteropTests {
    let stream: CaptiveStream
    init() throws { stream = try CaptiveStream(data: try randomBytes(64 << 20)) }

    @Test func qemuImgOutOfOrderWritesFailWithoutTheWindowAndSayWhichToSet() throws {
        let (result, streamed) = try stream.write(client: "qemu-img convert -n -W -m 16 -f raw \(stream.image) -O raw $nbd")
        #expect(result.status != 0)
        #expect(result.output.contains("client tried to seek backwards and write"))
        #expect(result.output.contains("reorder="))
        #expect(result.output.contains("the stream is incomplete"))
        #expect(streamed != stream.data)
    }

    @Test func qemuImgOutOfOrderWritesStreamExactlyWithTheWindow() throws {
        let (result, streamed) = try stream.write(["reorder=64M"], client: "qemu-img convert -n -W -m 16 -f raw \(stream.image) -O raw $nbd")
        #expect(result.status == 0, "\(result.output)")
        #expect(firstDifference(streamed, stream.data) == nil)
    }

    @Test func qemuImgOutOfOrderReadWithTheWindow() throws {
        let (result, output) = try stream.read(["retain=64M"], client: "qemu-img convert -W -m 16 -f raw $nbd -O raw OUTPUT")
        #expect(result.status == 0, "\(result.output)")
        #expect(firstDifference(output ?? [], stream.data) == nil)
    }

    @Test func nbdcopyFourConnectionsWritesExactlyWithTheWindow() throws {
        let (result, streamed) = try stream.write(["reorder=256M"], client: "nbdcopy --connections=4 --requests=64 \(stream.image) \"$uri\"")
        #expect(result.status == 0, "\(result.output)")
        #expect(firstDifference(streamed, stream.data) == nil)
    }

    @Test func nbdcopyFourConnectionsReadsExactlyWithTheWindow() throws {
        let (result, output) = try stream.read(["retain=512M"], client: "nbdcopy --connections=4 --requests=64 \"$uri\" OUTPUT")
        #expect(result.status == 0, "\(result.output)")
        #expect(firstDifference(output ?? [], stream.data) == nil)
    }
}

/// Incompressible bytes from the kernel, fast even in a debug build.
func randomBytes(_ count: Int) throws -> [UInt8] {
    guard let handle = FileHandle(forReadingAtPath: "/dev/urandom") else { throw TestFailure("cannot open /dev/urandom") }
    defer { try? handle.close() }
    return [UInt8](handle.readData(ofLength: count))
}
