/// A small, strict command-line parser: every flag must be declared, unknown ones are errors.
struct OptionSpec {
    enum Kind { case flag, value }
    let name: String
    let kind: Kind
    let placeholder: String
    let help: String

    static func flag(_ name: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, kind: .flag, placeholder: "", help: help)
    }

    static func value(_ name: String, _ placeholder: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, kind: .value, placeholder: placeholder, help: help)
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
}

struct ParsedArguments {
    private(set) var values: [String: [String]] = [:]
    private(set) var flags: Set<String> = []
    private(set) var positionals: [String] = []

    static func parse(_ arguments: ArraySlice<String>, options: [OptionSpec], command: String) throws -> ParsedArguments
    {
        var parsed = ParsedArguments()
        var index = arguments.startIndex
        var onlyPositionals = false
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || !argument.hasPrefix("--") || argument == "-" {
                if argument.hasPrefix("-") && argument != "-" && !onlyPositionals {
                    throw UsageError(description: "unknown option '\(argument)' for '\(command)'")
                }
                parsed.positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let spec = options.first(where: { $0.name == name }) else {
                throw UsageError(description: "unknown option '--\(name)' for '\(command)'")
            }
            switch spec.kind {
            case .flag:
                guard inlineValue == nil else { throw UsageError(description: "option '--\(name)' takes no value") }
                parsed.flags.insert(name)
            case .value:
                if let inlineValue {
                    parsed.values[name, default: []].append(inlineValue)
                } else {
                    guard index < arguments.endIndex else {
                        throw UsageError(description: "option '--\(name)' needs a value (\(spec.placeholder))")
                    }
                    parsed.values[name, default: []].append(arguments[index])
                    index += 1
                }
            }
        }
        return parsed
    }

    func has(_ flag: String) -> Bool { flags.contains(flag) }

    func value(_ name: String) -> String? { values[name]?.last }

    func all(_ name: String) -> [String] { values[name] ?? [] }

    func required(_ name: String) throws -> String {
        guard let value = value(name) else { throw UsageError(description: "missing required option '--\(name)'") }
        return value
    }

    func integer(_ name: String, default fallback: Int? = nil, range: ClosedRange<Int>? = nil) throws -> Int {
        guard let text = value(name) else {
            if let fallback { return fallback }
            throw UsageError(description: "missing required option '--\(name)'")
        }
        guard let number = Int(text) else { throw UsageError(description: "option '--\(name)' expects a whole number") }
        if let range, !range.contains(number) {
            throw UsageError(
                description: "option '--\(name)' must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }
}
