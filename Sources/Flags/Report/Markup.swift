import Foundation

/// A piece of HTML or SVG that is safe to put in a document by construction: text only ever gets
/// in through `Markup.text` (escaped), attribute values only through `Markup.element` (escaped),
/// and element and attribute names are string literals in this module. Nothing read from the
/// database can become markup.
struct Markup: Sendable {
    fileprivate(set) var html: String

    /// Markup written in this module's source code (the document head, the style sheet).
    fileprivate init(trusted: String) { html = trusted }

    /// Escaped text: `&`, `<`, `>`, `"` and `'` become entities, so a value is never taken as markup.
    static func text(_ value: String) -> Markup { Markup(trusted: HTMLEscape.escape(value)) }

    /// `<name a="v" …>children</name>`; attribute values are escaped.
    static func element(
        _ name: StaticString, _ attributes: KeyValuePairs<StaticString, String> = [:], _ children: [Markup] = []
    ) -> Markup {
        var out = "<\(name)"
        for (key, value) in attributes { out += " \(key)=\"\(HTMLEscape.escape(value))\"" }
        out += ">"
        for child in children { out += child.html }
        out += "</\(name)>"
        return Markup(trusted: out)
    }

    /// An element with text content only.
    static func element(
        _ name: StaticString, _ attributes: KeyValuePairs<StaticString, String> = [:], text: String
    ) -> Markup {
        element(name, attributes, [.text(text)])
    }

    /// A void element (`<meta …>`): attributes only, no children, no end tag.
    static func void(_ name: StaticString, _ attributes: KeyValuePairs<StaticString, String>) -> Markup {
        var out = "<\(name)"
        for (key, value) in attributes { out += " \(key)=\"\(HTMLEscape.escape(value))\"" }
        return Markup(trusted: out + ">")
    }

    /// A constant from this module's source (never a value from the database).
    static func constant(_ text: StaticString) -> Markup { Markup(trusted: "\(text)") }
}

/// The tiny HTML escaper every text node and attribute value goes through.
public enum HTMLEscape {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters other than tab and newline have no business in a report.
                if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" {
                    out += " "
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}

/// Numbers as people read them in a report.
enum ReportFormat {
    /// 12345 → "12,345".
    static func count(_ value: Int) -> String {
        let digits = String(abs(value))
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(character)
        }
        return value < 0 ? "−" + out : out
    }

    /// part / whole as "97.3%"; "–" when there is no whole.
    static func percent(_ part: Int, of whole: Int) -> String {
        guard whole > 0 else { return "–" }
        return percent(Double(part) / Double(whole))
    }

    static func percent(_ share: Double) -> String { String(format: "%.1f%%", share * 100) }

    /// A match weight in bits, one decimal, with a real minus sign.
    static func bits(_ value: Double) -> String {
        let text = String(format: "%.1f", value)
        return text.hasPrefix("-") ? "−" + text.dropFirst() : text
    }

    /// A probability: four decimals, or scientific notation when it is tiny.
    static func probability(_ value: Double) -> String {
        if value == 0 { return "0" }
        if value < 0.0001 { return String(format: "%.1e", value) }
        return String(format: "%.4f", value)
    }

    /// An SVG coordinate.
    static func coordinate(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.1f", rounded)
    }
}
