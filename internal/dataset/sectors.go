package dataset

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/cjsm/cjsm/internal/address"
	"github.com/cjsm/cjsm/internal/store"
)

// Sectors of the generated organisations, as stored in organisations.sector.
const (
	SectorPolice        = "police"
	SectorProsecution   = "cps"
	SectorCourt         = "court"
	SectorProbation     = "probation"
	SectorPrison        = "prison"
	SectorYouthJustice  = "youth-justice"
	SectorVictimSupport = "victim-support"
	SectorBarristers    = "barristers"
	SectorDefence       = "defence"
)

// topSpec describes a top-level organisation of a sector.
type topSpec struct {
	name   string
	short  string // prefix of its sub-organisations' names
	label  string // DNS name part of its gateway domain, before ".example"
	town   *town
	weight float64 // relative size: people and depth-3 sub-organisations
	// subWeight is the relative number of depth-2 sub-organisations; zero means
	// the square root of weight.
	subWeight float64
	kind      string // store.KindGateway or store.KindHosted
	children  []childSpec
}

// childSpec describes a sub-organisation: its full name, the DNS label its gateway domain
// adds in front of the parent's, and where it is.
type childSpec struct {
	name  string
	label string
	town  *town
}

// sector describes how one part of the justice system is shaped.
type sector struct {
	name        string
	orgShare    float64 // share of all organisations
	peopleShare float64 // share of all people
	topShare    float64 // share of the sector's organisations that are top-level
	grandShare  float64 // share of its sub-organisations at depth 3
	sizeSpread  float64 // sigma of the log-normal spread of people per organisation
	headOffice  float64 // share of a tree's people in its top organisation, when nested

	fixedTops []topSpec                                          // used in order, when set
	newTop    func(g *planner) topSpec                           // otherwise
	child     func(g *planner, parent *orgPlan, i int) childSpec // depth 2
	grand     func(g *planner, parent *orgPlan, i int) childSpec // depth 3, or nil

	jobs        []weighted
	leads       [3]string // job title of an organisation's first person, by depth
	exDirectory float64   // share of people left out of the directory
}

type weighted struct {
	value  string
	weight float64
}

func pickWeighted(r *rand.Rand, list []weighted) string {
	total := 0.0
	for _, w := range list {
		total += w.weight
	}
	x := r.Float64() * total
	for _, w := range list {
		if x < w.weight {
			return w.value
		}
		x -= w.weight
	}
	return list[len(list)-1].value
}

// sectors lists every sector in the order the generator builds them. The shares are
// chosen so that about a quarter of the 10,000 organisations are sub-organisations.
var sectors = []*sector{policeSector, prosecutionSector, courtSector, probationSector,
	prisonSector, youthJusticeSector, victimSupportSector, barristersSector, defenceSector}

// optionChild returns the i-th of options for parent, in an order shuffled once per
// parent, named "<parent name> <option>". Past the end of options it fills the number
// of the extra child into overflow, such as "Local Policing Area %d".
func optionChild(g *planner, parent *orgPlan, i int, options []string,
	overflow string) childSpec {
	if parent.optionOrder == nil {
		parent.optionOrder = g.r.Perm(len(options))
	}
	opt := fmt.Sprintf(overflow, i-len(options)+1)
	if i < len(options) {
		opt = options[parent.optionOrder[i]]
	}
	return childSpec{name: parent.name + " " + opt, label: address.Slug(opt),
		town: parent.town}
}

// townLabelled gives a branch the DNS label of its town, for domains such as
// leeds.firm.example.
func townLabelled(c childSpec) childSpec {
	c.label = address.Slug(c.town.name)
	return c
}

// townChild names a child after a town in the parent's nation with one of patterns,
// trying other towns and patterns when the name is already used.
func townChild(g *planner, parent *orgPlan, patterns []string) childSpec {
	nat := parent.town.nation
	var name string
	var t *town
	for try := 0; try < 40; try++ {
		t = pick(g.r, townsByNation[nat])
		name = fmt.Sprintf(pick(g.r, patterns), t.name)
		if !g.nameUsed(name) {
			break
		}
	}
	return childSpec{name: name, label: address.Slug(name), town: t}
}

