package dataset

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// nation is one of the four UK nations.
type nation int

const (
	england nation = iota
	wales
	scotland
	northernIreland
)

// town is a place where organisations have offices.
type town struct {
	name      string
	nation    nation
	postcodes string // postcode areas, separated by "|" where a town has several
	dial      string // Ofcom drama range for the town's landlines, see phoneRanges
}

// Landline and mobile ranges that Ofcom reserves for TV and radio drama. Each prefix is
// followed by three digits, 000 to 999.
const (
	mobileRange    = "07700 900"
	noAreaRange    = "01632 960"
	londonRange    = "020 7946 0"
	tynesideRange  = "0191 498 0"
	belfastRange   = "028 9649 6"
	cardiffRange   = "029 2018 0"
	leedsRange     = "0113 496 0"
	sheffieldRange = "0114 496 0"
	nottsRange     = "0115 496 0"
	leicesterRange = "0116 496 0"
	bristolRange   = "0117 496 0"
	readingRange   = "0118 496 0"
	brumRange      = "0121 496 0"
	edinburghRange = "0131 496 0"
	glasgowRange   = "0141 496 0"
	liverpoolRange = "0151 496 0"
	manchesterRng  = "0161 496 0"
)

// phoneRanges lists every range the dataset draws numbers from, for tests.
var phoneRanges = []string{mobileRange, noAreaRange, londonRange, tynesideRange,
	belfastRange, cardiffRange, leedsRange, sheffieldRange, nottsRange, leicesterRange,
	bristolRange, readingRange, brumRange, edinburghRange, glasgowRange, liverpoolRange,
	manchesterRng}

