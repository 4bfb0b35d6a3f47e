// Name tables for synthetic people. Common UK names, listed roughly from most to least common so
// that a Zipf-like weighting gives a realistic skew (many Smiths, few Gunton). Every person built
// from them is invented.

enum NameData {
    /// Surnames, most common first. A few Norfolk names near the end, a few with apostrophes.
    static let surnames: [String] = [
        "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
        "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
        "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill",
        "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen",
        "James", "Scott", "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths",
        "Mitchell", "Kelly", "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy",
        "Miller", "Cox", "Richards", "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh",
        "Begum", "Wilkinson", "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali",
        "Hunt", "Hussain", "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight",
        "Lloyd", "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey",
        "Graham", "Pearson", "Ahmed", "Fletcher", "Walsh", "Kaur", "Gibson", "Howard", "Andrews", "Stewart",
        "Elliott", "Reynolds", "Saunders", "Payne", "Fox", "Ford", "Pearce", "Day", "Brooks", "West",
        "Lawrence", "Cole", "Atkinson", "Bradley", "Spencer", "Gill", "Dawson", "Ball", "Burton", "O'Brien",
        "Watts", "Rose", "Booth", "Perry", "Ryan", "Grant", "Wells", "Armstrong", "Francis", "Rees",
        "Hayes", "Hart", "Hudson", "Newman", "Barrett", "Webster", "Hunter", "Gregory", "Carr", "Lowe",
        "Page", "Marsh", "Riley", "Dunn", "Woods", "Parsons", "Berry", "Stone", "Reid", "Holland",
        "Hawkins", "Harding", "Porter", "Robertson", "Newton", "Oliver", "Reed", "Kennedy", "Williamson", "Bird",
        "Gardner", "Shah", "Dean", "Lane", "Cooke", "Bates", "Henderson", "Parry", "Burgess", "Bishop",
        "Walton", "Burns", "Nicholson", "Shepherd", "Ross", "Cross", "Long", "Freeman", "Warren", "Nicholls",
        "Hamilton", "Byrne", "Sutton", "McDonald", "Yates", "Hodgson", "Robson", "Curtis", "Hopkins", "O'Connor",
        "Harper", "Coleman", "Watkins", "Moss", "McCarthy", "Chambers", "O'Neill", "Griffin", "Sharp", "Hardy",
        "Wheeler", "Potter", "Osborne", "Johnston", "Gordon", "Doyle", "Wallace", "George", "Jordan", "Hutchinson",
        "Rowe", "Burke", "May", "Pritchard", "Gilbert", "Willis", "Higgins", "Read", "Miles", "Stevenson",
        "Stephenson", "Hammond", "Arnold", "Buckley", "Walters", "Hewitt", "Barber", "Nelson", "Slater", "Austin",
        "Sullivan", "Whitehead", "Mann", "Frost", "Lambert", "Stephens", "Blake", "Akhtar", "Lynch", "Goodwin",
        "Barton", "Woodward", "Thomson", "Cunningham", "Quinn", "Barnett", "Baxter", "Bibi", "Clayton", "Nash",
        "Greenwood", "Jennings", "Holt", "Kemp", "Poole", "Gallagher", "Bond", "Stokes", "Tucker", "Davidson",
        "Fowler", "Heath", "Norman", "Middleton", "Lees", "Banks", "French", "Kirby", "Nowak", "Kowalski",
        "Wiśniewski", "Kaminski", "Petrov", "Popescu", "Silva", "Santos", "Ferreira", "Okafor", "Adeyemi", "Mensah",
        "Nguyen", "Chen", "Wong", "Rahman", "Miah", "Uddin", "Islam", "Chowdhury", "Mahmood", "Iqbal",
        "Howes", "Thrower", "Bunn", "Cushion", "Fulcher", "Gedge", "Pegg", "Cubitt", "Spinks", "Sayer",
        "Mace", "Loades", "Chilvers", "Gunton", "Brighty", "Gotts", "Lake", "Harrold", "Eke", "Tuck",
        "Ringer", "Hipkin", "Youngs", "Goffin", "Bacon", "Blyth", "Feek", "Annis", "Riches", "Self",
    ]