var policeSector = &sector{
	name:        SectorPolice,
	orgShare:    0.063,
	peopleShare: 0.40,
	topShare:    48.0 / 630,
	grandShare:  0.35,
	sizeSpread:  0.5,
	headOffice:  0.1,
	fixedTops:   policeForces(),
	child: func(g *planner, p *orgPlan, i int) childSpec {
		return optionChild(g, p, i, []string{"North Division", "South Division",
			"East Division", "West Division", "Central Division", "North East Division",
			"North West Division", "South East Division", "South West Division",
			"City Division", "Crime Command", "Operations Command",
			"Criminal Justice Department", "Public Protection Command",
			"Specialist Crime Command", "Professional Standards Department"},
			"Local Policing Area %d")
	},
	grand: func(g *planner, p *orgPlan, i int) childSpec {
		return optionChild(g, p, i, []string{"Criminal Investigation Department",
			"Witness Care Unit", "Custody", "Safeguarding Hub", "Case Progression Unit",
			"Domestic Abuse Unit", "Intelligence Unit", "Neighbourhood Policing Team",
			"Response Team", "Disclosure Unit", "Child Abuse Investigation Team",
			"Rape and Serious Sexual Offences Team", "Digital Forensics Unit",
			"File Quality Team"}, "Local Policing Team %d")
	},
	jobs: []weighted{{"Police Constable", 30}, {"Detective Constable", 15},
		{"Police Sergeant", 8}, {"Detective Sergeant", 5}, {"Inspector", 3},
		{"Detective Inspector", 2}, {"Chief Inspector", 1}, {"Superintendent", 0.5},
		{"Police Community Support Officer", 6}, {"Witness Care Officer", 5},
		{"Case Progression Officer", 4}, {"Detention Officer", 3}, {"Disclosure Officer", 2},
		{"Intelligence Analyst", 2}, {"Digital Forensic Examiner", 1}, {"Staff Officer", 1},
		{"Criminal Justice Administrator", 4}, {"Domestic Abuse Investigator", 1.5},
		{"Safeguarding Officer", 1.5}, {"Crime Scene Investigator", 1}},
	leads:       [3]string{"Chief Constable", "Chief Superintendent", "Detective Inspector"},
	exDirectory: 0.08,
}

