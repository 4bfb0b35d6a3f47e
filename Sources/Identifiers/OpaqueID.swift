/// A stable, meaningless identifier: one prefix letter saying what it names (`C` child, `F` family,
/// `G` flag, …), then eight random symbols and one check symbol from Crockford's base-32 alphabet
/// (no I, L, O, U, so it survives being read aloud or copied by hand).
///
/// The check symbol is Σ (position × value) mod 31 over the eight random symbols: it catches any
/// single mistyped symbol (except 0↔Z) and any swap of two neighbours. An id carries no personal
/// data and nothing can be derived from it: it is minted at random and kept in the database.
public struct OpaqueID: Hashable, Sendable, CustomStringConvertible {
    public let value: String
    public static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    /// Random symbols after the prefix (the check symbol follows them).
    public static let randomSymbols = 8

    public var description: String { value }

    /// The prefix letter.
    public var prefix: Character { Character(UnicodeScalar(value.utf8.first!)) }

    /// Parses an id with the given prefix (case-insensitive); nil when it is malformed or its check
    /// symbol does not match.
    public init?(_ text: String, prefix: Character) {
        guard let prefixByte = prefix.asciiValue, Self.isValidPrefix(prefixByte) else { return nil }
        let bytes = Array(text.uppercased().utf8)
        guard bytes.count == Self.randomSymbols + 2, bytes[0] == prefixByte else { return nil }
        var values: [Int] = []
        for byte in bytes[1...] {
            guard let index = Self.alphabet.firstIndex(of: byte) else { return nil }
            values.append(index)
        }
        guard Self.check(values.prefix(Self.randomSymbols)) == values[Self.randomSymbols] else { return nil }
        value = String(decoding: bytes, as: UTF8.self)
    }

    /// Σ (position × value) mod 31, positions counted from 1.
    public static func check(_ values: some Collection<Int>) -> Int {
        var sum = 0
        for (position, value) in values.enumerated() { sum += (position + 1) * value }
        return sum % 31
    }

    /// Mints a new random id. The caller checks it is unused (a primary key does too).
    public static func mint<G: RandomNumberGenerator>(prefix: Character, using generator: inout G) -> OpaqueID {
        guard let prefixByte = prefix.asciiValue, isValidPrefix(prefixByte) else {
            preconditionFailure("an id prefix is one upper-case ASCII letter")
        }
        // Five random bits a symbol, all eight from one draw (32 symbols: each equally likely).
        // A draw per symbol through the generic `Int.random(in:using:)` cost about 16,000
        // instructions an id, 3.5% of a first resolution's.
        let word = generator.next()
        let values = (0..<randomSymbols).map { Int(truncatingIfNeeded: word >> UInt64(5 * $0)) & 31 }
        var bytes = [prefixByte]
        bytes.reserveCapacity(randomSymbols + 2)
        for value in values { bytes.append(alphabet[value]) }
        bytes.append(alphabet[check(values)])
        return OpaqueID(unchecked: String(decoding: bytes, as: UTF8.self))
    }

    /// Mints with the system's random number generator.
    public static func mint(prefix: Character) -> OpaqueID {
        var generator = SystemRandomNumberGenerator()
        return mint(prefix: prefix, using: &generator)
    }

    /// The PostgreSQL pattern for ids with this prefix, e.g. `^F[0-9A-HJKMNP-TV-Z]{9}$`, for CHECK constraints.
    public static func sqlPattern(prefix: Character) -> String {
        "^\(prefix)[0-9A-HJKMNP-TV-Z]{\(randomSymbols + 1)}$"
    }

    private static func isValidPrefix(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") }

    private init(unchecked value: String) { self.value = value }
}
