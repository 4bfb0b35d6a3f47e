/// Reusable working memory for `StringSimilarity.jaro` / `jaroWinkler`.
///
/// Strings of up to 64 bytes (every real name) are matched with bit masks and never touch the
/// scratch; longer ones use its flag buffers, which grow once and are then reused. Keep one per
/// thread or task and pass it `inout`: no call allocates after the buffers have grown.
public struct JaroScratch: Sendable {
    @usableFromInline var flags: [UInt8]

    /// `capacity`: combined length of the longest pair expected beyond the 64-byte fast path.
    public init(capacity: Int = 256) {
        flags = [UInt8](repeating: 0, count: max(capacity, 2))
    }
}

/// Reusable working memory for `StringSimilarity.damerauLevenshtein`: three rows of the
/// dynamic-programming table, grown once and then reused.
public struct EditDistanceScratch: Sendable {
    @usableFromInline var rows: [Int]

    /// `capacity`: the longest string expected, in bytes.
    public init(capacity: Int = 64) {
        rows = [Int](repeating: 0, count: 3 * (max(capacity, 1) + 1))
    }
}

/// String similarity over bytes.
public enum StringSimilarity {
    /// Winkler's prefix scale `p`.
    public static let winklerPrefixScale = 0.1
    /// Longest common prefix that earns a bonus.
    public static let winklerMaxPrefix = 4
    /// Winkler's boost threshold: the prefix bonus applies only when Jaro ≥ 0.7 (as in strcmp95
    /// and Apache Commons Text). Below 0.7 a bonus cannot reach the 0.88 band anyway.
    public static let winklerBoostThreshold = 0.7

    // MARK: Jaro–Winkler

    /// Jaro–Winkler similarity in [0, 1].
    ///
    /// Jaro with match window `max(|a|, |b|) / 2 − 1` (at least 0) and transpositions counted as
    /// half the number of matched characters out of order (a real number, as in the usual textbook
    /// definition); then `jw = j + ℓ · 0.1 · (1 − j)` with ℓ the common prefix, at most 4, when
    /// `j ≥ 0.7`. Equal strings (including two empty ones) give 1, an empty string against a
    /// non-empty one gives 0. The result is exactly symmetric: the pair is put in a canonical order
    /// before matching.
    @inlinable
    public static func jaroWinkler(
        _ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, scratch: inout JaroScratch
    ) -> Double {
        let j = jaro(a, b, scratch: &scratch)
        guard j >= winklerBoostThreshold, j < 1 else { return j }
        let limit = min(winklerMaxPrefix, a.count, b.count)
        var prefix = 0
        while prefix < limit && a[prefix] == b[prefix] { prefix += 1 }
        return j + Double(prefix) * winklerPrefixScale * (1 - j)
    }