// policeForces lists the territorial and national police forces, the largest first so
// that a small --scale keeps the big ones. The weights are rough estimates of each
// force's relative size.
func policeForces() []topSpec {
	type force struct {
		name, short, label, town string
		weight                   float64
	}
	forces := []force{
		{"Metropolitan Police Service", "Metropolitan Police", "met", "London", 34},
		{"Police Scotland", "Police Scotland", "scotland", "Glasgow", 17},
		{"Greater Manchester Police", "Greater Manchester Police", "gmp", "Manchester", 8},
		{"West Midlands Police", "West Midlands Police", "west-midlands", "Birmingham", 8},
		{"Police Service of Northern Ireland", "PSNI", "psni", "Belfast", 7},
		{"West Yorkshire Police", "West Yorkshire Police", "west-yorkshire", "Wakefield", 6},
		{"Thames Valley Police", "Thames Valley Police", "thames-valley", "Oxford", 5},
		{"Merseyside Police", "Merseyside Police", "merseyside", "Liverpool", 4},
		{"Kent Police", "Kent Police", "kent", "Maidstone", 4},
		{"Hampshire and Isle of Wight Constabulary", "Hampshire Constabulary", "hampshire",
			"Winchester", 4},
		{"Essex Police", "Essex Police", "essex", "Chelmsford", 4},
		{"Northumbria Police", "Northumbria Police", "northumbria", "Newcastle upon Tyne", 3.7},
		{"Lancashire Constabulary", "Lancashire Constabulary", "lancashire", "Preston", 3.5},
		{"Devon and Cornwall Police", "Devon and Cornwall Police", "devon-cornwall", "Exeter",
			3.5},
		{"South Wales Police", "South Wales Police", "south-wales", "Bridgend", 3.3},
		{"South Yorkshire Police", "South Yorkshire Police", "south-yorkshire", "Sheffield", 3},
		{"Sussex Police", "Sussex Police", "sussex", "Lewes", 3},
		{"Avon and Somerset Constabulary", "Avon and Somerset Constabulary", "avon-somerset",
			"Bristol", 3},
		{"British Transport Police", "British Transport Police", "btp", "London", 3},
		{"Ministry of Defence Police", "MDP", "mdp", "Chelmsford", 2.5},
		{"Nottinghamshire Police", "Nottinghamshire Police", "nottinghamshire", "Nottingham",
			2.3},
		{"Cheshire Constabulary", "Cheshire Constabulary", "cheshire", "Chester", 2.3},
		{"West Mercia Police", "West Mercia Police", "west-mercia", "Worcester", 2.3},
		{"Surrey Police", "Surrey Police", "surrey", "Guildford", 2.2},
		{"Leicestershire Police", "Leicestershire Police", "leicestershire", "Leicester", 2.2},
		{"Hertfordshire Constabulary", "Hertfordshire Constabulary", "hertfordshire",
			"St Albans", 2.2},
		{"Humberside Police", "Humberside Police", "humberside", "Hull", 2.2},
		{"Derbyshire Constabulary", "Derbyshire Constabulary", "derbyshire", "Derby", 1.9},
		{"Staffordshire Police", "Staffordshire Police", "staffordshire", "Stafford", 1.8},
		{"Norfolk Constabulary", "Norfolk Constabulary", "norfolk", "Norwich", 1.8},
		{"Cambridgeshire Constabulary", "Cambridgeshire Constabulary", "cambridgeshire",
			"Cambridge", 1.6},
		{"North Wales Police", "North Wales Police", "north-wales", "Colwyn Bay", 1.6},
		{"Cleveland Police", "Cleveland Police", "cleveland", "Middlesbrough", 1.5},
		{"North Yorkshire Police", "North Yorkshire Police", "north-yorkshire", "Harrogate",
			1.5},
		{"Civil Nuclear Constabulary", "CNC", "cnc", "Oxford", 1.5},
		{"Suffolk Constabulary", "Suffolk Constabulary", "suffolk", "Ipswich", 1.4},
		{"Northamptonshire Police", "Northamptonshire Police", "northamptonshire",
			"Northampton", 1.4},
		{"Gwent Police", "Gwent Police", "gwent", "Newport", 1.4},
		{"Durham Constabulary", "Durham Constabulary", "durham", "Durham", 1.3},
		{"Dorset Police", "Dorset Police", "dorset", "Dorchester", 1.3},
		{"Bedfordshire Police", "Bedfordshire Police", "bedfordshire", "Bedford", 1.3},
		{"Cumbria Constabulary", "Cumbria Constabulary", "cumbria", "Carlisle", 1.3},
		{"Lincolnshire Police", "Lincolnshire Police", "lincolnshire", "Lincoln", 1.2},
		{"Gloucestershire Constabulary", "Gloucestershire Constabulary", "gloucestershire",
			"Gloucester", 1.2},
		{"Dyfed-Powys Police", "Dyfed-Powys Police", "dyfed-powys", "Carmarthen", 1.2},
		{"Wiltshire Police", "Wiltshire Police", "wiltshire", "Salisbury", 1.1},
		{"Warwickshire Police", "Warwickshire Police", "warwickshire", "Warwick", 1.0},
		{"City of London Police", "City of London Police", "city-of-london", "London", 0.9},
	}
	tops := make([]topSpec, len(forces))
	for i, f := range forces {
		tops[i] = topSpec{name: f.name, short: f.short, label: f.label + ".police",
			town: mustTown(f.town), weight: f.weight, kind: store.KindGateway}
	}
	// The Metropolitan Police works in basic command units of several boroughs each.
	for _, area := range []string{"Central East", "Central North", "Central South",
		"Central West", "East Area", "North Area", "North East", "North West", "South Area",
		"South East", "South West", "West Area"} {
		tops[0].children = append(tops[0].children, childSpec{
			name:  "Metropolitan Police " + area + " Basic Command Unit",
			label: address.Slug(area), town: tops[0].town})
	}
	return tops
}

func children(pairs ...string) []childSpec {
	out := make([]childSpec, 0, len(pairs)/3)
	for i := 0; i+2 < len(pairs); i += 3 {
		out = append(out, childSpec{name: pairs[i], label: pairs[i+1], town: mustTown(pairs[i+2])})
	}
	return out
}

