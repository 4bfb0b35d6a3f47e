/// A National Insurance number: two prefix letters, six digits, a suffix letter A–D ("QQ123456C").
///
/// Parsing ignores spaces and case ("qq 12 34 56 c"). HMRC's prefix rules are applied: the first
/// letter is not D, F, I, Q, U or V; the second is not D, F, I, O, Q, U or V; and the prefixes
/// BG, GB, NK, KN, TN, NT and ZZ are not allocated.
///
/// `description` is redacted; use `value` or `formatted` where the number must be shown.
public struct NationalInsuranceNumber: Hashable, Sendable, CustomStringConvertible {
    /// Nine characters, upper case, no spaces.
    public let value: String

    init(uncheckedValue: String) { self.value = uncheckedValue }

    /// The two prefix letters.
    public var prefix: String { String(value.prefix(2)) }
    /// The suffix letter, A–D.
    public var suffix: Character { value.last! }
    /// Spaced the way HMRC prints it: "QQ 12 34 56 C".
    public var formatted: String {
        let u = Array(value.utf8)
        return [u[0..<2], u[2..<4], u[4..<6], u[6..<8], u[8..<9]].map { String(asciiBytes: $0) }.joined(separator: " ")
    }

    public var description: String { "NationalInsuranceNumber(redacted)" }

    /// Whether two letters form a prefix HMRC allocates.
    public static func isAllocatedPrefix(_ first: Character, _ second: Character) -> Bool {
        guard let a = first.asciiValue, let b = second.asciiValue else { return false }
        return prefixAllowed(ASCII.upper(a), ASCII.upper(b))
    }

    static func prefixAllowed(_ a: UInt8, _ b: UInt8) -> Bool {
        guard ASCII.isUpper(a), ASCII.isUpper(b) else { return false }
        switch a {
        case UInt8(ascii: "D"), UInt8(ascii: "F"), UInt8(ascii: "I"), UInt8(ascii: "Q"), UInt8(ascii: "U"),
            UInt8(ascii: "V"):
            return false
        default: break
        }
        switch b {
        case UInt8(ascii: "D"), UInt8(ascii: "F"), UInt8(ascii: "I"), UInt8(ascii: "O"), UInt8(ascii: "Q"),
            UInt8(ascii: "U"), UInt8(ascii: "V"):
            return false
        default: break
        }
        switch (a, b) {
        case (UInt8(ascii: "B"), UInt8(ascii: "G")), (UInt8(ascii: "G"), UInt8(ascii: "B")),
            (UInt8(ascii: "N"), UInt8(ascii: "K")), (UInt8(ascii: "K"), UInt8(ascii: "N")),
            (UInt8(ascii: "T"), UInt8(ascii: "N")), (UInt8(ascii: "N"), UInt8(ascii: "T")),
            (UInt8(ascii: "Z"), UInt8(ascii: "Z")):
            return false
        default: return true
        }
    }

    @inlinable
    public static func parse(_ text: some StringProtocol) -> Result<NationalInsuranceNumber, IdentifierError> {
        parse(utf8: text.utf8)
    }

    @inlinable
    public static func parse<C: Collection>(utf8 bytes: C) -> Result<NationalInsuranceNumber, IdentifierError>
    where C.Element == UInt8 {
        withContiguousBytes(bytes) { parseBuffer($0) }
    }

    @inlinable
    public init?(_ text: some StringProtocol) {
        guard case .success(let n) = NationalInsuranceNumber.parse(text) else { return nil }
        self = n
    }

    @usableFromInline
    static func parseBuffer(_ buf: UnsafeBufferPointer<UInt8>) -> Result<NationalInsuranceNumber, IdentifierError> {
        withZeroedStackBytes(9) { parseBuffer(buf, scratch: $0) }
    }

    private static func parseBuffer(
        _ buf: UnsafeBufferPointer<UInt8>, scratch c: UnsafeMutableBufferPointer<UInt8>
    ) -> Result<NationalInsuranceNumber, IdentifierError> {
        if let error = validate(buf, into: c) { return .failure(error) }
        return .success(NationalInsuranceNumber(uncheckedValue: String(asciiBytes: UnsafeBufferPointer(c))))
    }

    /// The nine characters of a valid number in `buf` written to `out` (room for at least 9), as
    /// `parse` would keep them (`value`), without making a string; 9, or nil when the number is not
    /// valid.
    public static func normalised(
        utf8 buf: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>
    ) -> Int? {
        precondition(out.count >= 9)
        return validate(buf, into: UnsafeMutableBufferPointer(rebasing: out[0..<9])) == nil ? 9 : nil
    }

    /// Writes the number in `buf`, upper case without spaces, to `c` (9 bytes); nil when it is
    /// valid, otherwise why not (then `c` holds no meaning).
    private static func validate(
        _ buf: UnsafeBufferPointer<UInt8>, into c: UnsafeMutableBufferPointer<UInt8>
    ) -> IdentifierError? {
        var n = 0
        for b in buf where !ASCII.isBlank(b) {
            if n < 9 { c[n] = ASCII.upper(b) }
            n += 1
        }
        if n == 0 { return IdentifierError(.empty, "no National Insurance number given") }
        guard n == 9 else {
            return IdentifierError(.wrongLength, "expected 9 characters ignoring spaces, found \(n)")
        }
        guard ASCII.isUpper(c[0]), ASCII.isUpper(c[1]) else {
            return IdentifierError(.badFormat, "the first two characters must be letters")
        }
        for k in 2..<8 where !ASCII.isDigit(c[k]) {
            return IdentifierError(.notDigits, "characters 3–8 must be digits")
        }
        guard c[8] >= UInt8(ascii: "A"), c[8] <= UInt8(ascii: "D") else {
            return IdentifierError(.badFormat, "the suffix must be a letter A–D")
        }
        guard prefixAllowed(c[0], c[1]) else {
            return IdentifierError(.badPrefix, "the two-letter prefix is not one HMRC allocates")
        }
        return nil
    }
}
