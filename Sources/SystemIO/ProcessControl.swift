import CSystemShims
import Glibc
import SystemPackage

/// Process attributes set through prctl(2).
public enum ProcessControl {
    /// Asks the kernel to send `signal` to this process when its parent exits.
    public static func setParentDeathSignal(_ signal: Int32) throws(Errno) {
        try valueOrErrno { nbd_shim_set_parent_death_signal(signal) }
    }

    /// Waits for the child `pid` to end and returns its wait status (waitpid(2)).
    public static func waitForExit(of pid: pid_t) throws(Errno) -> Int32 {
        var status: Int32 = 0
        try valueOrErrno { waitpid(pid, &status, 0) }
        return status
    }
}
