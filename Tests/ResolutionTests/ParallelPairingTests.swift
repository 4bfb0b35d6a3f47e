import Testing

@testable import Resolution

/// Blocking's entries and the stored keys are sorted on all cores, and the blocks are paired on
/// all cores (`ParallelSlices.sort`, `CandidatePairs(keys:)`): the results must be exactly what one
/// core gives, on inputs large enough to be split.
@Suite("Parallel pairing")
struct ParallelPairingTests {
    @Test("sorting in slices then merging equals one sort, with many equal keys")
    func sortEqualsSequential() {
        var generator = ComparatorSplitMix64(seed: 7)
        let values: [(key: UInt64, record: Int64)] = (0..<300_000).map { _ in
            (UInt64.random(in: 0..<5_000, using: &generator), Int64.random(in: 0..<50, using: &generator))
        }
        let less: @Sendable ((key: UInt64, record: Int64), (key: UInt64, record: Int64)) -> Bool = {
            $0.key < $1.key || ($0.key == $1.key && $0.record < $1.record)
        }
        var parallel = values
        ParallelSlices.sort(&parallel, minimumSlice: 10_000, by: less)
        let sequential = values.sorted(by: less)
        #expect(parallel.count == sequential.count)
        #expect(zip(parallel, sequential).allSatisfy { $0.key == $1.key && $0.record == $1.record })
        // Ten thousand values a slice: the input was split, not sorted whole.
        #expect(min(ParallelSlices.cores, values.count / 10_000) > 1 || ParallelSlices.cores == 1)
    }

    @Test(
        "sorting by a hash's leading bits, then each bucket, equals one sort: spread hashes, signed keys, and a few keys repeated",
        arguments: [0, 1, 2])
    func sortByHashEqualsSequential(spread: Int) {
        var generator = ComparatorSplitMix64(seed: 13 + UInt64(spread))
        let values: [(key: Int64, record: Int64)] = (0..<200_000).map { _ in
            let key: Int64 =
                switch spread {
                case 0: Int64(bitPattern: generator.next())
                // Half the values share 64 keys: buckets far larger than the rest.
                case 1:
                    Int64.random(in: 0..<2, using: &generator) == 0
                        ? Int64.random(in: 0..<64, using: &generator) : Int64(bitPattern: generator.next())
                default: Int64.random(in: -3...3, using: &generator)
                }
            return (key, Int64.random(in: 0..<40, using: &generator))
        }
        let less: @Sendable ((key: Int64, record: Int64), (key: Int64, record: Int64)) -> Bool = {
            $0.key < $1.key || ($0.key == $1.key && $0.record < $1.record)
        }
        var bucketed = values
        ParallelSlices.sortByHash(&bucketed, order: { UInt64(bitPattern: $0.key) ^ (1 << 63) }, by: less)
        let sequential = values.sorted(by: less)
        #expect(bucketed.count == sequential.count)
        #expect(zip(bucketed, sequential).allSatisfy { $0.key == $1.key && $0.record == $1.record })
    }

    /// Records whose names and birth dates repeat, so blocks of every size occur.
    func records(_ count: Int) -> [MatchRecord] {
        var generator = ComparatorSplitMix64(seed: 11)
        let given = ["Amelia", "Oliver", "Isla", "Harry", "Ava", "Jack", "Mia", "Noah", "Zara", "Leo"]
        let family = ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Patel", "Khan"]
        return (0..<count).map { index in
            let dob = UInt32(
                20_150_101 + Int.random(in: 0..<28, using: &generator) + 100 * Int.random(in: 0..<4, using: &generator))
            return MatchRecord(
                id: Int64(index + 1), kind: UInt8(index % 4), nhs: 0, upn: 0,
                given: NameKey(given.randomElement(using: &generator)!), preferredGiven: nil,
                family: NameKey(family.randomElement(using: &generator)!), preferredFamily: nil,
                dob: Int.random(in: 0..<10, using: &generator) == 0 ? 0 : dob, approximateAge: -1, ageYear: 0, sex: 0,
                postcode: PostcodeKey("NR\(Int.random(in: 1..<9, using: &generator)) 1AA"), addressKey: 0, carerNHS: 0)
        }
    }

    /// Every pair of records sharing a key of a block no larger than `maxBlock`, one core, no tricks.
    func referencePairs(_ keys: RecordKeys, firstNew: Int, maxBlock: Int) -> (pairs: [UInt64], oversized: Int) {
        var blocks: [UInt64: [Int]] = [:]
        for record in 0..<keys.recordCount { for key in keys.of(record) { blocks[key, default: []].append(record) } }
        var pairs: Set<UInt64> = []
        var oversized = 0
        for members in blocks.values {
            if members.count > maxBlock {
                oversized += 1
                continue
            }
            for a in members {
                for b in members where a < b && b >= firstNew { pairs.insert(UInt64(a) << 32 | UInt64(b)) }
            }
        }
        return (pairs.sorted(), oversized)
    }

    @Test(
        "pairs made from slices of blocks equal every pair sharing a key, full and incremental", arguments: [0, 20_000])
    func pairsEqualReference(firstNew: Int) {
        let records = records(24_000)
        let keys = RecordKeys(records: records, rules: BlockingRule.allCases, nicknames: .standard)
        // Enough entries for the blocks to be paired in more than one slice.
        #expect(keys.keys.count > 2 * 65_536)
        for maxBlock in [40, 400] {
            let pairs = CandidatePairs(keys: keys, firstNew: firstNew, maxBlock: maxBlock)
            let reference = referencePairs(keys, firstNew: firstNew, maxBlock: maxBlock)
            #expect(pairs.packed == reference.pairs, "maxBlock \(maxBlock)")
            #expect((pairs.oversizedBlocks["blocks"] ?? 0) == reference.oversized, "maxBlock \(maxBlock)")
            #expect(pairs.count > 10_000)
        }
    }

    @Test("keys computed batch by batch as records load, then joined, equal the keys of all records at once")
    func joinedKeysEqualWhole() {
        let records = records(50_000)
        let whole = RecordKeys(records: records, rules: BlockingRule.allCases, nicknames: .standard)
        // Batches of the loader's size, a last short one, and an empty one.
        let cuts = [0, 20_000, 40_000, 40_000, 50_000]
        let parts = zip(cuts, cuts.dropFirst()).map {
            RecordKeys(records: Array(records[$0..<$1]), rules: BlockingRule.allCases, nicknames: .standard)
        }
        let joined = RecordKeys(joining: parts)
        #expect(joined.recordCount == records.count)
        #expect(joined.keys == whole.keys)
        #expect(joined.start == whole.start)
        #expect(whole.keys.count > records.count)
    }
}