    static let childGirls: [String] = [
        "Olivia", "Amelia", "Isla", "Ava", "Ivy", "Freya", "Lily", "Florence", "Mia", "Willow",
        "Rosie", "Sophia", "Isabella", "Grace", "Daisy", "Sienna", "Poppy", "Elsie", "Emily", "Ella",
        "Evelyn", "Phoebe", "Sofia", "Evie", "Charlotte", "Harper", "Millie", "Matilda", "Maya", "Sophie",
        "Alice", "Emilia", "Isabelle", "Ruby", "Luna", "Maisie", "Aria", "Penelope", "Mila", "Bonnie",
        "Eva", "Hallie", "Eliza", "Ada", "Violet", "Esme", "Arabella", "Imogen", "Jessica", "Delilah",
        "Lottie", "Thea", "Ellie", "Eleanor", "Madison", "Chloe", "Holly", "Hannah", "Lucy", "Katie",
        "Megan", "Amy", "Lauren", "Rebecca", "Abigail", "Zara", "Layla", "Summer", "Scarlett", "Lola",
        "Molly", "Erin", "Niamh", "Nancy", "Gracie", "Harriet", "Elizabeth", "Victoria", "Leah", "Jasmine",
        "Aisha", "Fatima", "Maryam", "Amber", "Georgia", "Paige", "Bethany", "Caitlin", "Abbie", "Emma",
        "Tilly", "Martha", "Margot", "Edith", "Mabel", "Nellie", "Orla", "Iris", "Hazel", "Aurora",
        "Beatrice", "Clara", "Lyra", "Robyn", "Skye", "Hollie", "Georgina", "Alexandra", "Samantha", "Zoë",
        "Chloé", "Francesca", "Heidi", "Lacey", "Leila", "Aaliyah", "Amira", "Hanna", "Julia", "Zuzanna",
        "Maja", "Amelie", "Eden", "Ellis", "Frankie", "Annabelle", "Felicity", "Catherine", "Katherine", "Madeleine",
    ]

    static let childBoys: [String] = [
        "Oliver", "George", "Noah", "Arthur", "Harry", "Leo", "Muhammad", "Jack", "Charlie", "Oscar",
        "Jacob", "Henry", "Thomas", "Freddie", "Alfie", "Theo", "William", "Theodore", "Archie", "Joshua",
        "Alexander", "James", "Isaac", "Edward", "Lucas", "Tommy", "Finley", "Max", "Logan", "Ethan",
        "Mason", "Albie", "Teddy", "Reggie", "Arlo", "Louie", "Hugo", "Sebastian", "Elijah", "Jaxon",
        "Roman", "Samuel", "Frederick", "Jude", "Ronnie", "Benjamin", "Daniel", "Alfred", "Harrison", "Dylan",
        "Riley", "Toby", "Tyler", "Jenson", "Rory", "Ollie", "Bobby", "Stanley", "Albert", "Kai",
        "Zachary", "Ezra", "Reuben", "Frankie", "Jake", "Luke", "Callum", "Kian", "Lewis", "Matthew",
        "Ryan", "Connor", "Liam", "Nathan", "Aaron", "Adam", "Caleb", "Elliot", "Felix", "Gabriel",
        "Jayden", "Jamie", "Joseph", "Kyle", "Michael", "Nathaniel", "Owen", "Patrick", "Rhys", "Sonny",
        "Tobias", "Louis", "Austin", "Ellis", "Blake", "Carter", "Ibrahim", "Yusuf", "Omar", "Ali",
        "Harvey", "Jasper", "Eli", "Jesse", "Hunter", "Dexter", "Christopher", "Nicholas", "Robert", "John",
        "Jakub", "Filip", "Oskar", "Seán", "Oisín", "Mohammed", "Zain", "Ayaan", "Rafael", "Mateo",
    ]