var prosecutionSector = &sector{
	name:        SectorProsecution,
	orgShare:    0.010,
	peopleShare: 0.05,
	topShare:    3.0 / 100,
	grandShare:  0.75,
	sizeSpread:  0.4,
	headOffice:  0.1,
	fixedTops: []topSpec{
		{name: "Crown Prosecution Service", short: "CPS", label: "cps",
			town: mustTown("London"), weight: 17, subWeight: 17, kind: store.KindGateway,
			children: children(
				"CPS London North", "london-north", "London",
				"CPS London South", "london-south", "London",
				"CPS South East", "south-east", "Maidstone",
				"CPS South West", "south-west", "Exeter",
				"CPS Wessex", "wessex", "Winchester",
				"CPS Thames and Chiltern", "thames-chiltern", "Reading",
				"CPS East of England", "east-of-england", "Chelmsford",
				"CPS East Midlands", "east-midlands", "Nottingham",
				"CPS West Midlands", "west-midlands", "Birmingham",
				"CPS North West", "north-west", "Manchester",
				"CPS Mersey-Cheshire", "mersey-cheshire", "Liverpool",
				"CPS North East", "north-east", "Newcastle upon Tyne",
				"CPS Yorkshire and Humberside", "yorkshire-humberside", "Leeds",
				"CPS Cymru-Wales", "wales", "Cardiff",
				"CPS Direct", "direct", "London",
				"CPS Special Crime and Counter Terrorism Division", "scctd", "London",
				"CPS Serious Economic, Organised Crime and International Directorate",
				"seocid", "London")},
		{name: "Crown Office and Procurator Fiscal Service", short: "COPFS", label: "copfs",
			town: mustTown("Edinburgh"), weight: 4, subWeight: 4, kind: store.KindGateway,
			children: children(
				"COPFS North", "north", "Aberdeen",
				"COPFS East", "east", "Edinburgh",
				"COPFS West", "west", "Glasgow",
				"COPFS Serious Casework", "serious-casework", "Glasgow")},
		{name: "Public Prosecution Service for Northern Ireland", short: "PPS", label: "ppsni",
			town: mustTown("Belfast"), weight: 2, subWeight: 3, kind: store.KindGateway,
			children: children(
				"PPS Belfast Region", "belfast", "Belfast",
				"PPS Western Region", "western", "Omagh",
				"PPS Southern Region", "southern", "Newry")},
	},
	child: func(g *planner, p *orgPlan, i int) childSpec {
		return townChild(g, p, []string{p.short + " %s Office"})
	},
	grand: func(g *planner, p *orgPlan, i int) childSpec {
		return optionChild(g, p, i, []string{"Crown Court Unit", "Magistrates' Court Unit",
			"Rape and Serious Sexual Offences Unit", "Complex Casework Unit", "Youth Unit",
			"Case Progression Unit", "Fraud Unit", "Proceeds of Crime Unit", "Appeals Unit",
			"Victim Liaison Unit", "Domestic Abuse Unit", "Serious Violence Unit"},
			"Casework Hub %d")
	},
	jobs: []weighted{{"Crown Prosecutor", 20}, {"Senior Crown Prosecutor", 15},
		{"Crown Advocate", 5}, {"Senior Crown Advocate", 4}, {"Paralegal Officer", 20},
		{"Paralegal Business Manager", 4}, {"Operations Delivery Officer", 10},
		{"Legal Manager", 4}, {"Victim Liaison Officer", 4}, {"Case Progression Officer", 5},
		{"Senior District Crown Prosecutor", 2}, {"Procurator Fiscal Depute", 2},
		{"Public Prosecutor", 1}},
	leads: [3]string{"Director of Public Prosecutions", "Chief Crown Prosecutor",
		"Senior District Crown Prosecutor"},
	exDirectory: 0.02,
}

