package store_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// fillFolder files n messages into a new folder of the person, flagging every third one
// \Seen, and returns the folder.
func fillFolder(t *testing.T, st *store.Store, personID int64, n int) store.Mailbox {
	t.Helper()
	ctx := t.Context()
	var b store.Mailbox
	inTx(t, st, func(tx *store.Tx) error {
		var err error
		if b, err = tx.EnsureMailbox(ctx, store.OwnerPerson, personID, "INBOX"); err != nil {
			return err
		}
		for i := 1; i <= n; i++ {
			m := store.Message{QueueID: fmt.Sprintf("Q%d", i), Blob: fmt.Sprintf("blob%d", i),
				Size: int64(100 + i)}
			if err := tx.CreateMessage(ctx, &m); err != nil {
				return err
			}
			flags := ""
			if i%3 == 0 {
				flags = `\Seen`
			}
			if _, _, err := tx.AppendMessage(ctx, b.ID, m.ID, flags, time.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	return b
}

func TestMessageUIDFlagsReadsUIDsAndFlags(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		o := createOrg(t, st, "firm", 0)
		p := createPerson(t, st, o.ID, "jane@firm.example")
		b := fillFolder(t, st, p.ID, 4)
		got, err := st.MessageUIDFlags(t.Context(), b.ID)
		if err != nil {
			t.Fatalf("MessageUIDFlags: %v", err)
		}
		want := []store.UIDFlags{{UID: 1}, {UID: 2}, {UID: 3, Flags: `\Seen`}, {UID: 4}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("MessageUIDFlags\n got %+v\nwant %+v", got, want)
		}
	})
}

func TestMessagesInUIDRangeIncludesBothEnds(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		o := createOrg(t, st, "firm", 0)
		p := createPerson(t, st, o.ID, "jane@firm.example")
		b := fillFolder(t, st, p.ID, 6)
		got, err := st.MessagesInUIDRange(t.Context(), b.ID, 2, 4)
		if err != nil {
			t.Fatalf("MessagesInUIDRange: %v", err)
		}
		var uids []int64
		for _, m := range got {
			uids = append(uids, m.UID)
		}
		if !reflect.DeepEqual(uids, []int64{2, 3, 4}) {
			t.Fatalf("MessagesInUIDRange(2, 4) UIDs = %v, want [2 3 4]", uids)
		}
		if got[1].Blob != "blob3" || got[1].Size != 103 || got[1].Flags != `\Seen` {
			t.Errorf("UID 3 read back as %+v, want blob3, size 103, \\Seen", got[1])
		}
	})
}
