import Testing

/// Suites that run catalogs against real servers. They run one at a time: on two cores, one run's gigabyte
/// cases would otherwise eat into another run's timeouts.
@Suite(.serialized)
enum ServerRuns {}
