/// A feed definition that cannot be used, with the file, line and key at fault.
public struct FeedDefinitionError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        public static let unreadable = Code(name: "unreadable")
        public static let syntax = Code(name: "syntax")
        public static let unknownSection = Code(name: "unknownSection")
        public static let unknownKey = Code(name: "unknownKey")
        public static let duplicateKey = Code(name: "duplicateKey")
        public static let missingKey = Code(name: "missingKey")
        public static let invalidValue = Code(name: "invalidValue")
        public static let missingMapping = Code(name: "missingMapping")
        public static let unsafePath = Code(name: "unsafePath")
    }

    public var code: Code
    public var file: String
    public var line: Int?
    public var key: String?
    public var message: String

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let key { place += " [\(key)]" }
        return "\(place): \(message)"
    }
}