var courtSector = &sector{
	name:        SectorCourt,
	orgShare:    0.045,
	peopleShare: 0.09,
	topShare:    3.0 / 450,
	grandShare:  0.96,
	sizeSpread:  0.5,
	headOffice:  0.05,
	fixedTops: []topSpec{
		{name: "HM Courts & Tribunals Service", short: "HMCTS", label: "hmcts",
			town: mustTown("London"), weight: 25, subWeight: 7, kind: store.KindGateway,
			children: children(
				"HMCTS London", "london", "London",
				"HMCTS South East", "south-east", "Chelmsford",
				"HMCTS South West", "south-west", "Bristol",
				"HMCTS Midlands", "midlands", "Birmingham",
				"HMCTS North East", "north-east", "Leeds",
				"HMCTS North West", "north-west", "Manchester",
				"HMCTS Wales", "wales", "Cardiff")},
		{name: "Scottish Courts and Tribunals Service", short: "SCTS", label: "scotcourts",
			town: mustTown("Edinburgh"), weight: 3, subWeight: 6, kind: store.KindGateway,
			children: children(
				"Sheriffdom of Glasgow and Strathkelvin", "glasgow", "Glasgow",
				"Sheriffdom of Grampian, Highland and Islands", "grampian", "Aberdeen",
				"Sheriffdom of Lothian and Borders", "lothian", "Edinburgh",
				"Sheriffdom of North Strathclyde", "north-strathclyde", "Paisley",
				"Sheriffdom of South Strathclyde, Dumfries and Galloway", "south-strathclyde",
				"Hamilton",
				"Sheriffdom of Tayside, Central and Fife", "tayside", "Dundee")},
		{name: "Northern Ireland Courts and Tribunals Service", short: "NICTS",
			label: "courts-ni", town: mustTown("Belfast"), weight: 1.5, subWeight: 3,
			kind: store.KindGateway,
			children: children(
				"NICTS Belfast Division", "belfast", "Belfast",
				"NICTS North and West Division", "north-west", "Derry~Londonderry",
				"NICTS South and East Division", "south-east", "Newry")},
	},
	child: func(g *planner, p *orgPlan, i int) childSpec {
		return townChild(g, p, []string{p.short + " %s Area"})
	},
	grand: func(g *planner, p *orgPlan, i int) childSpec {
		switch p.town.nation {
		case scotland:
			return townChild(g, p, []string{"%s Sheriff Court", "%s Justice of the Peace Court"})
		case northernIreland:
			return townChild(g, p, []string{"%s Crown Court", "%s Magistrates' Court",
				"%s County Court"})
		}
		return townChild(g, p, []string{"%s Crown Court", "%s Magistrates' Court",
			"%s Combined Court", "%s County Court", "%s Family Court", "%s Youth Court",
			"%s Tribunal Hearing Centre"})
	},
	jobs: []weighted{{"Legal Adviser", 10}, {"Court Associate", 8}, {"Court Clerk", 10},
		{"Listing Officer", 6}, {"Usher", 8}, {"Delivery Manager", 3},
		{"Administrative Officer", 20}, {"Case Progression Officer", 6}, {"Jury Officer", 2},
		{"Enforcement Officer", 3}, {"Court Manager", 2}, {"Sheriff Clerk", 1},
		{"District Judge (Magistrates' Courts)", 1}},
	leads:       [3]string{"Chief Executive", "Regional Delivery Director", "Delivery Manager"},
	exDirectory: 0.02,
}

// probationRegions lists the probation regions of England and Wales and the probation
// board of Northern Ireland.
func probationRegions() []topSpec {
	regions := []struct {
		name, label, town string
		weight            float64
	}{
		{"Probation Service London", "london", "London", 3},
		{"Probation Service North West", "north-west", "Preston", 2},
		{"Probation Service West Midlands", "west-midlands", "Birmingham", 1.5},
		{"Probation Service Yorkshire and the Humber", "yorkshire", "Leeds", 1.5},
		{"Probation Service Greater Manchester", "greater-manchester", "Manchester", 1.2},
		{"Probation Service East Midlands", "east-midlands", "Nottingham", 1.2},
		{"Probation Service East of England", "east-of-england", "Cambridge", 1.2},
		{"Probation Service Kent, Surrey and Sussex", "kss", "Maidstone", 1.2},
		{"Probation Service South West", "south-west", "Bristol", 1.2},
		{"Probation Service South Central", "south-central", "Reading", 1},
		{"Probation Service North East", "north-east", "Newcastle upon Tyne", 1},
		{"Probation Service Wales", "wales", "Cardiff", 1},
		{"Probation Board for Northern Ireland", "pbni", "Belfast", 0.6},
	}
	tops := make([]topSpec, len(regions))
	for i, r := range regions {
		tops[i] = topSpec{name: r.name, short: r.name, label: r.label + ".probation",
			town: mustTown(r.town), weight: r.weight, kind: store.KindGateway}
	}
	return tops
}

