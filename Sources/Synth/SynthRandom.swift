/// The generator's own pseudo-random numbers: xoshiro256** seeded through SplitMix64.
///
/// Swift's `random(in:)` and `shuffle()` are not used anywhere: their algorithms may change between
/// toolchains, and the same seed must give byte-identical files everywhere.
struct SynthRandom {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    init(seed: UInt64) {
        var sm = SplitMix64(state: seed)
        s0 = sm.next()
        s1 = sm.next()
        s2 = sm.next()
        s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 0x9E37_79B9_7F4A_7C15 }
    }

    /// A generator for one independent stream, e.g. (seed, feed, child).
    init(_ a: UInt64, _ b: UInt64, _ c: UInt64 = 0) {
        self.init(seed: SplitMix64.mix(a, b, c))
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in 0..<n (Lemire's multiply-and-reject, unbiased). `n` must be positive.
    mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// Uniform in the closed range.
    mutating func int(_ lo: Int, _ hi: Int) -> Int { lo + below(hi - lo + 1) }

    /// Uniform in [0, 1).
    @inline(__always)
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    @inline(__always)
    mutating func chance(_ p: Double) -> Bool { p > 0 && unit() < p }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// Fisher–Yates with this generator.
    mutating func shuffle<T>(_ a: inout [T]) {
        var i = a.count
        while i > 1 {
            let j = below(i)
            i -= 1
            a.swapAt(i, j)
        }
    }
}

struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Mixes three words into one seed.
    static func mix(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        var s = SplitMix64(state: a)
        var h = s.next()
        s.state ^= b &* 0xD6E8_FEB8_6659_FD93
        h ^= s.next()
        s.state ^= c &* 0xA076_1D64_78BD_642F
        h = h &* 31 ^ s.next()
        return h
    }
}

/// Cumulative weights for picking an index with a skewed distribution.
struct WeightedTable: Sendable {
    let cumulative: [Double]

    init(weights: [Double]) {
        var total = 0.0
        var c: [Double] = []
        c.reserveCapacity(weights.count)
        for w in weights {
            total += w
            c.append(total)
        }
        cumulative = c.map { $0 / total }
    }

    /// Zipf-like weights 1/(rank + offset): a few very common entries and a long tail.
    init(zipfCount n: Int, offset: Double) {
        self.init(weights: (0..<n).map { 1.0 / (Double($0) + offset) })
    }

    func pick(_ rng: inout SynthRandom) -> Int {
        let u = rng.unit()
        var lo = 0
        var hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > u { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
