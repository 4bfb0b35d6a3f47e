import Foundation
import Identifiers

/// The ten headline outcomes of the Supporting Families Outcomes Framework (2022–25). Every
/// indicator maps onto exactly one.
public enum SupportingFamiliesOutcome: Int, Sendable, CaseIterable, Comparable {
    case education = 1
    case earlyYears = 2
    case health = 3
    case substanceUse = 4
    case relationships = 5
    case safeFromAbuse = 6
    case crime = 7
    case domesticAbuse = 8
    case housing = 9
    case financialStability = 10

    public var name: String {
        switch self {
        case .education: return "Getting a good education"
        case .earlyYears: return "Good early years development"
        case .health: return "Improved mental and physical health"
        case .substanceUse: return "Better managed substance use"
        case .relationships: return "Improved family relationships"
        case .safeFromAbuse: return "Children safe from abuse and exploitation"
        case .crime: return "Families diverted from crime"
        case .domesticAbuse: return "Safe from domestic abuse"
        case .housing: return "Secure housing"
        case .financialStability: return "Financial stability"
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Dates and words as outreach teams read them.
enum PlainEnglish {
    static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
        "December",
    ]

    /// "3 September 2025".
    static func date(_ day: Int) -> String {
        let date = DayNumberDate(day)
        return "\(date.day) \(months[date.month - 1]) \(date.year)"
    }

    /// "12 months", "1 month", "90 days".
    static func span(months: Int?, days: Int?) -> String {
        if let months { return months == 1 ? "1 month" : "\(months) months" }
        let days = days ?? 0
        return days == 1 ? "1 day" : "\(days) days"
    }

    /// "a, b and c".
    static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        default: return items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }

    static let reviewNames = [
        "antenatal": "antenatal contact", "new_birth": "new birth visit", "6_8_week": "6–8 week review",
        "12_month": "12-month review", "2_2_5_year": "2–2½ year review",
    ]
    static let statusNames = [
        "not_attended": "not attended", "declined": "declined", "scheduled": "scheduled", "completed": "completed",
    ]

    /// "domestic_abuse" → "domestic abuse".
    static func words(_ code: String) -> String { code.replacingOccurrences(of: "_", with: " ") }
}

/// (year, month, day) of a day number.
struct DayNumberDate {
    let year: Int
    let month: Int
    let day: Int
    init(_ dayNumber: Int) {
        let date = CalendarDate(dayNumber: dayNumber)
        (year, month, day) = (date.year, date.month, date.day)
    }
}