var probationSector = &sector{
	name:        SectorProbation,
	orgShare:    0.016,
	peopleShare: 0.08,
	topShare:    13.0 / 160,
	grandShare:  0.2,
	sizeSpread:  0.4,
	headOffice:  0.1,
	fixedTops:   probationRegions(),
	child: func(g *planner, p *orgPlan, i int) childSpec {
		if p.town.nation == northernIreland {
			return townChild(g, p, []string{"PBNI %s Office"})
		}
		return townChild(g, p, []string{"%s Probation Delivery Unit"})
	},
	grand: func(g *planner, p *orgPlan, i int) childSpec {
		return optionChild(g, p, i, []string{"Court Team", "Approved Premises",
			"Unpaid Work Team", "Sentence Management Team", "Victim Liaison Unit",
			"Interventions Team"}, "Reporting Centre %d")
	},
	jobs: []weighted{{"Probation Officer", 25}, {"Probation Services Officer", 25},
		{"Senior Probation Officer", 6}, {"Case Administrator", 15}, {"Court Duty Officer", 5},
		{"Victim Liaison Officer", 3}, {"Unpaid Work Supervisor", 6},
		{"Approved Premises Residential Worker", 5}, {"Programme Facilitator", 4}},
	leads: [3]string{"Regional Probation Director", "Head of Probation Delivery Unit",
		"Senior Probation Officer"},
	exDirectory: 0.03,
}

var prisonSector = &sector{
	name:        SectorPrison,
	orgShare:    0.015,
	peopleShare: 0.06,
	topShare:    6.0 / 150,
	grandShare:  0.15,
	sizeSpread:  0.4,
	headOffice:  0.05,
	fixedTops: []topSpec{
		{name: "HM Prison Service", short: "HMPS", label: "hmps", town: mustTown("London"),
			weight: 10, subWeight: 90, kind: store.KindGateway},
		{name: "Scottish Prison Service", short: "SPS", label: "sps",
			town: mustTown("Edinburgh"), weight: 1.5, subWeight: 15, kind: store.KindGateway},
		{name: "Ravensworth Custodial Services Ltd", short: "Ravensworth", label: "ravensworth",
			town: mustTown("Manchester"), weight: 1, subWeight: 5, kind: store.KindHosted},
		{name: "Northern Ireland Prison Service", short: "NIPS", label: "nips",
			town: mustTown("Lisburn"), weight: 0.5, subWeight: 3, kind: store.KindGateway},
		{name: "Highmoor Justice Services Ltd", short: "Highmoor", label: "highmoor",
			town: mustTown("Birmingham"), weight: 1, subWeight: 5, kind: store.KindHosted},
		{name: "Brackenfield Secure Services Ltd", short: "Brackenfield", label: "brackenfield",
			town: mustTown("Leeds"), weight: 0.8, subWeight: 4, kind: store.KindHosted},
	},
	child: func(g *planner, p *orgPlan, i int) childSpec {
		c := townChild(g, p, []string{"HMP %s", "HMP %s", "HMP %s", "HMYOI %s"})
		return c
	},
	grand: func(g *planner, p *orgPlan, i int) childSpec {
		return optionChild(g, p, i, []string{"Offender Management Unit",
			"Security Department", "Healthcare", "Safer Custody Team", "Legal Visits",
			"Resettlement Team"}, "Residential Unit %d")
	},
	jobs: []weighted{{"Prison Officer", 40}, {"Supervising Officer", 6},
		{"Custodial Manager", 3}, {"Offender Management Unit Administrator", 5},
		{"Prison Offender Manager", 6}, {"Security Analyst", 2}, {"Healthcare Assistant", 4},
		{"Safer Custody Case Manager", 2}, {"Chaplain", 1}, {"Education Tutor", 3},
		{"Legal Visits Officer", 2}, {"Custody Officer", 4}},
	leads:       [3]string{"Director", "Governor", "Head of Function"},
	exDirectory: 0.06,
}

