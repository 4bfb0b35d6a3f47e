/// A file that could not be loaded as a whole (nothing of it was kept).
public struct FeedBatchError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        public static let unreadable = Code(name: "unreadable")
        /// A device, FIFO, socket or directory where a file was expected.
        public static let notRegularFile = Code(name: "notRegularFile")
        public static let empty = Code(name: "empty")
        public static let header = Code(name: "header")
        public static let database = Code(name: "database")
    }

    public var code: Code
    public var message: String
    public var file: String?
    public var line: Int?

    public init(_ code: Code, _ message: String, file: String? = nil, line: Int? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    public var description: String {
        var place = file ?? "batch"
        if let line { place += ":\(line)" }
        return "\(place): \(message)"
    }
}
