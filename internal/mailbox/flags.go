package mailbox

import (
	"sort"
	"strings"
)

// System flags (RFC 9051 section 2.3.2). \Recent is not kept: IMAP4rev2 removed it.
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
)

var systemFlags = map[string]string{
	`\seen`: FlagSeen, `\answered`: FlagAnswered, `\flagged`: FlagFlagged,
	`\deleted`: FlagDeleted, `\draft`: FlagDraft,
}

// CanonicalFlag returns a flag in its stored form: system flags in their RFC spelling,
// keywords as given. ok is false for a flag that cannot be stored: an empty one, one with
// a space, or a backslash flag that is not a system flag (such as \Recent).
func CanonicalFlag(f string) (canonical string, ok bool) {
	if f == "" || strings.ContainsAny(f, " \t\r\n()") {
		return "", false
	}
	if strings.HasPrefix(f, `\`) {
		c, ok := systemFlags[strings.ToLower(f)]
		return c, ok
	}
	return f, true
}

// FlagSet is a set of flags compared without regard to case, as RFC 3501 section 2.3.2
// compares keywords. The key is the lower-case flag and the value its stored spelling.
type FlagSet map[string]string

// ParseFlags reads the stored space-separated form.
func ParseFlags(s string) FlagSet {
	fs := FlagSet{}
	for _, f := range strings.Fields(s) {
		fs.Add(f)
	}
	return fs
}

// NewFlagSet returns a set of the given flags, dropping those CanonicalFlag rejects.
func NewFlagSet(flags []string) FlagSet {
	fs := FlagSet{}
	for _, f := range flags {
		fs.Add(f)
	}
	return fs
}

// Add puts a flag into the set; a flag CanonicalFlag rejects is ignored. A keyword already
// in the set keeps its first spelling.
func (fs FlagSet) Add(f string) {
	c, ok := CanonicalFlag(f)
	if !ok {
		return
	}
	if _, dup := fs[strings.ToLower(c)]; !dup {
		fs[strings.ToLower(c)] = c
	}
}

// Remove takes a flag out of the set.
func (fs FlagSet) Remove(f string) { delete(fs, strings.ToLower(f)) }

// Has reports whether the set contains f.
func (fs FlagSet) Has(f string) bool {
	_, ok := fs[strings.ToLower(f)]
	return ok
}

// List returns the flags sorted, system flags first.
func (fs FlagSet) List() []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		si, sj := strings.HasPrefix(out[i], `\`), strings.HasPrefix(out[j], `\`)
		if si != sj {
			return si
		}
		return strings.ToLower(out[i]) < strings.ToLower(out[j])
	})
	return out
}

// String returns the stored form: the sorted flags separated by spaces.
func (fs FlagSet) String() string { return strings.Join(fs.List(), " ") }

// Clone returns a copy of the set.
func (fs FlagSet) Clone() FlagSet {
	out := make(FlagSet, len(fs))
	for k, v := range fs {
		out[k] = v
	}
	return out
}

// Equal reports whether both sets hold the same flags.
func (fs FlagSet) Equal(other FlagSet) bool {
	if len(fs) != len(other) {
		return false
	}
	for k := range fs {
		if _, ok := other[k]; !ok {
			return false
		}
	}
	return true
}

// FlagOp is the STORE operation that combines flags with a message's flags (RFC 3501
// section 6.4.6).
type FlagOp int

// The STORE operations.
const (
	FlagsSet    FlagOp = iota // FLAGS: replace
	FlagsAdd                  // +FLAGS: add
	FlagsRemove               // -FLAGS: remove
)

// apply returns the flags that op with flags makes of old.
func (op FlagOp) apply(old FlagSet, flags FlagSet) FlagSet {
	switch op {
	case FlagsAdd:
		out := old.Clone()
		for k, v := range flags {
			out[k] = v
		}
		return out
	case FlagsRemove:
		out := old.Clone()
		for k := range flags {
			delete(out, k)
		}
		return out
	}
	return flags.Clone()
}

// MayChange reports whether a person with rights may set or clear the shared flag on a
// folder's messages. The write right covers every flag. The send right, which lets a member
// reply as the group, covers \Answered and $Forwarded, so that a reply is marked. A person's
// own \Seen is not a shared flag on group mail and needs only the read right.
func (rights Rights) MayChange(flag string) bool {
	if rights.Write {
		return true
	}
	return rights.Send && (strings.EqualFold(flag, FlagAnswered) ||
		strings.EqualFold(flag, FlagForwarded))
}

// forbiddenChange returns a flag that differs between old and next but that rights do not
// cover, with false. When rights cover every change, it returns "" and true.
func forbiddenChange(old, next FlagSet, rights Rights) (string, bool) {
	for _, f := range old.List() {
		if !next.Has(f) && !rights.MayChange(f) {
			return f, false
		}
	}
	for _, f := range next.List() {
		if !old.Has(f) && !rights.MayChange(f) {
			return f, false
		}
	}
	return "", true
}