    static let adultWomen: [String] = [
        "Sarah", "Emma", "Laura", "Gemma", "Rebecca", "Charlotte", "Amy", "Hannah", "Jessica", "Lauren",
        "Sophie", "Stacey", "Kirsty", "Claire", "Nicola", "Danielle", "Jade", "Kelly", "Lisa", "Michelle",
        "Joanne", "Hayley", "Leanne", "Kerry", "Louise", "Zoe", "Kimberley", "Carly", "Samantha", "Amanda",
        "Donna", "Katie", "Rachel", "Natalie", "Victoria", "Catherine", "Jennifer", "Helen", "Vicky", "Emily",
        "Chloe", "Megan", "Holly", "Lucy", "Abigail", "Alexandra", "Elizabeth", "Katherine", "Jodie", "Chelsea",
        "Shannon", "Aimee", "Bethany", "Naomi", "Ellie", "Leah", "Jasmine", "Amber", "Georgia", "Paige",
        "Courtney", "Toni", "Sadie", "Kayleigh", "Sian", "Tanya", "Melissa", "Tracey", "Charlene", "Rachael",
        "Fatima", "Ayesha", "Nadia", "Agnieszka", "Joanna", "Monika", "Ana", "Maria", "Renée", "Siobhán",
        "Margaret", "Harriet", "Eleanor", "Madison", "Isabella", "Frances", "Penelope", "Georgina", "Abbie", "Becky",
    ]

    static let adultMen: [String] = [
        "David", "Paul", "Mark", "Andrew", "Richard", "Daniel", "James", "Christopher", "Michael", "Matthew",
        "Stephen", "Lee", "Craig", "Darren", "Wayne", "Jason", "Simon", "Gary", "Scott", "Ian",
        "Kevin", "Neil", "Anthony", "Robert", "Jonathan", "Martin", "Ashley", "Carl", "Dean", "Jamie",
        "Ryan", "Adam", "Thomas", "Benjamin", "Luke", "Liam", "Sean", "Shaun", "Kieran", "Nathan",
        "Aaron", "Ben", "Jordan", "Jack", "Joshua", "Samuel", "Tom", "Dan", "Peter", "John",
        "Steven", "Gareth", "Jake", "Connor", "Callum", "Bradley", "Jacob", "Joe", "Mohammed", "Imran",
        "Karl", "Russell", "Glen", "Marcus", "Nicholas", "Philip", "Graham", "Alan", "Alexander", "Dominic",
        "Harry", "George", "William", "Edward", "Ross", "Stuart", "Mitchell", "Reece", "Kyle", "Jay",
        "Brandon", "Charlie", "Oliver", "Tomasz", "Piotr", "Marek", "José", "Zoltán", "Frederick", "Henry",
    ]

    /// Formal name → familiar forms. Noise uses these in both directions.
    static let nicknamePairs: [(String, String)] = [
        ("Alfred", "Alfie"), ("Alexander", "Alex"), ("Eleanor", "Ellie"), ("Henry", "Harry"), ("Charlotte", "Charlie"),
        ("Isabella", "Bella"), ("John", "Jack"), ("Madison", "Maddie"), ("Samuel", "Sam"), ("Frederick", "Freddie"),
        ("Thomas", "Tom"), ("Thomas", "Tommy"), ("William", "Will"), ("William", "Billy"), ("Benjamin", "Ben"),
        ("Joshua", "Josh"), ("Matthew", "Matt"), ("Daniel", "Dan"), ("Daniel", "Danny"), ("James", "Jamie"),
        ("Oliver", "Ollie"), ("Theodore", "Theo"), ("Theodore", "Teddy"), ("Edward", "Eddie"), ("Edward", "Ted"),
        ("Robert", "Bobby"), ("Robert", "Rob"), ("Elizabeth", "Lizzie"), ("Elizabeth", "Beth"), ("Katherine", "Kate"),
        ("Catherine", "Katie"), ("Margaret", "Maggie"), ("Abigail", "Abbie"), ("Rebecca", "Becky"),
        ("Victoria", "Tori"),
        ("Jessica", "Jess"), ("Samantha", "Sam"), ("Alexandra", "Lexi"), ("Amelia", "Millie"), ("Matilda", "Tilly"),
        ("Florence", "Flo"), ("Harriet", "Hattie"), ("Sophia", "Sophie"), ("Gabriel", "Gabe"), ("Zachary", "Zach"),
        ("Nathaniel", "Nate"), ("Jacob", "Jake"), ("Joseph", "Joe"), ("Michael", "Mike"), ("Christopher", "Chris"),
        ("Nicholas", "Nick"), ("Anthony", "Tony"), ("Reginald", "Reggie"), ("Ronald", "Ronnie"), ("Stanley", "Stan"),
        ("Penelope", "Penny"), ("Evelyn", "Evie"), ("Georgina", "Georgie"), ("Frances", "Frankie"),
        ("Francis", "Frankie"),
        ("Louis", "Louie"), ("Albert", "Albie"), ("Archibald", "Archie"), ("Madeleine", "Maddie"), ("Isabelle", "Izzy"),
        ("Jennifer", "Jenny"), ("Alexander", "Xander"), ("Benjamin", "Benji"), ("Mohammed", "Mo"), ("Muhammad", "Mo"),
        ("Charles", "Charlie"), ("Patrick", "Paddy"), ("Stephen", "Steve"), ("Steven", "Steve"), ("Peter", "Pete"),
        ("Andrew", "Andy"), ("Richard", "Rick"), ("Kimberley", "Kim"), ("Victoria", "Vicky"), ("Gemma", "Gem"),
    ]
}

