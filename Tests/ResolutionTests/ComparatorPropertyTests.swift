import Testing

@testable import Resolution

/// ComparatorSplitMix64: a small, fixed-seed generator so property tests are reproducible.
struct ComparatorSplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random strings over a small alphabet, so matches, repeats and transpositions are common.
private func randomBytes(_ rng: inout ComparatorSplitMix64, maxLength: Int, alphabet: [UInt8]) -> [UInt8] {
    let n = Int(rng.next() % UInt64(maxLength + 1))
    return (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
}

/// Plain textbook Jaro–Winkler (same canonical order and definitions), for cross-checking.
private func referenceJaroWinkler(_ a: [UInt8], _ b: [UInt8]) -> Double {
    if a.isEmpty || b.isEmpty { return a.count == b.count ? 1 : 0 }
    if a == b { return 1 }
    let swap = a.count > b.count || (a.count == b.count && b.lexicographicallyPrecedes(a))
    let s = swap ? b : a
    let l = swap ? a : b
    let window = max(0, max(s.count, l.count) / 2 - 1)
    var sFlags = [Bool](repeating: false, count: s.count)
    var lFlags = [Bool](repeating: false, count: l.count)
    var m = 0
    for i in 0..<s.count {
        let lo = max(0, i - window)
        let hi = min(l.count - 1, i + window)
        if lo > hi { continue }
        for j in lo...hi where !lFlags[j] && l[j] == s[i] {
            lFlags[j] = true
            sFlags[i] = true
            m += 1
            break
        }
    }
    if m == 0 { return 0 }
    let sm = zip(s, sFlags).filter(\.1).map(\.0)
    let lm = zip(l, lFlags).filter(\.1).map(\.0)
    let t = Double(zip(sm, lm).filter { $0 != $1 }.count) / 2
    let md = Double(m)
    let j = (md / Double(s.count) + md / Double(l.count) + (md - t) / md) / 3
    if j < 0.7 { return j }
    var p = 0
    while p < min(4, a.count, b.count) && a[p] == b[p] { p += 1 }
    return j + Double(p) * 0.1 * (1 - j)
}

/// Plain full-matrix optimal string alignment distance.
private func referenceOSA(_ a: [UInt8], _ b: [UInt8]) -> Int {
    var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { d[i][0] = i }
    for j in 0...b.count { d[0][j] = j }
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
            }
        }
    }
    return d[a.count][b.count]
}

@Suite("Comparators: properties (fixed seed)")
struct ComparatorPropertyTests {
    static let small = Array("ABCDE".utf8)
    static let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    @Test func jaroWinklerBoundedSymmetricAndMatchesReference() {
        var rng = ComparatorSplitMix64(seed: 42)
        var scratch = JaroScratch(capacity: 2)
        for round in 0..<30_000 {
            let alphabet = round % 2 == 0 ? Self.small : Self.letters
            let maxLength = round % 10 == 0 ? 90 : 12  // every tenth pair may exceed 64 bytes
            let a = randomBytes(&rng, maxLength: maxLength, alphabet: alphabet)
            let b = round % 7 == 0 ? a : randomBytes(&rng, maxLength: maxLength, alphabet: alphabet)
            let ab = StringSimilarity.jaroWinkler(a, b, scratch: &scratch)
            let ba = StringSimilarity.jaroWinkler(b, a, scratch: &scratch)
            #expect(ab >= 0 && ab <= 1)
            #expect(ab == ba)
            #expect(abs(ab - referenceJaroWinkler(a, b)) < 1e-12)
            if a == b { #expect(ab == 1) }
        }
    }

    @Test func bitMaskAndFlagPathsAgree() {
        var rng = ComparatorSplitMix64(seed: 7)
        var scratch = JaroScratch()
        for _ in 0..<20_000 {
            var a = randomBytes(&rng, maxLength: 64, alphabet: Self.small)
            var b = randomBytes(&rng, maxLength: 64, alphabet: Self.small)
            if a.count > b.count { swap(&a, &b) }
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    #expect(
                        StringSimilarity.matchWithMasks(pa, pb)
                            == StringSimilarity.matchWithScratch(pa, pb, scratch: &scratch))
                }
            }
        }
    }

    @Test func damerauSymmetricBoundedAndMatchesReference() {
        var rng = ComparatorSplitMix64(seed: 1_234_567)
        var scratch = EditDistanceScratch(capacity: 1)
        for round in 0..<30_000 {
            let alphabet = round % 2 == 0 ? Self.small : Self.letters
            let a = randomBytes(&rng, maxLength: 12, alphabet: alphabet)
            let b = randomBytes(&rng, maxLength: 12, alphabet: alphabet)
            let full = max(a.count, b.count)
            let ab = StringSimilarity.damerauLevenshtein(a, b, limit: full, scratch: &scratch)
            let ba = StringSimilarity.damerauLevenshtein(b, a, limit: full, scratch: &scratch)
            #expect(ab == ba)
            #expect(ab <= full)
            #expect(ab >= abs(a.count - b.count))
            #expect((ab == 0) == (a == b))
            #expect(ab == referenceOSA(a, b))
            let limit = Int(rng.next() % 4)
            let limited = StringSimilarity.damerauLevenshtein(a, b, limit: limit, scratch: &scratch)
            #expect(limited == min(ab, limit + 1), "limit \(limit)")
        }
    }

    @Test func nameLevelsAreSymmetric() {
        var rng = ComparatorSplitMix64(seed: 99)
        var scratch = NameScratch()
        let table = NicknameTable.standard
        let pool = [
            "Oliver", "Olly", "Olivia", "Charlie", "Charles", "Charlotte", "Smith", "Smyth",
            "Smith-Jones", "Jones", "J", "John", "Jack", "Katie", "Catie", "Eva", "Ava", "Gray", "Grey",
        ]
        for _ in 0..<5_000 {
            let a = NameKey(pool[Int(rng.next() % UInt64(pool.count))])
            let b = NameKey(pool[Int(rng.next() % UInt64(pool.count))])
            #expect(
                NameComparison.compareGivenNames(a, b, nicknames: table, scratch: &scratch)
                    == NameComparison.compareGivenNames(b, a, nicknames: table, scratch: &scratch))
            #expect(
                NameComparison.compareFamilyNames(a, b, scratch: &scratch)
                    == NameComparison.compareFamilyNames(b, a, scratch: &scratch))
        }
    }
}
