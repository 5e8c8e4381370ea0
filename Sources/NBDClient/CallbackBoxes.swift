import CLibNBD
import Glibc

/// libnbd callbacks are C function pointers that cannot capture; the Swift closure travels in user_data instead,
/// retained until libnbd calls `free` (exactly once per callback).
final class CallbackBox<Body> {
    let body: Body
    init(_ body: Body) { self.body = body }

    var retainedPointer: UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> CallbackBox<Body> {
        Unmanaged<CallbackBox<Body>>.fromOpaque(pointer!).takeUnretainedValue()
    }

    static func release(_ pointer: UnsafeMutableRawPointer?) {
        Unmanaged<CallbackBox<Body>>.fromOpaque(pointer!).release()
    }
}

typealias CompletionBody = (Int32) -> Void

/// A completion that reports the command's errno (0 on success) and retires the command itself.
func makeCompletion(_ body: @escaping CompletionBody) -> nbd_completion_callback {
    var callback = nbd_completion_callback()
    callback.user_data = CallbackBox<CompletionBody>(body).retainedPointer
    callback.callback = { userData, error in
        CallbackBox<CompletionBody>.from(userData).body(error?.pointee ?? 0)
        return 1
    }
    callback.free = { CallbackBox<CompletionBody>.release($0) }
    return callback
}

typealias ListBody = (String, String) -> Void

func makeListCallback(_ body: @escaping ListBody) -> nbd_list_callback {
    var callback = nbd_list_callback()
    callback.user_data = CallbackBox<ListBody>(body).retainedPointer
    callback.callback = { userData, name, description in
        CallbackBox<ListBody>.from(userData).body(
            name.map { String(cString: $0) } ?? "", description.map { String(cString: $0) } ?? "")
        return 0
    }
    callback.free = { CallbackBox<ListBody>.release($0) }
    return callback
}

typealias ContextBody = (String) -> Void

func makeContextCallback(_ body: @escaping ContextBody) -> nbd_context_callback {
    var callback = nbd_context_callback()
    callback.user_data = CallbackBox<ContextBody>(body).retainedPointer
    callback.callback = { userData, name in
        CallbackBox<ContextBody>.from(userData).body(name.map { String(cString: $0) } ?? "")
        return 0
    }
    callback.free = { CallbackBox<ContextBody>.release($0) }
    return callback
}

typealias ExtentBody = (String, UInt64, [Extent]) -> Void

func makeExtentCallback(_ body: @escaping ExtentBody) -> nbd_extent_callback {
    var callback = nbd_extent_callback()
    callback.user_data = CallbackBox<ExtentBody>(body).retainedPointer
    callback.callback = { userData, context, offset, entries, count, _ in
        // libnbd hands over (length, flags) pairs, so count is twice the number of extents.
        let pairs = UnsafeBufferPointer(start: entries, count: count)
        let extents = stride(from: 0, to: count - count % 2, by: 2).map { Extent(length: pairs[$0], flags: pairs[$0 + 1]) }
        CallbackBox<ExtentBody>.from(userData).body(context.map { String(cString: $0) } ?? "", offset, extents)
        return 0
    }
    callback.free = { CallbackBox<ExtentBody>.release($0) }
    return callback
}
