package store

import "time"

// Organisation kinds.
const (
	KindGateway = "gateway" // keeps its own mail system, connected through a connector
	KindHosted  = "hosted"  // its people have mailboxes stored by cjsm
)

// Statuses of organisations and people.
const (
	StatusApplied   = "applied"
	StatusActive    = "active"
	StatusSuspended = "suspended"
	StatusLocked    = "locked"
	StatusClosed    = "closed"
)

// Organisation is a legal body that has signed the terms. ParentID is 0 for a top-level one.
type Organisation struct {
	ID              int64
	ParentID        int64
	Name            string
	Slug            string
	Kind            string
	Status          string
	Sector          string
	PostalAddress   string
	Postcode        string
	SignatoryName   string
	SignatoryEmail  string
	TermsAcceptedAt time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Domain kinds and verification states.
const (
	DomainGateway = "gateway" // an organisation's own domain, reached through its connector
	DomainHosted  = "hosted"  // a subdomain of the community suffix with hosted mailboxes

	VerificationPending  = "pending"
	VerificationVerified = "verified"
	VerificationFailed   = "failed"
)

// Domain is a mail domain that belongs to an organisation.
type Domain struct {
	ID                int64
	OrgID             int64
	Name              string
	Kind              string
	VerificationToken string
	VerificationState string
	VerifiedAt        time.Time
	CreatedAt         time.Time
}

// Transport policies of trusted domains: how the receiving server's certificate is checked.
const (
	PolicyMX     = "mx"      // certificate valid for the MX host name, from the system roots
	PolicyMTASTS = "mta-sts" // RFC 8461 policy published by the domain
	PolicyPinned = "pinned"  // certificate valid for a pinned name or with a pinned fingerprint
	PolicyDANE   = "dane"    // RFC 7672 TLSA records
)

// TrustedDomain is an external domain that meets the government secure email policy. Lists
// are space-separated.
type TrustedDomain struct {
	ID                 int64
	Name               string
	Description        string
	TLSPolicy          string
	PinnedNames        string
	PinnedFingerprints string
	SourceNetworks     string
	SourceCertNames    string
	Route              string // host:port that replaces the MX lookup, or empty
	Status             string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Roles a person can hold. Every person is a user.
const (
	RoleUser      = "user"
	RoleOrgAdmin  = "org-admin"
	RoleSignatory = "signatory"
	RoleDeskAgent = "desk-agent"
	RoleAssurance = "assurance"
	RoleOperator  = "operator"
	RoleAuditor   = "auditor"
)

// AllRoles lists the roles in the order help text shows them.
var AllRoles = []string{RoleUser, RoleOrgAdmin, RoleSignatory, RoleDeskAgent, RoleAssurance,
	RoleOperator, RoleAuditor}

// Person is someone with an account. Address is the community address; PlainAddress is a
// gateway person's address in their own organisation's domain.
type Person struct {
	ID             int64
	OrgID          int64
	FirstName      string
	LastName       string
	JobTitle       string
	Phone          string
	Address        string
	AddressKey     string
	PlainAddress   string
	ContactAddress string
	Status         string
	ExDirectory    bool
	Roles          string // space-separated
	PasswordHash   string
	LastSignIn     time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// GroupMailbox is a shared mailbox with its own address.
type GroupMailbox struct {
	ID         int64
	OrgID      int64
	Name       string
	Address    string
	AddressKey string
	CreatedAt  time.Time
}

// GroupMember is one person's permissions on a group mailbox. Read, write (file, move,
// delete) and send (send as the group) are granted separately.
type GroupMember struct {
	GroupID  int64
	PersonID int64
	Address  string // the member's address, filled in by queries that join people
	Read     bool
	Write    bool
	Send     bool
}

// List is a distribution list: a community address that expands to its members, who may
// belong to any organisation.
type List struct {
	ID         int64
	OrgID      int64
	Name       string
	Address    string
	AddressKey string
	CreatedAt  time.Time
}

// Connector is how a gateway-connected organisation's mail system talks to cjsm. Lists are
// space-separated.
type Connector struct {
	ID                     int64
	OrgID                  int64
	Name                   string
	InboundCertNames       string
	InboundNetworks        string
	InboundUsername        string
	InboundPasswordHash    string
	OutboundHost           string
	OutboundPort           int
	OutboundTLSName        string
	OutboundTLSFingerprint string
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// Message is one accepted message: its raw bytes live in the blob store under Blob.
type Message struct {
	ID         int64
	QueueID    string
	Blob       string
	Size       int64
	MessageID  string // the Message-ID header field
	Sender     string
	OrgID      int64
	ReceivedAt time.Time
	DSNRet     string // RET parameter of MAIL FROM (RFC 3461): FULL, HDRS or empty
	DSNEnvID   string // ENVID parameter of MAIL FROM (RFC 3461)
	RequireTLS bool   // REQUIRETLS was requested (RFC 8689)
}
