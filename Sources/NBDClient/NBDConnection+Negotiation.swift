import CLibNBD

/// Option haggling in option mode (`setOptionMode(true)` before `connect`). libnbd 1.14 has no separate
/// NBD_OPT_SET_META_CONTEXT call: the contexts added with `addMetaContext` are requested by `go()`.
extension NBDConnection {
    /// NBD_OPT_LIST.
    public func listExports() throws -> [ExportListing] {
        var exports: [ExportListing] = []
        try runOption { completion in
            nbd_aio_opt_list(handle, makeListCallback { exports.append(ExportListing(name: $0, description: $1)) }, completion)
        }
        return exports
    }

    /// NBD_OPT_INFO for the export name set with `setExportName`; afterwards size and flags can be read.
    public func info() throws {
        try runOption { nbd_aio_opt_info(handle, $0) }
    }

    /// NBD_OPT_GO: ends negotiation and enters transmission.
    public func go() throws {
        try runOption { nbd_aio_opt_go(handle, $0) }
    }

    /// NBD_OPT_LIST_META_CONTEXT for the queries added with `addMetaContext` (all contexts if none).
    public func listMetaContexts() throws -> [String] {
        var contexts: [String] = []
        try runOption { completion in
            nbd_aio_opt_list_meta_context(handle, makeContextCallback { contexts.append($0) }, completion)
        }
        return contexts
    }

    /// NBD_OPT_ABORT, then waits for the server to close (what `shutdown` does while negotiating).
    public func abortNegotiation() throws {
        try shutdown()
    }

    public var structuredRepliesNegotiated: Bool { nbd_get_structured_replies_negotiated(handle) == 1 }

    /// Submits one option and waits until its completion callback has run.
    private func runOption(_ submit: (nbd_completion_callback) -> Int32) throws {
        var finished = false
        var failure: Int32 = 0
        try check(submit(makeCompletion { error in
            failure = error
            finished = true
        }))
        try wait { !finished && !isDead }
        if !finished { try checkAlive() }
        if failure != 0 {
            throw NBDError(errno: failure, message: "option failed: \(nbd_get_error().map { String(cString: $0) } ?? "server error")")
        }
    }
}
