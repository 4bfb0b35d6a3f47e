import Testing

@testable import Resolution

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite("Comparators: Jaro–Winkler")
struct ComparatorJaroWinklerTests {
    @Test(
        "textbook values",
        arguments: [
            ("MARTHA", "MARHTA", 0.961),
            ("DWAYNE", "DUANE", 0.840),
            ("DIXON", "DICKSONX", 0.813),
            ("JELLYFISH", "SMELLYFISH", 0.896),
        ])
    func textbook(_ a: String, _ b: String, _ expected: Double) {
        var scratch = JaroScratch()
        let jw = StringSimilarity.jaroWinkler(bytes(a), bytes(b), scratch: &scratch)
        #expect(abs(jw - expected) < 0.001, "\(a)/\(b): \(jw)")
        #expect(StringSimilarity.jaroWinkler(bytes(b), bytes(a), scratch: &scratch) == jw)
    }

    @Test func jaroWithoutPrefixBonus() {
        var scratch = JaroScratch()
        let j = bytes("MARTHA").withUnsafeBufferPointer { a in
            bytes("MARHTA").withUnsafeBufferPointer { b in StringSimilarity.jaro(a, b, scratch: &scratch) }
        }
        #expect(abs(j - 0.944) < 0.001)
    }

    @Test func equalEmptyAndDisjoint() {
        var scratch = JaroScratch()
        #expect(StringSimilarity.jaroWinkler(bytes("SMITH"), bytes("SMITH"), scratch: &scratch) == 1)
        #expect(StringSimilarity.jaroWinkler([], [], scratch: &scratch) == 1)
        #expect(StringSimilarity.jaroWinkler([], bytes("A"), scratch: &scratch) == 0)
        #expect(StringSimilarity.jaroWinkler(bytes("SMITH"), [], scratch: &scratch) == 0)
        #expect(StringSimilarity.jaroWinkler(bytes("ABC"), bytes("XYZ"), scratch: &scratch) == 0)
        #expect(StringSimilarity.jaroWinkler(bytes("A"), bytes("A"), scratch: &scratch) == 1)
    }

    @Test func noBonusBelowBoostThreshold() {
        // Jaro("ABCDEFGH", "ABCDWXYZ") = (4/8 + 4/8 + 1) / 3 = 0.667 < 0.7: no prefix bonus.
        var scratch = JaroScratch()
        let jw = StringSimilarity.jaroWinkler(bytes("ABCDEFGH"), bytes("ABCDWXYZ"), scratch: &scratch)
        #expect(abs(jw - 2.0 / 3.0) < 1e-12)
    }

    @Test func longStringsUseTheScratchPathAndAgree() {
        // 70 bytes: beyond the 64-byte bit-mask path.
        let a = bytes(String(repeating: "MARTHAJONES", count: 7))
        var b = a
        b.swapAt(3, 4)
        b[60] = 0x5A
        var scratch = JaroScratch(capacity: 4)
        let long = StringSimilarity.jaroWinkler(a, b, scratch: &scratch)
        #expect(long > 0.95 && long < 1)
        #expect(scratch.flags.count >= a.count + b.count)
        #expect(StringSimilarity.jaroWinkler(b, a, scratch: &scratch) == long)
        // The two matching paths agree on a string short enough for both.
        let s = bytes("DICKSONX"), l = bytes("DIXONDICKSON")
        s.withUnsafeBufferPointer { ps in
            l.withUnsafeBufferPointer { pl in
                let masks = StringSimilarity.matchWithMasks(ps, pl)
                let flags = StringSimilarity.matchWithScratch(ps, pl, scratch: &scratch)
                #expect(masks == flags)
            }
        }
    }
}

@Suite("Comparators: Damerau–Levenshtein (OSA)")
struct ComparatorDamerauTests {
    @Test(
        "distances",
        arguments: [
            ("CA", "AC", 1),
            ("KITTEN", "SITTING", 3),
            ("", "", 0),
            ("", "ABC", 3),
            ("ABC", "", 3),
            ("SMITH", "SMITH", 0),
            ("SMITH", "SMIHT", 1),
            ("SMITH", "SMYTHE", 2),
            ("CA", "ABC", 3),  // OSA, not unrestricted Damerau (which gives 2)
            ("MARTHA", "MARHTA", 1),
            ("JONES", "JOHNSON", 4),
        ])
    func distances(_ a: String, _ b: String, _ expected: Int) {
        var scratch = EditDistanceScratch()
        #expect(StringSimilarity.damerauLevenshtein(bytes(a), bytes(b), limit: 10, scratch: &scratch) == expected)
        #expect(StringSimilarity.damerauLevenshtein(bytes(b), bytes(a), limit: 10, scratch: &scratch) == expected)
        #expect(StringSimilarity.damerauLevenshtein(bytes(a), bytes(b)) == expected)
    }

    @Test func limitEarlyExitReturnsLimitPlusOne() {
        var scratch = EditDistanceScratch(capacity: 2)
        // KITTEN/SITTING = 3: within limit 3, limit + 1 below it.
        #expect(
            StringSimilarity.damerauLevenshtein(bytes("KITTEN"), bytes("SITTING"), limit: 3, scratch: &scratch) == 3)
        #expect(
            StringSimilarity.damerauLevenshtein(bytes("KITTEN"), bytes("SITTING"), limit: 2, scratch: &scratch) == 3)
        #expect(
            StringSimilarity.damerauLevenshtein(bytes("KITTEN"), bytes("SITTING"), limit: 1, scratch: &scratch) == 2)
        #expect(
            StringSimilarity.damerauLevenshtein(bytes("KITTEN"), bytes("SITTING"), limit: 0, scratch: &scratch) == 1)
        // Length difference alone exceeds the limit.
        #expect(StringSimilarity.damerauLevenshtein(bytes("AL"), bytes("ALEXANDER"), limit: 2, scratch: &scratch) == 3)
        // Rows stop early: every row of ABCDEFGH vs STUVWXYZ exceeds 1 from the second row on.
        #expect(
            StringSimilarity.damerauLevenshtein(bytes("ABCDEFGH"), bytes("STUVWXYZ"), limit: 1, scratch: &scratch) == 2)
        #expect(scratch.rows.count >= 3 * 9)
    }
}