var youthJusticeSector = &sector{
	name:        SectorYouthJustice,
	orgShare:    0.016,
	peopleShare: 0.02,
	topShare:    1,
	sizeSpread:  0.4,
	headOffice:  0.5,
	newTop: func(g *planner) topSpec {
		var t *town
		var name string
		for try := 0; try < 40; try++ {
			t = randomTown(g.r)
			switch t.nation {
			case scotland:
				name = t.name + " Youth Justice Team"
			case northernIreland:
				name = "Youth Justice Agency " + t.name
			case wales:
				name = t.name + " Youth Justice Service"
			default:
				name = t.name + pick(g.r, []string{" Youth Justice Service",
					" Youth Offending Team", " Youth Offending Service"})
			}
			if !g.nameUsed(name) {
				break
			}
		}
		kind := store.KindHosted
		if g.r.Float64() < 0.4 {
			kind = store.KindGateway
		}
		return topSpec{name: name, label: "youth-justice." + address.Slug(t.name) + ".gov",
			town: t, weight: 1, kind: kind}
	},
	jobs: []weighted{{"Youth Justice Worker", 30}, {"Youth Justice Officer", 15},
		{"Case Manager", 15}, {"Referral Order Coordinator", 5},
		{"Restorative Justice Practitioner", 5}, {"Team Manager", 3},
		{"Speech and Language Therapist", 2}, {"Education Officer", 3}, {"Victim Worker", 3},
		{"Business Support Officer", 8}, {"Substance Misuse Worker", 2}},
	leads:       [3]string{"Head of Youth Justice Service", "Team Manager", "Team Manager"},
	exDirectory: 0.02,
}

var victimSupportSector = &sector{
	name:        SectorVictimSupport,
	orgShare:    0.060,
	peopleShare: 0.03,
	topShare:    0.75,
	sizeSpread:  0.8,
	headOffice:  0.5,
	newTop: func(g *planner) topSpec {
		patterns := []string{"%s Victim Support", "%s Rape Crisis", "%s Women's Aid",
			"%s Domestic Abuse Service", "%s Witness Support", "Support After Crime %s",
			"%s Sexual Assault Referral Centre", "%s Children's Advocacy Service",
			"%s Hate Crime Support", "%s Independent Advocacy Service"}
		name, t := g.townName(patterns)
		return topSpec{name: name, label: address.Slug(name) + ".org", town: t,
			weight: g.lognormal(0.8), kind: gatewayOrHosted(g.r, 0.2)}
	},
	child: func(g *planner, p *orgPlan, i int) childSpec {
		return townLabelled(townChild(g, p, []string{p.name + " – %s service"}))
	},
	jobs: []weighted{{"Caseworker", 20}, {"Victim Care Officer", 15},
		{"Independent Domestic Violence Adviser", 10},
		{"Independent Sexual Violence Adviser", 10}, {"Witness Service Volunteer", 15},
		{"Volunteer Coordinator", 5}, {"Support Worker", 15}, {"Helpline Adviser", 5},
		{"Children and Young People's Worker", 4}},
	leads:       [3]string{"Chief Executive", "Service Manager", "Service Manager"},
	exDirectory: 0.03,
}

