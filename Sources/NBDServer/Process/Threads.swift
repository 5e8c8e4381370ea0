import Glibc
import SystemPackage

/// Starts a detached thread. A thread per connection keeps the per-request path
/// free of any event loop: the request's own blocking calls are its scheduling.
/// The kernel may refuse (EAGAIN: out of threads or memory); the caller decides
/// what that means, so it is an error, not a crash.
///
/// Stacks are 1 MiB rather than the usual 8: a connection's thread needs far
/// less (its buffers are on the heap), and a flood that starts and ends
/// thousands of threads a second then finds them in the C library's cache of
/// stacks instead of mapping and unmapping 8 MiB each time.
func detachThread(_ body: @escaping @Sendable () -> Void) throws(Errno) {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setstacksize(&attributes, stackSize)
    let box = Unmanaged.passRetained(Box(body))
    let status = pthread_create(&thread, &attributes, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, box.toOpaque())
    guard status == 0 else {
        box.release()
        throw Errno(rawValue: status)
    }
    pthread_detach(thread)
}

private let stackSize = 1 << 20
