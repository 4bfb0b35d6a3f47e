import Identifiers

/// A child's identifier: `C` then eight random symbols and one check symbol, from Crockford's
/// base-32 alphabet (no I, L, O, U, so it survives being read aloud or copied by hand).
///
/// The check symbol is Σ (position × value) mod 31: it catches any single mistyped symbol
/// (except 0↔Z) and any swap of two neighbours. The format and the check are `OpaqueID`'s,
/// shared with family (`F…`) and flag (`G…`) ids.
public struct ChildID: Hashable, Sendable, CustomStringConvertible {
    public static let prefix: Character = "C"
    public let value: String

    public var description: String { value }

    public init?(_ text: String) {
        guard let id = OpaqueID(text, prefix: Self.prefix) else { return nil }
        value = id.value
    }

    /// Mints a new random id (the caller checks it is unused: the database's primary key does too).
    public static func mint<G: RandomNumberGenerator>(using generator: inout G) -> ChildID {
        ChildID(unchecked: OpaqueID.mint(prefix: prefix, using: &generator).value)
    }

    private init(unchecked value: String) { self.value = value }
}
