// A deliberately broken nbd-streaming for the conformance gate's own tests:
// NBD_FAULT names the fault (see Fault). Never install it.
import Glibc
import NBDServer
import StreamingCLI
import TLS

let name = getenv("NBD_FAULT").map { String(cString: $0) } ?? ""
guard let fault = Fault(rawValue: name) else {
    let known = Fault.allCases.map(\.rawValue).joined(separator: ", ")
    print("nbd-streaming-faulty: error: NBD_FAULT must be one of: \(known)")
    exit(1)
}
StreamingMain.run(decoratePlugin: { FaultyPlugin(wrapping: $0, fault: fault) }, decorateChannel: FaultyChannel.decorator(for: fault),
                  decorateTLS: { mode in
                      guard fault == .plaintextUnderRequire, case let .require(credentials) = mode else { return mode }
                      return .on(credentials)
                  })