var barristersSector = &sector{
	name:        SectorBarristers,
	orgShare:    0.050,
	peopleShare: 0.05,
	topShare:    0.9,
	sizeSpread:  0.6,
	headOffice:  0.7,
	newTop: func(g *planner) topSpec {
		var name string
		var t *town
		for try := 0; try < 40; try++ {
			t = mustTown("London")
			if g.r.IntN(2) == 0 {
				t = randomTown(g.r)
			}
			_, surname := pickName(g.r, t.nation)
			switch g.r.IntN(6) {
			case 0:
				name = surname + " Chambers"
			case 1:
				name = t.name + " Law Chambers"
			case 2:
				name = fmt.Sprintf("%d %s Row", 1+g.r.IntN(12), surname)
			case 3:
				name = fmt.Sprintf("%d %s Court Chambers", 1+g.r.IntN(12), surname)
			case 4:
				name = "St " + pick(g.r, []string{"Mary", "John", "Paul", "Andrew", "David",
					"Patrick", "George", "Philip", "Bride", "Dunstan", "Clement", "Giles"}) +
					"'s Chambers " + t.name
			default:
				name = surname + " House Chambers"
			}
			if !g.nameUsed(name) {
				break
			}
		}
		return topSpec{name: name, label: compactLabel(name), town: t,
			weight: g.lognormal(0.8), kind: gatewayOrHosted(g.r, 0.15)}
	},
	child: func(g *planner, p *orgPlan, i int) childSpec {
		return townLabelled(townChild(g, p, []string{p.name + " (%s annexe)"}))
	},
	jobs: []weighted{{"Barrister", 45}, {"King's Counsel", 6}, {"Pupil Barrister", 4},
		{"Clerk", 12}, {"Senior Clerk", 2}, {"Junior Clerk", 6}, {"Practice Manager", 2},
		{"Fees Clerk", 2}, {"Administrator", 3}},
	leads:       [3]string{"Head of Chambers", "Senior Clerk", "Senior Clerk"},
	exDirectory: 0.02,
}

var defenceSector = &sector{
	name:        SectorDefence,
	orgShare:    0.725,
	peopleShare: 0.22,
	topShare:    0.875,
	sizeSpread:  1.0,
	headOffice:  0.5,
	newTop: func(g *planner) topSpec {
		var name string
		var t *town
		for try := 0; try < 40; try++ {
			t = randomTown(g.r)
			_, a := pickName(g.r, t.nation)
			_, b := pickName(g.r, t.nation)
			_, c := pickName(g.r, t.nation)
			switch g.r.IntN(9) {
			case 0:
				name = a + " & " + b + " Solicitors"
			case 1:
				name = a + " " + b + " LLP"
			case 2:
				name = a + " & Co Solicitors"
			case 3:
				name = a + " " + b + " & " + c
			case 4:
				name = a + " Law"
			case 5:
				name = a + " Legal"
			case 6:
				name = t.name + " Criminal Defence"
			case 7:
				name = a + " " + b + " Solicitors"
			default:
				name = a + " & Partners"
			}
			if !g.nameUsed(name) {
				break
			}
		}
		return topSpec{name: name, label: compactLabel(name), town: t,
			weight: g.lognormal(0.8), kind: gatewayOrHosted(g.r, 0.25)}
	},
	child: func(g *planner, p *orgPlan, i int) childSpec {
		return townLabelled(townChild(g, p, []string{p.name + " (%s office)"}))
	},
	jobs: []weighted{{"Solicitor", 25}, {"Criminal Defence Solicitor", 15},
		{"Solicitor Advocate", 5}, {"Partner", 6}, {"Associate Solicitor", 6},
		{"Trainee Solicitor", 6}, {"Paralegal", 12}, {"Legal Secretary", 10},
		{"Police Station Representative", 6}, {"Chartered Legal Executive", 4},
		{"Practice Manager", 2}, {"Cashier", 1}, {"Office Manager", 1}},
	leads:       [3]string{"Managing Partner", "Branch Partner", "Branch Partner"},
	exDirectory: 0.02,
}

func gatewayOrHosted(r *rand.Rand, gatewayShare float64) string {
	if r.Float64() < gatewayShare {
		return store.KindGateway
	}
	return store.KindHosted
}

// genericWords are left out of the DNS labels made from firm and chambers names.
var genericWords = map[string]bool{"and": true, "solicitors": true, "llp": true, "co": true,
	"law": true, "legal": true, "partners": true, "chambers": true, "st": true,
	"criminal": true, "defence": true}

// compactLabel makes a short DNS label from a firm's name the way firms pick their own
// domains: "Patel & Hughes Solicitors" gives "patelhughes".
func compactLabel(name string) string {
	var b strings.Builder
	for _, word := range strings.Split(address.Slug(name), "-") {
		if !genericWords[word] {
			b.WriteString(word)
		}
	}
	label := b.String()
	if label == "" {
		label = address.Slug(name)
	}
	if len(label) > 40 {
		label = label[:40]
	}
	return label
}