/// Forename and surname tables in the form the generator needs: one combined forename list addressed
/// by `UInt16` index, four weighted pools, and the alternates (nicknames ↔ formal names) of each name.
struct NameTables: Sendable {
    let forenames: [String]
    let surnames: [String]
    let childGirls: [UInt16]
    let childBoys: [UInt16]
    let adultWomen: [UInt16]
    let adultMen: [UInt16]
    let childGirlWeights: WeightedTable
    let childBoyWeights: WeightedTable
    let adultWomenWeights: WeightedTable
    let adultMenWeights: WeightedTable
    let surnameWeights: WeightedTable
    /// For each forename index, the other forms it may be recorded as.
    let alternates: [[UInt16]]
    /// For each forename index, the look-alike names (`FamiliarForms.lookAlikes`) of the same sex.
    let lookAlikeTable: [[UInt16]]

    static let shared = NameTables()

    private init() {
        var names: [String] = []
        var index: [String: UInt16] = [:]
        func id(_ n: String) -> UInt16 {
            if let i = index[n] { return i }
            let i = UInt16(names.count)
            names.append(n)
            index[n] = i
            return i
        }
        childGirls = NameData.childGirls.map(id)
        childBoys = NameData.childBoys.map(id)
        adultWomen = NameData.adultWomen.map(id)
        adultMen = NameData.adultMen.map(id)
        var alt: [UInt16: [UInt16]] = [:]
        for (formal, nick) in NameData.nicknamePairs {
            let f = id(formal)
            let n = id(nick)
            alt[f, default: []].append(n)
            alt[n, default: []].append(f)
        }
        forenames = names
        alternates = (0..<names.count).map { alt[UInt16($0)] ?? [] }
        var alike: [UInt16: [UInt16]] = [:]
        for (a, b) in FamiliarForms.lookAlikes {
            guard let x = index[a], let y = index[b] else {
                preconditionFailure("look-alike \(a)/\(b) not a child name")
            }
            alike[x, default: []].append(y)
            alike[y, default: []].append(x)
        }
        lookAlikeTable = (0..<names.count).map { alike[UInt16($0)] ?? [] }
        surnames = NameData.surnames
        childGirlWeights = WeightedTable(zipfCount: childGirls.count, offset: 6)
        childBoyWeights = WeightedTable(zipfCount: childBoys.count, offset: 6)
        adultWomenWeights = WeightedTable(zipfCount: adultWomen.count, offset: 6)
        adultMenWeights = WeightedTable(zipfCount: adultMen.count, offset: 6)
        surnameWeights = WeightedTable(zipfCount: surnames.count, offset: 8)
    }

    func childForename(male: Bool, _ rng: inout SynthRandom) -> UInt16 {
        male ? childBoys[childBoyWeights.pick(&rng)] : childGirls[childGirlWeights.pick(&rng)]
    }

    func adultForename(male: Bool, _ rng: inout SynthRandom) -> UInt16 {
        male ? adultMen[adultMenWeights.pick(&rng)] : adultWomen[adultWomenWeights.pick(&rng)]
    }

    func surname(_ rng: inout SynthRandom) -> UInt16 { UInt16(surnameWeights.pick(&rng)) }
}

