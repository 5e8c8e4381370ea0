import Foundation
import Glibc

// nbd-fault-proxy: a test-only NBD proxy that sits between nbd-conformance and a real disk server (nbdkit
// memory in the tests) and injects one disk fault into the traffic, to prove the disk profile catches it.
// Usage: nbd-fault-proxy LISTEN-SOCKET UPSTREAM-SOCKET FAULT
let arguments = CommandLine.arguments
guard arguments.count == 4, let fault = Fault(rawValue: arguments[3]) else {
    FileHandle.standardError.write(Data("usage: nbd-fault-proxy LISTEN UPSTREAM FAULT (\(Fault.allCases.map(\.rawValue).joined(separator: ", ")))\n".utf8))
    exit(2)
}
signal(SIGPIPE, SIG_IGN)
let listener = Socket.listen(unixPath: arguments[1])
guard listener >= 0 else {
    FileHandle.standardError.write(Data("nbd-fault-proxy: cannot listen on \(arguments[1])\n".utf8))
    exit(1)
}
let upstreamPath = arguments[2]
while true {
    let fd = accept(listener, nil, nil)
    if fd < 0 { continue }
    let client = Socket(fd: fd)
    let path = upstreamPath
    let chosen = fault
    Thread.detachNewThread {
        // The upstream server is started beside the proxy; it may not listen yet when the first client arrives.
        guard let upstream = Socket.connect(unixPath: path, retryingFor: 5) else {
            close(fd)
            return
        }
        ProxyConnection(client: client, upstream: upstream, fault: chosen == .none ? nil : chosen).run()
    }
}
