package imapserver_test

import (
	"fmt"
	"testing"

	"github.com/cjsm/cjsm/internal/store"
)

// SELECT reads only UIDs and flags, yet reports each group member's own first unseen
// message and every keyword in use, and FETCH then reads the rest of the messages it names.
func TestSelectReportsOwnUnseenAndKeywords(t *testing.T) {
	h := newHarness(t)
	ann := h.person(t, "ann")
	ben := h.person(t, "ben")
	g := h.group(t, "casework",
		store.GroupMember{PersonID: ann.ID, Read: true, Write: true},
		store.GroupMember{PersonID: ben.ID, Read: true})
	first := sampleMessage("one", "x")
	h.deliver(t, store.OwnerGroup, g.ID, first)
	h.deliver(t, store.OwnerGroup, g.ID, sampleMessage("two", "y"))
	h.deliver(t, store.OwnerGroup, g.ID, sampleMessage("three", "z"))
	box := "Shared/" + g.Address + "/INBOX"
	h.python(t, `
box, size = ARGS[2], ARGS[3]
a = connect(ARGS[0])
typ, data = a.select(box)
check(typ == "OK" and data == [b"3"], "ann SELECT: %s %r" % (typ, data))
typ, data = a.response("UNSEEN")
check(data == [b"1"], "ann first unseen before reading: %r" % data)
typ, data = a.uid("STORE", "1", "+FLAGS", "(\\Seen $Urgent)")
check(typ == "OK", "ann STORE: %s %r" % (typ, data))

a2 = connect(ARGS[0])
a2.select(box)
typ, data = a2.response("UNSEEN")
check(data == [b"2"], "ann first unseen after reading 1: %r" % data)
typ, data = a2.response("FLAGS")
check(b"$Urgent" in data[0], "ann FLAGS lacks the keyword in use: %r" % data)

b = connect(ARGS[1])
b.select(box)
typ, data = b.response("UNSEEN")
check(data == [b"1"], "ben first unseen: %r (ann's reading must not count)" % data)
typ, data = b.response("FLAGS")
check(b"$Urgent" in data[0], "ben FLAGS lacks the keyword in use: %r" % data)
typ, data = b.uid("FETCH", "1", "(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)")
check(typ == "OK", "ben FETCH: %s %r" % (typ, data))
line = data[0]
check(b"RFC822.SIZE " + size.encode() in line, "ben FETCH size, want %s: %r" % (size, line))
check(b'"one"' in line and b"INTERNALDATE" in line, "ben FETCH envelope: %r" % line)
check(b"$Urgent" in line and b"\\Seen" not in line, "ben FETCH flags: %r" % line)

# ann deletes message 2 on another connection. a2 has not been told, so its FETCH must
# still work and return the messages that remain.
typ, data = a.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
check(typ == "OK", "ann STORE \\Deleted: %s %r" % (typ, data))
typ, data = a.expunge()
check(typ == "OK", "ann EXPUNGE: %s %r" % (typ, data))
typ, data = a2.uid("FETCH", "1:*", "(UID ENVELOPE)")
check(typ == "OK", "FETCH after another session's EXPUNGE: %s %r" % (typ, data))
text = b" ".join(d if isinstance(d, bytes) else d[0] for d in data)
check(b'"one"' in text and b'"three"' in text, "FETCH lost a message that remains: %r" % data)
typ, data = a2.noop()
typ, data = a2.response("EXPUNGE")
check(data == [b"2"], "NOOP after the EXPUNGE reported %r, want EXPUNGE 2" % data)
`, ann.Address, ben.Address, box, fmt.Sprint(len(first)))
}