/// The synth's own wider table of familiar forms, used by the harsher noise profiles. It is written
/// independently of any matcher's nickname table on purpose: a matcher tuned to the generator's list
/// would look better on synthetic data than on a partner's.
enum FamiliarForms {
    static let forms: [String: [String]] = [
        // Girls.
        "Olivia": ["Liv", "Livvy", "Ollie"], "Amelia": ["Millie", "Mia", "Amy"], "Lily": ["Lil"],
        "Florence": ["Flo", "Florrie", "Flossie"], "Rosie": ["Rose"], "Sophia": ["Sophie", "Soph"],
        "Isabella": ["Bella", "Izzy", "Issy"], "Grace": ["Gracie"], "Emily": ["Em", "Emmy", "Millie"],
        "Ella": ["Ellie"], "Evelyn": ["Evie", "Eve"], "Phoebe": ["Phoebs"], "Sofia": ["Sophie", "Sof"],
        "Charlotte": ["Lottie", "Charlie", "Lotte"], "Millie": ["Mills"], "Matilda": ["Tilly", "Tilda", "Mattie"],
        "Sophie": ["Soph"], "Alice": ["Ally", "Allie"], "Emilia": ["Millie", "Emmy"], "Isabelle": ["Izzy", "Belle"],
        "Ruby": ["Rubes"], "Penelope": ["Penny", "Nell"], "Eliza": ["Liza", "Lizzie"], "Violet": ["Vi", "Letty"],
        "Arabella": ["Bella", "Bell"], "Imogen": ["Immy", "Midge"], "Jessica": ["Jess", "Jessie"],
        "Delilah": ["Lila", "Lilah"], "Eleanor": ["Ellie", "Nell", "Nora"], "Madison": ["Maddie", "Maddy"],
        "Hannah": ["Annie"], "Lucy": ["Lu", "Lucie"], "Katie": ["Kat"], "Megan": ["Meg"],
        "Rebecca": ["Becky", "Becca", "Bex"], "Abigail": ["Abbie", "Abby", "Gail"], "Scarlett": ["Letty", "Scar"],
        "Harriet": ["Hattie", "Harri"], "Elizabeth": ["Lizzie", "Beth", "Libby", "Eliza"],
        "Victoria": ["Tori", "Vicky"], "Jasmine": ["Jas", "Jazz"], "Georgia": ["Georgie"], "Bethany": ["Beth"],
        "Caitlin": ["Cait"], "Emma": ["Em"], "Martha": ["Mattie"], "Edith": ["Edie"], "Mabel": ["Mabs"],
        "Aurora": ["Rory"], "Beatrice": ["Bea", "Trixie"], "Georgina": ["Georgie", "Gina"],
        "Alexandra": ["Lexi", "Alex", "Sasha"], "Samantha": ["Sam", "Sammy"], "Zoë": ["Zoe"], "Chloé": ["Chloe"],
        "Francesca": ["Fran", "Frankie"], "Julia": ["Jules"], "Zuzanna": ["Zuza"], "Amelie": ["Millie"],
        "Annabelle": ["Annie", "Bella"], "Felicity": ["Flick", "Fliss"], "Catherine": ["Cathy", "Kate"],
        "Katherine": ["Kate", "Kathy", "Katie"], "Madeleine": ["Maddie", "Maddy"],
        // Boys.
        "Oliver": ["Ollie", "Olly"], "George": ["Georgie"], "Arthur": ["Artie", "Art"],
        "Muhammad": ["Mo", "Mohammed"], "Charlie": ["Chaz"], "Oscar": ["Ozzy", "Ossie"], "Jacob": ["Jake", "Jakey"],
        "Henry": ["Harry", "Hal"], "Thomas": ["Tom", "Tommy"], "Freddie": ["Fred"], "Alfie": ["Alf"],
        "William": ["Will", "Billy", "Liam"], "Theodore": ["Theo", "Teddy"], "Archie": ["Arch"], "Joshua": ["Josh"],
        "Alexander": ["Alex", "Xander", "Sandy"], "James": ["Jamie", "Jim", "Jimmy"], "Isaac": ["Zac", "Ike"],
        "Edward": ["Ed", "Eddie", "Ted"], "Lucas": ["Luke"], "Tommy": ["Tom"], "Finley": ["Finn"],
        "Teddy": ["Ted"], "Reggie": ["Reg"], "Louie": ["Lou"], "Sebastian": ["Seb", "Bas"], "Elijah": ["Eli"],
        "Jaxon": ["Jax"], "Samuel": ["Sam", "Sammy"], "Frederick": ["Fred", "Freddie", "Freddy"],
        "Ronnie": ["Ron"], "Benjamin": ["Ben", "Benji", "Benny"], "Daniel": ["Dan", "Danny"],
        "Alfred": ["Alfie", "Alf", "Fred"], "Harrison": ["Harry", "Haz"], "Toby": ["Tobes"], "Tyler": ["Ty"],
        "Bobby": ["Bob"], "Stanley": ["Stan"], "Albert": ["Albie", "Bert"], "Zachary": ["Zach", "Zac", "Zak"],
        "Reuben": ["Rube"], "Callum": ["Cal"], "Lewis": ["Lew"], "Matthew": ["Matt", "Matty"], "Connor": ["Con"],
        "Nathan": ["Nat", "Nate"], "Caleb": ["Cal"], "Elliot": ["Eli"], "Gabriel": ["Gabe"], "Jayden": ["Jay"],
        "Joseph": ["Joe", "Joey"], "Michael": ["Mike", "Mikey", "Mick"], "Nathaniel": ["Nate", "Nat"],
        "Patrick": ["Pat", "Paddy"], "Tobias": ["Toby"], "Louis": ["Lou", "Louie"], "Jesse": ["Jess"],
        "Dexter": ["Dex"], "Christopher": ["Chris", "Kit"], "Nicholas": ["Nick", "Nicky"],
        "Robert": ["Rob", "Bob", "Bobby", "Robbie"], "John": ["Johnny", "Jack"], "Jakub": ["Kuba"],
        "Filip": ["Phil"], "Oskar": ["Oscar"], "Seán": ["Sean"], "Oisín": ["Oisin"], "Mohammed": ["Mo"],
        "Rafael": ["Rafa"],
    ]