// towns lists places in all four nations with their postcode areas. A town without a
// drama range of its own uses the 01632 range, which belongs to no area.
var towns = []town{
	{"London", england, "EC|WC|E|N|NW|SE|SW|W", londonRange},
	{"Birmingham", england, "B", brumRange},
	{"Manchester", england, "M", manchesterRng},
	{"Liverpool", england, "L", liverpoolRange},
	{"Leeds", england, "LS", leedsRange},
	{"Sheffield", england, "S", sheffieldRange},
	{"Bristol", england, "BS", bristolRange},
	{"Newcastle upon Tyne", england, "NE", tynesideRange},
	{"Nottingham", england, "NG", nottsRange},
	{"Leicester", england, "LE", leicesterRange},
	{"Reading", england, "RG", readingRange},
	{"Coventry", england, "CV", ""},
	{"Bradford", england, "BD", ""},
	{"Hull", england, "HU", ""},
	{"Stoke-on-Trent", england, "ST", ""},
	{"Wolverhampton", england, "WV", ""},
	{"Derby", england, "DE", ""},
	{"Southampton", england, "SO", ""},
	{"Portsmouth", england, "PO", ""},
	{"Plymouth", england, "PL", ""},
	{"Exeter", england, "EX", ""},
	{"Oxford", england, "OX", ""},
	{"Cambridge", england, "CB", ""},
	{"Norwich", england, "NR", ""},
	{"Ipswich", england, "IP", ""},
	{"Chelmsford", england, "CM", ""},
	{"Colchester", england, "CO", ""},
	{"Maidstone", england, "ME", ""},
	{"Canterbury", england, "CT", ""},
	{"Brighton", england, "BN", ""},
	{"Lewes", england, "BN", ""},
	{"Guildford", england, "GU", ""},
	{"Luton", england, "LU", ""},
	{"Milton Keynes", england, "MK", ""},
	{"Northampton", england, "NN", ""},
	{"Peterborough", england, "PE", ""},
	{"Lincoln", england, "LN", ""},
	{"York", england, "YO", ""},
	{"Harrogate", england, "HG", ""},
	{"Middlesbrough", england, "TS", ""},
	{"Durham", england, "DH", tynesideRange},
	{"Sunderland", england, "SR", tynesideRange},
	{"Carlisle", england, "CA", ""},
	{"Lancaster", england, "LA", ""},
	{"Preston", england, "PR", ""},
	{"Blackburn", england, "BB", ""},
	{"Bolton", england, "BL", ""},
	{"Warrington", england, "WA", ""},
	{"Chester", england, "CH", ""},
	{"Stockport", england, "SK", ""},
	{"Oldham", england, "OL", ""},
	{"Wigan", england, "WN", ""},
	{"Huddersfield", england, "HD", ""},
	{"Wakefield", england, "WF", ""},
	{"Doncaster", england, "DN", ""},
	{"Gloucester", england, "GL", ""},
	{"Cheltenham", england, "GL", ""},
	{"Worcester", england, "WR", ""},
	{"Hereford", england, "HR", ""},
	{"Shrewsbury", england, "SY", ""},
	{"Telford", england, "TF", ""},
	{"Stafford", england, "ST", ""},
	{"Swindon", england, "SN", ""},
	{"Salisbury", england, "SP", ""},
	{"Bournemouth", england, "BH", ""},
	{"Dorchester", england, "DT", ""},
	{"Taunton", england, "TA", ""},
	{"Truro", england, "TR", ""},
	{"Bath", england, "BA", ""},
	{"Basingstoke", england, "RG", ""},
	{"Winchester", england, "SO", ""},
	{"Slough", england, "SL", ""},
	{"Watford", england, "WD", ""},
	{"St Albans", england, "AL", ""},
	{"Stevenage", england, "SG", ""},
	{"Bedford", england, "MK", ""},
	{"Aylesbury", england, "HP", ""},
	{"Croydon", england, "CR", londonRange},
	{"Kingston upon Thames", england, "KT", londonRange},
	{"Bromley", england, "BR", londonRange},
	{"Harrow", england, "HA", londonRange},
	{"Romford", england, "RM", londonRange},
	{"Enfield", england, "EN", londonRange},
	{"Uxbridge", england, "UB", londonRange},
	{"Tunbridge Wells", england, "TN", ""},
	{"Crawley", england, "RH", ""},
	{"Southend-on-Sea", england, "SS", ""},
	{"Grimsby", england, "DN", ""},
	{"Barnsley", england, "S", sheffieldRange},
	{"Chesterfield", england, "S", ""},
	{"Mansfield", england, "NG", ""},
	{"Burnley", england, "BB", ""},
	{"Blackpool", england, "FY", ""},
	{"Barrow-in-Furness", england, "LA", ""},
	{"Darlington", england, "DL", ""},
	{"Hartlepool", england, "TS", ""},
	{"King's Lynn", england, "PE", ""},
	{"Bury St Edmunds", england, "IP", ""},
	{"Walsall", england, "WS", ""},
	{"Dudley", england, "DY", ""},
	{"Solihull", england, "B", brumRange},
	{"Nuneaton", england, "CV", ""},
	{"Warwick", england, "CV", ""},
	{"Loughborough", england, "LE", ""},
	{"Kettering", england, "NN", ""},
	{"Grantham", england, "NG", ""},
	{"Scarborough", england, "YO", ""},
	{"Newport (Isle of Wight)", england, "PO", ""},
	{"Cardiff", wales, "CF", cardiffRange},
	{"Swansea", wales, "SA", ""},
	{"Newport", wales, "NP", ""},
	{"Wrexham", wales, "LL", ""},
	{"Bangor", wales, "LL", ""},
	{"Aberystwyth", wales, "SY", ""},
	{"Carmarthen", wales, "SA", ""},
	{"Merthyr Tydfil", wales, "CF", ""},
	{"Colwyn Bay", wales, "LL", ""},
	{"Caernarfon", wales, "LL", ""},
	{"Haverfordwest", wales, "SA", ""},
	{"Bridgend", wales, "CF", ""},
	{"Pontypridd", wales, "CF", ""},
	{"Mold", wales, "CH", ""},
	{"Llanelli", wales, "SA", ""},
	{"Welshpool", wales, "SY", ""},
	{"Brecon", wales, "LD", ""},
	{"Llandrindod Wells", wales, "LD", ""},
	{"Glasgow", scotland, "G", glasgowRange},
	{"Edinburgh", scotland, "EH", edinburghRange},
	{"Aberdeen", scotland, "AB", ""},
	{"Dundee", scotland, "DD", ""},
	{"Inverness", scotland, "IV", ""},
	{"Perth", scotland, "PH", ""},
	{"Stirling", scotland, "FK", ""},
	{"Falkirk", scotland, "FK", ""},
	{"Kilmarnock", scotland, "KA", ""},
	{"Ayr", scotland, "KA", ""},
	{"Paisley", scotland, "PA", glasgowRange},
	{"Dumfries", scotland, "DG", ""},
	{"Hamilton", scotland, "ML", ""},
	{"Livingston", scotland, "EH", ""},
	{"Dunfermline", scotland, "KY", ""},
	{"Kirkcaldy", scotland, "KY", ""},
	{"Greenock", scotland, "PA", ""},
	{"Elgin", scotland, "IV", ""},
	{"Oban", scotland, "PA", ""},
	{"Fort William", scotland, "PH", ""},
	{"Lerwick", scotland, "ZE", ""},
	{"Kirkwall", scotland, "KW", ""},
	{"Stornoway", scotland, "HS", ""},
	{"Selkirk", scotland, "TD", ""},
	{"Airdrie", scotland, "ML", ""},
	{"Dumbarton", scotland, "G", ""},
	{"Peterhead", scotland, "AB", ""},
	{"Forfar", scotland, "DD", ""},
	{"Belfast", northernIreland, "BT", belfastRange},
	{"Derry~Londonderry", northernIreland, "BT", belfastRange},
	{"Newry", northernIreland, "BT", belfastRange},
	{"Armagh", northernIreland, "BT", belfastRange},
	{"Omagh", northernIreland, "BT", belfastRange},
	{"Enniskillen", northernIreland, "BT", belfastRange},
	{"Coleraine", northernIreland, "BT", belfastRange},
	{"Ballymena", northernIreland, "BT", belfastRange},
	{"Lisburn", northernIreland, "BT", belfastRange},
	{"Craigavon", northernIreland, "BT", belfastRange},
	{"Dungannon", northernIreland, "BT", belfastRange},
	{"Newtownards", northernIreland, "BT", belfastRange},
	{"Downpatrick", northernIreland, "BT", belfastRange},
	{"Antrim", northernIreland, "BT", belfastRange},
	{"Strabane", northernIreland, "BT", belfastRange},
}

