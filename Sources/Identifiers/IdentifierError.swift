/// Why an identifier, postcode, date or date pattern was rejected.
///
/// The error never holds the rejected text: identifiers and dates of birth are personal data,
/// and errors end up in logs. `description` says only *what* is wrong (for example
/// "expected 10 digits, found 9"), never the value itself.
public struct IdentifierError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A machine-readable reason. A struct rather than an enum so new codes can be added
    /// without breaking callers that switch over them.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The input was blank (only spaces, or nothing).
        public static let empty = Code("empty")
        /// The input has the wrong number of significant characters.
        public static let wrongLength = Code("wrongLength")
        /// A position that must hold a digit holds something else.
        public static let notDigits = Code("notDigits")
        /// NHS number: the modulus 11 check digit does not match the tenth digit.
        public static let checkDigitMismatch = Code("checkDigitMismatch")
        /// NHS number: the modulus 11 calculation gives 10, so no valid number has these nine digits.
        public static let checkDigitTen = Code("checkDigitTen")
        /// NHS number: all ten digits are the same (passes modulus 11 but is never issued).
        public static let allSameDigits = Code("allSameDigits")
        /// The shape is wrong (letters where digits belong, an impossible postcode format, …).
        public static let badFormat = Code("badFormat")
        /// National Insurance number: the two-letter prefix is never allocated.
        public static let badPrefix = Code("badPrefix")
        /// Unique Pupil Number: the check letter does not match characters 2–13.
        public static let badCheckLetter = Code("badCheckLetter")
        /// A date that does not exist (31 February, month 13, …) or does not match its pattern.
        public static let invalidDate = Code("invalidDate")
        /// A date format pattern that is unknown, ambiguous or incomplete.
        public static let badPattern = Code("badPattern")
    }

    public let code: Code
    /// What is wrong, in words. Never contains the rejected value.
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code.rawValue): \(reason)" }
}