    /// Jaro–Winkler over arrays; see the buffer version.
    @inlinable
    public static func jaroWinkler(_ a: [UInt8], _ b: [UInt8], scratch: inout JaroScratch) -> Double {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in jaroWinkler(pa, pb, scratch: &scratch) }
        }
    }

    /// Jaro–Winkler between two names' `bytes`.
    @inlinable
    public static func jaroWinkler(_ a: NameKey, _ b: NameKey, scratch: inout JaroScratch) -> Double {
        jaroWinkler(a.bytes, b.bytes, scratch: &scratch)
    }

    /// Jaro–Winkler for occasional use (tests, tools); allocates a scratch for long strings.
    public static func jaroWinkler(_ a: [UInt8], _ b: [UInt8]) -> Double {
        var scratch = JaroScratch(capacity: a.count > 64 || b.count > 64 ? a.count + b.count : 2)
        return jaroWinkler(a, b, scratch: &scratch)
    }

    /// Jaro similarity in [0, 1] (no prefix bonus); see `jaroWinkler`.
    @inlinable
    public static func jaro(
        _ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, scratch: inout JaroScratch
    ) -> Double {
        let la = a.count
        let lb = b.count
        if la == 0 || lb == 0 { return la == lb ? 1 : 0 }
        // Canonical order (shorter first, then bytewise smaller) makes the greedy matching, and so
        // the floating-point result, exactly symmetric.
        var swap = la > lb
        if la == lb {
            var i = 0
            while i < la && a[i] == b[i] { i += 1 }
            if i == la { return 1 }
            swap = a[i] > b[i]
        }
        let s = swap ? b : a
        let l = swap ? a : b
        let (matches, outOfOrder) =
            l.count <= 64 ? matchWithMasks(s, l) : matchWithScratch(s, l, scratch: &scratch)
        if matches == 0 { return 0 }
        let m = Double(matches)
        let t = Double(outOfOrder) / 2
        return (m / Double(s.count) + m / Double(l.count) + (m - t) / m) / 3
    }

    /// Matching for strings of at most 64 bytes: matched positions live in two `UInt64` masks.
    @inlinable
    static func matchWithMasks(_ s: UnsafeBufferPointer<UInt8>, _ l: UnsafeBufferPointer<UInt8>) -> (Int, Int) {
        let ls = s.count
        let ll = l.count
        let window = max(0, max(ls, ll) / 2 - 1)
        var sMask: UInt64 = 0
        var lMask: UInt64 = 0
        var matches = 0
        var i = 0
        while i < ls {
            let c = s[i]
            var j = i > window ? i - window : 0
            let hi = min(ll - 1, i + window)
            while j <= hi {
                if l[j] == c && (lMask &>> UInt64(j)) & 1 == 0 {
                    lMask |= 1 &<< UInt64(j)
                    sMask |= 1 &<< UInt64(i)
                    matches += 1
                    break
                }
                j += 1
            }
            i += 1
        }
        if matches == 0 { return (0, 0) }
        var outOfOrder = 0
        while sMask != 0 {
            if s[sMask.trailingZeroBitCount] != l[lMask.trailingZeroBitCount] { outOfOrder += 1 }
            sMask &= sMask &- 1
            lMask &= lMask &- 1
        }
        return (matches, outOfOrder)
    }

    /// Matching for longer strings, with flag buffers from the scratch.
    @usableFromInline
    static func matchWithScratch(
        _ s: UnsafeBufferPointer<UInt8>, _ l: UnsafeBufferPointer<UInt8>, scratch: inout JaroScratch
    ) -> (Int, Int) {
        let ls = s.count
        let ll = l.count
        if scratch.flags.count < ls + ll { scratch.flags = [UInt8](repeating: 0, count: ls + ll) }
        return scratch.flags.withUnsafeMutableBufferPointer { flags -> (Int, Int) in
            let sFlag = flags.baseAddress!
            let lFlag = sFlag + ls
            sFlag.update(repeating: 0, count: ls + ll)
            let window = max(0, max(ls, ll) / 2 - 1)
            var matches = 0
            for i in 0..<ls {
                let c = s[i]
                var j = i > window ? i - window : 0
                let hi = min(ll - 1, i + window)
                while j <= hi {
                    if lFlag[j] == 0 && l[j] == c {
                        lFlag[j] = 1
                        sFlag[i] = 1
                        matches += 1
                        break
                    }
                    j += 1
                }
            }
            if matches == 0 { return (0, 0) }
            var outOfOrder = 0
            var k = 0
            for i in 0..<ls where sFlag[i] != 0 {
                while lFlag[k] == 0 { k += 1 }
                if s[i] != l[k] { outOfOrder += 1 }
                k += 1
            }
            return (matches, outOfOrder)
        }
    }

    // MARK: Damerau–Levenshtein (optimal string alignment)

    /// Optimal string alignment distance (Levenshtein plus transposition of two adjacent bytes,
    /// no substring edited twice), or `limit + 1` as soon as the distance is known to exceed
    /// `limit`. Common prefix and suffix are skipped first; a length difference above `limit`
    /// returns at once; otherwise rows stop as soon as a whole row exceeds `limit`.
    /// Allocation-free once the scratch has grown to the longer string.
    @inlinable
    public static func damerauLevenshtein(
        _ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, limit: Int,
        scratch: inout EditDistanceScratch
    ) -> Int {
        precondition(limit >= 0, "limit must not be negative")
        var start = 0
        var endA = a.count
        var endB = b.count
        while start < endA && start < endB && a[start] == b[start] { start += 1 }
        while endA > start && endB > start && a[endA - 1] == b[endB - 1] {
            endA -= 1
            endB -= 1
        }
        let la = endA - start
        let lb = endB - start
        if abs(la - lb) > limit { return limit + 1 }
        if la == 0 { return lb }
        if lb == 0 { return la }
        return osa(
            UnsafeBufferPointer(rebasing: a[start..<endA]), UnsafeBufferPointer(rebasing: b[start..<endB]),
            limit: limit, scratch: &scratch)
    }

    /// Damerau–Levenshtein (OSA) over arrays; see the buffer version.
    @inlinable
    public static func damerauLevenshtein(
        _ a: [UInt8], _ b: [UInt8], limit: Int, scratch: inout EditDistanceScratch
    ) -> Int {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in damerauLevenshtein(pa, pb, limit: limit, scratch: &scratch) }
        }
    }

    /// Damerau–Levenshtein (OSA) for occasional use (tests, tools): no limit, allocates.
    public static func damerauLevenshtein(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var scratch = EditDistanceScratch(capacity: max(a.count, b.count))
        return damerauLevenshtein(a, b, limit: max(a.count, b.count), scratch: &scratch)
    }

    @usableFromInline
    static func osa(
        _ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, limit: Int,
        scratch: inout EditDistanceScratch
    ) -> Int {
        let la = a.count
        let lb = b.count
        let width = lb + 1
        if scratch.rows.count < 3 * width { scratch.rows = [Int](repeating: 0, count: 3 * width) }
        return scratch.rows.withUnsafeMutableBufferPointer { rows -> Int in
            var before = rows.baseAddress!  // row i − 2
            var previous = before + width  // row i − 1
            var current = previous + width  // row i
            for j in 0...lb { previous[j] = j }
            for i in 1...la {
                current[0] = i
                var rowMin = i
                let ai = a[i - 1]
                for j in 1...lb {
                    let bj = b[j - 1]
                    var d = previous[j - 1] + (ai == bj ? 0 : 1)
                    let insertOrDelete = min(previous[j], current[j - 1]) + 1
                    if insertOrDelete < d { d = insertOrDelete }
                    if i > 1 && j > 1 && ai == b[j - 2] && a[i - 2] == bj && before[j - 2] + 1 < d {
                        d = before[j - 2] + 1
                    }
                    current[j] = d
                    if d < rowMin { rowMin = d }
                }
                // Along any diagonal OSA distances never decrease, so once a whole row is above the
                // limit the final cell is too.
                if rowMin > limit { return limit + 1 }
                let recycled = before
                before = previous
                previous = current
                current = recycled
            }
            return min(previous[lb], limit + 1)
        }
    }
}
