import Foundation
import Postgres
import PostgresTestSupport
import Synth
import Testing

@testable import Resolution

/// The scoring loop remembers name levels per pair of name sets (`MemoizingComparer`): what it
/// returns must be what `RecordComparer` computes, pair for pair, whatever the memo evicted.
@Suite("Name pair memo")
struct NamePairMemoTests {
    func record(_ id: Int64, given: String, preferred: String? = nil, family: String) -> MatchRecord {
        MatchRecord(
            id: id, kind: 1, nhs: 0, upn: 0, given: NameKey(given), preferredGiven: preferred.flatMap { NameKey($0) },
            family: NameKey(family), preferredFamily: nil, dob: 20_180_301, approximateAge: -1, ageYear: 0, sex: 1,
            postcode: PostcodeKey("NR1 1AA"), addressKey: 7, carerNHS: 0)
    }

    @Test("records share a name id only when their names and preferred names are the same")
    func idsFollowTheNames() {
        let records = [
            record(1, given: "Amelia", family: "Smith-Jones"),
            record(2, given: "amelia", family: "Smith-Jones"),
            record(3, given: "Amelia", preferred: "Mia", family: "Smith Jones"),
            record(4, given: "Amelia", family: "SmithJones"),
        ]
        let ids = NameSetIDs(records: records)
        #expect(ids.given[0] == ids.given[1])
        #expect(ids.given[0] != ids.given[2], "a preferred name makes another set")
        #expect(ids.given[0] == ids.given[3])
        #expect(ids.family[0] == ids.family[1])
        // The parts decide the hyphen-part level, so the same letters broken apart are another name.
        #expect(ids.family[0] == ids.family[2], "a space and a hyphen break the name in the same place")
        #expect(ids.family[0] != ids.family[3])
    }

    @Test("a slot answers only for the pair stored in it")
    func slotsHoldWholeKeys() {
        var memo = NamePairMemo(bits: 1)
        #expect(NamePairMemo.key(3, 8) == NamePairMemo.key(8, 3))
        #expect(NamePairMemo.key(3, 8) != NamePairMemo.key(3, 9))
        let keys = (0..<6).map { NamePairMemo.key(Int32($0), Int32($0 + 1)) }
        for (level, key) in keys.enumerated() { memo.store(UInt8(level), for: key) }
        var answered = 0
        for (level, key) in keys.enumerated() {
            if let known = memo.level(key) {
                #expect(known == UInt8(level))
                answered += 1
            }
        }
        // Two slots: at most two of the six pairs are still held, and the last stored one is.
        #expect(answered >= 1 && answered <= 2)
        #expect(memo.level(keys[5]) == 5)
        #expect(memo.level(NamePairMemo.key(9, 9)) == nil)
    }

    @Test("remembered levels equal the comparer's on every blocked pair and random pairs, harsh noise, tiny memo")
    func memoEqualsComparer() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-memo-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            _ = try SyntheticFeedWriter.write(
                config: SynthConfig(children: 1500, seed: 23, profile: .harsh), to: folder)
            _ = try ResolverTests.load(children: 1500, seed: 23, into: connection, folder: folder)
            let records = try MatchRecordLoader.loadAll(connection)
            let settings = ResolutionSettings()
            let frequencies = NameFrequencies(records: records)
            let candidates = CandidatePairs(
                records: records, rules: settings.blockingRules, nicknames: .standard, maxBlock: settings.maxBlockSize)
            var pairs = candidates.packed.map { (Int($0 >> 32), Int($0 & 0xFFFF_FFFF)) }
            var generator = ComparatorSplitMix64(seed: 5)
            for _ in 0..<20_000 {
                pairs.append(
                    (Int(generator.next() % UInt64(records.count)), Int(generator.next() % UInt64(records.count))))
            }
            let names = NameSetIDs(records: records)
            var plain = RecordComparer(nicknames: .standard, frequencies: frequencies)
            // 2⁶ slots: most pairs of names are evicted and computed again, some remembered.
            var memoized = MemoizingComparer(
                RecordComparer(nicknames: .standard, frequencies: frequencies), names: names, memoBits: 6)
            var differing = 0
            var levels: Set<UInt8> = []
            var asymmetric = 0
            for (i, j) in pairs {
                let expected = plain.compare(records[i], records[j])
                if memoized.compare(i, j, records[i], records[j]) != expected { differing += 1 }
                levels.insert(expected[.givenName])
                // The memo serves (j, i) with the level of (i, j): the name levels must be symmetric.
                let reversed = plain.compare(records[j], records[i])
                if reversed[.givenName] != expected[.givenName] || reversed[.familyName] != expected[.familyName] {
                    asymmetric += 1
                }
            }
            #expect(asymmetric == 0, "\(asymmetric) of \(pairs.count) pairs")
            #expect(differing == 0, "\(differing) of \(pairs.count) pairs")
            // The pairs exercise the name rules, and name sets repeat (so remembered levels are used).
            #expect(levels.count >= 5)
            let distinctNamePairs = Set(pairs.map { NamePairMemo.key(names.given[$0.0], names.given[$0.1]) })
            #expect(distinctNamePairs.count < pairs.count, "\(distinctNamePairs.count) of \(pairs.count)")
            #expect(records.contains { $0.preferredGiven != nil })
        }
    }

    @Test("u's level counts over random pairs, each name pair compared once, equal comparing every pair")
    func randomPairCountsEqualComparingEveryPair() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "fc-ucounts-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            _ = try SyntheticFeedWriter.write(
                config: SynthConfig(children: 1500, seed: 29, profile: .harsh), to: folder)
            _ = try ResolverTests.load(children: 1500, seed: 29, into: connection, folder: folder)
            let records = try MatchRecordLoader.loadAll(connection)
            let frequencies = NameFrequencies(records: records)
            let pairs = MatchModel.randomPairs(records: records, samples: 30_000, seed: 11)
            #expect(pairs.allSatisfy { $0.0 != $0.1 })
            let counts = MatchModel.randomPairLevelCounts(
                records: records, pairs: pairs, frequencies: frequencies, names: NameSetIDs(records: records))

            var plain = RecordComparer(nicknames: .standard, frequencies: frequencies)
            var expected = MatchField.allCases.map { [Double](repeating: 0, count: $0.levelCount) }
            for (i, j) in pairs {
                let vector = plain.compare(records[i], records[j])
                for field in MatchField.allCases { expected[field.rawValue][Int(vector[field])] += 1 }
            }
            #expect(counts == expected)
            for field in MatchField.allCases {
                #expect(counts[field.rawValue].reduce(0, +) == Double(pairs.count), "\(field.name)")
            }
            // The pairs exercise more than outright disagreement on names, and name pairs repeat,
            // so counting a distinct pair more than once is tested.
            let given = expected[MatchField.givenName.rawValue]
            #expect(given.enumerated().filter { $0.element > 0 }.count >= 3, "\(given)")
            let names = NameSetIDs(records: records)
            let distinct = Set(pairs.map { NamePairMemo.key(names.family[$0.0], names.family[$0.1]) })
            #expect(distinct.count < pairs.count / 2, "\(distinct.count) of \(pairs.count)")
        }
    }
}
