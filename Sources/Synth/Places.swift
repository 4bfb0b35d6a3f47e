// Invented addresses in real Norfolk-area postcode districts. Towns and districts are real; streets,
// localities, house numbers and postcode units are made up and belong to no one.

struct District: Sendable {
    let outward: String
    let town: String
    let weight: Double
    let area: String
}

enum PlaceData {
    static let districts: [District] = {
        var d: [District] = []
        func add(_ area: String, _ nums: ClosedRange<Int>, _ town: String, _ weight: Double) {
            for n in nums { d.append(District(outward: "\(area)\(n)", town: town, weight: weight, area: area)) }
        }
        add("NR", 1...7, "Norwich", 4.0)
        add("NR", 8...16, "Norwich", 2.0)
        add("NR", 17...17, "Attleborough", 1.5)
        add("NR", 18...18, "Wymondham", 1.5)
        add("NR", 19...20, "Dereham", 1.5)
        add("NR", 21...21, "Fakenham", 1.2)
        add("NR", 22...22, "Walsingham", 0.3)
        add("NR", 23...23, "Wells-next-the-Sea", 0.4)
        add("NR", 24...24, "Melton Constable", 0.4)
        add("NR", 25...25, "Holt", 0.7)
        add("NR", 26...26, "Sheringham", 0.7)
        add("NR", 27...27, "Cromer", 0.9)
        add("NR", 28...28, "North Walsham", 1.2)
        add("NR", 29...31, "Great Yarmouth", 2.2)
        add("NR", 32...33, "Lowestoft", 1.0)
        add("NR", 34...34, "Beccles", 0.6)
        add("NR", 35...35, "Bungay", 0.5)
        add("PE", 30...34, "King's Lynn", 2.0)
        add("PE", 35...35, "Sandringham", 0.3)
        add("PE", 36...36, "Hunstanton", 0.8)
        add("PE", 37...37, "Swaffham", 1.2)
        add("PE", 38...38, "Downham Market", 1.4)
        add("IP", 20...20, "Harleston", 0.7)
        add("IP", 21...22, "Diss", 1.0)
        add("IP", 23...23, "Eye", 0.3)
        add("IP", 24...24, "Thetford", 2.2)
        add("IP", 25...25, "Thetford", 1.0)
        return d
    }()

    static let districtWeights = WeightedTable(weights: districts.map(\.weight))

    /// Letters allowed in the two unit positions of an inward code (never C, I, K, M, O, V).
    static let inwardLetters: [UInt8] = Array("ABDEFGHJLNPQRSTUWXYZ".utf8)

    /// Mostly invented street-name stems.
    static let streetStems: [String] = [
        "Alder", "Ashwick", "Barley", "Beckwith", "Birchen", "Blackthorn", "Bramble", "Brackenfield", "Broadmere",
        "Burdock", "Buttercup", "Calder", "Campion", "Carrow Vale", "Chalkpit", "Chestnut", "Church", "Clover",
        "Coldharbour", "Coppice", "Corncrake", "Cowslip", "Crabapple", "Dairy", "Damson", "Dovecote", "Drovers",
        "Elderberry", "Elmstead", "Fairmead", "Falcon", "Fenland", "Fieldfare", "Flaxmill", "Foxglove", "Furze",
        "Gannet", "Glebe", "Goldcrest", "Gorsey", "Granary", "Greenacre", "Hallam", "Harebell", "Hawthorn",
        "Heathside", "Heron", "Hollyhock", "Hopfield", "Juniper", "Kestrel", "Kingfisher", "Lapwing", "Larkspur",
        "Lavender", "Linnet", "Lowfield", "Maltings", "Maple", "Marram", "Marshgate", "Meadowsweet", "Medlar",
        "Millpond", "Moorhen", "Mulberry", "Nettlebed", "Nightingale", "Oakapple", "Old Forge", "Orchard",
        "Osier", "Otter", "Paddock", "Pightle", "Plover", "Poppyfield", "Quarry", "Rectory", "Redwing", "Reedham Vale",
        "Rookery", "Rowan", "Saltings", "Sandpiper", "Saxon", "Sedge", "Skylark", "Sloe", "Sorrel", "Staithe",
        "Starling", "Stonechat", "Sycamore", "Tansy", "Teasel", "Thistle", "Threshing", "Tithe Barn", "Wagtail",
        "Warbler", "Waterworks", "Wherry", "Whinchat", "Willowbrook", "Windmill", "Woodlark", "Wren", "Yarrow",
    ]

    static let streetTypes: [String] = [
        "Road", "Street", "Lane", "Close", "Way", "Drive", "Avenue", "Gardens", "Crescent", "Court", "Place", "Walk",
        "Row", "Rise", "Green", "Mews",
    ]
    static let streetTypeWeights = WeightedTable(zipfCount: streetTypes.count, offset: 3)

    /// Invented localities for the second address line.
    static let localities: [String] = [
        "Ashby Parva", "Bexwell Green", "Bintree Magna", "Brettenham St Giles", "Burnham Sutton", "Caistor Parva",
        "Colby End", "Denver Fen", "East Tuddenham Heath", "Feltwell Row", "Foulden Common", "Gressenhall Green",
        "Hales Corner", "Hempnall Street", "Hilgay Fen", "Horning Marsh", "Ingham Corner", "Kettlestone End",
        "Langley Street", "Little Snoring Heath", "Marham Row", "Mundham Common", "Narborough Fen", "Oby End",
        "Pentney Abbey", "Reedham Ferry", "Ringland Hills", "Saham Toney Green", "Shropham Heath", "Southery Fen",
        "Stow Bedon Row", "Swardeston Common", "Thurlton Marsh", "Tivetshall Green", "Upwell End", "Wacton Common",
        "Welney Wash", "West Acre Heath", "Wiggenhall St Peter", "Wortwell Street", "Gorleston Fields", "Bradwell Fen",
        "Hellesdon Vale", "Costessey Park", "Sprowston Heath", "Thorpe Marriott Green", "Lakenham Rise", "Eaton Vale",
    ]

    /// Stems for invented school names.
    static let schoolStems: [String] = [
        "Alderbrook", "Ashmead", "Beacon", "Bramblefield", "Brecklands", "Broadland", "Burnside", "Castle Meadow",
        "Cedar", "Chalk Hill", "Cherry Tree", "Clover Hill", "Coastal", "Copperfield", "Drovers", "Fairfield",
        "Fenside", "Flintstone", "Greenway", "Hareside", "Heathland", "Highfield", "Holly Tree", "Kingsmead",
        "Lark Rise", "Marshland", "Meadowbank", "Millfield", "Northgate", "Oakwood", "Old Mill", "Orchard Vale",
        "Parkside", "Pinewood", "Queensway", "Reedbed", "Riverside", "Rowan Tree", "Saxonfield", "Sandy Lane",
        "Seagull", "Southgate", "St Withburga's", "St Felix", "St Edmund's", "Thornfield", "Tower Hill", "Valley",
        "Wayland", "Westfield", "Wherry", "Willow Bank", "Windmill", "Woodland", "Wroxham Road", "Yare Valley",
    ]
    static let primaryKinds = [
        "Primary School", "Primary Academy", "Infant and Junior School",
        "Church of England Primary School", "Community Primary School",
    ]
    static let secondaryKinds = ["High School", "Academy", "Community High School", "School"]
}