    /// Names a parent might give two of their children, or twins, that a nickname table calls one name.
    /// Both names are in the children's lists, and each pair is of one sex.
    static let lookAlikes: [(String, String)] = [
        ("Sophia", "Sophie"), ("Sofia", "Sophia"), ("Sofia", "Sophie"), ("Isabella", "Isabelle"), ("Evelyn", "Evie"),
        ("Eva", "Evie"), ("Matilda", "Tilly"), ("Amelia", "Millie"), ("Eleanor", "Ellie"), ("Ella", "Ellie"),
        ("Charlotte", "Lottie"), ("Holly", "Hollie"), ("Hannah", "Hanna"), ("Abigail", "Abbie"),
        ("Georgia", "Georgina"), ("Catherine", "Katherine"), ("Katherine", "Katie"), ("Amelia", "Amelie"),
        ("Grace", "Gracie"), ("Layla", "Leila"),
        ("Alfred", "Alfie"), ("Frederick", "Freddie"), ("Oliver", "Ollie"), ("Theodore", "Theo"),
        ("Theodore", "Teddy"), ("Louis", "Louie"), ("Albert", "Albie"), ("Thomas", "Tommy"), ("Jacob", "Jake"),
        ("Muhammad", "Mohammed"), ("James", "Jamie"), ("Elijah", "Eli"), ("Tobias", "Toby"), ("Oskar", "Oscar"),
        ("Harrison", "Harry"), ("Henry", "Harry"), ("Nathan", "Nathaniel"), ("Louis", "Lewis"), ("Jakub", "Jacob"),
    ]
}

extension NameTables {
    /// Familiar forms of forename `id` from the synth's wider table (empty when it has none).
    func familiarForms(_ id: UInt16) -> [String] { FamiliarForms.forms[forenames[Int(id)]] ?? [] }

    /// Look-alike partners of forename `id`, as forename indexes.
    func lookAlikes(_ id: UInt16) -> [UInt16] { lookAlikeTable[Int(id)] }

    func index(of name: String) -> UInt16? { forenames.firstIndex(of: name).map { UInt16($0) } }
}
