/// A Unique Pupil Number: `Annnnnnnnnnnn` — check letter, local authority (3 digits),
/// establishment (4), year allocated (2), serial (3). A temporary UPN ends in a letter
/// instead of its last serial digit.
///
/// Check letter (DfE): multiply characters 2–13 by their position (2…13), add, take the sum mod 23
/// and map 0…22 onto `ABCDEFGHJKLMNPQRTUVWXYZ`. A letter in position 13 counts as its index in the same table.
///
/// `description` is redacted; use `value` where the number must be shown.
public struct UniquePupilNumber: Hashable, Sendable, CustomStringConvertible {
    /// Thirteen characters, upper case.
    public let value: String

    @usableFromInline
    init(uncheckedValue: String) { self.value = uncheckedValue }

    /// The 23 letters used for check letters (no I, O or S).
    public static let checkAlphabet: [Character] = Array("ABCDEFGHJKLMNPQRTUVWXYZ")

    /// True when the 13th character is a letter (a temporary UPN).
    public var isTemporary: Bool {
        let last = value.utf8.last!
        return ASCII.isUpper(last)
    }

    /// The local authority number, characters 2–4 (Norfolk is "926").
    public var localAuthority: String { String(value.utf8.dropFirst().prefix(3))! }

    /// The establishment number, characters 5–8.
    public var establishment: String { String(value.utf8.dropFirst(4).prefix(4))! }

    /// The two-digit year of allocation, characters 9–10.
    public var yearAllocated: String { String(value.utf8.dropFirst(8).prefix(2))! }

    public var description: String { "UniquePupilNumber(redacted)" }

    @inlinable
    public static func parse(_ text: some StringProtocol) -> Result<UniquePupilNumber, IdentifierError> {
        parse(utf8: text.utf8)
    }

    @inlinable
    public static func parse<C: Collection>(utf8 bytes: C) -> Result<UniquePupilNumber, IdentifierError>
    where C.Element == UInt8 {
        withContiguousBytes(bytes) { parseBuffer($0) }
    }

    @inlinable
    public init?(_ text: some StringProtocol) {
        guard case .success(let u) = UniquePupilNumber.parse(text) else { return nil }
        self = u
    }

    /// The check letter for characters 2–13 (twelve characters: eleven digits, then a digit or a
    /// check-alphabet letter). `nil` when the text has another shape. Lower-case letters are accepted.
    public static func checkLetter(forLastTwelve text: some StringProtocol) -> Character? {
        let bytes = Array(text.utf8)
        guard bytes.count == 12 else { return nil }
        return bytes.withUnsafeBufferPointer { buf in
            checkIndex(buf, from: 0).map { checkAlphabet[$0] }
        }
    }

    /// Builds a UPN from its last twelve characters by prefixing the check letter.
    public static func withCheckLetter(lastTwelve text: some StringProtocol) -> UniquePupilNumber? {
        guard let letter = checkLetter(forLastTwelve: text) else { return nil }
        return UniquePupilNumber(uncheckedValue: String(letter) + text.uppercased())
    }

    /// Index 0…22 in the check alphabet of an upper-case ASCII letter, or nil (I, O, S, non-letters).
    @usableFromInline
    static let letterIndex: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in "ABCDEFGHJKLMNPQRTUVWXYZ".utf8.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    /// Computes the check index for the twelve characters starting at `from` (positions 2…13).
    static func checkIndex(_ buf: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        // Wrapping arithmetic: the sum is at most 9 × (2 + … + 13) = 855, and without overflow
        // checks this runs once per school row at a fraction of the cost.
        var sum = 0
        for k in 0..<11 {
            let digit = buf[start &+ k] &- ASCII.zero
            guard digit < 10 else { return nil }
            sum &+= Int(digit) &* (k &+ 2)
        }
        let last = ASCII.upper(buf[start &+ 11])
        let v: Int
        if ASCII.isDigit(last) {
            v = Int(last &- ASCII.zero)
        } else if letterIndex[Int(last)] >= 0 {
            v = Int(letterIndex[Int(last)])
        } else {
            return nil
        }
        return (sum &+ v &* 13) % 23
    }

    @usableFromInline
    static func parseBuffer(_ buf: UnsafeBufferPointer<UInt8>) -> Result<UniquePupilNumber, IdentifierError> {
        validatedStart(buf).map { s in
            // Thirteen ASCII bytes: a small string, built without a heap array (this runs for every school row).
            let value = String(unsafeUninitializedCapacity: 13) { bytes in
                for k in 0..<13 { bytes[k] = ASCII.upper(buf[s + k]) }
                return 13
            }
            return UniquePupilNumber(uncheckedValue: value)
        }
    }

    /// The UPN (`value`, thirteen bytes) written into `out`; returns whether it is temporary, or nil
    /// where `parse` fails. For the loader, which copies it into a row's bytes without making a string.
    public static func normalised(
        utf8 buf: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>
    )
        -> (count: Int, isTemporary: Bool)?
    {
        precondition(out.count >= 13, "UniquePupilNumber.normalised needs 13 bytes")
        guard case .success(let s) = validatedStart(buf) else { return nil }
        for k in 0..<13 { out[k] = ASCII.upper(buf[s + k]) }
        return (13, ASCII.isUpper(out[12]))
    }

    /// Where the thirteen characters of a valid UPN start in `buf` (after blanks), or why it is not one.
    static func validatedStart(_ buf: UnsafeBufferPointer<UInt8>) -> Result<Int, IdentifierError> {
        let range = buf.trimmedRange()
        if range.isEmpty { return .failure(IdentifierError(.empty, "no UPN given")) }
        guard range.count == 13 else {
            return .failure(IdentifierError(.wrongLength, "expected 13 characters, found \(range.count)"))
        }
        let s = range.lowerBound
        let first = ASCII.upper(buf[s])
        guard letterIndex[Int(first)] >= 0 else {
            return .failure(
                IdentifierError(.badFormat, "the first character must be a check letter (A–Z without I, O, S)"))
        }
        for k in 1...11 where !ASCII.isDigit(buf[s + k]) {
            return .failure(IdentifierError(.notDigits, "characters 2–12 must be digits"))
        }
        let last = ASCII.upper(buf[s + 12])
        guard ASCII.isDigit(last) || letterIndex[Int(last)] >= 0 else {
            return .failure(
                IdentifierError(.badFormat, "the last character must be a digit or a letter other than I, O, S"))
        }
        guard let index = checkIndex(buf, from: s + 1), Int(letterIndex[Int(first)]) == index else {
            return .failure(IdentifierError(.badCheckLetter, "the check letter does not match"))
        }
        return .success(s)
    }
}
