/// Numbers texts in the order they are first met, looking each up by a 64-bit hash made beforehand
/// (on both cores, while the rows are parsed: `FamilyEvidence.KeyHashes`), so the one pass that
/// numbers keys in row order hashes no string. A hash only finds candidates: every hit is confirmed
/// by comparing the text, so two texts that share a hash still get two numbers (a collision must
/// never put two households' keys together).
struct KeyNumbering {
    /// Open addressing with linear probing: each slot holds a number + 1, or 0 when empty. Kept at
    /// most half full.
    private var slots = [Int32](repeating: 0, count: 1024)
    /// By number.
    private var hashes: [Int64] = []
    private var texts: [String] = []

    /// How many different texts were numbered.
    var count: Int { texts.count }

    /// The number of `text` (whose hash is `hash`), given the next number if it is new.
    mutating func number(_ text: String, hash: Int64) -> (number: Int32, isNew: Bool) {
        let mask = slots.count - 1
        var slot = Self.home(hash, mask)
        while slots[slot] != 0 {
            let known = Int(slots[slot] - 1)
            if hashes[known] == hash && texts[known] == text { return (Int32(known), false) }
            slot = (slot + 1) & mask
        }
        let number = Int32(texts.count)
        hashes.append(hash)
        texts.append(text)
        if texts.count * 2 > slots.count {
            rebuild(capacity: slots.count * 2)
        } else {
            slots[slot] = number + 1
        }
        return (number, true)
    }

    /// FNV-1a's low bits vary least: the high half is folded in before masking.
    private static func home(_ hash: Int64, _ mask: Int) -> Int {
        let bits = UInt64(bitPattern: hash)
        return Int(truncatingIfNeeded: bits ^ (bits >> 29)) & mask
    }

    private mutating func rebuild(capacity: Int) {
        slots = [Int32](repeating: 0, count: capacity)
        let mask = capacity - 1
        for number in hashes.indices {
            var slot = Self.home(hashes[number], mask)
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(number + 1)
        }
    }
}