// townsByNation and townByName index towns. They are built by package variable
// initialisation, not init, because the sector tables that use them are variables too.
var (
	townsByNation, townByName = indexTowns()
)

func indexTowns() (map[nation][]*town, map[string]*town) {
	byNation := map[nation][]*town{}
	byName := map[string]*town{}
	for i := range towns {
		t := &towns[i]
		if t.dial == "" {
			t.dial = noAreaRange
		}
		byNation[t.nation] = append(byNation[t.nation], t)
		byName[t.name] = t
	}
	return byNation, byName
}

// mustTown returns the town of that name; the name must be in towns.
func mustTown(name string) *town {
	t, ok := townByName[name]
	if !ok {
		panic(fmt.Sprintf("dataset: town %q is not in the towns list", name))
	}
	return t
}

// randomTown picks a town, in England four times in five.
func randomTown(r *rand.Rand) *town {
	switch x := r.IntN(100); {
	case x < 80:
		return pick(r, townsByNation[england])
	case x < 87:
		return pick(r, townsByNation[scotland])
	case x < 94:
		return pick(r, townsByNation[wales])
	default:
		return pick(r, townsByNation[northernIreland])
	}
}

var streets = []string{"High Street", "Station Road", "Church Street", "Market Place",
	"Victoria Road", "King Street", "Queen Street", "Bridge Street", "Castle Street",
	"Mill Lane", "Park Road", "London Road", "North Street", "South Street", "West Street",
	"Chapel Street", "Court Road", "Albert Road", "Broad Street", "George Street",
	"Water Street", "Princes Street", "Bank Street", "New Road", "York Road",
	"Union Street", "Regent Street", "Shire Hall Lane", "Guildhall Square", "Friar Street",
	"St Mary's Road", "St Andrew's Street", "Cathedral Close", "Riverside Way",
	"Exchange Square", "Albion Street", "Abbey Road", "Tower Street", "Sessions Road",
	"Dock Street"}

// buildings name the offices of larger organisations.
var buildings = []string{"Crown House", "Justice House", "Riverside House", "Sessions House",
	"Victoria House", "Quayside House", "Exchange Buildings", "Millennium House",
	"Kingsway House", "Centenary House", "Castle Chambers", "Bridge House", "Beacon House",
	"Albion House", "Union House"}

// postcodeUnitLetters are the letters a postcode's last two characters use.
const postcodeUnitLetters = "ABDEFGHJLNPQRSTUWXYZ"

// postalAddress returns a street address in t and a postcode in one of t's areas. The
// postcodes have the right shape and area but are made up.
func postalAddress(r *rand.Rand, t *town, withBuilding bool) (address, postcode string) {
	street := fmt.Sprintf("%d %s", 1+r.IntN(180), pick(r, streets))
	if withBuilding {
		street = pick(r, buildings) + ", " + street
	}
	area := pick(r, strings.Split(t.postcodes, "|"))
	postcode = fmt.Sprintf("%s%d %d%c%c", area, 1+r.IntN(20), r.IntN(10),
		postcodeUnitLetters[r.IntN(len(postcodeUnitLetters))],
		postcodeUnitLetters[r.IntN(len(postcodeUnitLetters))])
	return street + ", " + t.name, postcode
}

// landline returns a number in t's drama range.
func landline(r *rand.Rand, t *town) string {
	return fmt.Sprintf("%s%03d", t.dial, r.IntN(1000))
}

// mobile returns a number in the mobile drama range.
func mobile(r *rand.Rand) string {
	return fmt.Sprintf("%s%03d", mobileRange, r.IntN(1000))
}

func pick[T any](r *rand.Rand, list []T) T {
	return list[r.IntN(len(list))]
}
