// The project serves streams through Linux-only calls (splice(2),
// F_SETPIPE_SZ, prctl(2)), and says so at build time rather than carrying
// guards that suggest other platforms work.
#if !os(Linux)
#error("nbd-streaming is Linux-only")
#endif
