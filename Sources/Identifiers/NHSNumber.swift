/// An NHS number: ten digits whose last is a modulus 11 check digit.
///
/// Parsing accepts spaces and hyphens between digits ("943 476 5919", "943-476-5919") and
/// surrounding blanks. It rejects the wrong number of digits, any other character, nine digits
/// whose check calculation gives 10, a tenth digit that does not match, and ten identical digits.
///
/// `description` is redacted: print `digits` (or `formatted`) only where the number is meant to be shown.
public struct NHSNumber: Hashable, Sendable, CustomStringConvertible {
    /// The ten digits, no separators.
    public let digits: String

    @usableFromInline
    init(uncheckedDigits: String) { self.digits = uncheckedDigits }

    /// Parses text such as "9434765919" or "943 476 5919".
    @inlinable
    public static func parse(_ text: some StringProtocol) -> Result<NHSNumber, IdentifierError> {
        parse(utf8: text.utf8)
    }

    /// Parses UTF-8 bytes (the hot path for feed ingestion).
    @inlinable
    public static func parse<C: Collection>(utf8 bytes: C) -> Result<NHSNumber, IdentifierError>
    where C.Element == UInt8 {
        withContiguousBytes(bytes) { parseBuffer($0) }
    }

    /// Convenience: `nil` when `parse` fails.
    @inlinable
    public init?(_ text: some StringProtocol) {
        guard case .success(let n) = NHSNumber.parse(text) else { return nil }
        self = n
    }

    /// The modulus 11 check digit for the first nine digits: weights 10 down to 2, check = 11 − (sum mod 11),
    /// 11 becomes 0. Returns `nil` when the calculation gives 10 (no valid number starts with these nine
    /// digits), or when the input is not exactly nine values in 0…9.
    public static func checkDigit<S: Sequence>(forFirstNine digits: S) -> Int? where S.Element: BinaryInteger {
        var sum = 0
        var count = 0
        for d in digits {
            guard d >= 0, d <= 9, count < 9 else { return nil }
            sum += Int(d) * (10 - count)
            count += 1
        }
        guard count == 9 else { return nil }
        let check = 11 - sum % 11
        switch check {
        case 11: return 0
        case 10: return nil
        default: return check
        }
    }

    /// Builds a valid NHS number from nine leading digits by appending the check digit.
    /// `nil` when the digits cannot start a valid number (check would be 10, or all would be the same).
    public static func withCheckDigit<S: Sequence>(firstNine digits: S) -> NHSNumber? where S.Element: BinaryInteger {
        let nine = digits.map { Int($0) }
        guard let check = checkDigit(forFirstNine: nine) else { return nil }
        let all = nine + [check]
        guard Set(all).count > 1 else { return nil }
        return NHSNumber(uncheckedDigits: String(asciiBytes: all.map { UInt8(48 + $0) }))
    }

    /// True for the range reserved for testing, 999 000 0000 to 999 999 9999.
    public var isTestRange: Bool { digits.hasPrefix("999") }

    /// The usual 3-3-4 grouping, "943 476 5919".
    public var formatted: String {
        let u = Array(digits.utf8)
        return String(asciiBytes: u[0..<3]) + " " + String(asciiBytes: u[3..<6]) + " " + String(asciiBytes: u[6..<10])
    }

    /// Redacted: an NHS number is personal data.
    public var description: String { "NHSNumber(redacted)" }

    @usableFromInline
    static func parseBuffer(_ buf: UnsafeBufferPointer<UInt8>) -> Result<NHSNumber, IdentifierError> {
        validatedDigits(buf).map { digits in
            withUnsafeBytes(of: digits) { NHSNumber(uncheckedDigits: String(decoding: $0, as: UTF8.self)) }
        }
    }

    /// The ten digits of a valid NHS number in `buf` written to `out` (room for at least 10), as
    /// `parse` would keep them, without making a string; 10, or nil when the number is not valid.
    public static func normalised(
        utf8 buf: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>
    )
        -> Int?
    {
        guard case .success(let digits) = validatedDigits(buf) else { return nil }
        precondition(out.count >= 10)
        withUnsafeBytes(of: digits) { _ = out.initialize(from: $0) }
        return 10
    }

    /// The ten ASCII digits of a valid NHS number in `buf`, or why it is not one.
    static func validatedDigits(_ buf: UnsafeBufferPointer<UInt8>) -> Result<TenDigits, IdentifierError> {
        let range = buf.trimmedRange()
        if range.isEmpty { return .failure(IdentifierError(.empty, "no NHS number given")) }
        var d = (UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0))
        var n = 0
        var lastWasSeparator = false
        for i in range {
            let b = buf[i]
            if ASCII.isDigit(b) {
                if n < 10 {
                    withUnsafeMutableBytes(of: &d) { $0[n] = b }
                }
                n += 1
                lastWasSeparator = false
            } else if b == ASCII.space || b == ASCII.hyphen {
                // Separators only between digits; a run of two spaces is tolerated, a hyphen
                // next to another separator is not.
                if n == 0 {
                    return .failure(IdentifierError(.badFormat, "starts with a separator"))
                }
                if lastWasSeparator && b == ASCII.hyphen {
                    return .failure(IdentifierError(.badFormat, "two separators in a row"))
                }
                lastWasSeparator = true
            } else {
                return .failure(
                    IdentifierError(.notDigits, "contains a character other than digits, spaces and hyphens"))
            }
        }
        if lastWasSeparator {
            return .failure(IdentifierError(.badFormat, "ends with a separator"))
        }
        guard n == 10 else {
            return .failure(IdentifierError(.wrongLength, "expected 10 digits, found \(n)"))
        }
        return withUnsafeBytes(of: d) { raw -> Result<TenDigits, IdentifierError> in
            var sum = 0
            var allSame = true
            for i in 0..<9 {
                let v = Int(raw[i] &- ASCII.zero)
                sum += v * (10 - i)
                if raw[i] != raw[0] { allSame = false }
            }
            if raw[9] != raw[0] { allSame = false }
            var check = 11 - sum % 11
            if check == 11 { check = 0 }
            if check == 10 {
                return .failure(
                    IdentifierError(
                        .checkDigitTen, "the first nine digits give check value 10, so the number cannot be valid"))
            }
            if Int(raw[9] &- ASCII.zero) != check {
                return .failure(IdentifierError(.checkDigitMismatch, "the check digit does not match"))
            }
            if allSame {
                return .failure(IdentifierError(.allSameDigits, "all ten digits are the same"))
            }
            return .success(d)
        }
    }

    /// Ten ASCII digits, kept without a heap allocation.
    typealias TenDigits = (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)
}
