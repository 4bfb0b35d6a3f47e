/// A UK postcode, normalised to upper case with one space ("NR31 3FA").
///
/// Parsing ignores case and spacing ("nr313fa", "NR31  3FA"). The outward code must have one of
/// the six shapes A9, A99, A9A, AA9, AA99, AA9A and the inward code must be a digit and two letters.
/// The letter rules of the national format are applied: the first letter is not Q, V or X; the
/// second (in AA shapes) is not I, J or Z; the letter in A9A is one of ABCDEFGHJKPSTUW, the one in AA9A
/// one of ABEHMNPRVWXY; the two inward letters never use C, I, K, M, O or V.
public struct UKPostcode: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Normalised form, e.g. "NR31 3FA".
    public let value: String
    /// Length of the outward code (2…4).
    let outwardLength: UInt8
    /// Length of the area (1 or 2 letters).
    let areaLength: UInt8

    private init(value: String, outwardLength: UInt8, areaLength: UInt8) {
        self.value = value
        self.outwardLength = outwardLength
        self.areaLength = areaLength
    }

    /// The outward code, e.g. "NR31".
    public var outward: String { String(value.utf8.prefix(Int(outwardLength)))! }
    /// The inward code, e.g. "3FA".
    public var inward: String { String(value.utf8.suffix(3))! }
    /// The postcode area, the leading letters, e.g. "NR".
    public var area: String { String(value.utf8.prefix(Int(areaLength)))! }
    /// The postcode district, the same as the outward code, e.g. "NR31".
    public var district: String { outward }
    /// The postcode sector, outward code plus the inward digit, e.g. "NR31 3".
    public var sector: String { String(value.utf8.prefix(Int(outwardLength) + 2))! }

    public var description: String { value }

    public static func < (a: UKPostcode, b: UKPostcode) -> Bool { a.value < b.value }

    @inlinable
    public static func parse(_ text: some StringProtocol) -> Result<UKPostcode, IdentifierError> {
        parse(utf8: text.utf8)
    }

    @inlinable
    public static func parse<C: Collection>(utf8 bytes: C) -> Result<UKPostcode, IdentifierError>
    where C.Element == UInt8 {
        withContiguousBytes(bytes) { parseBuffer($0) }
    }

    @inlinable
    public init?(_ text: some StringProtocol) {
        guard case .success(let p) = UKPostcode.parse(text) else { return nil }
        self = p
    }

    private static func set(_ s: String) -> [Bool] {
        var t = [Bool](repeating: false, count: 256)
        for b in s.utf8 { t[Int(b)] = true }
        return t
    }
    private static let firstLetters = set("ABCDEFGHIJKLMNOPRSTUWYZ")
    private static let secondLetters = set("ABCDEFGHKLMNOPQRSTUVWXY")
    private static let thirdLettersA9A = set("ABCDEFGHJKPSTUW")
    private static let fourthLettersAA9A = set("ABEHMNPRVWXY")
    private static let inwardLetters = set("ABDEFGHJLNPQRSTUWXYZ")

    @usableFromInline
    static func parseBuffer(_ buf: UnsafeBufferPointer<UInt8>) -> Result<UKPostcode, IdentifierError> {
        withZeroedStackBytes(9) { scratch in
            normalise(buf, into: scratch).map { shape in
                UKPostcode(
                    value: String(asciiBytes: UnsafeBufferPointer(rebasing: scratch[0..<shape.count])),
                    outwardLength: UInt8(shape.outward), areaLength: UInt8(shape.area))
            }
        }
    }

    /// The normalised postcode (`value`) written into `out`, which holds at least 9 bytes; returns
    /// its length, or nil where `parse` fails. For the loader, which copies it into a row's bytes
    /// without making a string.
    public static func normalised(
        utf8 buf: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>
    )
        -> Int?
    {
        precondition(out.count >= 9, "UKPostcode.normalised needs 9 bytes")
        out.initialize(repeating: 0)
        guard case .success(let shape) = normalise(buf, into: out) else { return nil }
        return shape.count
    }

    /// `c` holds at least 9 bytes (zeroed): the 8 characters looked at, then the result with its space.
    private static func normalise(
        _ buf: UnsafeBufferPointer<UInt8>, into c: UnsafeMutableBufferPointer<UInt8>
    ) -> Result<(count: Int, outward: Int, area: Int), IdentifierError> {
        // Collect the non-blank characters, upper-cased. At most 7 are meaningful.
        var n = 0
        for b in buf where !ASCII.isBlank(b) {
            if n < 8 { c[n] = ASCII.upper(b) }
            n += 1
        }
        if n == 0 { return .failure(IdentifierError(.empty, "no postcode given")) }
        guard n >= 5, n <= 7 else {
            return .failure(IdentifierError(.wrongLength, "expected 5 to 7 characters ignoring spaces, found \(n)"))
        }
        let outLen = n - 3
        // Inward: digit, letter, letter.
        guard ASCII.isDigit(c[outLen]), inwardLetters[Int(c[outLen + 1])], inwardLetters[Int(c[outLen + 2])] else {
            return .failure(
                IdentifierError(.badFormat, "the inward code must be a digit and two letters (not C, I, K, M, O, V)"))
        }
        // Outward shapes: A9, A99, A9A, AA9, AA99, AA9A.
        let bad = IdentifierError(.badFormat, "the outward code is not a UK postcode shape")
        guard firstLetters[Int(c[0])] else { return .failure(bad) }
        let areaLen: Int
        if ASCII.isDigit(c[1]) {
            areaLen = 1
            switch outLen {
            case 2: break  // A9
            case 3:  // A99 or A9A
                guard ASCII.isDigit(c[2]) || thirdLettersA9A[Int(c[2])] else { return .failure(bad) }
            default: return .failure(bad)
            }
        } else {
            guard secondLetters[Int(c[1])], outLen >= 3, ASCII.isDigit(c[2]) else { return .failure(bad) }
            areaLen = 2
            if outLen == 4 {  // AA99 or AA9A
                guard ASCII.isDigit(c[3]) || fourthLettersAA9A[Int(c[3])] else { return .failure(bad) }
            }
        }
        // The inward code moves one place right to make room for the space (n ≤ 7, so it fits in 9).
        for index in stride(from: n - 1, through: outLen, by: -1) { c[index + 1] = c[index] }
        c[outLen] = ASCII.space
        return .success((n + 1, outLen, areaLen))
    }
}
