/// A child's identifier: `C` then eight random symbols and one check symbol, from Crockford's
/// base-32 alphabet (no I, L, O, U, so it survives being read aloud or copied by hand).
///
/// The check symbol is Σ (position × value) mod 31: it catches any single mistyped symbol
/// (except 0↔Z) and any swap of two neighbours.
public struct ChildID: Hashable, Sendable, CustomStringConvertible {
    public let value: String
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public var description: String { value }

    public init?(_ text: String) {
        let bytes = Array(text.uppercased().utf8)
        guard bytes.count == 10, bytes[0] == UInt8(ascii: "C") else { return nil }
        var values: [Int] = []
        for byte in bytes[1...] {
            guard let index = Self.alphabet.firstIndex(of: byte) else { return nil }
            values.append(index)
        }
        guard Self.check(values.prefix(8)) == values[8] else { return nil }
        value = String(decoding: bytes, as: UTF8.self)
    }

    static func check(_ values: some Collection<Int>) -> Int {
        var sum = 0
        for (position, value) in values.enumerated() { sum += (position + 1) * value }
        return sum % 31
    }

    /// Mints a new random id (the caller checks it is unused: the database's primary key does too).
    public static func mint<G: RandomNumberGenerator>(using generator: inout G) -> ChildID {
        let values = (0..<8).map { _ in Int.random(in: 0..<32, using: &generator) }
        let symbols = values + [check(values)]
        return ChildID(unchecked: "C" + String(decoding: symbols.map { alphabet[$0] }, as: UTF8.self))
    }

    private init(unchecked value: String) { self.value = value }
}
