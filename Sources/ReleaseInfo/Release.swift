/// The version of nbd-streaming and nbd-conformance, written here and nowhere
/// else: `--version` and `--dump-plugin` print it, the manual pages show it, and
/// scripts/package-deb.sh names the Debian package after what the built binary prints.
public enum Release {
    public static let version = "0.1.0"
}
