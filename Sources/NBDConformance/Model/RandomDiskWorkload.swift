/// Seeded disk workloads: batches of non-overlapping requests at random aligned offsets, mixing writes, reads
/// and whichever of WRITE_ZEROES, TRIM, CACHE, FLUSH and FUA the server advertised. One seed gives one workload
/// on every server with the same advertisement, so a failure is replayed with `--seed`.
struct RandomDiskWorkload {
    private var random: RandomWorkload.Generator
    private var generation: UInt64 = 0

    init(seed: UInt64) { random = RandomWorkload.Generator(seed: seed ^ 0xD15C) }

    mutating func batches(count: Int, depth: Int, size: UInt64, advertised: Advertised) -> [[DiskRequest]] {
        let unit = advertised.alignment
        let maximumLength = min(256 * 1024, advertised.workloadMaximumPayload, size)
        var batches: [[DiskRequest]] = []
        var made = 0
        while made < count {
            var batch: [DiskRequest] = []
            var taken: [Range<UInt64>] = []
            for _ in 0 ..< depth where made < count {
                made += 1
                let request = next(size: size, unit: unit, maximumLength: maximumLength, advertised: advertised)
                // In flight together means no order between them, so a batch never overlaps itself.
                if let range = request.range, taken.contains(where: { $0.overlaps(range) }) { continue }
                if let range = request.range { taken.append(range) }
                batch.append(request)
            }
            batches.append(batch)
        }
        return batches
    }

    private mutating func next(size: UInt64, unit: UInt64, maximumLength: UInt64, advertised: Advertised) -> DiskRequest {
        let blocks = max(1, maximumLength / unit)
        let length = (1 + random.below(random.below(4) == 0 ? blocks : min(blocks, max(1, 8192 / unit)))) * unit
        let offset = random.below((size - length) / unit + 1) * unit
        let kind = random.below(20)
        let fua = random.below(8) == 0 && advertised.fua
        generation += 1
        switch kind {
        case 0 ... 1 where advertised.zero: return .zero(offset: offset, length: length, noHole: random.below(2) == 0)
        case 2 where advertised.trim: return .trim(offset: offset, length: length)
        case 3 where advertised.cache: return .cache(offset: offset, length: length)
        case 4 where advertised.flush: return .flush
        case 5 ... 10: return .read(offset: offset, length: length)
        default: return .write(offset: offset, length: length, fua: fua, generation: generation)
        }
    }
}
